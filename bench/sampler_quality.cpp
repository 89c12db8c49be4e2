// Sampler quality: median (and mean) regret, best value found minus the known optimum, after
// N trials over SEEDS seeds (0..SEEDS-1) on each test function. Same output format as
// ../shared/anchors/optuna_quality.py, so both can be tabulated side by side.
// usage: sampler_quality SAMPLER N SEEDS FUNC...   (SAMPLER: random, sobol, tpe, tpe-mv, gp)
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "functions.hpp"
#include "nntune/error.hpp"
#include "tune/optimize_loop.hpp"

using namespace nntune;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s SAMPLER N SEEDS FUNC...\n", argv[0]);
    return 2;
  }
  try {
    const std::string sampler_name = argv[1];
    const int64_t n_trials = std::stoll(argv[2]);
    const int seeds = std::stoi(argv[3]);
    for (int f = 4; f < argc; ++f) {
      const bench::TestFunction function = bench::test_function(argv[f]);
      const tune::SearchSpace space = function.space();
      std::vector<double> regrets;
      for (int seed = 0; seed < seeds; ++seed) {
        tune::SamplerConfig config;
        config.name = sampler_name;
        config.seed = static_cast<uint64_t>(seed);
        auto sampler = tune::make_sampler(config);
        const tune::StudyHistory history = tune::optimize(*sampler, space, function, n_trials);
        double best = std::numeric_limits<double>::infinity();
        for (const auto& t : history.trials)
          if (t.value) best = std::min(best, *t.value);
        regrets.push_back(best - function.optimum);
      }
      std::vector<double> sorted = regrets;
      std::sort(sorted.begin(), sorted.end());
      const size_t m = sorted.size();
      const double median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
      const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(m);
      std::printf("%s %s n=%lld seeds=%d median_regret %.4g mean %.4g\n", function.name.c_str(), sampler_name.c_str(),
                  static_cast<long long>(n_trials), seeds, median, mean);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sampler_quality: %s\n", e.what());
    return 1;
  }
  return 0;
}
