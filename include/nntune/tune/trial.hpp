#pragma once
// A trial as stored: the single source of truth that samplers and pruners read.
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
  std::string error;  // why it failed

  nlohmann::json external_params() const;  // {"lr": 0.001, "optimizer": "adam", ...}
};

// What samplers and pruners see of a study: its direction and every trial, in number order.
struct StudyHistory {
  Direction direction = Direction::Minimize;
  std::vector<FrozenTrial> trials;

  // Complete trials' values turned so that lower is better (negated when maximising).
  double loss_of(const FrozenTrial& t) const { return direction == Direction::Minimize ? *t.value : -*t.value; }
};

}  // namespace nntune::tune
