#pragma once
// Search-space distributions. Every distribution maps to one internal float (Optuna's
// to_internal_repr idea): floats and ints are their value, categoricals the index of the choice.
// Samplers work only on internal floats, so each sampler handles every type.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nntune::tune {

enum class DistributionKind { Float, Int, Categorical };

struct Distribution {
  DistributionKind kind = DistributionKind::Float;
  double low = 0.0, high = 0.0;  // inclusive bounds (Float, Int)
  bool log = false;              // sample log-uniformly (low > 0)
  double step = 0.0;             // Float: 0 = continuous; Int: >= 1 (default 1)
  std::vector<nlohmann::json> choices;  // Categorical

  static Distribution float_range(double low, double high, bool log = false, double step = 0.0);
  static Distribution int_range(int64_t low, int64_t high, bool log = false, int64_t step = 1);
  static Distribution categorical(std::vector<nlohmann::json> choices);

  // Throws nntune::Error: low > high, log with low <= 0, log with a step, empty choices,
  // step <= 0 (int) or a step that does not divide high - low.
  void validate() const;

  double to_internal(const nlohmann::json& external) const;  // throws if not in the space
  nlohmann::json to_external(double internal) const;
  bool contains(double internal) const;
  bool single() const;  // only one possible value
  // Rounds an internal value to the nearest valid one (step grid, integer, index in range).
  double snap(double internal) const;
  // Number of distinct values; 0 for a continuous float.
  int64_t cardinality() const;

  nlohmann::json to_json() const;
  static Distribution from_json(const nlohmann::json& j);
  bool operator==(const Distribution& other) const;
};

using SearchSpace = std::map<std::string, Distribution>;

}  // namespace nntune::tune
