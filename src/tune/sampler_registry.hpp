#pragma once
// The sampler family: each sampler declares itself in its own file (its name, help and the
// SamplerConfig keys it reads, bound to their fields) beside its factory. make_sampler(), the
// tune.sampler schema, sampler_names() and a study's stored sampler JSON are derived from these.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/options.hpp"
#include "core/registry.hpp"
#include "nntune/tune/sampler.hpp"

namespace nntune::tune {

struct SamplerDeclaration {
  std::function<std::unique_ptr<Sampler>(const SamplerConfig& config)> make;
  std::vector<Option<SamplerConfig>> options;  // the keys this sampler reads
};
Registry<SamplerDeclaration>& sampler_registry();

// Adds a sampler; its ComponentInfo's keys are taken from its options.
void declare_sampler(ComponentInfo info, SamplerDeclaration declaration);

// Keys every sampler has (seed), then every sampler's own keys, each once.
const std::vector<Option<SamplerConfig>>& sampler_options();
// Names and aliases, in list order.
std::vector<std::string> sampler_names();

// A study's sampler as stored: {"name", every option's value, "grid"}; and back (keys missing
// from an older study keep their defaults).
nlohmann::json sampler_config_json(const SamplerConfig& config);
SamplerConfig sampler_config_from_json(const nlohmann::json& stored);
// Reads the keys of a checked tune.sampler mapping (or a bare name) into config.
void read_sampler_config(const nlohmann::json& spec_value, SamplerConfig& config);

}  // namespace nntune::tune
