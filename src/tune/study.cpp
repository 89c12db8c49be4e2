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
#include "tune/process_info.hpp"

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
  // How long a storage call made for a running trial is retried (back-off) before the trial is
  // given up: the stale grace of the running optimize(), 0 outside it.
  std::atomic<double> storage_patience{0.0};
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
// A retry: trial system attrs "retry_of" (the original's number) and "retry" (1, 2, ...); the
// failed trial gets "retried_as" (the retry's number).
const char* kRetryOf = "retry_of";
const char* kRetry = "retry";
// How long a worker with nothing to start waits for the retry of a trial failed moments ago.
constexpr double kRetryEnqueueWaitSeconds = 10.0;
const char* kRetriedAs = "retried_as";
// Study system attrs of the shared budget.
const char* kBudgetTrials = "n_trials";
const char* kBudgetDeadline = "deadline";
const char* kStopRequested = "stop_requested";

// The worker attr of a trial run by an optimize() loop: its pid is an integer (an `nntune ask`
// trial has none: its shell loop owns it).
std::optional<pid_t> worker_pid(const FrozenTrial& t) {
  const auto found = t.system_attrs.find(kWorker);
  if (found == t.system_attrs.end() || !found->is_object() || !found->contains("pid") || !(*found)["pid"].is_number_integer())
    return std::nullopt;
  return static_cast<pid_t>((*found)["pid"].get<int64_t>());
}

// A trial that recover_and_retry failed (its worker died or went stale) with retries left and
// no retry enqueued yet.
bool awaits_retry(const FrozenTrial& t, int64_t max_retries) {
  if (t.state != TrialState::Failed || t.system_attrs.contains(kRetriedAs) || !worker_pid(t)) return false;
  if (t.system_attrs.value(kRetry, int64_t{0}) + 1 > max_retries) return false;
  return is_worker_failure(t.failure_kind());
}

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
  study.with_storage_retry(
      "store " + where, [&] { study.storage_->set_trial_param(trial_.id, name, internal, distribution); }, trial_.id);
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
  study_->with_storage_retry(
      "report step " + std::to_string(step) + " of trial " + std::to_string(trial_.number),
      [&] { study_->storage_->set_intermediate_value(trial_.id, step, value); }, trial_.id);
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
                to_string(summary.direction) + " but is opened to " + to_string(direction) +
                ": open it with direction " + to_string(summary.direction) + " or use another study name");
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
  return best_trial_of(storage_->get_all_trials(study_id_), direction_);
}

namespace {
nlohmann::json this_worker() {
  return {{"host", host_name()}, {"pid", static_cast<int64_t>(getpid())}};
}
}  // namespace

std::optional<Trial> Study::claim_waiting() {
  std::optional<FrozenTrial> claimed = storage_->claim_waiting_trial(study_id_);
  if (!claimed) return std::nullopt;
  // Who runs it, so that a later resume on this host can tell a dead worker's trial.
  const nlohmann::json worker = this_worker();
  storage_->set_trial_system_attr(claimed->id, kWorker, worker);
  claimed->system_attrs[kWorker] = worker;
  return Trial(*this, std::move(*claimed));
}

Trial Study::ask() {
  if (std::optional<Trial> claimed = claim_waiting()) return std::move(*claimed);
  // A new trial is created with its worker in one transaction, so no zombie ever lacks it.
  FrozenTrial fresh;
  fresh.state = TrialState::Running;
  fresh.system_attrs[kWorker] = this_worker();
  return Trial(*this, storage_->create_trial(study_id_, &fresh));
}

