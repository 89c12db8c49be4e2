#pragma once
// A declared key bound to a field of a typed config (SamplerConfig, PrunerConfig, ...): the
// component that uses the key declares it once, and the spec reader, the stored JSON and the
// reference all go through the binding.
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

}  // namespace nntune
