// Asynchronous successive halving (ASHA, Li et al. 2020; Optuna's SuccessiveHalvingPruner).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/error.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/pruners.hpp"

namespace nntune::tune {
namespace detail {

SuccessiveHalvingPruner::SuccessiveHalvingPruner(int64_t min_resource, int64_t reduction_factor,
                                                 int64_t min_early_stopping_rate, int64_t bootstrap_count)
    : min_resource_(min_resource),
      reduction_factor_(reduction_factor),
      min_early_stopping_rate_(min_early_stopping_rate),
      bootstrap_count_(bootstrap_count) {}

int64_t SuccessiveHalvingPruner::rung_step(int64_t rung) const {
  return saturating_mul(min_resource_, saturating_pow(reduction_factor_, min_early_stopping_rate_ + rung));
}

bool SuccessiveHalvingPruner::prune(const StudyHistory& history, const FrozenTrial& trial) {
  std::vector<const FrozenTrial*> trials;
  trials.reserve(history.trials.size());
  for (const FrozenTrial& t : history.trials) trials.push_back(&t);
  return prune_among(history.direction, trials, trial);
}

bool SuccessiveHalvingPruner::prune_among(Direction direction, const std::vector<const FrozenTrial*>& trials,
                                          const FrozenTrial& trial) const {
  if (trial.intermediate.empty()) return false;
  const auto last = trial.intermediate.rbegin();
  const int64_t step = last->first;
  const double value = last->second;
  if (std::isnan(value)) return true;  // diverged: prune at once, not only at a rung
  // The step reported before this one: rungs at or below it were decided then.
  const int64_t previous_step = trial.intermediate.size() > 1 ? std::next(last)->first : -1;

  for (int64_t rung = 0;; ++rung) {
    const int64_t rung_promotion_step = rung_step(rung);
    if (step < rung_promotion_step) return false;
    if (previous_step >= rung_promotion_step) continue;

    // Every trial that reached the rung, valued at the first step it reported at or past it.
    std::vector<double> competing;
    for (const FrozenTrial* other : trials) {
      if (other->number == trial.number) continue;
      auto reached = other->intermediate.lower_bound(rung_promotion_step);
      if (reached != other->intermediate.end()) competing.push_back(loss_of_value(direction, reached->second));
    }
    const double own_loss = loss_of_value(direction, value);
    competing.push_back(own_loss);

    // Optuna's bootstrap: the first bootstrap_count trials at a rung are not promoted.
    if (static_cast<int64_t>(competing.size()) <= bootstrap_count_) return true;

    // Top 1/eta; while fewer than eta trials reached the rung, only the best one goes on
    // (no trial is paused to wait for others, as in Optuna).
    int64_t promotable_index = static_cast<int64_t>(competing.size()) / reduction_factor_ - 1;
    if (promotable_index < 0) promotable_index = 0;
    std::nth_element(competing.begin(), competing.begin() + promotable_index, competing.end());
    if (own_loss > competing[promotable_index]) return true;
  }
}

}  // namespace detail
}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(pruner_successive_halving) {
  using namespace nntune;
  using namespace nntune::tune;
  declare_pruner({.name = "successive_halving",
                  .help = "asynchronous successive halving: at each rung only the top 1/reduction_factor go on",
                  .order = 3,
                  .aliases = {"asha"}},
                 {[](const PrunerConfig& c) -> std::unique_ptr<Pruner> {
                    return std::make_unique<detail::SuccessiveHalvingPruner>(c.min_resource, c.reduction_factor,
                                                                             c.min_early_stopping_rate, c.bootstrap_count);
                  },
                  {
                      bind_option(&PrunerConfig::min_resource, schema::opt("min_resource", schema::integer(1.0), nullptr, "the first rung\'s step (epoch)")),
                      bind_option(&PrunerConfig::reduction_factor, schema::opt("reduction_factor", schema::integer(2.0), nullptr, "keep the best 1/reduction_factor at each rung")),
                      bind_option(&PrunerConfig::bootstrap_count, schema::opt("bootstrap_count", schema::integer(0.0), nullptr, "trials a rung needs before it promotes any")),
                      bind_option(&PrunerConfig::min_early_stopping_rate,
                                  schema::opt("min_early_stopping_rate", schema::integer(0.0), nullptr,
                                              "skips the first rungs: rung r is at min_resource * factor^(rate + r)")),
                  }});
}
