// The ONNX form of batch normalisation in evaluation mode.
#include <cmath>

#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

// Evaluation mode: the running statistics, folded into one scale and one shift per feature
// (computed in double) over the sample's own shape, as the layer normalises each feature.
std::string export_batch_norm(const Layer& layer, const Shape& input_shape, const std::string& input,
                              OnnxGraph& graph) {
  const double epsilon = layer.config().at("epsilon").get<double>();
  const std::vector<float> gamma = block_values(param_block(layer, "gamma")), beta = block_values(param_block(layer, "beta"));
  const std::vector<float> state = layer.state();  // running mean, then running variance
  const size_t n = gamma.size();
  if (state.size() != 2 * n) throw Error("ONNX export: batch_norm state has the wrong size (an exporter bug)");
  std::vector<float> scale(n), shift(n);
  for (size_t j = 0; j < n; ++j) {
    const double s = gamma[j] / std::sqrt(static_cast<double>(state[n + j]) + epsilon);
    scale[j] = static_cast<float>(s);
    shift[j] = static_cast<float>(beta[j] - state[j] * s);
  }
  const std::string scaled = graph.node("Mul", {input, graph.constant("scale", input_shape, std::move(scale))});
  return graph.node("Add", {scaled, graph.constant("shift", input_shape, std::move(shift))});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_batch_norm) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "batch_norm"}, nntune::onnx_export::export_batch_norm);
}
