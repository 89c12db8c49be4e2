// Grid search: every combination of the grid exactly once. The point of a new trial is the
// lowest-index point that no other trial of the history holds (running ones included), so
// parallel workers and resumed studies never repeat a point; is_exhausted() tells the study
// when every point is taken.
//
// The grid is the product, in parameter-name order (the first name varies slowest), of
// - the values listed in SamplerConfig::grid (converted to internal values), and
// - every value of any other parameter met in the history with a finite distribution
//   (ints, stepped floats, categoricals); a continuous float without a listed grid is an error.
// Parameters first met during the first trial simply extend the product: that trial takes
// point 0, whose every coordinate is the first value, whatever the final dimensions are.
#include <algorithm>
#include <cmath>
#include <set>

#include "nntune/error.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "tune/samplers.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::tune {
namespace {

constexpr int64_t kMaxGridPoints = 100'000'000;

class GridSampler : public Sampler {
 public:
  explicit GridSampler(std::map<std::string, std::vector<nlohmann::json>> explicit_grid)
      : explicit_grid_(std::move(explicit_grid)) {
    for (const auto& [name, values] : explicit_grid_)
      if (values.empty()) throw Error("grid for parameter \"" + name + "\" lists no values: give at least one");
  }
  std::string name() const override { return "grid"; }

  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    const Grid grid = build_grid(history, &trial, name, distribution);
    const size_t dim = grid.dimension_of(name);
    const std::set<int64_t> taken = taken_points(history, grid, trial.number);
    // The lowest free point that agrees with what this trial already holds; if a concurrent
    // worker took them all meanwhile, the lowest agreeing point (a repeat beats a crash).
    int64_t fallback = -1;
    for (int64_t index = 0; index < grid.size(); ++index) {
      if (!grid.agrees(index, trial)) continue;
      if (!taken.count(index)) return grid.value(index, dim);
      if (fallback < 0) fallback = index;
    }
    return grid.value(std::max<int64_t>(fallback, 0), dim);
  }

  bool is_exhausted(const StudyHistory& history) const override {
    if (history.trials.empty()) return false;  // dimensions are unknown before the first trial
    const Grid grid = build_grid(history, nullptr, "", Distribution());
    if (grid.names.empty()) return false;
    return static_cast<int64_t>(taken_points(history, grid, -1).size()) >= grid.size();
  }

 private:
  struct Grid {
    std::vector<std::string> names;           // sorted
    std::vector<std::vector<double>> values;  // internal values per dimension
    std::vector<int64_t> strides;             // mixed radix, first name slowest

    int64_t size() const { return names.empty() ? 0 : strides[0] * static_cast<int64_t>(values[0].size()); }
    size_t dimension_of(const std::string& name) const {
      return static_cast<size_t>(std::lower_bound(names.begin(), names.end(), name) - names.begin());
    }
    double value(int64_t index, size_t dim) const {
      return values[dim][static_cast<size_t>((index / strides[dim]) % static_cast<int64_t>(values[dim].size()))];
    }
    // Index of the value in dimension `dim` equal to `internal`, or -1.
    int64_t position(size_t dim, double internal) const {
      const auto& v = values[dim];
      for (size_t i = 0; i < v.size(); ++i)
        if (std::abs(v[i] - internal) <= 1e-12 * std::max(1.0, std::abs(v[i]))) return static_cast<int64_t>(i);
      return -1;
    }
    bool agrees(int64_t index, const FrozenTrial& trial) const {
      for (size_t d = 0; d < names.size(); ++d) {
        auto found = trial.params.find(names[d]);
        if (found != trial.params.end() && position(d, found->second) != (index / strides[d]) % static_cast<int64_t>(values[d].size()))
          return false;
      }
      return true;
    }
  };

  std::vector<double> values_of(const std::string& name, const Distribution& distribution) const {
    return grid_values(name, distribution, explicit_grid_);
  }

  // The grid as known from the history (+ the parameter being asked now, if any).
  Grid build_grid(const StudyHistory& history, const FrozenTrial* current, const std::string& asked,
                  const Distribution& asked_distribution) const {
    std::map<std::string, Distribution> seen;
    for (const auto& t : history.trials)
      for (const auto& [name, d] : t.distributions) seen.emplace(name, d);  // first seen wins
    if (current)
      for (const auto& [name, d] : current->distributions) seen.emplace(name, d);
    if (!asked.empty()) seen.insert_or_assign(asked, asked_distribution);
    Grid grid;
    for (const auto& [name, d] : seen) {
      grid.names.push_back(name);
      grid.values.push_back(values_of(name, d));
    }
    grid.strides.assign(grid.names.size(), 1);
    int64_t total = 1;
    for (size_t d = grid.names.size(); d-- > 0;) {
      grid.strides[d] = total;
      total *= static_cast<int64_t>(grid.values[d].size());
      if (total > kMaxGridPoints)
        throw Error("grid has more than " + std::to_string(kMaxGridPoints) + " points: list fewer values");
    }
    return grid;
  }

