#pragma once
// The pruners behind make_pruner(), private to the library; tests reach them through src/.
// Every pruner is a pure function of the stored history (Optuna's semantics), so it gives the
// same answer in any process that reads the same storage.
// One deliberate difference from Optuna: every pruner but "none" prunes a trial whose latest
// intermediate value is NaN at once (before startup trials, warm-up or a rung step), since a
// diverged network does not recover.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nntune/tune/pruner.hpp"

namespace nntune::tune::detail {

class NopPruner : public Pruner {
 public:
  std::string name() const override { return "none"; }
  bool prune(const StudyHistory&, const FrozenTrial&) override { return false; }
};

// Median is the 50th percentile. Prunes when the trial's best intermediate value so far is worse
// than the percentile of the completed trials' values at the same step.
class PercentilePruner : public Pruner {
 public:
  PercentilePruner(std::string name, double percentile, int64_t n_startup_trials, int64_t n_warmup_steps,
                   int64_t interval_steps);
  std::string name() const override { return name_; }
  bool prune(const StudyHistory& history, const FrozenTrial& trial) override;

 private:
  std::string name_;
  double percentile_;
  int64_t n_startup_trials_, n_warmup_steps_, interval_steps_;
};

// Asynchronous successive halving (ASHA). Rung r sits at step
// min_resource * reduction_factor^(min_early_stopping_rate + r). When a trial first reports a
// step at or past a rung, it competes with every other trial that has reached that rung (its
// value at the first step it reported at or past the rung step); it goes on only if it is in the
// top 1/reduction_factor of them. Optuna stores the rung values as trial attributes; here they are
// read back from the intermediate values, so prune() never writes.
class SuccessiveHalvingPruner : public Pruner {
 public:
  SuccessiveHalvingPruner(int64_t min_resource, int64_t reduction_factor, int64_t min_early_stopping_rate,
                          int64_t bootstrap_count);
  std::string name() const override { return "successive_halving"; }
  bool prune(const StudyHistory& history, const FrozenTrial& trial) override;
  // The same decision with the competitors given explicitly (Hyperband passes one bracket).
  bool prune_among(Direction direction, const std::vector<const FrozenTrial*>& trials, const FrozenTrial& trial) const;
  // Step of rung `rung`; saturates at INT64_MAX instead of overflowing.
  int64_t rung_step(int64_t rung) const;

 private:
  int64_t min_resource_, reduction_factor_, min_early_stopping_rate_, bootstrap_count_;
};

// Hyperband: one successive-halving pruner per bracket, bracket b with min_early_stopping_rate b.
// A trial's bracket is a hash of its number weighted by each bracket's trial budget (as Optuna's
// HyperbandPruner), and a bracket's pruner only sees the trials of that bracket.
class HyperbandPruner : public Pruner {
 public:
  HyperbandPruner(int64_t min_resource, int64_t max_resource, int64_t reduction_factor, int64_t bootstrap_count);
  std::string name() const override { return "hyperband"; }
  bool prune(const StudyHistory& history, const FrozenTrial& trial) override;

  // max_resource used for `history`: the configured one, or (when configured as 0) the largest
  // step a completed trial reported + 1, as Optuna's "auto"; 0 while no trial has completed.
  int64_t effective_max_resource(const StudyHistory& history) const;
  int64_t n_brackets(int64_t max_resource) const;
  // Trials bracket b may start: ceil(n_brackets * eta^s / (s + 1)), s = n_brackets - 1 - b.
  int64_t bracket_budget(int64_t max_resource, int64_t bracket) const;
  int64_t bracket_of(int64_t trial_number, int64_t max_resource) const;

 private:
  int64_t min_resource_, max_resource_, reduction_factor_, bootstrap_count_;
};

constexpr int64_t kMaxStep = std::numeric_limits<int64_t>::max();

// Intermediate values turned so that lower is better; NaN (a diverged competitor) is the worst.
inline double loss_of_value(Direction direction, double value) {
  if (std::isnan(value)) return std::numeric_limits<double>::infinity();
  return direction == Direction::Minimize ? value : -value;
}

// a * b, saturating at INT64_MAX (rung steps grow geometrically).
inline int64_t saturating_mul(int64_t a, int64_t b) {
  if (a != 0 && b > kMaxStep / a) return kMaxStep;
  return a * b;
}

inline int64_t saturating_pow(int64_t base, int64_t exponent) {
  int64_t out = 1;
  for (int64_t i = 0; i < exponent && out != kMaxStep; ++i) out = saturating_mul(out, base);
  return out;
}

// Linear-interpolation percentile of the non-NaN values (numpy.nanpercentile); NaN when none.
double nan_percentile(std::vector<double> values, double percentile);

}  // namespace nntune::tune::detail
