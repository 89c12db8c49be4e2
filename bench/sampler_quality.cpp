// Sampler quality: median (and mean) regret, best value found minus the known optimum, after
// N trials over SEEDS seeds (0..SEEDS-1) on each test function. Same output format as
// ../shared/anchors/optuna_quality.py, so both can be tabulated side by side.
// usage: sampler_quality SAMPLER N SEEDS FUNC... [--at K1,K2,...]   (SAMPLER: random, sobol, tpe,
// tpe-mv, gp, auto). --at also prints the regret after the first K trials of the same runs (one
// line each, n=K): a run of N trials holds the runs of every shorter length, seed for seed.
// --per-seed also prints each seed's regret ("FUNC SAMPLER n=K seed=S regret R"), for paired
// comparisons between samplers.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>
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
    std::vector<std::string> functions;
    std::vector<int64_t> marks;
    bool per_seed = false;
    for (int a = 4; a < argc; ++a) {
      const std::string arg = argv[a];
      if (arg == "--per-seed") {
        per_seed = true;
        continue;
      }
      if (arg.rfind("--at", 0) != 0) {
        functions.push_back(arg);
        continue;
      }
      std::string list = arg.size() > 4 && arg[4] == '=' ? arg.substr(5) : (a + 1 < argc ? argv[++a] : "");
      for (size_t pos = 0; pos < list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const int64_t k = std::stoll(list.substr(pos, comma - pos));
        if (k < 1 || k > n_trials) throw std::invalid_argument("--at " + list + ": each K must be in 1.." + std::to_string(n_trials));
        marks.push_back(k);
        pos = comma + 1;
      }
    }
    std::sort(marks.begin(), marks.end());
    if (marks.empty() || marks.back() != n_trials) marks.push_back(n_trials);
    for (const std::string& name : functions) {
      const bench::TestFunction function = bench::test_function(name);
      const tune::SearchSpace space = function.space();
      std::vector<std::vector<double>> regrets(marks.size());  // [mark][seed]
      for (int seed = 0; seed < seeds; ++seed) {
        tune::SamplerConfig config;
        config.name = sampler_name;
        config.seed = static_cast<uint64_t>(seed);
        auto sampler = tune::make_sampler(config);
        const tune::StudyHistory history = tune::optimize(*sampler, space, function, n_trials);
        double best = std::numeric_limits<double>::infinity();
        size_t mark = 0;
        for (const auto& t : history.trials) {
          if (t.value) best = std::min(best, *t.value);
          // trials are numbered in the order they were asked: trial K-1 closes the first K
          while (mark < marks.size() && t.number + 1 == marks[mark]) regrets[mark++].push_back(best - function.optimum);
        }
      }
      for (size_t mark = 0; per_seed && mark < marks.size(); ++mark)
        for (size_t seed = 0; seed < regrets[mark].size(); ++seed)
          std::printf("%s %s n=%lld seed=%zu regret %.6g\n", function.name.c_str(), sampler_name.c_str(),
                      static_cast<long long>(marks[mark]), seed, regrets[mark][seed]);
      for (size_t mark = 0; mark < marks.size(); ++mark) {
        std::vector<double> sorted = regrets[mark];
        std::sort(sorted.begin(), sorted.end());
        const size_t m = sorted.size();
        const double median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
        const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(m);
        std::printf("%s %s n=%lld seeds=%d median_regret %.4g mean %.4g\n", function.name.c_str(), sampler_name.c_str(),
                    static_cast<long long>(marks[mark]), seeds, median, mean);
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sampler_quality: %s\n", e.what());
    return 1;
  }
  return 0;
}
