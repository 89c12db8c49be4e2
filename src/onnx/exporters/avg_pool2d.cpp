// The ONNX form of avg_pool2d: AveragePool between NHWC/NCHW transposes, padding not counted
// (count_include_pad 0, the layer's rule).
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_avg_pool2d(const Layer& layer, const Shape& input_shape, const std::string& input,
                              OnnxGraph& graph) {
  std::vector<Attribute> attributes = window_attributes(layer.config(), input_shape, true);
  attributes.push_back(Attribute::integer("count_include_pad", 0));
  return to_channels_last(graph.node("AveragePool", {to_channels_first(input, graph)}, attributes), graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_avg_pool2d) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "avg_pool2d"}, nntune::onnx_export::export_avg_pool2d);
}
