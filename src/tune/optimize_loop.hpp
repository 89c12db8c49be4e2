#pragma once
// A small in-memory ask/tell loop over a fixed search space, for tests and benchmarks of the
// samplers (the real Study over a storage lives elsewhere). It follows the study protocol:
// append a Running trial, ask the sampler for a relative proposal over the inferred joint
// space, fill the remaining parameters one at a time (in the space's key order), evaluate,
// store the value, mark Complete, then call after_trial.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "nntune/tune/sampler.hpp"

namespace nntune::tune {

// Objective on internal parameter values (categoricals are indices); lower or higher is
// better according to the Direction given to the loop.
using InternalObjective = std::function<double(const std::map<std::string, double>& internal_params)>;

// Appends a Running trial to `history` and fills its parameters from `sampler`. Returns the
// trial's number (its index in history.trials).
int64_t ask(Sampler& sampler, StudyHistory& history, const SearchSpace& space);

// Records `value` for the running trial `number`, marks it Complete and calls after_trial.
void tell(Sampler& sampler, StudyHistory& history, int64_t number, double value);

// Sequential optimisation: n_trials ask/evaluate/tell rounds (fewer when the sampler reports
// is_exhausted(), as an exhausted grid does).
StudyHistory optimize(Sampler& sampler, const SearchSpace& space, const InternalObjective& objective,
                      int64_t n_trials, Direction direction = Direction::Minimize);

// As optimize(), but keeps `parallel` trials Running at once (as `parallel` workers would):
// it asks `parallel` trials, then repeatedly evaluates and tells the oldest running one and
// asks a new one, so every proposal after the first is made while parallel - 1 others run.
StudyHistory optimize_parallel(Sampler& sampler, const SearchSpace& space, const InternalObjective& objective,
                               int64_t n_trials, int64_t parallel, Direction direction = Direction::Minimize);

}  // namespace nntune::tune
