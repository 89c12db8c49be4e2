// The ONNX form of an activation layer (and relu, tanh, ... which are activation layers by another name).
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_activation(const Layer& layer, const Shape&, const std::string& input, OnnxGraph& graph) {
  return activation_nodes(activation_of(layer.config(), "name"), input, graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_activation) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "activation"}, nntune::onnx_export::export_activation);
}
