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

// Images: nntune keeps them (height, width, channels) per sample (NHWC), ONNX's Conv and pools
// take NCHW; these transpose a batch between the two.
std::string to_channels_first(const std::string& input, OnnxGraph& graph);
std::string to_channels_last(const std::string& input, OnnxGraph& graph);
// kernel_shape, strides, pads (top, left, bottom, right, as the layer places them) and, for a
// convolution, dilations: the window of a conv2d / pooling layer's config over `input_shape`.
std::vector<Attribute> window_attributes(const nlohmann::json& config, const Shape& input_shape, bool pooling);

// A 1-D window layer (conv1d, max/avg/global_avg_pool1d) as its 2-D twin's nodes over the
// sequence reshaped to an image of height 1, the result reshaped back (nn/layers/lifted1d.hpp).
std::string lifted1d_nodes(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph);

// A recurrent layer (rnn, lstm, gru; bidirectional or not) as ONNX's op of the same cell:
// `gate_order` lists, in ONNX's gate order, the layer's index of each gate (the layer keeps
// PyTorch's order); an "activations" list in `attributes` names one direction's (repeated for
// each). The sequence is transposed to ONNX's time-major layout and back, and the directions
// merged (concatenated or summed) as the layer does. Under a step mask (OnnxGraph::step_mask)
// each direction's real steps are gathered to the front of its sequence first, as the layer's
// masked pass does (layer_exporters.cpp says how).
std::string recurrent_nodes(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph,
                            const std::string& op_type, const std::vector<int64_t>& gate_order,
                            std::vector<Attribute> attributes);

}  // namespace nntune::onnx_export
