#pragma once
// A declared key bound to a field of a typed config (SamplerConfig, PrunerConfig, ...): the
// component that uses the key declares it once, and the spec reader, the stored JSON and the
// reference all go through the binding.
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/schema.hpp"

namespace nntune {

template <typename Config>
struct Option {
  schema::Field field;
  std::function<void(const nlohmann::json& value, Config& config)> read;
  std::function<nlohmann::json(const Config& config)> write;
};

// An option stored in config.*member; its default is the member's value in a default Config.
template <typename Config, typename T>
Option<Config> bind_option(T Config::*member, schema::Field field) {
  if (field.default_value.is_null()) field.default_value = nlohmann::json(Config{}.*member);
  return {std::move(field), [member](const nlohmann::json& v, Config& c) { c.*member = v.get<T>(); },
          [member](const Config& c) { return nlohmann::json(c.*member); }};
}

// The options of several components as one list: a key declared by two components (tpe and
// auto both read n_startup_trials) appears once, where it was first declared.
template <typename Config>
void merge_options(std::vector<Option<Config>>& into, const std::vector<Option<Config>>& more) {
  for (const Option<Config>& o : more) {
    bool seen = false;
    for (const Option<Config>& have : into) seen = seen || have.field.key == o.field.key;
    if (!seen) into.push_back(o);
  }
}

template <typename Config>
std::vector<schema::Field> option_fields(const std::vector<Option<Config>>& options) {
  std::vector<schema::Field> fields;
  for (const Option<Config>& o : options) fields.push_back(o.field);
  return fields;
}

// The options' values of a config as JSON ({key: value, ...}), and back: keys present in `stored`
// are read, the others keep config's values.
template <typename Config>
nlohmann::json options_json(const std::vector<Option<Config>>& options, const Config& config) {
  nlohmann::json out = nlohmann::json::object();
  for (const Option<Config>& o : options) out[o.field.key] = o.write(config);
  return out;
}
template <typename Config>
void read_options(const std::vector<Option<Config>>& options, const nlohmann::json& stored, Config& config) {
  for (const Option<Config>& o : options)
    if (stored.is_object() && stored.contains(o.field.key)) o.read(stored.at(o.field.key), config);
}

// The first numeric option whose value is outside its declared range (or not finite), or null.
template <typename Config>
const Option<Config>* first_out_of_range(const std::vector<Option<Config>>& options, const Config& config) {
  for (const Option<Config>& o : options) {
    const nlohmann::json value = o.write(config);
    if (!value.is_number()) continue;
    const double x = value.get<double>();
    if (!std::isfinite(x) || !schema::in_range(*o.field.node, x)) return &o;
  }
  return nullptr;
}

}  // namespace nntune
