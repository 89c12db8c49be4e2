#pragma once
// The optimiser family: each update rule declares itself in its own file under
// src/train/optimizers/ (its name, help and the OptimizerConfig keys it reads, with ranges and
// defaults) beside its factory. make_optimizer(), optimizer_names(), the spec's train.optimizer
// schema and its reading are derived from these declarations.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/options.hpp"
#include "core/registry.hpp"
#include "nntune/optimizer.hpp"

namespace nntune {

struct OptimizerDeclaration {
  // Builds the rule from a config whose keys were checked against `options`.
  std::function<std::unique_ptr<Optimizer>(const OptimizerConfig& config)> make;
  std::vector<Option<OptimizerConfig>> options;  // the keys this optimiser reads
};
Registry<OptimizerDeclaration>& optimizer_registry();
void declare_optimizer(ComponentInfo info, OptimizerDeclaration declaration);

// Reads a checked train.optimizer value (a name or a mapping) into config: the optimiser's
// declared keys, each from the spec or its declared default.
void read_optimizer_config(const nlohmann::json& spec_value, OptimizerConfig& config);

namespace optimizers {
// lr and weight_decay (every optimiser), and decoupled_weight_decay where it applies.
std::vector<Option<OptimizerConfig>> common_options(bool with_coupling);
}  // namespace optimizers

}  // namespace nntune
