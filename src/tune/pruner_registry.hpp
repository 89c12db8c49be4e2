#pragma once
// The pruner family: each pruner declares itself in its own file (src/tune/pruners/: its name,
// help and the PrunerConfig keys it reads, bound to their fields) beside its factory.
// make_pruner(), the tune.pruner schema, pruner_names() and a study's stored pruner JSON are
// derived from these declarations.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/options.hpp"
#include "core/registry.hpp"
#include "nntune/tune/pruner.hpp"

namespace nntune::tune {

struct PrunerDeclaration {
  std::function<std::unique_ptr<Pruner>(const PrunerConfig& config)> make;
  std::vector<Option<PrunerConfig>> options;  // the keys this pruner reads
  // Fills what the pruner takes from the training it watches where the spec leaves it open
  // (hyperband: its last rung is the spec's epochs). Optional.
  std::function<void(PrunerConfig& config, int64_t epochs)> fit_to_epochs;
};
Registry<PrunerDeclaration>& pruner_registry();

// Adds a pruner; its ComponentInfo's keys are taken from its options.
void declare_pruner(ComponentInfo info, PrunerDeclaration declaration);

// Every pruner's keys, each once.
const std::vector<Option<PrunerConfig>>& pruner_options();
// Names and aliases, in list order.
std::vector<std::string> pruner_names();

// A study's pruner as stored ({"name", every option's value}) and back.
nlohmann::json pruner_config_json(const PrunerConfig& config);
PrunerConfig pruner_config_from_json(const nlohmann::json& stored);
// The declared pruner's fit_to_epochs, if it has one (a tuning spec's epochs, or their upper bound).
void fit_pruner_to_epochs(PrunerConfig& config, int64_t epochs);
// Reads the keys of a checked tune.pruner mapping (or a bare name) into config.
void read_pruner_config(const nlohmann::json& spec_value, PrunerConfig& config);

}  // namespace nntune::tune
