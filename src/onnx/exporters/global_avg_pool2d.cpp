// The ONNX form of global_avg_pool2d: the mean over height and width of NHWC images, one
// ReduceMean (no transposes needed), giving (batch, channels) as the layer does.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_global_avg_pool2d(const Layer&, const Shape&, const std::string& input, OnnxGraph& graph) {
  return graph.node("ReduceMean", {input}, {Attribute::integers("axes", {1, 2}), Attribute::integer("keepdims", 0)});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_global_avg_pool2d) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "global_avg_pool2d"},
                                                     nntune::onnx_export::export_global_avg_pool2d);
}
