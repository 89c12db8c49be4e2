#include "nn/layers/config_check.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "nntune/error.hpp"

namespace nntune::layers {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

ConfigReader::ConfigReader(const nlohmann::json& config, std::string layer_type, std::vector<std::string> allowed_keys)
    : config_(config), layer_type_(std::move(layer_type)) {
  if (!config_.is_object())
    throw Error(layer_type_ + " layer: the config must be an object like {\"type\": \"" + layer_type_ + "\", ...}, got " +
                config_.dump());
  for (const auto& item : config_.items()) {
    if (std::find(allowed_keys.begin(), allowed_keys.end(), item.key()) == allowed_keys.end())
      throw Error(layer_type_ + " layer: unknown key '" + item.key() + "'; allowed keys: " + join_names(allowed_keys));
  }
}

void ConfigReader::fail(const std::string& key, const std::string& problem) const {
  throw Error(layer_type_ + " layer: '" + key + "' " + problem);
}

int64_t ConfigReader::positive_int(const std::string& key) const {
  if (!has(key)) fail(key, "is required (a positive integer)");
  const nlohmann::json& v = config_.at(key);
  const bool integral = v.is_number_integer() ||
                        (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
  if (!integral || v.get<double>() < 1) fail(key, "must be a positive integer, got " + v.dump());
  if (v.get<double>() > 1e9) fail(key, "is too large (at most 1000000000), got " + v.dump());
  return static_cast<int64_t>(v.get<double>());
}

double ConfigReader::number(const std::string& key, double fallback) const {
  return number(key, fallback, -INFINITY, INFINITY, false);
}

double ConfigReader::number(const std::string& key, double fallback, double min, double max, bool max_exclusive) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = config_.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) fail(key, "must be a number, got " + v.dump());
  const double x = v.get<double>();
  if (x < min || x > max || (max_exclusive && x >= max)) {
    nlohmann::json lo = min, hi = max;
    fail(key, "must be in [" + lo.dump() + ", " + hi.dump() + (max_exclusive ? ")" : "]") + ", got " + v.dump());
  }
  return x;
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = config_.at(key);
  if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string ConfigReader::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& allowed) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = config_.at(key);
  if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end())
    fail(key, "must be one of " + join_names(allowed) + "; got " + v.dump());
  return v.get<std::string>();
}

Initializer ConfigReader::initializer(const std::string& key, const Initializer& fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = config_.at(key);
  const std::vector<std::string>& names = initializer_names();
  auto check_name = [&](const nlohmann::json& name) {
    if (!name.is_string() || std::find(names.begin(), names.end(), name.get<std::string>()) == names.end())
      fail(key, "names an unknown initializer " + name.dump() + "; allowed: " + join_names(names));
    return name.get<std::string>();
  };
  Initializer init;
  if (v.is_string()) {
    init.name = check_name(v);
    return init;
  }
  if (!v.is_object())
    fail(key, "must be an initializer name or {\"name\": ..., \"scale\": ..., \"value\": ...}, got " + v.dump());
  for (const auto& item : v.items()) {
    if (item.key() != "name" && item.key() != "scale" && item.key() != "value")
      fail(key, "has unknown key '" + item.key() + "'; allowed keys: name, scale, value");
  }
  if (!v.contains("name")) fail(key, "needs a \"name\"; allowed: " + join_names(names));
  init.name = check_name(v.at("name"));
  auto finite = [&](const char* field, float& out) {
    if (!v.contains(field)) return;
    const nlohmann::json& x = v.at(field);
    if (!x.is_number() || !std::isfinite(x.get<double>()))
      fail(key, std::string("field '") + field + "' must be a number, got " + x.dump());
    out = x.get<float>();
  };
  finite("scale", init.scale);
  finite("value", init.value);
  if (init.scale < 0) fail(key, "field 'scale' must be >= 0, got " + v.at("scale").dump());
  return init;
}

nlohmann::json initializer_config(const Initializer& init) {
  return {{"name", init.name}, {"scale", tidy(init.scale)}, {"value", tidy(init.value)}};
}

double tidy(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof(text), value).ptr;
  return std::strtod(std::string(text, end).c_str(), nullptr);
}

}  // namespace nntune::layers
