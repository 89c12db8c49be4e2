#include "tune/search_space.hpp"

#include <optional>

namespace nntune::tune::detail {

SearchSpace intersection_search_space(const StudyHistory& history) {
  std::optional<SearchSpace> common;
  for (const FrozenTrial& t : history.trials) {
    if (t.state != TrialState::Complete) continue;
    if (!common) {
      common = t.distributions;
      continue;
    }
    for (auto it = common->begin(); it != common->end();) {
      auto found = t.distributions.find(it->first);
      it = found == t.distributions.end() || !(found->second == it->second) ? common->erase(it) : std::next(it);
    }
  }
  SearchSpace space;
  if (common)
    for (const auto& [name, d] : *common)
      if (!d.single()) space.emplace(name, d);
  return space;
}

SearchSpace union_search_space(const StudyHistory& history) {
  SearchSpace space;
  for (const FrozenTrial& t : history.trials)
    if (t.state == TrialState::Complete) space.insert(t.distributions.begin(), t.distributions.end());
  return space;
}

}  // namespace nntune::tune::detail
