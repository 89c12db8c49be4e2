// make_layer(): from a JSON config to a layer object, through the layer registry.
#include "nn/layers/layer_registry.hpp"

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nntune/error.hpp"

namespace nntune {

Registry<LayerFactory>& layer_registry() {
  static Registry<LayerFactory> registry("layer");
  return registry;
}

const std::vector<std::string>& activation_names() { return layers::activation_kind_names(); }

const std::vector<std::string>& layer_types() {
  static const std::vector<std::string> types = layer_registry().names();
  return types;
}

std::unique_ptr<Layer> make_layer(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("type") || !config.at("type").is_string())
    throw Error("a layer config needs a \"type\" (one of " + layers::join_names(layer_types()) + "), got " +
                config.dump());
  const std::string type = config.at("type").get<std::string>();
  const auto* entry = layer_registry().find(type);
  if (!entry) throw Error("unknown layer type \"" + type + "\"; allowed: " + layers::join_names(layer_types()));
  return entry->factory(config, type);
}

}  // namespace nntune
