#pragma once
// The C++ tuning API: define-by-run (the objective asks for parameters through Trial) and
// ask/tell (the caller owns the loop). All state lives in the Storage.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nntune/tune/pruner.hpp"
#include "nntune/tune/sampler.hpp"
#include "nntune/tune/storage.hpp"

namespace nntune::tune {

class Study;

// Thrown by an objective (usually after should_prune() returned true) to end the trial as pruned.
class TrialPruned : public std::exception {
 public:
  const char* what() const noexcept override { return "trial pruned"; }
};

class Trial {
 public:
  Trial(Study& study, FrozenTrial trial);
  int64_t number() const { return trial_.number; }
  int64_t id() const { return trial_.id; }

  double suggest_float(const std::string& name, double low, double high, bool log = false, double step = 0.0);
  int64_t suggest_int(const std::string& name, int64_t low, int64_t high, bool log = false, int64_t step = 1);
  nlohmann::json suggest_categorical(const std::string& name, const std::vector<nlohmann::json>& choices);
  // Any distribution; returns the external value. A parameter asked twice returns the same value.
  nlohmann::json suggest(const std::string& name, const Distribution& distribution);

  void report(double value, int64_t step);  // intermediate value (epoch for networks)
  bool should_prune();                      // asks the study's pruner about the last report
  void set_user_attr(const std::string& key, const nlohmann::json& value);

  const FrozenTrial& frozen() const { return trial_; }

 private:
  Study* study_;
  FrozenTrial trial_;
  // The sampler's joint proposal, made at the first suggest (lazily: the history is read then).
  bool relative_sampled_ = false;
  SearchSpace relative_space_;
  std::map<std::string, double> relative_params_;
  void reserve_parameters(const StudyHistory& history, const nlohmann::json& fixed_params);
  friend class Study;
};

struct OptimizeOptions {
  int64_t n_trials = 0;           // 0: no limit (then timeout or stop must end it); counts trials of this study
  double timeout_seconds = 0.0;   // 0: no limit
  int64_t jobs = 1;               // trials in parallel in this process
  bool catch_errors = true;       // a throwing objective fails its trial, the study goes on
  // Called after every finished trial (progress); return true to stop the study.
  std::function<bool(const Study&, const FrozenTrial&)> on_trial_end = nullptr;
  // Resume: at start, Running trials without a heartbeat for this long are failed as stale
  // (trials of dead processes on this host are failed at once).
  double stale_grace_seconds = 300.0;
  double heartbeat_seconds = 5.0;  // how often running trials' heartbeats are refreshed

  // Many processes and machines on one storage (docs/many-machines.md).
  // Obey the budget and stop request stored in the study (Study::store_budget, request_stop)
  // instead of n_trials and timeout_seconds: read again before every trial (the stop request
  // also every few seconds), so every worker of the study shares them.
  bool use_stored_budget = false;
  // A trial failed because its worker died (or sent no heartbeat for stale_grace_seconds) is
  // enqueued again with the same parameters, as a retry of the original, at most this often.
  int64_t max_retries = 0;
  // Run only enqueued (Waiting) trials, never a freshly sampled one: an enqueued grid. The
  // study ends when none is left.
  bool enqueued_only = false;
  // When nothing is left to start, stay while trials of other workers run, so that one whose
  // worker dies is failed and retried here; without it a process ends when its own trials do.
  bool wait_for_other_workers = false;
  // How often running trials of the whole study are checked for dead workers and stale
  // heartbeats while optimize() runs; 0: every stale_grace_seconds / 4 (at least heartbeat_seconds).
  double stale_check_seconds = 0.0;
};

// The budget every worker of a study shares, stored in its system attrs ("n_trials",
// "deadline", "stop_requested"). Trials counted against n_trials: every trial that is not
// waiting, less the failed ones that were retried (a retry takes their place).
struct StudyBudget {
  int64_t n_trials = 0;         // 0: no limit
  double deadline = 0.0;        // unix seconds after which no trial starts; 0: none
  bool stop_requested = false;  // `nntune stop`: finish the running trials, start no more
};

class Study {
 public:
  // Opens the study `name` in `storage`, creating it if absent (direction must then match).
  static Study open(std::shared_ptr<Storage> storage, const std::string& name, Direction direction,
                    std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner = nullptr);

  // ask/tell
  Trial ask();
  void tell(Trial& trial, double value);
  void tell(Trial& trial, TrialState state, std::optional<double> value = std::nullopt, const std::string& error = "");

  // define-by-run: runs objective in a loop until n_trials/timeout/exhausted grid/stop.
  void optimize(const std::function<double(Trial&)>& objective, const OptimizeOptions& options);
  void stop();  // asks optimize() to finish after the running trials
  // Fails zombie trials: Running trials whose worker process on this host is gone ("worker
  // process died"), then any Running trial without a heartbeat for stale_grace_seconds.
  // optimize() calls it at start and every stale_check_seconds; returns the trials it failed.
  std::vector<FrozenTrial> recover_trials(double stale_grace_seconds = 300.0);

  // The stored budget (see StudyBudget); optimize() obeys it with use_stored_budget.
  StudyBudget stored_budget() const;
  void store_budget(const StudyBudget& budget);
  // Asks every worker of the study (all processes, all machines) to finish its running trials
  // and stop; false clears the request.
  void request_stop(bool stop = true);
  // Trials counted against a budget of n_trials (see StudyBudget).
  static int64_t counted_trials(const std::vector<FrozenTrial>& trials);

  // Warm starts: a configuration to try next, or a finished trial from elsewhere.
  void enqueue(const nlohmann::json& external_params);
  void add_trial(const FrozenTrial& trial);

  const std::string& name() const { return name_; }
  int64_t id() const { return study_id_; }
  Direction direction() const { return direction_; }
  StudyHistory history() const;
  std::optional<FrozenTrial> best_trial() const;
  Storage& storage() const { return *storage_; }
  Sampler& sampler() const { return *sampler_; }
  Pruner* pruner() const { return pruner_.get(); }

 private:
  Study() = default;
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<Pruner> pruner_;
  std::string name_;
  int64_t study_id_ = -1;
  Direction direction_ = Direction::Minimize;
  std::shared_ptr<std::atomic<bool>> stop_requested_;
  struct Shared;  // locks that serialise sampler/pruner calls and asking across threads
  std::shared_ptr<Shared> shared_;
  // The history for samplers and pruners, with this process's reserved parameters; valid
  // while shared_->sampling is held.
  StudyHistory& sampling_history() const;
  // Stores how the trial ended (a Failed one with its kind); false if it had already finished.
  bool finish(Trial& trial, TrialState state, std::optional<double> value, const std::string& error, FailureKind kind);
  // Fails the running trials of dead workers and stale heartbeats, reading only the trials
  // from `scan_from` on (advanced past finished ones), and enqueues retries of the failed ones.
  std::vector<FrozenTrial> recover_and_retry(double stale_grace_seconds, int64_t max_retries, int64_t& scan_from);
  // Runs `call` against the storage; on an exception, retries with back-off for up to the
  // storage patience (the stale grace of a running optimize(), else none) before giving up;
  // at once if trial `trial_id` has finished meanwhile (another worker failed it as stale).
  void with_storage_retry(const std::string& what, const std::function<void()>& call, int64_t trial_id = -1) const;
  std::optional<Trial> claim_waiting();
  struct OptimizeRun;  // the steps of optimize() (study.cpp)
  friend class Trial;
};

}  // namespace nntune::tune
