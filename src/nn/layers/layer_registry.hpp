#pragma once
// The layer family: every layer type declares itself in its own file under src/nn/layers/
// (NNTUNE_REGISTER_COMPONENTS, core/registry.hpp); make_layer(), layer_types() and the spec's
// model.layers schema are derived from these declarations.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/registry.hpp"
#include "nntune/layer.hpp"

namespace nntune {

// Builds a layer from its config ({"type": ..., declared keys}); the "type" is the registered
// name (or alias) it was found under.
using LayerFactory = std::function<std::unique_ptr<Layer>(const nlohmann::json& config, const std::string& type)>;
Registry<LayerFactory>& layer_registry();

}  // namespace nntune
