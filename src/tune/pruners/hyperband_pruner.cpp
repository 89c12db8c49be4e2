// Hyperband (Li et al. 2018; Optuna's HyperbandPruner): one successive-halving pruner per bracket.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/error.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/pruners.hpp"

namespace nntune::tune {
namespace detail {

HyperbandPruner::HyperbandPruner(int64_t min_resource, int64_t max_resource, int64_t reduction_factor,
                                 int64_t bootstrap_count)
    : min_resource_(min_resource),
      max_resource_(max_resource),
      reduction_factor_(reduction_factor),
      bootstrap_count_(bootstrap_count) {}

int64_t HyperbandPruner::effective_max_resource(const StudyHistory& history) const {
  if (max_resource_ > 0) return max_resource_;
  int64_t largest_step = -1;
  for (const FrozenTrial& t : history.trials)
    if (t.state == TrialState::Complete && !t.intermediate.empty())
      largest_step = std::max(largest_step, t.intermediate.rbegin()->first);
  return largest_step < 0 ? 0 : largest_step + 1;
}

int64_t HyperbandPruner::n_brackets(int64_t max_resource) const {
  // floor(log_eta(max / min)) + 1, in integers; at least one bracket.
  int64_t n = 1;
  for (int64_t resource = min_resource_; saturating_mul(resource, reduction_factor_) <= max_resource &&
                                         resource != kMaxStep;
       resource = saturating_mul(resource, reduction_factor_))
    ++n;
  return n;
}

int64_t HyperbandPruner::bracket_budget(int64_t max_resource, int64_t bracket) const {
  const int64_t n = n_brackets(max_resource);
  const int64_t s = n - 1 - bracket;
  return (saturating_mul(n, saturating_pow(reduction_factor_, s)) + s) / (s + 1);
}

int64_t HyperbandPruner::bracket_of(int64_t trial_number, int64_t max_resource) const {
  const int64_t n = n_brackets(max_resource);
  int64_t total = 0;
  for (int64_t b = 0; b < n; ++b) total += bracket_budget(max_resource, b);
  // splitmix64's finaliser: a fixed, well-spread hash of the number on every platform.
  uint64_t h = static_cast<uint64_t>(trial_number) + 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  auto remaining = static_cast<int64_t>(h % static_cast<uint64_t>(total));
  for (int64_t b = 0; b < n; ++b) {
    remaining -= bracket_budget(max_resource, b);
    if (remaining < 0) return b;
  }
  return n - 1;
}

bool HyperbandPruner::prune(const StudyHistory& history, const FrozenTrial& trial) {
  if (!trial.intermediate.empty() && std::isnan(trial.intermediate.rbegin()->second)) return true;
  const int64_t max_resource = effective_max_resource(history);
  if (max_resource == 0) return false;  // "auto" and no trial has completed yet (as Optuna)
  const int64_t bracket = bracket_of(trial.number, max_resource);
  std::vector<const FrozenTrial*> same_bracket;
  for (const FrozenTrial& t : history.trials)
    if (bracket_of(t.number, max_resource) == bracket) same_bracket.push_back(&t);
  const SuccessiveHalvingPruner halving(min_resource_, reduction_factor_, bracket, bootstrap_count_);
  return halving.prune_among(history.direction, same_bracket, trial);
}

}  // namespace detail
}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(pruner_hyperband) {
  using namespace nntune;
  using namespace nntune::tune;
  declare_pruner({.name = "hyperband", .help = "brackets of successive halving with different first rungs", .order = 4},
                 {[](const PrunerConfig& c) -> std::unique_ptr<Pruner> {
                    return std::make_unique<detail::HyperbandPruner>(c.min_resource, c.max_resource, c.reduction_factor,
                                                                     c.bootstrap_count);
                  },
                  {
                      bind_option(&PrunerConfig::min_resource, schema::opt("min_resource", schema::integer(1.0), nullptr, "the first rung\'s step (epoch)")),
                      bind_option(&PrunerConfig::reduction_factor, schema::opt("reduction_factor", schema::integer(2.0), nullptr, "keep the best 1/reduction_factor at each rung")),
                      bind_option(&PrunerConfig::bootstrap_count, schema::opt("bootstrap_count", schema::integer(0.0), nullptr, "trials a rung needs before it promotes any")),
                      bind_option(&PrunerConfig::max_resource,
                                  schema::opt("max_resource", schema::integer(0.0), nullptr,
                                              "the last rung's step; 0 takes it from the trials (the epochs)")),
                  },
                  // Its largest budget is the number of epochs (the upper bound when epochs are tuned).
                  [](PrunerConfig& c, int64_t epochs) {
                    if (c.max_resource == 0) c.max_resource = epochs;
                  }});
}
