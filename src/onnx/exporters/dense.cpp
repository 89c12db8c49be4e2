// The ONNX form of the dense layer: Gemm, then its fused activation.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

// out = f(in * W + b), W stored (inputs x units) row-major as Gemm's B.
std::string export_dense(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  if (input_shape.size() != 1)
    throw Error("cannot export a dense layer applied per step (to samples of shape " + shape_string(input_shape) +
                ") to ONNX yet; only dense layers on flat inputs are exported");
  const nlohmann::json config = layer.config();
  const ParamBlock& weight = param_block(layer, "weight");
  const int64_t inputs = input_shape.at(0), units = weight.size / inputs;
  std::vector<std::string> operands = {input, graph.constant("weight", {inputs, units}, block_values(weight))};
  if (config.value("use_bias", true)) operands.push_back(graph.constant("bias", {units}, block_values(param_block(layer, "bias"))));
  // The fused activation takes its default slope / alpha (as the dense layer does).
  return activation_nodes(activation_of(config, "activation"), graph.node("Gemm", operands), graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_dense) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "dense"}, nntune::onnx_export::export_dense);
}
