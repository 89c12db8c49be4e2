// The ONNX form of the rnn layer: ONNX's RNN with the layer's activation (tanh or relu).
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_rnn(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  const std::string activation = layer.config().value("activation", std::string("tanh")) == "relu" ? "Relu" : "Tanh";
  return recurrent_nodes(layer, input_shape, input, graph, "RNN", {0},
                         {Attribute::texts("activations", {activation})});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_rnn) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "rnn"}, nntune::onnx_export::export_rnn);
}
