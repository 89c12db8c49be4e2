// The ONNX form of flatten: ONNX's Flatten from axis 1.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_flatten(const Layer&, const Shape&, const std::string& input, OnnxGraph& graph) {
  return graph.node("Flatten", {input}, {Attribute::integer("axis", 1)});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_flatten) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "flatten"}, nntune::onnx_export::export_flatten);
}
