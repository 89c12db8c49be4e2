#include "tune/sampler_registry.hpp"

#include "nntune/error.hpp"

namespace nntune::tune {

Registry<SamplerDeclaration>& sampler_registry() {
  static Registry<SamplerDeclaration> registry("sampler");
  return registry;
}

void declare_sampler(ComponentInfo info, SamplerDeclaration declaration) {
  info.keys = option_fields(declaration.options);
  sampler_registry().add(std::move(info), std::move(declaration));
}

const std::vector<Option<SamplerConfig>>& sampler_options() {
  static const std::vector<Option<SamplerConfig>> options = [] {
    std::vector<Option<SamplerConfig>> all = {bind_option(
        &SamplerConfig::seed, schema::opt("seed", schema::integer(0.0), nullptr, "seed of every random choice"))};
    for (const auto& entry : sampler_registry().entries()) merge_options(all, entry.factory.options);
    return all;
  }();
  return options;
}

std::vector<std::string> sampler_names() { return sampler_registry().names_and_aliases(); }

std::unique_ptr<Sampler> make_sampler(const SamplerConfig& config) {
  const auto* entry = sampler_registry().find(config.name);
  if (!entry) {
    std::string allowed;
    for (const auto& e : sampler_registry().entries()) {
      allowed += (allowed.empty() ? "" : ", ") + e.info.name;
      if (!e.info.aliases.empty()) allowed += " (or " + schema::join(e.info.aliases) + ")";
    }
    throw Error("unknown sampler \"" + config.name + "\" (allowed: " + allowed + ")");
  }
  return entry->factory.make(config);
}

nlohmann::json sampler_config_json(const SamplerConfig& config) {
  nlohmann::json stored = options_json(sampler_options(), config);
  stored["name"] = config.name;
  nlohmann::json grid = nlohmann::json::object();
  for (const auto& [name, values] : config.grid) grid[name] = values;
  stored["grid"] = grid;
  return stored;
}

SamplerConfig sampler_config_from_json(const nlohmann::json& stored) {
  SamplerConfig config;
  if (!stored.is_object()) return config;
  config.name = stored.value("name", config.name);
  read_options(sampler_options(), stored, config);
  if (stored.contains("grid") && stored.at("grid").is_object())
    for (const auto& [name, values] : stored.at("grid").items()) config.grid[name] = values.get<std::vector<nlohmann::json>>();
  return config;
}

void read_sampler_config(const nlohmann::json& spec_value, SamplerConfig& config) {
  if (spec_value.is_string()) {
    config.name = spec_value.get<std::string>();
    return;
  }
  config.name = spec_value.value("name", config.name);
  read_options(sampler_options(), spec_value, config);
}

}  // namespace nntune::tune
