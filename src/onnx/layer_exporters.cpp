// The ONNX form of each layer kind, in evaluation mode (what predict computes).
#include "onnx/layer_exporters.hpp"

#include <cmath>

#include "nn/layers/activation_kernels.hpp"
#include "nntune/error.hpp"

namespace nntune::onnx_export {
namespace {

using layers::Activation;
using layers::ActivationKind;

const ParamBlock& block(const Layer& layer, const std::string& name) {
  for (const ParamBlock& b : layer.params())
    if (b.name == name) return b;
  throw Error("ONNX export: the " + layer.kind() + " layer has no parameter block '" + name + "' (an exporter bug)");
}

std::vector<float> values(const ParamBlock& b) { return std::vector<float>(b.value, b.value + b.size); }

// The nodes of one activation function on `input`; linear adds none.
std::string activation_nodes(const Activation& act, const std::string& input, OnnxGraph& graph) {
  switch (act.kind) {
    case ActivationKind::Linear: return input;
    case ActivationKind::Relu: return graph.node("Relu", {input});
    case ActivationKind::Sigmoid: return graph.node("Sigmoid", {input});
    case ActivationKind::Tanh: return graph.node("Tanh", {input});
    case ActivationKind::LeakyRelu: return graph.node("LeakyRelu", {input}, {Attribute::real("alpha", act.slope)});
    case ActivationKind::Elu: return graph.node("Elu", {input}, {Attribute::real("alpha", act.alpha)});
    case ActivationKind::Softmax: return graph.node("Softmax", {input}, {Attribute::integer("axis", -1)});
    case ActivationKind::Gelu: {
      // Opset 13 has no Gelu: the exact form 0.5 z (1 + erf(z / sqrt 2)), as the layer computes it.
      const std::string erf =
          graph.node("Erf", {graph.node("Mul", {input, graph.constant("inv_sqrt2", {}, {0.70710678118654752f})})});
      const std::string one_plus = graph.node("Add", {erf, graph.constant("one", {}, {1.0f})});
      return graph.node("Mul", {graph.node("Mul", {input, one_plus}), graph.constant("half", {}, {0.5f})});
    }
  }
  throw Error("ONNX export: unknown activation (an exporter bug)");
}

Activation activation_of(const nlohmann::json& config, const std::string& key) {
  Activation act;
  const std::string name = config.value(key, std::string("linear"));
  if (!layers::parse_activation_kind(name, act.kind))
    throw Error("ONNX export: activation \"" + name + "\" has no ONNX form");
  act.slope = config.value("slope", act.slope);
  act.alpha = config.value("alpha", act.alpha);
  return act;
}

// out = f(in * W + b), W stored (inputs x units) row-major as Gemm's B.
std::string export_dense(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  const nlohmann::json config = layer.config();
  const ParamBlock& weight = block(layer, "weight");
  const int64_t inputs = input_shape.at(0), units = weight.size / inputs;
  std::vector<std::string> operands = {input, graph.constant("weight", {inputs, units}, values(weight))};
  if (config.value("use_bias", true)) operands.push_back(graph.constant("bias", {units}, values(block(layer, "bias"))));
  // The fused activation takes its default slope / alpha (as the dense layer does).
  return activation_nodes(activation_of(config, "activation"), graph.node("Gemm", operands), graph);
}

std::string export_activation(const Layer& layer, const Shape&, const std::string& input, OnnxGraph& graph) {
  return activation_nodes(activation_of(layer.config(), "name"), input, graph);
}

// Evaluation mode: the running statistics, folded into one scale and one shift per feature
// (computed in double) over the sample's own shape, as the layer normalises each feature.
std::string export_batch_norm(const Layer& layer, const Shape& input_shape, const std::string& input,
                              OnnxGraph& graph) {
  const double epsilon = layer.config().at("epsilon").get<double>();
  const std::vector<float> gamma = values(block(layer, "gamma")), beta = values(block(layer, "beta"));
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

// Inverted dropout is the identity at prediction time.
std::string export_dropout(const Layer&, const Shape&, const std::string& input, OnnxGraph& graph) {
  return graph.node("Identity", {input});
}

std::string export_flatten(const Layer&, const Shape&, const std::string& input, OnnxGraph& graph) {
  return graph.node("Flatten", {input}, {Attribute::integer("axis", 1)});
}

}  // namespace

const std::map<std::string, LayerExporter>& layer_exporters() {
  static const std::map<std::string, LayerExporter> table = {
      {"dense", export_dense},     {"activation", export_activation}, {"batch_norm", export_batch_norm},
      {"dropout", export_dropout}, {"flatten", export_flatten},
  };
  return table;
}

}  // namespace nntune::onnx_export
