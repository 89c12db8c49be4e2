#include "nntune/tune/trial.hpp"

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

nlohmann::json FrozenTrial::external_params() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, internal] : params) {
    auto found = distributions.find(name);
    out[name] = found == distributions.end() ? nlohmann::json(internal) : found->second.to_external(internal);
  }
  return out;
}

}  // namespace nntune::tune
