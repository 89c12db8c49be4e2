#pragma once
// Pruners decide from the stored history whether a running trial should stop early (Optuna's
// one hook: prune(study, trial) -> bool). Hyperband is a set of successive-halving pruners,
// one per bracket, not a second engine.
#include <cstdint>
#include <memory>
#include <string>

#include "nntune/tune/trial.hpp"

namespace nntune::tune {

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string name() const = 0;
  // `trial` is running and has just reported its latest intermediate value.
  virtual bool prune(const StudyHistory& history, const FrozenTrial& trial) = 0;
};

struct PrunerConfig {
  std::string name = "none";  // none, median, percentile, successive_halving (asha), hyperband
  // median / percentile
  int64_t n_startup_trials = 5;  // no pruning until this many trials completed
  int64_t n_warmup_steps = 0;    // no pruning before this step
  int64_t interval_steps = 1;    // check every this many steps
  double percentile = 50.0;      // percentile: prune if worse than this percentile of others at the step
  // successive halving / hyperband; the resource is the step (epoch for networks)
  int64_t min_resource = 1;
  int64_t max_resource = 0;  // hyperband: 0 = take it from the trials' budget (e.g. epochs)
  int64_t reduction_factor = 3;
  int64_t min_early_stopping_rate = 0;
  int64_t bootstrap_count = 0;
};

// Throws nntune::Error on an unknown name or invalid value (names the field and allowed values).
std::unique_ptr<Pruner> make_pruner(const PrunerConfig& config);

}  // namespace nntune::tune
