#pragma once
// What a study stores: trials, their states, a study's direction and summary. Plain records that
// the storage writes and reads, samplers and pruners decide on, and reports draw; no tuner
// behind them (a report includes this header, not the study).
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nntune/tune/distribution.hpp"

namespace nntune::tune {

enum class TrialState { Running, Waiting, Complete, Pruned, Failed };
std::string to_string(TrialState state);
TrialState trial_state_from_string(const std::string& name);
inline bool is_finished(TrialState s) {
  return s == TrialState::Complete || s == TrialState::Pruned || s == TrialState::Failed;
}

enum class Direction { Minimize, Maximize };
std::string to_string(Direction direction);  // "minimize" / "maximize" (as stored)
// The stored name; anything but "maximize" reads as Minimize (what every nntune wrote).
Direction direction_from_string(const std::string& name);
// True when value `a` is strictly better than `b` for the direction.
inline bool is_better(Direction d, double a, double b) { return d == Direction::Maximize ? a > b : a < b; }

// Why a trial failed, as a value code decides on (retries); the trial's error text is for
// people. Stored in the trial's system attr "failure" (kFailureAttr); a trial failed by an older
// nntune has none and reads as Unknown.
enum class FailureKind {
  Unknown,         // no kind recorded
  Objective,       // the objective threw or returned no finite value
  Diverged,        // training diverged (NaN or infinite loss)
  WorkerDied,      // its worker process is gone (found by a process on the same host)
  StaleHeartbeat,  // no heartbeat for the grace period (its worker stopped or lost the storage)
  SpaceExhausted,  // not run: every point of a finite search space was taken by other trials
};
inline constexpr const char* kFailureAttr = "failure";
std::string to_string(FailureKind kind);  // "objective", "worker_died", ...
FailureKind failure_kind_from_string(const std::string& name);  // unknown names: Unknown
// A failure whose trial may be run again as it was (its worker, not its parameters, failed).
inline bool is_worker_failure(FailureKind k) { return k == FailureKind::WorkerDied || k == FailureKind::StaleHeartbeat; }

struct FrozenTrial {
  int64_t id = -1;      // storage-wide id
  int64_t number = -1;  // 0-based, dense within the study
  TrialState state = TrialState::Running;
  std::map<std::string, double> params;  // internal representation
  std::map<std::string, Distribution> distributions;
  std::optional<double> value;
  std::map<int64_t, double> intermediate;  // step -> value (epoch for networks)
  double start_time = 0.0, end_time = 0.0;  // unix seconds; end 0 while running
  nlohmann::json user_attrs = nlohmann::json::object();
  nlohmann::json system_attrs = nlohmann::json::object();
  std::string error;  // why it failed (for people; failure_kind() is for code)

  nlohmann::json external_params() const;  // {"lr": 0.001, "optimizer": "adam", ...}
  FailureKind failure_kind() const;        // Unknown unless the trial failed with a stored kind
};

// What samplers and pruners see of a study: its direction and every trial, in number order.
struct StudyHistory {
  Direction direction = Direction::Minimize;
  std::vector<FrozenTrial> trials;

  // Complete trials' values turned so that lower is better (negated when maximising).
  double loss_of(const FrozenTrial& t) const { return direction == Direction::Minimize ? *t.value : -*t.value; }
};

// The complete trials (with a value), best first; equal values keep trial-number order.
std::vector<FrozenTrial> complete_trials_best_first(const std::vector<FrozenTrial>& trials, Direction direction);
// The best complete trial (the earliest of equal ones); nullopt when none is complete.
std::optional<FrozenTrial> best_trial_of(const std::vector<FrozenTrial>& trials, Direction direction);

struct StudySummary {
  int64_t id = -1;
  std::string name;
  Direction direction = Direction::Minimize;
  nlohmann::json system_attrs = nlohmann::json::object();  // search space, sampler, budget...
  nlohmann::json user_attrs = nlohmann::json::object();
  int64_t n_trials = 0;
  double created = 0.0;  // unix seconds
};

}  // namespace nntune::tune
