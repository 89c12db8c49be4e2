// The ONNX form of dropout: the identity at prediction time.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

// Inverted dropout is the identity at prediction time.
std::string export_dropout(const Layer&, const Shape&, const std::string& input, OnnxGraph& graph) {
  return graph.node("Identity", {input});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_dropout) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "dropout"}, nntune::onnx_export::export_dropout);
}
