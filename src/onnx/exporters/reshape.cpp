// The ONNX form of reshape: Reshape to the batch (0: kept from the input) and the layer's
// resolved sample shape.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_reshape(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  const Shape sample = make_layer(layer.config())->build(input_shape);
  std::vector<int64_t> target = {0};
  target.insert(target.end(), sample.begin(), sample.end());
  const int64_t rank = static_cast<int64_t>(target.size());
  return graph.node("Reshape", {input, graph.int_constant("shape", {rank}, std::move(target))});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_reshape) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "reshape"}, nntune::onnx_export::export_reshape);
}
