// The ONNX form of layer_norm. Opset 13 has no LayerNormalization (it came in 17), so the
// layer's own arithmetic over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, with
// the biased variance.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_layer_norm(const Layer& layer, const Shape& input_shape, const std::string& input,
                              OnnxGraph& graph) {
  const nlohmann::json config = layer.config();
  const std::vector<Attribute> last_axis = {Attribute::integers("axes", {-1}), Attribute::integer("keepdims", 1)};
  const std::string centred = graph.node("Sub", {input, graph.node("ReduceMean", {input}, last_axis)});
  const std::string variance = graph.node("ReduceMean", {graph.node("Mul", {centred, centred})}, last_axis);
  const std::string epsilon = graph.constant("epsilon", {}, {static_cast<float>(config.at("epsilon").get<double>())});
  std::string y = graph.node("Div", {centred, graph.node("Sqrt", {graph.node("Add", {variance, epsilon})})});
  const int64_t width = input_shape.back();
  if (config.value("scale", true)) y = graph.node("Mul", {y, graph.constant("gamma", {width}, block_values(param_block(layer, "gamma")))});
  if (config.value("center", true)) y = graph.node("Add", {y, graph.constant("beta", {width}, block_values(param_block(layer, "beta")))});
  return y;
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_layer_norm) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "layer_norm"}, nntune::onnx_export::export_layer_norm);
}
