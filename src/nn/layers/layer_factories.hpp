#pragma once
// Constructors of the concrete layers, one per file; make_layer() dispatches on "type".
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nntune/layer.hpp"

namespace nntune::layers {

std::unique_ptr<Layer> make_dense(const nlohmann::json& config);
// layer_type is "activation" or a shorthand ("relu", ...), which then names the function.
std::unique_ptr<Layer> make_activation(const nlohmann::json& config, const std::string& layer_type);
std::unique_ptr<Layer> make_dropout(const nlohmann::json& config);
std::unique_ptr<Layer> make_batch_norm(const nlohmann::json& config);
std::unique_ptr<Layer> make_flatten(const nlohmann::json& config);
std::unique_ptr<Layer> make_conv2d(const nlohmann::json& config);
std::unique_ptr<Layer> make_max_pool2d(const nlohmann::json& config);
std::unique_ptr<Layer> make_avg_pool2d(const nlohmann::json& config);
std::unique_ptr<Layer> make_global_avg_pool2d(const nlohmann::json& config);

}  // namespace nntune::layers