  // Points held by trials of the history other than `exclude_number`; trials lacking a grid
  // parameter hold none. A failed trial frees its point once (a trial that was running when a
  // worker was killed is retried after the resume), but a point that failed twice stays taken,
  // so a configuration that always fails (diverges) does not loop forever.
  static std::set<int64_t> taken_points(const StudyHistory& history, const Grid& grid, int64_t exclude_number) {
    std::set<int64_t> taken;
    std::map<int64_t, int> failures;
    for (const auto& t : history.trials) {
      if (t.number == exclude_number) continue;
      int64_t index = 0;
      bool complete = true;
      for (size_t d = 0; d < grid.names.size() && complete; ++d) {
        auto found = t.params.find(grid.names[d]);
        const int64_t pos = found == t.params.end() ? -1 : grid.position(d, found->second);
        if (pos < 0) complete = false;
        index += pos * grid.strides[d];
      }
      if (!complete) continue;
      if (t.state != TrialState::Failed || ++failures[index] >= 2) taken.insert(index);
    }
    return taken;
  }

  std::map<std::string, std::vector<nlohmann::json>> explicit_grid_;
};

}  // namespace

std::vector<double> grid_values(const std::string& name, const Distribution& distribution,
                                const std::map<std::string, std::vector<nlohmann::json>>& explicit_grid) {
  std::vector<double> out;
  auto listed = explicit_grid.find(name);
  if (listed != explicit_grid.end()) {
    for (const auto& external : listed->second) {
      try {
        out.push_back(distribution.to_internal(external));
      } catch (const Error& e) {
        throw Error("grid value for parameter \"" + name + "\": " + e.what());
      }
    }
    return out;
  }
  const int64_t n = distribution.cardinality();
  if (n == 0)
    throw Error("grid sampler cannot enumerate continuous float parameter \"" + name + "\" [" +
                std::to_string(distribution.low) + ", " + std::to_string(distribution.high) +
                "]: list its values in the sampler's grid or give the range a step");
  if (n > kMaxGridPoints)
    throw Error("grid for parameter \"" + name + "\" would have " + std::to_string(n) +
                " values: list fewer values in the sampler's grid");
  for (int64_t i = 0; i < n; ++i) {
    const double raw = distribution.kind == DistributionKind::Categorical ? static_cast<double>(i)
                                                                        : distribution.low + static_cast<double>(i) * distribution.step;
    out.push_back(distribution.snap(raw));
  }
  return out;
}

std::vector<nlohmann::json> enumerate_grid(const SpecTree& space, bool external,
                                           const std::map<std::string, std::vector<nlohmann::json>>& explicit_grid,
                                           int64_t max_points) {
  // An odometer over the sequence of decisions one walk of the space makes: each walk follows
  // the chosen value indices and takes the first value of any parameter met past them (a new
  // branch's parameters), then the last decision that can still move does, and the ones after
  // it start over. Each leaf of the tree of branches is visited once.
  std::vector<nlohmann::json> points;
  std::vector<size_t> chosen;
  for (;;) {
    std::vector<size_t> counts;
    nlohmann::json point = nlohmann::json::object();
    materialize(
        space,
        [&](const std::string& name, const Distribution& distribution) -> nlohmann::json {
          const std::vector<double> values = grid_values(name, distribution, explicit_grid);
          if (values.empty()) throw Error("grid for parameter \"" + name + "\" lists no values: give at least one");
          const size_t at = counts.size();
          if (at == chosen.size()) chosen.push_back(0);
          counts.push_back(values.size());
          const nlohmann::json value = distribution.to_external(values[std::min(chosen[at], values.size() - 1)]);
          point[name] = value;
          return value;
        },
        external);
    chosen.resize(counts.size());
    points.push_back(std::move(point));
    if (static_cast<int64_t>(points.size()) > max_points)
      throw Error(space.source + ": the grid has more than " + std::to_string(max_points) +
                  " points: give fewer values (steps, choices) or use another sampler (random, sobol, tpe)");
    size_t moving = chosen.size();
    while (moving > 0 && chosen[moving - 1] + 1 >= counts[moving - 1]) --moving;
    if (moving == 0) break;
    ++chosen[moving - 1];
    chosen.resize(moving);
  }
  return points;
}

std::unique_ptr<Sampler> make_grid_sampler(const SamplerConfig& config) {
  return std::make_unique<GridSampler>(config.grid);
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_grid) {
  nntune::tune::declare_sampler(
      {.name = "grid", .help = "every combination of the space's values, each once (tune.grid lists values per parameter)",
       .order = 1},
      {nntune::tune::make_grid_sampler, {}});
}
