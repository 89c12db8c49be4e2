#pragma once
// Configs of the layers that the MLP shorthand (model.hidden, spec.cpp) expands into, each
// written by its layer's own file: the type name and key names stay with the layer.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nntune::layer_configs {

nlohmann::json dense(int64_t units, const std::string& activation, const std::string& kernel_init);
nlohmann::json flatten();
nlohmann::json batch_norm();
nlohmann::json dropout(double rate);

// Why a dense layer refuses samples of this shape as a flat input ("a dense layer needs a flat
// (1-D) input ..."): its own build() says it for images (rank 3+), and the spec says it for a
// sequence the dense layer would take per step when the targets are one per sample.
std::string dense_flat_input_problem(const std::vector<int64_t>& input_sample_shape);

}  // namespace nntune::layer_configs
