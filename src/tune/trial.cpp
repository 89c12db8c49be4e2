// The stored record types (nntune/tune/records.hpp): names as stored, best-first ordering.
#include "nntune/tune/records.hpp"

#include <algorithm>
#include <cctype>

#include "nntune/error.hpp"

namespace nntune::tune {

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::Running: return "running";
    case TrialState::Waiting: return "waiting";
    case TrialState::Complete: return "complete";
    case TrialState::Pruned: return "pruned";
    case TrialState::Failed: return "failed";
  }
  return "unknown";
}

TrialState trial_state_from_string(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (TrialState s : {TrialState::Running, TrialState::Waiting, TrialState::Complete, TrialState::Pruned,
                       TrialState::Failed})
    if (to_string(s) == lower) return s;
  throw Error("unknown trial state \"" + name + "\" (allowed: running, waiting, complete, pruned, failed)");
}

std::string to_string(Direction direction) { return direction == Direction::Maximize ? "maximize" : "minimize"; }

Direction direction_from_string(const std::string& name) {
  return name == "maximize" ? Direction::Maximize : Direction::Minimize;
}

namespace {
constexpr std::pair<FailureKind, const char*> kFailureNames[] = {
    {FailureKind::Unknown, "unknown"},           {FailureKind::Objective, "objective"},
    {FailureKind::Diverged, "diverged"},         {FailureKind::WorkerDied, "worker_died"},
    {FailureKind::StaleHeartbeat, "stale_heartbeat"}, {FailureKind::SpaceExhausted, "space_exhausted"},
};
}  // namespace

std::string to_string(FailureKind kind) {
  for (const auto& [k, name] : kFailureNames)
    if (k == kind) return name;
  return "unknown";
}

FailureKind failure_kind_from_string(const std::string& name) {
  for (const auto& [k, known] : kFailureNames)
    if (name == known) return k;
  return FailureKind::Unknown;  // written by a newer nntune: nothing to decide on
}

FailureKind FrozenTrial::failure_kind() const {
  if (state != TrialState::Failed) return FailureKind::Unknown;
  const auto found = system_attrs.find(kFailureAttr);
  if (found == system_attrs.end() || !found->is_string()) return FailureKind::Unknown;
  return failure_kind_from_string(found->get<std::string>());
}

std::vector<FrozenTrial> complete_trials_best_first(const std::vector<FrozenTrial>& trials, Direction direction) {
  std::vector<FrozenTrial> complete;
  for (const FrozenTrial& t : trials)
    if (t.state == TrialState::Complete && t.value) complete.push_back(t);
  std::stable_sort(complete.begin(), complete.end(), [&](const FrozenTrial& a, const FrozenTrial& b) {
    if (*a.value != *b.value) return is_better(direction, *a.value, *b.value);
    return a.number < b.number;
  });
  return complete;
}

std::optional<FrozenTrial> best_trial_of(const std::vector<FrozenTrial>& trials, Direction direction) {
  const FrozenTrial* best = nullptr;
  for (const FrozenTrial& t : trials)
    if (t.state == TrialState::Complete && t.value && (!best || is_better(direction, *t.value, *best->value))) best = &t;
  if (!best) return std::nullopt;
  return *best;
}

nlohmann::json FrozenTrial::external_params() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, internal] : params) {
    auto found = distributions.find(name);
    out[name] = found == distributions.end() ? nlohmann::json(internal) : found->second.to_external(internal);
  }
  return out;
}

}  // namespace nntune::tune
