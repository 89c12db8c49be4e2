// The ONNX form of the gru layer: ONNX's GRU with linear_before_reset = 1 (the reset gate
// applied after the recurrent product, PyTorch's formulation, which the layer uses); ONNX's
// gates come in the order z, r, h where the layer keeps r, z, n.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_gru(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  return recurrent_nodes(layer, input_shape, input, graph, "GRU", {1, 0, 2},
                         {Attribute::integer("linear_before_reset", 1)});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_gru) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "gru"}, nntune::onnx_export::export_gru);
}
