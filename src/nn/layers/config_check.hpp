#pragma once
// Reading layer configs with messages a user can act on: every problem names the layer type,
// the key, what was given and what is allowed.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/layer.hpp"

namespace nntune::layers {

// "a, b, c" for error messages.
std::string join_names(const std::vector<std::string>& names);

class ConfigReader {
 public:
  // Throws unless config is an object whose keys are all in allowed_keys.
  ConfigReader(const nlohmann::json& config, std::string layer_type, std::vector<std::string> allowed_keys);

  bool has(const std::string& key) const { return config_.contains(key); }
  int64_t positive_int(const std::string& key) const;  // required
  // A finite number; when min/max are given, within [min, max] or [min, max) (max_exclusive).
  double number(const std::string& key, double fallback, double min, double max, bool max_exclusive) const;
  double number(const std::string& key, double fallback) const;  // any finite number
  bool boolean(const std::string& key, bool fallback) const;
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) const;
  // A string name or {"name": ..., "scale": ..., "value": ...}.
  Initializer initializer(const std::string& key, const Initializer& fallback) const;

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

 private:
  const nlohmann::json& config_;
  std::string layer_type_;
};

nlohmann::json initializer_config(const Initializer& init);
// A float as the double with the same shortest decimal form (0.05f -> 0.05, not
// 0.05000000074505806), so configs read back the way the user wrote them.
double tidy(float value);

}  // namespace nntune::layers
