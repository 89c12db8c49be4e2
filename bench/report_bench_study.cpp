// Writes a synthetic study of N finished trials (default 10,000) into a storage, for timing the
// report on a large study (bench/run_report_bench.sh). Five parameters (log float, float, int,
// two categoricals), ten intermediate values per trial, a third of the trials pruned early, a
// few failed; values from a smooth function plus noise, so every plot has structure.
//   report_bench_study sqlite:///big.db big 10000
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/storage.hpp"

using namespace nntune;
using namespace nntune::tune;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: report_bench_study STORAGE_URL STUDY [TRIALS]\n");
    return 2;
  }
  const std::string url = argv[1], name = argv[2];
  const int64_t n = argc > 3 ? std::atoll(argv[3]) : 10000;
  try {
    auto storage = open_storage(url);
    if (const auto id = storage->find_study(name)) storage->delete_study(*id);
    const int64_t study = storage->create_study(name, Direction::Maximize);
    storage->set_study_system_attr(study, "sampler", {{"name", "random"}, {"seed", 1}});
    storage->set_study_system_attr(study, "pruner", {{"name", "median"}, {"n_startup_trials", 5}});
    storage->set_study_system_attr(study, "objective", {{"metric", "val_accuracy"}});

    const SearchSpace space = {{"lr", Distribution::float_range(1e-5, 1e-1, true)},
                               {"dropout", Distribution::float_range(0.0, 0.5)},
                               {"units", Distribution::int_range(16, 1024, true)},
                               {"optimizer", Distribution::categorical({"sgd", "adam", "rmsprop"})},
                               {"batch_size", Distribution::categorical({32, 64, 128, 256})}};
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> noise(0.0, 0.01);
    const double start = 1.7e9;
    const auto began = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      FrozenTrial t;
      for (const auto& [pname, d] : space) {
        double internal = 0.0;
        if (d.kind == DistributionKind::Categorical) internal = std::floor(u(rng) * static_cast<double>(d.choices.size()));
        else if (d.log) internal = std::exp(std::log(d.low) + u(rng) * (std::log(d.high) - std::log(d.low)));
        else internal = d.low + u(rng) * (d.high - d.low);
        t.params[pname] = d.snap(internal);
        t.distributions[pname] = d;
      }
      const double lr_term = -0.02 * std::pow(std::log10(t.params["lr"]) + 2.5, 2);
      const double final_value = std::clamp(0.88 + lr_term - 0.05 * t.params["dropout"] +
                                                0.01 * std::log2(t.params["units"] / 16.0) / 6 +
                                                (t.params["optimizer"] == 1 ? 0.01 : 0.0) + noise(rng),
                                            0.1, 0.95);
      const bool failed = i % 97 == 13, pruned = !failed && i % 3 == 1;
      const int64_t epochs = pruned ? 2 + i % 4 : failed ? 0 : 10;
      for (int64_t e = 1; e <= epochs; ++e)
        t.intermediate[e] = final_value - (pruned ? 0.1 : 0.0) - 0.3 * std::exp(-0.5 * static_cast<double>(e));
      t.state = failed ? TrialState::Failed : pruned ? TrialState::Pruned : TrialState::Complete;
      if (!failed) t.value = pruned ? t.intermediate.rbegin()->second : final_value;
      if (failed) t.error = "diverged: the loss became NaN at epoch 1";
      t.start_time = start + static_cast<double>(i) * 3.0;
      t.end_time = t.start_time + 1.0 + static_cast<double>(epochs) * 0.5;
      storage->create_trial(study, &t);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf("wrote %lld trials of study %s to %s in %.1fs\n", static_cast<long long>(n), name.c_str(), url.c_str(),
                seconds);
  } catch (const Error& e) {
    std::fprintf(stderr, "report_bench_study: %s\n", e.what());
    return 1;
  }
  return 0;
}
