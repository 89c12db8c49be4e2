// The ONNX form of max_pool2d: MaxPool between NHWC/NCHW transposes. ONNX's MaxPool ignores
// padded cells, as the layer does.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_max_pool2d(const Layer& layer, const Shape& input_shape, const std::string& input,
                              OnnxGraph& graph) {
  const std::string pooled =
      graph.node("MaxPool", {to_channels_first(input, graph)}, window_attributes(layer.config(), input_shape, true));
  return to_channels_last(pooled, graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_max_pool2d) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "max_pool2d"}, nntune::onnx_export::export_max_pool2d);
}
