// Sampler overhead per trial as the study grows: a cheap objective, sum (x_i - 0.5)^2 over
// DIM floats in [-5, 5], through the in-memory ask/tell loop. Same output format as
// ../shared/anchors/optuna_overhead.py: total seconds at 100, 200, 500, 1000, 2000, ... trials
// and the milliseconds per trial over the last block.
// usage: sampler_overhead SAMPLER N_TRIALS DIM [K1,K2,...]   (the marks; default the list above)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "functions.hpp"
#include "tune/optimize_loop.hpp"

using namespace nntune;

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s SAMPLER N_TRIALS DIM [K1,K2,...]\n", argv[0]);
    return 2;
  }
  try {
    tune::SamplerConfig config;
    config.name = argv[1];
    config.seed = 0;
    const int64_t n_trials = std::stoll(argv[2]);
    const bench::TestFunction function = bench::quadratic(std::stoi(argv[3]));
    const tune::SearchSpace space = function.space();
    std::vector<int64_t> marks = {100, 200, 500, 1000, 2000, 5000, 10000};
    if (argc == 5) {
      marks.clear();
      const std::string list = argv[4];
      for (size_t pos = 0; pos < list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        marks.push_back(std::stoll(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    }
    auto sampler = tune::make_sampler(config);
    tune::StudyHistory history;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto last = start;
    int64_t last_mark = 0;
    for (int64_t k = 1; k <= n_trials; ++k) {
      const int64_t number = tune::ask(*sampler, history, space);
      tune::tell(*sampler, history, number, function(history.trials[static_cast<size_t>(number)].params));
      if (std::find(marks.begin(), marks.end(), k) != marks.end()) {
        const auto now = clock::now();
        const double total = std::chrono::duration<double>(now - start).count();
        const double block_ms = 1000.0 * std::chrono::duration<double>(now - last).count() / static_cast<double>(k - last_mark);
        std::printf("%lld trials: %.2fs total, last-block %.2f ms/trial\n", static_cast<long long>(k), total, block_ms);
        std::fflush(stdout);
        last = now;
        last_mark = k;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sampler_overhead: %s\n", e.what());
    return 1;
  }
  return 0;
}
