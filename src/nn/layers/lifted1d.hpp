#pragma once
// The 1-D window layers (conv1d, max_pool1d, avg_pool1d, global_avg_pool1d) over sequences of
// shape (steps, channels): each runs its 2-D twin on the sequence seen as an image of height 1,
// (1, steps, channels), with kernel [1, k], stride [1, s], dilation [1, d] and padding [0, p].
// One implementation of the window arithmetic, im2col and the GEMMs; the price is one copy of
// the input, the output and the output gradient per pass (memcpy; small next to the products).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "nn/layers/config_check.hpp"
#include "nntune/layer.hpp"

namespace nntune::layers {

// The window keys of the 1-D layers, integers where the 2-D ones take [height, width].
schema::Field kernel1d_key();
schema::Field stride1d_key(const std::string& help);
schema::Field dilation1d_key();
schema::Field padding1d_key();
// Fails (naming the layer and key) unless padding, if given, is valid, same or an integer >= 0.
void check_padding1d(const nlohmann::json& config, const ConfigReader& reader);

// The 2-D config of a 1-D config ({"type": "conv1d", "kernel": 3} -> {"type": "conv2d",
// "kernel": [1, 3]}) and back (only the 2-D configs lift() writes lower() accepts).
nlohmann::json lift_config(const nlohmann::json& config1d);
nlohmann::json lower_config(const nlohmann::json& config2d);

// A 1-D layer of `config1d` (already checked against its keys by the caller).
std::unique_ptr<Layer> make_lifted1d(const nlohmann::json& config1d);

// The 2-D layer a 1-D layer runs, its parameter blocks bound to the 1-D layer's (for the ONNX
// exporters); null for a layer that is not a 1-D window layer.
const Layer* lifted_inner(const Layer& layer);

}  // namespace nntune::layers
