#include "tune/optimize_loop.hpp"

#include <chrono>
#include <deque>

#include "nntune/error.hpp"
#include "tune/process_info.hpp"

namespace nntune::tune {

int64_t ask(Sampler& sampler, StudyHistory& history, const SearchSpace& space) {
  FrozenTrial fresh;
  fresh.number = static_cast<int64_t>(history.trials.size());
  fresh.id = fresh.number;
  fresh.state = TrialState::Running;
  fresh.start_time = unix_now();
  history.trials.push_back(std::move(fresh));
  const int64_t number = history.trials.back().number;

  // The sampler sees the history with this trial already Running (as a study would store
  // it), but must not see its own partially filled parameters through a dangling reference,
  // so work on a copy and store it back at the end.
  FrozenTrial trial = history.trials.back();
  SearchSpace relative_space = sampler.infer_relative_search_space(history, trial);
  std::map<std::string, double> relative;
  if (!relative_space.empty()) relative = sampler.sample_relative(history, trial, relative_space);
  for (const auto& [name, distribution] : space) {
    double value;
    auto found = relative.find(name);
    if (found != relative.end() && relative_space.count(name)) {
      value = found->second;
    } else {
      value = sampler.sample_independent(history, trial, name, distribution);
    }
    trial.params[name] = value;
    trial.distributions[name] = distribution;
    history.trials[number].params[name] = value;
    history.trials[number].distributions[name] = distribution;
  }
  return number;
}

void tell(Sampler& sampler, StudyHistory& history, int64_t number, double value) {
  if (number < 0 || number >= static_cast<int64_t>(history.trials.size()))
    throw Error("tell: no trial number " + std::to_string(number));
  FrozenTrial& trial = history.trials[number];
  if (trial.state != TrialState::Running)
    throw Error("tell: trial " + std::to_string(number) + " is " + to_string(trial.state) + ", not Running");
  trial.value = value;
  trial.state = TrialState::Complete;
  trial.end_time = unix_now();
  sampler.after_trial(history, history.trials[number]);
}

StudyHistory optimize(Sampler& sampler, const SearchSpace& space, const InternalObjective& objective,
                      int64_t n_trials, Direction direction) {
  return optimize_parallel(sampler, space, objective, n_trials, 1, direction);
}

StudyHistory optimize_parallel(Sampler& sampler, const SearchSpace& space, const InternalObjective& objective,
                               int64_t n_trials, int64_t parallel, Direction direction) {
  if (parallel < 1) throw Error("optimize: parallel must be >= 1, got " + std::to_string(parallel));
  StudyHistory history;
  history.direction = direction;
  history.trials.reserve(static_cast<size_t>(n_trials));
  std::deque<int64_t> running;
  int64_t asked = 0;
  while (asked < n_trials || !running.empty()) {
    while (asked < n_trials && static_cast<int64_t>(running.size()) < parallel) {
      if (sampler.is_exhausted(history)) {
        asked = n_trials;  // an exhausted grid ends the study cleanly: finish what runs
        break;
      }
      running.push_back(ask(sampler, history, space));
      ++asked;
    }
    if (running.empty()) break;
    const int64_t number = running.front();
    running.pop_front();
    const double value = objective(history.trials[number].params);
    tell(sampler, history, number, value);
  }
  return history;
}

}  // namespace nntune::tune
