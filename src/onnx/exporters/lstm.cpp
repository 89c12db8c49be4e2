// The ONNX form of the lstm layer: ONNX's LSTM (default activations sigmoid, tanh, tanh, no
// peepholes), whose gates come in the order i, o, f, c where the layer keeps i, f, g, o.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_lstm(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  return recurrent_nodes(layer, input_shape, input, graph, "LSTM", {0, 3, 1, 2}, {});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_lstm) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "lstm"}, nntune::onnx_export::export_lstm);
}
