#pragma once
// Configs of the layers that the MLP shorthand (model.hidden, spec.cpp) expands into, each
// written by its layer's own file: the type name and key names stay with the layer.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace nntune::layer_configs {

nlohmann::json dense(int64_t units, const std::string& activation, const std::string& kernel_init);
nlohmann::json flatten();
nlohmann::json batch_norm();
nlohmann::json dropout(double rate);

}  // namespace nntune::layer_configs
