#include "tune/pruners.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/error.hpp"

namespace nntune::tune {
namespace detail {
namespace {

constexpr int64_t kMaxStep = std::numeric_limits<int64_t>::max();

// Intermediate values turned so that lower is better; NaN (a diverged competitor) is the worst.
double loss_of_value(Direction direction, double value) {
  if (std::isnan(value)) return std::numeric_limits<double>::infinity();
  return direction == Direction::Minimize ? value : -value;
}

// a * b, saturating at INT64_MAX (rung steps grow geometrically).
int64_t saturating_mul(int64_t a, int64_t b) {
  if (a != 0 && b > kMaxStep / a) return kMaxStep;
  return a * b;
}

int64_t saturating_pow(int64_t base, int64_t exponent) {
  int64_t out = 1;
  for (int64_t i = 0; i < exponent && out != kMaxStep; ++i) out = saturating_mul(out, base);
  return out;
}

// Optuna's _is_first_in_interval_step: the trial is checked at the first step it reports in each
// interval after the warm-up, even when it skips the exact interval step.
bool is_first_in_interval_step(int64_t step, const std::map<int64_t, double>& intermediate, int64_t n_warmup_steps,
                               int64_t interval_steps) {
  const int64_t nearest_lower_pruning_step = (step - n_warmup_steps) / interval_steps * interval_steps + n_warmup_steps;
  int64_t second_last_step = -1;
  for (const auto& [s, value] : intermediate)
    if (s != step && s > second_last_step) second_last_step = s;
  return second_last_step < nearest_lower_pruning_step;
}

}  // namespace

double nan_percentile(std::vector<double> values, double percentile) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = percentile / 100.0 * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<size_t>(std::floor(position));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  if (fraction == 0.0) return values[lower];  // also keeps infinities out of inf - inf
  return values[lower] + (values[upper] - values[lower]) * fraction;
}

// ---- median / percentile ----

PercentilePruner::PercentilePruner(std::string name, double percentile, int64_t n_startup_trials,
                                   int64_t n_warmup_steps, int64_t interval_steps)
    : name_(std::move(name)),
      percentile_(percentile),
      n_startup_trials_(n_startup_trials),
      n_warmup_steps_(n_warmup_steps),
      interval_steps_(interval_steps) {}

bool PercentilePruner::prune(const StudyHistory& history, const FrozenTrial& trial) {
  if (trial.intermediate.empty()) return false;
  if (std::isnan(trial.intermediate.rbegin()->second)) return true;  // diverged: nothing to wait for
  std::vector<const FrozenTrial*> completed;
  for (const FrozenTrial& t : history.trials)
    if (t.state == TrialState::Complete && t.number != trial.number) completed.push_back(&t);
  if (completed.empty() || static_cast<int64_t>(completed.size()) < n_startup_trials_) return false;

  const int64_t step = trial.intermediate.rbegin()->first;
  if (step < n_warmup_steps_) return false;
  if (!is_first_in_interval_step(step, trial.intermediate, n_warmup_steps_, interval_steps_)) return false;

  // The trial's best value over all its steps so far; all NaN means it diverged.
  double best_loss = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [s, value] : trial.intermediate) {
    if (std::isnan(value)) continue;
    const double loss = history.direction == Direction::Minimize ? value : -value;
    if (std::isnan(best_loss) || loss < best_loss) best_loss = loss;
  }
  if (std::isnan(best_loss)) return true;

  std::vector<double> losses_at_step;
  for (const FrozenTrial* t : completed) {
    auto found = t->intermediate.find(step);
    if (found == t->intermediate.end()) continue;
    const double value = found->second;
    losses_at_step.push_back(std::isnan(value) ? value : (history.direction == Direction::Minimize ? value : -value));
  }
  // In loss space "worse than the p-th percentile" is the same test for both directions (Optuna
  // takes the (100 - p)-th percentile of the raw values when maximising).
  const double threshold = nan_percentile(std::move(losses_at_step), percentile_);
  if (std::isnan(threshold)) return false;
  return best_loss > threshold;
}

// ---- successive halving ----

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

// ---- hyperband ----

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

namespace {

void require(bool ok, const std::string& field, const std::string& allowed, const std::string& got) {
  if (!ok) throw Error("pruner." + field + " must be " + allowed + " (got " + got + ")");
}

void validate(const PrunerConfig& c) {
  using std::to_string;
  require(c.n_startup_trials >= 0, "n_startup_trials", "an integer >= 0", to_string(c.n_startup_trials));
  require(c.n_warmup_steps >= 0, "n_warmup_steps", "an integer >= 0", to_string(c.n_warmup_steps));
  require(c.interval_steps >= 1, "interval_steps", "an integer >= 1", to_string(c.interval_steps));
  require(c.percentile >= 0.0 && c.percentile <= 100.0, "percentile", "in [0, 100]", to_string(c.percentile));
  require(c.min_resource >= 1, "min_resource", "an integer >= 1", to_string(c.min_resource));
  require(c.max_resource == 0 || c.max_resource >= c.min_resource, "max_resource",
          "0 (take it from the completed trials) or >= min_resource (" + to_string(c.min_resource) + ")",
          to_string(c.max_resource));
  require(c.reduction_factor >= 2, "reduction_factor", "an integer >= 2", to_string(c.reduction_factor));
  require(c.min_early_stopping_rate >= 0, "min_early_stopping_rate", "an integer >= 0",
          to_string(c.min_early_stopping_rate));
  require(c.bootstrap_count >= 0, "bootstrap_count", "an integer >= 0", to_string(c.bootstrap_count));
}

}  // namespace

std::unique_ptr<Pruner> make_pruner(const PrunerConfig& config) {
  const std::string& name = config.name;
  if (name == "none" || name.empty()) return std::make_unique<detail::NopPruner>();
  validate(config);
  if (name == "median")
    return std::make_unique<detail::PercentilePruner>("median", 50.0, config.n_startup_trials, config.n_warmup_steps,
                                                      config.interval_steps);
  if (name == "percentile")
    return std::make_unique<detail::PercentilePruner>("percentile", config.percentile, config.n_startup_trials,
                                                      config.n_warmup_steps, config.interval_steps);
  if (name == "successive_halving" || name == "asha")
    return std::make_unique<detail::SuccessiveHalvingPruner>(config.min_resource, config.reduction_factor,
                                                             config.min_early_stopping_rate, config.bootstrap_count);
  if (name == "hyperband")
    return std::make_unique<detail::HyperbandPruner>(config.min_resource, config.max_resource,
                                                     config.reduction_factor, config.bootstrap_count);
  throw Error("unknown pruner \"" + name + "\" (allowed: none, median, percentile, successive_halving (or asha), hyperband)");
}

}  // namespace nntune::tune
