// The ONNX form of the dense layer: Gemm on flat samples; on sequences (a dense layer applied
// per step to samples of shape (steps, features)) MatMul, which broadcasts over the batch and the
// steps, and Add; then its fused activation.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

// out = f(in * W + b), W stored (inputs x units) row-major as Gemm's / MatMul's B.
std::string export_dense(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  if (input_shape.size() != 1 && input_shape.size() != 2)
    throw Error("cannot export a dense layer on samples of shape " + shape_string(input_shape) +
                " to ONNX; dense layers on flat samples or per step on (steps, features) are exported");
  const nlohmann::json config = layer.config();
  const ParamBlock& weight = param_block(layer, "weight");
  const int64_t inputs = input_shape.back(), units = weight.size / inputs;
  const std::string w = graph.constant("weight", {inputs, units}, block_values(weight));
  const bool bias = config.value("use_bias", true);
  std::string z;
  if (input_shape.size() == 1) {
    std::vector<std::string> operands = {input, w};
    if (bias) operands.push_back(graph.constant("bias", {units}, block_values(param_block(layer, "bias"))));
    z = graph.node("Gemm", operands);
  } else {
    // (batch, steps, inputs) x (inputs, units): every step's row through the same weights.
    z = graph.node("MatMul", {input, w});
    if (bias) z = graph.node("Add", {z, graph.constant("bias", {units}, block_values(param_block(layer, "bias")))});
  }
  // The fused activation takes its default slope / alpha (as the dense layer does).
  return activation_nodes(activation_of(config, "activation"), z, graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_dense) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "dense"}, nntune::onnx_export::export_dense);
}
