// Study and Trial: the define-by-run and ask/tell API over a Storage. The study keeps no
// history of its own: every decision (sampling, pruning, budget, resume) reads the storage.
#include "nntune/tune/study.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "nntune/error.hpp"

namespace nntune::tune {

struct Study::Shared {
  // Sampler and pruner calls, and the parameter they produce being stored, happen under this
  // lock: samplers keep caches, and a parallel worker must see the parameters just taken
  // (a grid point, a constant-liar point) before it samples its own.
  std::mutex sampling;
  // Checking the budget and creating a trial is one step, so jobs never overshoot n_trials.
  std::mutex asking;
  std::mutex callback;  // on_trial_end is called by one thread at a time
  // Parameters reserved for running trials of this process but not asked for yet (under
  // `sampling`): trial id -> name -> (internal value, distribution).
  std::map<int64_t, std::map<std::string, std::pair<double, Distribution>>> reserved;
  // The history samplers and pruners see (under `sampling`): trials [0, finished_prefix) are
  // finished and kept between reads; only the rest is read again from the storage, so the
  // cost per trial does not grow with a copy of the whole history.
  StudyHistory history;
  size_t finished_prefix = 0;
};

namespace {

// A parallel worker asked for a parameter after every point of a finite space (an exhausted
// grid) was taken by other trials: this trial is surplus and is not run.
class SpaceExhausted : public Error {
 public:
  using Error::Error;
};

const char* kFixedParams = "fixed_params";  // system attr of an enqueued trial
const char* kWorker = "worker";             // system attr: {"host": ..., "pid": ...}

std::string host_name() {
  char buffer[256] = {0};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "unknown";
  return buffer;
}

std::string direction_word(Direction d) { return d == Direction::Minimize ? "minimize" : "maximize"; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Trial

Trial::Trial(Study& study, FrozenTrial trial) : study_(&study), trial_(std::move(trial)) {}

double Trial::suggest_float(const std::string& name, double low, double high, bool log, double step) {
  return suggest(name, Distribution::float_range(low, high, log, step)).get<double>();
}

int64_t Trial::suggest_int(const std::string& name, int64_t low, int64_t high, bool log, int64_t step) {
  return suggest(name, Distribution::int_range(low, high, log, step)).get<int64_t>();
}

nlohmann::json Trial::suggest_categorical(const std::string& name, const std::vector<nlohmann::json>& choices) {
  return suggest(name, Distribution::categorical(choices));
}

nlohmann::json Trial::suggest(const std::string& name, const Distribution& distribution) {
  const std::string where = "parameter \"" + name + "\" of trial " + std::to_string(trial_.number);
  try {
    distribution.validate();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  auto known = trial_.distributions.find(name);
  if (known != trial_.distributions.end()) {
    if (!(known->second == distribution))
      throw Error(where + " was suggested with " + known->second.to_json().dump() + " and is now asked with " +
                  distribution.to_json().dump() + ": a parameter keeps one distribution within a trial");
    return distribution.to_external(trial_.params.at(name));
  }

  Study& study = *study_;
  std::lock_guard lock(study.shared_->sampling);
  double internal = 0.0;
  const nlohmann::json& fixed = trial_.system_attrs.contains(kFixedParams) ? trial_.system_attrs[kFixedParams]
                                                                           : nlohmann::json::object();
  const auto reserved = relative_params_.find(name);
  const auto reserved_space = relative_space_.find(name);
  if (fixed.is_object() && fixed.contains(name)) {
    try {
      internal = distribution.to_internal(fixed[name]);
    } catch (const Error& e) {
      throw Error("enqueued value of " + where + ": " + e.what());
    }
  } else if (reserved_space != relative_space_.end() && reserved != relative_params_.end() &&
             reserved_space->second == distribution) {
    internal = reserved->second;  // reserved at the first suggest: no need to read the history again
  } else {
    StudyHistory& history = study.sampling_history();
    {
      // Surplus worker: every point is held by other trials (a grid exhausted in parallel).
      // The check looks at the others only: this trial is set aside (moved, not copied).
      auto self = std::find_if(history.trials.begin(), history.trials.end(),
                               [&](const FrozenTrial& t) { return t.id == trial_.id; });
      std::optional<FrozenTrial> set_aside;
      size_t position = 0;
      if (self != history.trials.end()) {
        position = static_cast<size_t>(self - history.trials.begin());
        set_aside = std::move(*self);
        history.trials.erase(self);
      }
      const bool exhausted = study.sampler_->is_exhausted(history);
      if (set_aside) history.trials.insert(history.trials.begin() + static_cast<std::ptrdiff_t>(position), std::move(*set_aside));
      if (exhausted)
        throw SpaceExhausted("not run: the search space was exhausted by other trials (every point of the " +
                             study.sampler_->name() + " sampler is taken) when " + where + " was asked");
    }
    if (!relative_sampled_) reserve_parameters(history, fixed);
    auto in_space = relative_space_.find(name);
    auto proposed = relative_params_.find(name);
    if (in_space != relative_space_.end() && in_space->second == distribution && proposed != relative_params_.end())
      internal = proposed->second;
    else
      internal = study.sampler_->sample_independent(history, trial_, name, distribution);
  }
  study.storage_->set_trial_param(trial_.id, name, internal, distribution);
  trial_.params[name] = internal;
  trial_.distributions[name] = distribution;
  return distribution.to_external(internal);
}

void Trial::reserve_parameters(const StudyHistory& history, const nlohmann::json& fixed) {
  Study& study = *study_;
  relative_sampled_ = true;
  relative_space_ = study.sampler_->infer_relative_search_space(history, trial_);
  if (!relative_space_.empty()) relative_params_ = study.sampler_->sample_relative(history, trial_, relative_space_);
  // Every other parameter the study has seen gets its value now too, one at a time as the
  // objective would ask for them, and the whole point is reserved for this trial: parallel
  // workers of this process see it (history_with_reservations) before the objective has
  // asked for all of it, so a grid point or a constant-liar point is never taken twice.
  FrozenTrial draft = trial_;
  for (const auto& [name, value] : relative_params_)
    if (relative_space_.count(name)) {
      draft.params[name] = value;
      draft.distributions[name] = relative_space_.at(name);
    }
  SearchSpace seen;
  for (const auto& t : history.trials)
    for (const auto& [name, d] : t.distributions) seen.emplace(name, d);
  for (const auto& [name, d] : seen) {
    if (draft.params.count(name) || (fixed.is_object() && fixed.contains(name))) continue;
    const double value = study.sampler_->sample_independent(history, draft, name, d);
    draft.params[name] = value;
    draft.distributions[name] = d;
    relative_space_[name] = d;
    relative_params_[name] = value;
  }
  auto& reserved = study.shared_->reserved[trial_.id];
  for (const auto& [name, value] : relative_params_)
    if (relative_space_.count(name)) reserved[name] = {value, relative_space_.at(name)};
}

void Trial::report(double value, int64_t step) {
  study_->storage_->set_intermediate_value(trial_.id, step, value);
  trial_.intermediate[step] = value;
}

bool Trial::should_prune() {
  Study& study = *study_;
  if (!study.pruner_) return false;
  std::lock_guard lock(study.shared_->sampling);
  const StudyHistory& history = study.sampling_history();
  for (const auto& t : history.trials)
    if (t.id == trial_.id) return study.pruner_->prune(history, t);
  return study.pruner_->prune(history, trial_);
}

void Trial::set_user_attr(const std::string& key, const nlohmann::json& value) {
  study_->storage_->set_trial_user_attr(trial_.id, key, value);
  trial_.user_attrs[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Study

Study Study::open(std::shared_ptr<Storage> storage, const std::string& name, Direction direction,
                  std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner) {
  if (!storage) throw Error("Study::open(\"" + name + "\"): no storage given (use open_storage(\"memory\"))");
  if (name.empty()) throw Error("Study::open: the study name is empty; give it a name");
  Study study;
  study.storage_ = std::move(storage);
  study.sampler_ = sampler ? std::shared_ptr<Sampler>(std::move(sampler)) : std::shared_ptr<Sampler>(make_sampler({}));
  study.pruner_ = std::move(pruner);
  study.name_ = name;
  study.direction_ = direction;
  study.stop_requested_ = std::make_shared<std::atomic<bool>>(false);
  study.shared_ = std::make_shared<Shared>();

  std::optional<int64_t> id = study.storage_->find_study(name);
  if (!id) {
    try {
      id = study.storage_->create_study(name, direction);
    } catch (const Error&) {
      id = study.storage_->find_study(name);  // another process created it just now
      if (!id) throw;
    }
  }
  const StudySummary summary = study.storage_->get_study(*id);
  if (summary.direction != direction)
    throw Error("study \"" + name + "\" in " + study.storage_->url() + " was created to " +
                direction_word(summary.direction) + " but is opened to " + direction_word(direction) +
                ": open it with direction " + direction_word(summary.direction) + " or use another study name");
  study.study_id_ = *id;
  return study;
}

StudyHistory Study::history() const { return StudyHistory{direction_, storage_->get_all_trials(study_id_)}; }

StudyHistory& Study::sampling_history() const {
  Shared& shared = *shared_;
  StudyHistory& history = shared.history;
  history.direction = direction_;
  history.trials.resize(shared.finished_prefix);
  for (auto& t : storage_->get_trials_from(study_id_, static_cast<int64_t>(shared.finished_prefix)))
    history.trials.push_back(std::move(t));
  for (size_t i = 0; i < history.trials.size(); ++i)
    if (history.trials[i].number != static_cast<int64_t>(i)) {  // never with dense numbers; be safe
      history.trials = storage_->get_all_trials(study_id_);
      shared.finished_prefix = 0;
      break;
    }
  while (shared.finished_prefix < history.trials.size() && is_finished(history.trials[shared.finished_prefix].state))
    ++shared.finished_prefix;
  // Running trials of this process show the parameters reserved for them.
  for (size_t i = shared.finished_prefix; i < history.trials.size() && !shared.reserved.empty(); ++i) {
    FrozenTrial& t = history.trials[i];
    auto found = shared.reserved.find(t.id);
    if (found == shared.reserved.end() || t.state != TrialState::Running) continue;
    for (const auto& [name, value] : found->second)
      if (!t.params.count(name)) {
        t.params[name] = value.first;
        t.distributions[name] = value.second;
      }
  }
  return history;
}

std::optional<FrozenTrial> Study::best_trial() const {
  std::optional<FrozenTrial> best;
  for (auto& t : storage_->get_all_trials(study_id_)) {
    if (t.state != TrialState::Complete || !t.value) continue;
    const bool better = !best || (direction_ == Direction::Minimize ? *t.value < *best->value : *t.value > *best->value);
    if (better) best = std::move(t);
  }
  return best;
}

Trial Study::ask() {
  // Who runs it, so that a later resume on this host can tell a dead worker's trial. A new
  // trial is created with it in one transaction, so no zombie ever lacks it.
  const nlohmann::json worker = {{"host", host_name()}, {"pid", static_cast<int64_t>(getpid())}};
  if (std::optional<FrozenTrial> claimed = storage_->claim_waiting_trial(study_id_)) {
    storage_->set_trial_system_attr(claimed->id, kWorker, worker);
    claimed->system_attrs[kWorker] = worker;
    return Trial(*this, std::move(*claimed));
  }
  FrozenTrial fresh;
  fresh.state = TrialState::Running;
  fresh.system_attrs[kWorker] = worker;
  return Trial(*this, storage_->create_trial(study_id_, &fresh));
}

bool Study::finish(Trial& trial, TrialState state, std::optional<double> value, const std::string& error) {
  FrozenTrial& frozen = trial.trial_;
  std::string reason = error;
  if (value && !std::isfinite(*value)) {
    if (state == TrialState::Complete) {
      state = TrialState::Failed;
      reason = std::isnan(*value) ? "objective returned NaN" : "objective returned " + std::string(*value > 0 ? "inf" : "-inf");
    }
    if (std::isnan(*value)) value.reset();
  }
  if (state == TrialState::Complete && !value)
    throw Error("tell: trial " + std::to_string(frozen.number) + " is complete but has no value: give its objective value");
  if (state == TrialState::Pruned && !value && !frozen.intermediate.empty()) {
    const double last = frozen.intermediate.rbegin()->second;  // the value at its last step
    if (!std::isnan(last)) value = last;
  }
  if (!storage_->finish_trial(frozen.id, state, value, reason)) return false;
  frozen.state = state;
  frozen.value = value;
  frozen.error = reason;
  std::lock_guard lock(shared_->sampling);
  shared_->reserved.erase(frozen.id);
  const StudyHistory& now = sampling_history();
  for (const auto& t : now.trials)
    if (t.id == frozen.id) sampler_->after_trial(now, t);
  return true;
}

void Study::tell(Trial& trial, double value) { tell(trial, TrialState::Complete, value); }

void Study::tell(Trial& trial, TrialState state, std::optional<double> value, const std::string& error) {
  if (!is_finished(state))
    throw Error("tell: trial " + std::to_string(trial.number()) + " must end complete, pruned or failed, not " +
                to_string(state));
  if (!finish(trial, state, value, error)) {
    const FrozenTrial stored = storage_->get_trial(trial.id());
    throw Error("tell: trial " + std::to_string(trial.number()) + " was already finished as " + to_string(stored.state) +
                (stored.error.empty() ? "" : " (" + stored.error + ")") + "; a trial is told once");
  }
}

void Study::stop() { stop_requested_->store(true); }

void Study::enqueue(const nlohmann::json& external_params) {
  if (!external_params.is_object())
    throw Error("enqueue: parameters must be a JSON object like {\"lr\": 0.01}, got " + external_params.dump());
  FrozenTrial waiting;
  waiting.state = TrialState::Waiting;
  waiting.system_attrs[kFixedParams] = external_params;  // validated when the objective suggests them
  storage_->create_trial(study_id_, &waiting);
}

void Study::add_trial(const FrozenTrial& trial) {
  const std::string what = "add_trial";
  if (!is_finished(trial.state))
    throw Error(what + ": a trial to add must be complete, pruned or failed, not " + to_string(trial.state));
  if (trial.state == TrialState::Complete && (!trial.value || !std::isfinite(*trial.value)))
    throw Error(what + ": a complete trial needs a finite value" +
                (trial.value ? ", got " + std::to_string(*trial.value) : std::string(", it has none")));
  for (const auto& [name, internal] : trial.params) {
    auto d = trial.distributions.find(name);
    if (d == trial.distributions.end())
      throw Error(what + ": parameter \"" + name + "\" has no distribution; give one for every parameter");
    try {
      d->second.validate();
    } catch (const Error& e) {
      throw Error(what + ": parameter \"" + name + "\": " + e.what());
    }
    if (!d->second.contains(internal))
      throw Error(what + ": parameter \"" + name + "\" = " + std::to_string(internal) + " is outside its distribution " +
                  d->second.to_json().dump());
  }
  for (const auto& [name, d] : trial.distributions)
    if (!trial.params.count(name)) throw Error(what + ": distribution \"" + name + "\" has no parameter value");
  storage_->create_trial(study_id_, &trial);
}

std::vector<FrozenTrial> Study::recover_trials(double stale_grace_seconds) {
  std::vector<FrozenTrial> failed;
  const std::string host = host_name();
  for (const auto& t : storage_->get_all_trials(study_id_)) {
    if (t.state != TrialState::Running) continue;
    const nlohmann::json& worker = t.system_attrs.contains(kWorker) ? t.system_attrs[kWorker] : nlohmann::json();
    if (!worker.is_object() || worker.value("host", "") != host || !worker["pid"].is_number_integer()) continue;
    const auto pid = static_cast<pid_t>(worker["pid"].get<int64_t>());
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to signal): leave it
    const std::string reason = "worker process died (pid " + std::to_string(pid) + " on " + host +
                               ") while the trial was running";
    if (storage_->finish_trial(t.id, TrialState::Failed, std::nullopt, reason)) failed.push_back(storage_->get_trial(t.id));
  }
  for (auto& t : storage_->fail_stale_trials(study_id_, stale_grace_seconds)) failed.push_back(std::move(t));
  return failed;
}

void Study::optimize(const std::function<double(Trial&)>& objective, const OptimizeOptions& options) {
  if (options.jobs < 1) throw Error("optimize: jobs must be >= 1, got " + std::to_string(options.jobs));
  if (options.n_trials < 0) throw Error("optimize: n_trials must be >= 0 (0: no limit), got " + std::to_string(options.n_trials));
  if (options.timeout_seconds < 0) throw Error("optimize: timeout must be >= 0 seconds (0: no limit)");
  if (options.heartbeat_seconds <= 0) throw Error("optimize: heartbeat_seconds must be > 0");
  stop_requested_->store(false);
  recover_trials(options.stale_grace_seconds);

  const auto start = std::chrono::steady_clock::now();
  std::mutex state_mutex;
  std::condition_variable wake_heartbeat;
  std::set<int64_t> running_ids;
  bool finished_all = false;
  bool exhausted = false;
  std::exception_ptr failure;

  auto out_of_time = [&] {
    return options.timeout_seconds > 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= options.timeout_seconds;
  };
  auto record_failure = [&](std::exception_ptr error) {
    std::lock_guard lock(state_mutex);
    if (!failure) failure = error;
    stop_requested_->store(true);
  };

  std::thread heartbeat([&] {
    std::unique_lock lock(state_mutex);
    while (!finished_all) {
      wake_heartbeat.wait_for(lock, std::chrono::duration<double>(options.heartbeat_seconds));
      if (finished_all) break;
      const std::set<int64_t> ids = running_ids;
      lock.unlock();
      for (int64_t id : ids) {
        try {
          storage_->record_heartbeat(id);
        } catch (const std::exception&) {
          // a missed heartbeat only matters after the grace period; the next one may succeed
        }
      }
      lock.lock();
    }
  });

  auto worker = [&] {
    try {
      for (;;) {
        if (stop_requested_->load() || out_of_time()) break;
        std::optional<Trial> trial;
        {
          std::lock_guard ask_lock(shared_->asking);
          {
            std::lock_guard lock(state_mutex);
            if (exhausted || stop_requested_->load()) break;
          }
          std::unique_lock sampling_lock(shared_->sampling);
          const StudyHistory& now = sampling_history();
          if (options.n_trials > 0) {
            int64_t counted = 0;  // finished and running trials of the study, all processes
            for (const auto& t : now.trials) counted += t.state != TrialState::Waiting;
            if (counted >= options.n_trials) break;
          }
          if (sampler_->is_exhausted(now)) {
            std::lock_guard lock(state_mutex);
            exhausted = true;
            break;
          }
          sampling_lock.unlock();
          trial.emplace(ask());
          std::lock_guard lock(state_mutex);
          running_ids.insert(trial->id());
        }
        try {
          const double value = objective(*trial);
          finish(*trial, TrialState::Complete, value, "");
        } catch (const TrialPruned&) {
          finish(*trial, TrialState::Pruned, std::nullopt, "");
        } catch (const SpaceExhausted& e) {
          finish(*trial, TrialState::Failed, std::nullopt, e.what());
          std::lock_guard lock(state_mutex);
          exhausted = true;
        } catch (const std::exception& e) {
          finish(*trial, TrialState::Failed, std::nullopt, e.what());
          if (!options.catch_errors) record_failure(std::current_exception());
        } catch (...) {
          finish(*trial, TrialState::Failed, std::nullopt, "the objective threw an exception that is not a std::exception");
          if (!options.catch_errors) record_failure(std::current_exception());
        }
        {
          std::lock_guard lock(state_mutex);
          running_ids.erase(trial->id());
        }
        if (options.on_trial_end) {
          const FrozenTrial ended = storage_->get_trial(trial->id());
          std::lock_guard lock(shared_->callback);
          if (options.on_trial_end(*this, ended)) stop();
        }
      }
    } catch (...) {
      record_failure(std::current_exception());  // storage trouble: stop the study, report it
    }
  };

  if (options.jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> workers;
    for (int64_t j = 0; j < options.jobs; ++j) workers.emplace_back(worker);
    for (auto& w : workers) w.join();
  }
  {
    std::lock_guard lock(state_mutex);
    finished_all = true;
  }
  wake_heartbeat.notify_all();
  heartbeat.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace nntune::tune
