// The exporters' registry and what they share (layer_exporters.hpp); the exporters themselves
// are src/onnx/exporters/NAME.cpp.
#include "onnx/layer_exporters.hpp"

#include "nntune/error.hpp"

namespace nntune::onnx_export {

Registry<LayerExporter>& layer_exporter_registry() {
  static Registry<LayerExporter> registry("ONNX exporter");
  return registry;
}

const ParamBlock& param_block(const Layer& layer, const std::string& name) {
  for (const ParamBlock& b : layer.params())
    if (b.name == name) return b;
  throw Error("ONNX export: the " + layer.kind() + " layer has no parameter block '" + name + "' (an exporter bug)");
}

std::vector<float> block_values(const ParamBlock& b) { return std::vector<float>(b.value, b.value + b.size); }

std::string activation_nodes(const layers::Activation& act, const std::string& input, OnnxGraph& graph) {
  switch (act.kind) {
    case layers::ActivationKind::Linear: return input;
    case layers::ActivationKind::Relu: return graph.node("Relu", {input});
    case layers::ActivationKind::Sigmoid: return graph.node("Sigmoid", {input});
    case layers::ActivationKind::Tanh: return graph.node("Tanh", {input});
    case layers::ActivationKind::LeakyRelu: return graph.node("LeakyRelu", {input}, {Attribute::real("alpha", act.slope)});
    case layers::ActivationKind::Elu: return graph.node("Elu", {input}, {Attribute::real("alpha", act.alpha)});
    case layers::ActivationKind::Softmax: return graph.node("Softmax", {input}, {Attribute::integer("axis", -1)});
    case layers::ActivationKind::Gelu: {
      // Opset 13 has no Gelu: the exact form 0.5 z (1 + erf(z / sqrt 2)), as the layer computes it.
      const std::string erf =
          graph.node("Erf", {graph.node("Mul", {input, graph.constant("inv_sqrt2", {}, {0.70710678118654752f})})});
      const std::string one_plus = graph.node("Add", {erf, graph.constant("one", {}, {1.0f})});
      return graph.node("Mul", {graph.node("Mul", {input, one_plus}), graph.constant("half", {}, {0.5f})});
    }
  }
  throw Error("ONNX export: unknown activation (an exporter bug)");
}

layers::Activation activation_of(const nlohmann::json& config, const std::string& key) {
  layers::Activation act;
  const std::string name = config.value(key, std::string("linear"));
  if (!layers::parse_activation_kind(name, act.kind))
    throw Error("ONNX export: activation \"" + name + "\" has no ONNX form");
  act.slope = config.value("slope", act.slope);
  act.alpha = config.value("alpha", act.alpha);
  return act;
}

}  // namespace nntune::onnx_export
