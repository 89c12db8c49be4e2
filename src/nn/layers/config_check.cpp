#include "nn/layers/config_check.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "nntune/error.hpp"

namespace nntune::layers {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

schema::NodePtr initializer_node() {
  using namespace schema;
  return any_of({one_of_names("initializer", initializer_names()),
                 mapping({req("name", one_of_names("initializer", initializer_names())), opt("scale", real(0.0)),
                          opt("value", real())})});
}

ConfigReader::ConfigReader(const nlohmann::json& config, std::string layer_type, const std::vector<schema::Field>& keys)
    : config_(config), layer_type_(std::move(layer_type)), keys_(keys) {
  if (!config_.is_object())
    throw Error(layer_type_ + " layer: the config must be an object like {\"type\": \"" + layer_type_ + "\", ...}, got " +
                config_.dump());
  std::vector<std::string> allowed = {"type"};
  for (const schema::Field& f : keys_) allowed.push_back(f.key);
  for (const auto& item : config_.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end())
      throw Error(layer_type_ + " layer: unknown key '" + item.key() + "'; allowed keys: " + join_names(allowed));
  }
}

void ConfigReader::fail(const std::string& key, const std::string& problem) const {
  throw Error(layer_type_ + " layer: '" + key + "' " + problem);
}

const schema::Field& ConfigReader::declared(const std::string& key) const {
  const schema::Field* field = schema::find_field(keys_, key);
  if (!field) throw std::logic_error(layer_type_ + " layer reads key '" + key + "', which it does not declare");
  return *field;
}

namespace {

// "[0.0, 1.0)", "> 0", ">= 1" from a declared range (as the messages always read).
std::string range_words(const schema::Node& n) {
  auto text = [](double v) { return nlohmann::json(v).dump(); };
  if (n.min && n.max)
    return "in " + std::string(n.min_exclusive ? "(" : "[") + text(*n.min) + ", " + text(*n.max) +
           (n.max_exclusive ? ")" : "]");
  if (n.min) return (n.min_exclusive ? "> " : ">= ") + schema::range_text(n).substr(n.min_exclusive ? 2 : 3);
  if (n.max) return (n.max_exclusive ? "< " : "<= ") + schema::range_text(n).substr(n.max_exclusive ? 2 : 3);
  return "";
}

bool outside(const schema::Node& n, double x) {
  return (n.min && (n.min_exclusive ? !(x > *n.min) : !(x >= *n.min))) ||
         (n.max && (n.max_exclusive ? !(x < *n.max) : !(x <= *n.max)));
}

}  // namespace

int64_t ConfigReader::integer(const std::string& key) const {
  const schema::Field& field = declared(key);
  const schema::Node& n = *field.node;
  const std::string kind = n.min && *n.min == 1.0 && !n.max ? "a positive integer"
                                                            : "an integer" + (range_words(n).empty() ? "" : " " + range_words(n));
  if (!has(key)) {
    if (field.required || field.default_value.is_null()) fail(key, "is required (" + kind + ")");
    return field.default_value.get<int64_t>();
  }
  const nlohmann::json& v = config_.at(key);
  const bool integral = v.is_number_integer() ||
                        (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
  if (!integral || outside(n, v.get<double>())) fail(key, "must be " + kind + ", got " + v.dump());
  if (std::fabs(v.get<double>()) > 1e9) fail(key, "is too large (at most 1000000000), got " + v.dump());
  return static_cast<int64_t>(v.get<double>());
}

double ConfigReader::number(const std::string& key) const {
  const schema::Field& field = declared(key);
  if (!has(key)) {
    if (field.required || field.default_value.is_null()) fail(key, "is required (a number)");
    return field.default_value.get<double>();
  }
  const nlohmann::json& v = config_.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) fail(key, "must be a number, got " + v.dump());
  if (outside(*field.node, v.get<double>())) fail(key, "must be " + range_words(*field.node) + ", got " + v.dump());
  return v.get<double>();
}

bool ConfigReader::boolean(const std::string& key) const {
  const schema::Field& field = declared(key);
  if (!has(key)) {
    if (field.required || field.default_value.is_null()) fail(key, "is required (true or false)");
    return field.default_value.get<bool>();
  }
  const nlohmann::json& v = config_.at(key);
  if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string ConfigReader::choice(const std::string& key) const {
  const schema::Field& field = declared(key);
  const std::vector<std::string>& allowed = field.node->choices;
  if (!has(key)) {
    if (field.required || field.default_value.is_null()) fail(key, "is required, one of " + join_names(allowed));
    return field.default_value.get<std::string>();
  }
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
