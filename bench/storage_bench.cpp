// One worker process of the storage benchmark (bench/run_storage_bench.sh): runs a cheap
// objective through nntune::tune::Study with the random sampler until the study holds N trials
// (counted over every worker on the storage), so the time measured is the storage's and the
// study loop's, not the objective's.
//   storage_bench URL STUDY N SEED     run trials until the study has N
//   storage_bench URL STUDY --create   create the study (before the workers start)
#include <cstdio>
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/study.hpp"

using namespace nntune;

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s URL STUDY N SEED | %s URL STUDY --create\n", argv[0], argv[0]);
    return 2;
  }
  try {
    const std::string create = argv[3];
    tune::SamplerConfig config;
    config.name = "random";
    config.seed = argc == 5 ? std::stoull(argv[4]) : 0;
    tune::Study study = tune::Study::open(tune::open_storage(argv[1]), argv[2], tune::Direction::Minimize,
                                          tune::make_sampler(config));
    if (create == "--create") return 0;
    tune::OptimizeOptions options;
    options.n_trials = std::stoll(argv[3]);
    options.catch_errors = false;
    study.optimize(
        [](tune::Trial& trial) {
          const double x = trial.suggest_float("x", -10, 10), y = trial.suggest_float("y", -10, 10);
          return (x - 1) * (x - 1) + (y + 2) * (y + 2);
        },
        options);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_bench: %s\n", e.what());
    return 1;
  }
}
