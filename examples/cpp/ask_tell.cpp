// Ask/tell: the caller owns the loop (e.g. to evaluate in its own scheduler) and only asks
// the study for the next parameters and tells it the result.
//
//   ask_tell [STORAGE_URL] [N_TRIALS]
//   ask_tell sqlite:///example.db 20
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/study.hpp"

namespace tune = nntune::tune;

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "memory";
  const int64_t n_trials = argc > 2 ? std::atoll(argv[2]) : 20;
  try {
    tune::SamplerConfig sampler;
    sampler.name = "tpe";
    sampler.seed = 3;
    tune::Study study = tune::Study::open(tune::open_storage(url), "ask-tell-example", tune::Direction::Maximize,
                                          tune::make_sampler(sampler));
    // A configuration known to be good is tried first.
    if (study.history().trials.empty()) study.enqueue({{"x", 1.0}, {"kernel", "rbf"}});

    for (int64_t i = 0; i < n_trials; ++i) {
      tune::Trial trial = study.ask();
      const double x = trial.suggest_float("x", -3, 3);
      const std::string kernel = trial.suggest_categorical("kernel", {"linear", "rbf"});
      // The user's own evaluation: anything that yields a score (higher is better here).
      const double score = (kernel == "rbf" ? 1.0 : 0.6) * std::exp(-(x - 0.7) * (x - 0.7));
      if (!std::isfinite(score)) {
        study.tell(trial, tune::TrialState::Failed, std::nullopt, "score was not finite");
        continue;
      }
      study.tell(trial, score);
      std::cout << "trial " << trial.number() << ": x=" << x << " kernel=" << kernel << " score=" << score << "\n";
    }
    const auto best = study.best_trial();
    if (best)
      std::cout << "best trial " << best->number << ": score " << *best->value << " with "
                << best->external_params().dump() << "\n";
  } catch (const nntune::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
