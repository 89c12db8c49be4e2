#pragma once
// The ONNX form of layers: one small exporter per layer kind, each in its own file under
// src/onnx/exporters/ (NAME.cpp registers itself, as the layers do), looked up by
// Layer::kind(). Each takes the layer, the shape of one input sample and the name of its input
// tensor, adds its nodes and constants to the graph (whose scope already names the layer) and
// returns the name of its output tensor. A kind without an exporter cannot be exported (the
// caller says so by name); a new layer needs none to train, save and predict.
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "nn/layers/activation_kernels.hpp"
#include "nntune/layer.hpp"
#include "onnx/onnx_graph.hpp"

namespace nntune::onnx_export {

using LayerExporter = std::string (*)(const Layer& layer, const Shape& input_shape, const std::string& input,
                                      OnnxGraph& graph);
Registry<LayerExporter>& layer_exporter_registry();

// What the exporters share.
// A layer's parameter block by name (an exporter bug if missing).
const ParamBlock& param_block(const Layer& layer, const std::string& name);
std::vector<float> block_values(const ParamBlock& block);
// The nodes of one activation function on `input`; linear adds none.
std::string activation_nodes(const layers::Activation& act, const std::string& input, OnnxGraph& graph);
// The activation a layer config names under `key` (with its slope / alpha).
layers::Activation activation_of(const nlohmann::json& config, const std::string& key);

}  // namespace nntune::onnx_export
