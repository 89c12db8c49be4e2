// make_layer(): the run-time registry from a JSON config to a layer object.
#include <algorithm>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_factories.hpp"
#include "nntune/error.hpp"
#include "nntune/layer.hpp"

namespace nntune {

const std::vector<std::string>& activation_names() { return layers::activation_kind_names(); }

// Every accepted "type": the five layer kinds, then each activation name as a shorthand for
// {"type": "activation", "name": ...}.
const std::vector<std::string>& layer_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t = {"dense", "activation", "dropout", "batch_norm", "flatten"};
    for (const std::string& name : activation_names()) t.push_back(name);
    return t;
  }();
  return types;
}

std::unique_ptr<Layer> make_layer(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("type") || !config.at("type").is_string())
    throw Error("a layer config needs a \"type\" (one of " + layers::join_names(layer_types()) + "), got " +
                config.dump());
  const std::string type = config.at("type").get<std::string>();
  if (type == "dense") return layers::make_dense(config);
  if (type == "dropout") return layers::make_dropout(config);
  if (type == "batch_norm") return layers::make_batch_norm(config);
  if (type == "flatten") return layers::make_flatten(config);
  // The image layers are built here but not yet listed in layer_types(): the spec schema derives
  // its enumeration from that list, and the spec side of images (channel axis, conv blocks) is
  // not written yet.
  if (type == "conv2d") return layers::make_conv2d(config);
  if (type == "max_pool2d") return layers::make_max_pool2d(config);
  if (type == "avg_pool2d") return layers::make_avg_pool2d(config);
  if (type == "global_avg_pool2d") return layers::make_global_avg_pool2d(config);
  const auto& activations = activation_names();
  if (type == "activation" || std::find(activations.begin(), activations.end(), type) != activations.end())
    return layers::make_activation(config, type);
  throw Error("unknown layer type \"" + type + "\"; allowed: " + layers::join_names(layer_types()));
}

}  // namespace nntune
