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
  // optimize() calls it at start; returns the trials it failed.
  std::vector<FrozenTrial> recover_trials(double stale_grace_seconds = 300.0);

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
  bool finish(Trial& trial, TrialState state, std::optional<double> value, const std::string& error);
  friend class Trial;
};

}  // namespace nntune::tune
