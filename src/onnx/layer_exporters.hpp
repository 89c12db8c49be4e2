#pragma once
// One small ONNX exporter per layer kind, looked up by Layer::kind(). Each takes the layer, the
// shape of one input sample and the name of its input tensor, adds its nodes and constants to
// the graph (whose scope already names the layer) and returns the name of its output tensor.
// They share nothing but OnnxGraph, so each can later move into its layer's own file.
#include <map>
#include <string>

#include "nntune/layer.hpp"
#include "onnx/onnx_graph.hpp"

namespace nntune::onnx_export {

using LayerExporter = std::string (*)(const Layer& layer, const Shape& input_shape, const std::string& input,
                                      OnnxGraph& graph);

// Kind -> exporter. A kind that is missing cannot be exported (the caller says so by name).
const std::map<std::string, LayerExporter>& layer_exporters();

}  // namespace nntune::onnx_export
