// Define-by-run tuning with the C++ API: the objective asks the trial for its parameters,
// reports a value per epoch and stops early when the pruner says so.
//
//   define_by_run [STORAGE_URL] [N_TRIALS]
//   define_by_run sqlite:///example.db 40     # run it again: the study continues to 40 trials
//
// The "training" here is a toy learning curve so that the example runs in a second; a real
// objective would build and train a network with these parameters.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/study.hpp"

namespace tune = nntune::tune;

// Validation loss after `epoch` epochs of a model that likes lr near 3e-3, 128 units and adam.
double toy_validation_loss(double lr, int64_t units, const std::string& optimizer, int epoch) {
  const double lr_penalty = std::pow(std::log10(lr / 3e-3), 2);
  const double size_penalty = std::pow(std::log2(static_cast<double>(units) / 128.0), 2) * 0.05;
  const double optimizer_penalty = optimizer == "adam" ? 0.0 : optimizer == "rmsprop" ? 0.05 : 0.15;
  const double floor = 0.1 + lr_penalty + size_penalty + optimizer_penalty;
  return floor + std::exp(-0.5 * epoch);  // learning curve decaying to the floor
}

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "memory";
  const int64_t n_trials = argc > 2 ? std::atoll(argv[2]) : 30;
  try {
    tune::SamplerConfig sampler;
    sampler.name = "tpe";
    sampler.seed = 7;
    tune::PrunerConfig pruner;
    pruner.name = "median";
    pruner.n_startup_trials = 5;
    pruner.n_warmup_steps = 2;
    tune::Study study = tune::Study::open(tune::open_storage(url), "define-by-run-example", tune::Direction::Minimize,
                                          tune::make_sampler(sampler), tune::make_pruner(pruner));

    auto objective = [](tune::Trial& trial) {
      const double lr = trial.suggest_float("lr", 1e-4, 1e-1, /*log=*/true);
      const int64_t units = trial.suggest_int("units", 16, 256, /*log=*/false, /*step=*/16);
      const std::string optimizer = trial.suggest_categorical("optimizer", {"sgd", "adam", "rmsprop"});
      double loss = 0.0;
      for (int epoch = 1; epoch <= 10; ++epoch) {
        loss = toy_validation_loss(lr, units, optimizer, epoch);
        trial.report(loss, epoch);
        if (trial.should_prune()) throw tune::TrialPruned();  // recorded as pruned, its curve kept
      }
      return loss;
    };

    tune::OptimizeOptions options;
    options.n_trials = n_trials;
    options.jobs = 2;
    options.on_trial_end = [](const tune::Study&, const tune::FrozenTrial& t) {
      std::cout << "trial " << t.number << " " << tune::to_string(t.state);
      if (t.value) std::cout << " loss " << *t.value;
      std::cout << " " << t.external_params().dump() << "\n";
      return false;  // true would stop the study
    };
    study.optimize(objective, options);

    const auto best = study.best_trial();
    if (!best) {
      std::cout << "no trial completed\n";
      return 1;
    }
    std::cout << "best trial " << best->number << ": loss " << *best->value << " with " << best->external_params().dump()
              << "\n";
  } catch (const nntune::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
