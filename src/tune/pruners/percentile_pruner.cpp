// Median and percentile pruning (Optuna's MedianPruner / PercentilePruner): a trial stops when its
// best intermediate value so far is worse than the given percentile of the completed trials'
// values at the same step.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/error.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/pruners.hpp"

namespace nntune::tune {
namespace detail {
namespace {

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

}  // namespace detail

namespace {

const std::vector<Option<PrunerConfig>>& percentile_options() {
  static const std::vector<Option<PrunerConfig>> options = {
      bind_option(&PrunerConfig::n_startup_trials, schema::opt("n_startup_trials", schema::integer(0.0), nullptr, "no pruning until this many trials completed")),
      bind_option(&PrunerConfig::n_warmup_steps, schema::opt("n_warmup_steps", schema::integer(0.0), nullptr, "no pruning before this step")),
      bind_option(&PrunerConfig::interval_steps, schema::opt("interval_steps", schema::integer(1.0), nullptr, "check every this many steps")),
  };
  return options;
}

std::vector<Option<PrunerConfig>> with_percentile() {
  std::vector<Option<PrunerConfig>> options = percentile_options();
  options.push_back(bind_option(&PrunerConfig::percentile,
                                schema::opt("percentile", schema::real(0.0, false, 100.0, false), nullptr,
                                            "prune when worse than this percentile of the others at the step")));
  return options;
}

}  // namespace
}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(pruner_percentile) {
  using namespace nntune::tune;
  declare_pruner({.name = "median", .help = "prune when worse than the median of the completed trials at the step", .order = 1},
                 {[](const PrunerConfig& c) -> std::unique_ptr<Pruner> {
                    return std::make_unique<detail::PercentilePruner>("median", 50.0, c.n_startup_trials,
                                                                      c.n_warmup_steps, c.interval_steps);
                  },
                  percentile_options()});
  declare_pruner({.name = "percentile", .help = "prune when worse than a percentile of the completed trials at the step",
                  .order = 2},
                 {[](const PrunerConfig& c) -> std::unique_ptr<Pruner> {
                    return std::make_unique<detail::PercentilePruner>("percentile", c.percentile, c.n_startup_trials,
                                                                      c.n_warmup_steps, c.interval_steps);
                  },
                  with_percentile()});
}