void Study::with_storage_retry(const std::string& what, const std::function<void()>& call, int64_t trial_id) const {
  const double patience = shared_->storage_patience.load();
  const auto start = std::chrono::steady_clock::now();
  double delay = 0.1;
  for (;;) {
    try {
      call();
      return;
    } catch (const std::exception& e) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (patience <= 0) throw;
      // Stored data that contradicts itself stays so: retrying would only hang.
      if (const auto* error = dynamic_cast<const Error*>(&e); error && error->kind() == ErrorKind::StorageInconsistent)
        throw;
      // A trial that finished meanwhile (failed as stale by another worker) takes no more writes.
      bool finished = false;
      if (trial_id >= 0) {
        try {
          finished = is_finished(storage_->get_trial(trial_id).state);
        } catch (const std::exception&) {
          // the storage is still unreachable: keep trying
        }
      }
      if (finished) throw;
      if (waited + delay > patience)
        throw Error(what + ": the storage " + storage_->url() + " kept failing for " + std::to_string(std::lround(waited)) +
                    " s (the stale grace period), giving up: " + e.what());
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      delay = std::min(delay * 2, 5.0);
    }
  }
}

bool Study::finish(Trial& trial, TrialState state, std::optional<double> value, const std::string& error,
                   FailureKind kind) {
  FrozenTrial& frozen = trial.trial_;
  std::string reason = error;
  if (value && !std::isfinite(*value)) {
    if (state == TrialState::Complete) {
      state = TrialState::Failed;
      kind = FailureKind::Objective;
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
  bool finished = false;
  int attempts = 0;
  with_storage_retry("finish trial " + std::to_string(frozen.number), [&] {
    if (attempts++ > 0) {
      // The last attempt may have been written before the connection broke: then it is done.
      const FrozenTrial stored = storage_->get_trial(frozen.id);
      if (stored.state == state && stored.error == reason && stored.value == value) {
        finished = true;
        return;
      }
    }
    finished = state == TrialState::Failed ? storage_->fail_trial(frozen.id, kind, reason, value)
                                           : storage_->finish_trial(frozen.id, state, value, reason);
  });
  if (!finished) return false;
  frozen.state = state;
  frozen.value = value;
  frozen.error = reason;
  if (state == TrialState::Failed) frozen.system_attrs[kFailureAttr] = to_string(kind);
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
  if (!finish(trial, state, value, error, FailureKind::Objective)) {
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
  int64_t scan_from = 0;
  return recover_and_retry(stale_grace_seconds, 0, scan_from);
}

std::vector<FrozenTrial> Study::recover_and_retry(double stale_grace_seconds, int64_t max_retries, int64_t& scan_from) {
  std::vector<FrozenTrial> failed;
  const std::string host = host_name();
  std::vector<FrozenTrial> unfinished = storage_->get_trials_from(study_id_, scan_from);
  // Finished trials never run again: the next scan starts after the leading ones.
  size_t leading_finished = 0;
  while (leading_finished < unfinished.size() && is_finished(unfinished[leading_finished].state)) ++leading_finished;
  if (leading_finished > 0) scan_from = unfinished[leading_finished - 1].number + 1;
  bool any_running = false;
  for (const auto& t : unfinished) {
    if (t.state != TrialState::Running) continue;
    any_running = true;
    const std::optional<pid_t> pid = worker_pid(t);
    if (pid && *pid == getpid()) continue;  // this process is alive
    const nlohmann::json& worker = t.system_attrs[kWorker];
    if (!pid || *pid <= 0 || worker.value("host", "") != host) continue;
    if (kill(*pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to signal): leave it
    const std::string reason = "worker process died (pid " + std::to_string(*pid) + " on " + host +
                               ") while the trial was running";
    if (storage_->fail_trial(t.id, FailureKind::WorkerDied, reason, std::nullopt)) failed.push_back(storage_->get_trial(t.id));
  }
  // A write even when nothing is stale: skipped when nothing runs.
  if (any_running)
    for (auto& t : storage_->fail_stale_trials(study_id_, stale_grace_seconds)) failed.push_back(std::move(t));

  // Each failed trial was failed by this call only (finish_trial and fail_stale_trials change a
  // Running trial once), so its retry is enqueued exactly once. A shell loop's trial (nntune
  // ask, whose worker has no pid) is not retried: its loop tells it.
  for (const FrozenTrial& t : failed) {
    if (t.system_attrs.contains(kWorker) && !worker_pid(t)) continue;
    const int64_t attempt = t.system_attrs.value(kRetry, int64_t{0}) + 1;
    if (attempt > max_retries) continue;
    nlohmann::json fixed = t.system_attrs.value(kFixedParams, nlohmann::json::object());
    if (!fixed.is_object()) fixed = nlohmann::json::object();
    const nlohmann::json params = t.external_params();
    for (const auto& [name, value] : params.items()) fixed[name] = value;
    FrozenTrial retry;
    retry.state = TrialState::Waiting;
    retry.system_attrs[kFixedParams] = fixed;
    retry.system_attrs[kRetryOf] = t.system_attrs.value(kRetryOf, t.number);
    retry.system_attrs[kRetry] = attempt;
    const FrozenTrial enqueued = storage_->create_trial(study_id_, &retry);
    storage_->set_trial_system_attr(t.id, kRetriedAs, enqueued.number);
  }
  return failed;
}

int64_t Study::counted_trials(const std::vector<FrozenTrial>& trials) {
  int64_t counted = 0;
  for (const auto& t : trials) {
    counted += t.state != TrialState::Waiting;
    counted -= t.system_attrs.contains(kRetryOf);  // a retry takes the place of the failed trial
  }
  return counted;
}

StudyBudget Study::stored_budget() const {
  const StudySummary summary = storage_->get_study(study_id_);
  const nlohmann::json& attrs = summary.system_attrs;
  StudyBudget budget;
  auto number = [&](const char* key) -> const nlohmann::json* {
    const auto found = attrs.find(key);
    return found != attrs.end() && found->is_number() ? &*found : nullptr;
  };
  if (const nlohmann::json* n = number(kBudgetTrials)) budget.n_trials = n->get<int64_t>();
  if (const nlohmann::json* d = number(kBudgetDeadline)) budget.deadline = d->get<double>();
  const auto stop = attrs.find(kStopRequested);
  budget.stop_requested = stop != attrs.end() && stop->is_boolean() && stop->get<bool>();
  return budget;
}

void Study::store_budget(const StudyBudget& budget) {
  if (budget.n_trials < 0) throw Error("study budget: n_trials must be >= 0 (0: no limit), got " + std::to_string(budget.n_trials));
  if (budget.deadline < 0) throw Error("study budget: the deadline must be a unix time >= 0 (0: none)");
  storage_->set_study_system_attr(study_id_, kBudgetTrials, budget.n_trials);
  storage_->set_study_system_attr(study_id_, kBudgetDeadline, budget.deadline);
  storage_->set_study_system_attr(study_id_, kStopRequested, budget.stop_requested);
}

void Study::request_stop(bool stop) { storage_->set_study_system_attr(study_id_, kStopRequested, stop); }

// ---------------------------------------------------------------------------------------------
// optimize(): one run of the define-by-run loop. Each job (thread) repeats three steps, claim or
// create a trial, run it, finish it, while a maintenance thread keeps heartbeats, fails dead and
// stale trials (enqueueing their retries) and watches the stored stop request.
//
// Locks, always taken in this order when nested: Shared::asking (deciding and starting a trial),
// Shared::sampling (the sampler and the history), `state` (this run's bookkeeping below);
// Shared::callback only around on_trial_end.

struct Study::OptimizeRun {
  using Clock = std::chrono::steady_clock;
  enum class Next { Run, WaitForOthers, Stop };
  // What may start now, decided from the history (under the asking and sampling locks).
  struct Outlook {
    bool nothing_to_start = false;
    bool claim_only = false;     // only an enqueued trial may start (a retry, past the budget)
    int64_t others_running = 0;  // trials of other workers (not shell loops) that may yet need a retry
  };

  Study& study;
  const std::function<double(Trial&)>& objective;
  const OptimizeOptions& options;
  const Clock::time_point start = Clock::now();
  const double check_every;  // the stale check's period
  const double idle_poll;    // how often an idle worker (waiting for others' trials) looks for work
  int64_t scan_from = 0;     // of the stale checks

  std::mutex state;  // guards the fields below
  std::condition_variable wake_maintenance;
  std::set<int64_t> running_ids;  // this process's running trials (heartbeats)
  bool finished_all = false;
  bool exhausted = false;  // the sampler's space is used up (a retry may free a point)
  std::exception_ptr failure;

  OptimizeRun(Study& s, const std::function<double(Trial&)>& f, const OptimizeOptions& o)
      : study(s),
        objective(f),
        options(o),
        check_every(o.stale_check_seconds > 0 ? o.stale_check_seconds
                                              : std::max(o.heartbeat_seconds, o.stale_grace_seconds / 4)),
        idle_poll(std::min(1.0, check_every)) {}

  void run() {
    study.recover_and_retry(options.stale_grace_seconds, options.max_retries, scan_from);
    std::thread maintenance_thread([this] { maintenance(); });
    if (options.jobs == 1) {
      job();
    } else {
      std::vector<std::thread> jobs;
      for (int64_t j = 0; j < options.jobs; ++j) jobs.emplace_back([this] { job(); });
      for (auto& j : jobs) j.join();
    }
    {
      std::lock_guard lock(state);
      finished_all = true;
    }
    wake_maintenance.notify_all();
    maintenance_thread.join();
    if (failure) std::rethrow_exception(failure);
  }

  // One job: trials one after another until the budget, the space, the time or a stop ends it.
  void job() {
    try {
      while (!study.stop_requested_->load() && !out_of_time()) {
        std::optional<Trial> trial;
        const Next next = claim_or_create(trial);
        if (next == Next::Stop) break;
        if (next == Next::WaitForOthers) {
          wait_for_others();
          continue;
        }
        run_and_finish(*trial);
        trial_ended(*trial);
      }
    } catch (...) {
      record_failure(std::current_exception());  // storage trouble: stop the study, report it
    }
  }

  // Step 1: decide whether a trial may start and claim an enqueued one or create one. Deciding
  // and starting are one step under the asking lock, so jobs never overshoot n_trials.
  Next claim_or_create(std::optional<Trial>& trial) {
    std::lock_guard ask_lock(study.shared_->asking);
    {
      std::lock_guard lock(state);
      if (study.stop_requested_->load()) return Next::Stop;
    }
    int64_t n_trials = options.n_trials;
    if (options.use_stored_budget) {
      StudyBudget budget;
      study.with_storage_retry("read the budget of study \"" + study.name_ + "\"",
                               [&] { budget = study.stored_budget(); });
      if (budget.stop_requested) {
        study.stop();
        return Next::Stop;
      }
      if (budget.deadline > 0 && unix_now() >= budget.deadline) return Next::Stop;
      n_trials = budget.n_trials;
    }
    const Outlook outlook = look_ahead(n_trials);
    bool nothing_to_start = outlook.nothing_to_start;
    if (!nothing_to_start) {
      if (options.enqueued_only || outlook.claim_only) {
        study.with_storage_retry("claim an enqueued trial of study \"" + study.name_ + "\"",
                                 [&] { trial = study.claim_waiting(); });
        nothing_to_start = !trial;
      } else {
        study.with_storage_retry("start a trial of study \"" + study.name_ + "\"", [&] { trial.emplace(study.ask()); });
      }
    }
    if (nothing_to_start) return outlook.others_running == 0 ? Next::Stop : Next::WaitForOthers;
    std::lock_guard lock(state);
    running_ids.insert(trial->id());
    return Next::Run;
  }

  // What the history allows: the budget, an exhausted space, and (when nothing can start and
  // options.wait_for_other_workers) how many trials of others may still come back as retries.
  Outlook look_ahead(int64_t n_trials) {
    Outlook outlook;
    std::unique_lock sampling_lock(study.shared_->sampling);
    const StudyHistory* now = nullptr;
    study.with_storage_retry("read the trials of study \"" + study.name_ + "\"",
                             [&] { now = &study.sampling_history(); });
    if (n_trials > 0 && counted_trials(now->trials) >= n_trials) {
      // The retry of a dead worker's trial takes that trial's place in the budget: it still runs
      // when the other trials have used the budget up meanwhile.
      const bool retry_waits = std::any_of(now->trials.begin(), now->trials.end(), [](const FrozenTrial& t) {
        return t.state == TrialState::Waiting && t.system_attrs.contains(kRetryOf);
      });
      if (retry_waits)
        outlook.claim_only = true;
      else
        outlook.nothing_to_start = true;
    }
    if (!outlook.nothing_to_start && !outlook.claim_only && !options.enqueued_only) {
      bool exhausted_here = false;
      {
        std::lock_guard lock(state);
        exhausted_here = exhausted;
      }
      if (exhausted_here || study.sampler_->is_exhausted(*now)) {
        std::lock_guard lock(state);
        exhausted = true;
        outlook.nothing_to_start = true;
      }
    }
    if (outlook.nothing_to_start && options.wait_for_other_workers) {
      std::lock_guard lock(state);
      for (size_t i = study.shared_->finished_prefix; i < now->trials.size(); ++i) {
        const FrozenTrial& t = now->trials[i];
        const std::optional<pid_t> pid = worker_pid(t);
        if (t.state == TrialState::Running && !running_ids.count(t.id) && (pid || !t.system_attrs.contains(kWorker)))
          ++outlook.others_running;
      }
      // Another process fails a dead worker's trial and enqueues its retry in two transactions:
      // a trial failed that way moments ago, not yet retried, is waited for as if it still ran
      // (bounded, should that process die in between).
      const double recent = unix_now() - kRetryEnqueueWaitSeconds;
      for (const FrozenTrial& t : now->trials)
        if (awaits_retry(t, options.max_retries) && t.end_time >= recent) ++outlook.others_running;
    }
    return outlook;
  }

  // Nothing to start, but trials of other workers run: one whose worker dies comes back as a
  // retry, so stay and look again.
  void wait_for_others() {
    {
      std::lock_guard lock(state);
      exhausted = false;  // look again: a retry frees its grid point
    }
    const auto until = Clock::now() + std::chrono::duration<double>(idle_poll);
    while (Clock::now() < until && !study.stop_requested_->load())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // Steps 2 and 3: run the objective and finish the trial by how it ended.
  void run_and_finish(Trial& trial) {
    try {
      const double value = objective(trial);
      study.finish(trial, TrialState::Complete, value, "", FailureKind::Unknown);
    } catch (const TrialPruned&) {
      study.finish(trial, TrialState::Pruned, std::nullopt, "", FailureKind::Unknown);
    } catch (const SpaceExhausted& e) {
      study.finish(trial, TrialState::Failed, std::nullopt, e.what(), FailureKind::SpaceExhausted);
      std::lock_guard lock(state);
      exhausted = true;
    } catch (const std::exception& e) {
      const auto* error = dynamic_cast<const Error*>(&e);
      const bool diverged = error && error->kind() == ErrorKind::Diverged;
      study.finish(trial, TrialState::Failed, std::nullopt, e.what(),
                   diverged ? FailureKind::Diverged : FailureKind::Objective);
      if (!options.catch_errors) record_failure(std::current_exception());
    } catch (...) {
      study.finish(trial, TrialState::Failed, std::nullopt, "the objective threw an exception that is not a std::exception",
                   FailureKind::Objective);
      if (!options.catch_errors) record_failure(std::current_exception());
    }
  }

  // After a trial: it no longer needs heartbeats; on_trial_end sees it as stored.
  void trial_ended(const Trial& trial) {
    {
      std::lock_guard lock(state);
      running_ids.erase(trial.id());
    }
    if (!options.on_trial_end) return;
    FrozenTrial ended;
    study.with_storage_retry("read trial " + std::to_string(trial.number()),
                             [&] { ended = study.storage_->get_trial(trial.id()); });
    std::lock_guard lock(study.shared_->callback);
    if (options.on_trial_end(study, ended)) study.stop();
  }

  // The maintenance thread: heartbeats of this process's running trials; the periodic check for
  // dead and stale trials of the whole study (and their retries); the stored stop request.
  void maintenance() {
    auto last_heartbeat = Clock::now(), last_check = Clock::now(), last_stop_check = Clock::now();
    auto seconds_since = [](Clock::time_point then) { return std::chrono::duration<double>(Clock::now() - then).count(); };
    std::unique_lock lock(state);
    while (!finished_all) {
      wake_maintenance.wait_for(lock, std::chrono::duration<double>(std::min({options.heartbeat_seconds, check_every, 1.0})));
      if (finished_all) break;
      const std::set<int64_t> ids = running_ids;
      lock.unlock();
      if (seconds_since(last_heartbeat) >= options.heartbeat_seconds * 0.999) {
        last_heartbeat = Clock::now();
        send_heartbeats(ids);
      }
      const auto now = Clock::now();
      if (std::chrono::duration<double>(now - last_check).count() >= check_every) {
        last_check = now;
        recover_other_workers_trials();
      }
      if (options.use_stored_budget && std::chrono::duration<double>(now - last_stop_check).count() >= 2.0) {
        last_stop_check = now;
        try {
          if (study.stored_budget().stop_requested) study.stop();
        } catch (const std::exception&) {
        }
      }
      lock.lock();
    }
  }

  void send_heartbeats(const std::set<int64_t>& ids) {
    for (int64_t id : ids) {
      try {
        study.storage_->record_heartbeat(id);
      } catch (const std::exception&) {
        // a missed heartbeat only matters after the grace period; the next one may succeed
      }
    }
  }

  void recover_other_workers_trials() {
    try {
      // Under the asking lock, so that a job deciding whether anything is left to run never sees
      // a trial failed here before its retry is enqueued (it would leave early).
      std::lock_guard ask_lock(study.shared_->asking);
      study.recover_and_retry(options.stale_grace_seconds, options.max_retries, scan_from);
    } catch (const std::exception&) {
      // the storage is unreachable: the next check may succeed
    }
  }

  bool out_of_time() const {
    return !options.use_stored_budget && options.timeout_seconds > 0 &&
           std::chrono::duration<double>(Clock::now() - start).count() >= options.timeout_seconds;
  }

  void record_failure(std::exception_ptr error) {
    std::lock_guard lock(state);
    if (!failure) failure = error;
    study.stop_requested_->store(true);
  }
};

void Study::optimize(const std::function<double(Trial&)>& objective, const OptimizeOptions& options) {
  if (options.jobs < 1) throw Error("optimize: jobs must be >= 1, got " + std::to_string(options.jobs));
  if (options.n_trials < 0) throw Error("optimize: n_trials must be >= 0 (0: no limit), got " + std::to_string(options.n_trials));
  if (options.timeout_seconds < 0) throw Error("optimize: timeout must be >= 0 seconds (0: no limit)");
  if (options.heartbeat_seconds <= 0) throw Error("optimize: heartbeat_seconds must be > 0");
  if (options.stale_grace_seconds <= 0) throw Error("optimize: stale_grace_seconds must be > 0");
  if (options.max_retries < 0) throw Error("optimize: max_retries must be >= 0, got " + std::to_string(options.max_retries));
  if (options.stale_check_seconds < 0) throw Error("optimize: stale_check_seconds must be >= 0 (0: automatic)");
  stop_requested_->store(false);
  // Storage calls for running trials are retried for the stale grace while optimize() runs.
  shared_->storage_patience.store(options.stale_grace_seconds);
  struct PatienceReset {
    Shared& shared;
    ~PatienceReset() { shared.storage_patience.store(0.0); }
  } patience_reset{*shared_};
  OptimizeRun(*this, objective, options).run();
}

}  // namespace nntune::tune
