// The exporters' registry and what they share (layer_exporters.hpp); the exporters themselves
// are src/onnx/exporters/NAME.cpp.
#include "onnx/layer_exporters.hpp"

#include <algorithm>

#include "nn/layers/lifted1d.hpp"
#include "nn/layers/stack.hpp"
#include "nn/layers/window2d.hpp"
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

std::string to_channels_first(const std::string& input, OnnxGraph& graph) {
  return graph.node("Transpose", {input}, {Attribute::integers("perm", {0, 3, 1, 2})});
}

std::string to_channels_last(const std::string& input, OnnxGraph& graph) {
  return graph.node("Transpose", {input}, {Attribute::integers("perm", {0, 2, 3, 1})});
}

std::vector<Attribute> window_attributes(const nlohmann::json& config, const Shape& input_shape, bool pooling) {
  // The config a layer writes always spells pairs as [h, w] and padding as a name or a pair.
  auto pair = [&](const char* key) {
    const nlohmann::json& v = config.at(key);
    return layers::Pair{v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
  };
  layers::Window2d window;
  window.kernel = pair("kernel");
  window.stride = pair("stride");
  if (!pooling) window.dilation = pair("dilation");
  const nlohmann::json& padding = config.at("padding");
  if (padding.is_string()) {
    window.padding = padding.get<std::string>() == "same" ? layers::PaddingMode::Same : layers::PaddingMode::Valid;
  } else {
    window.padding = layers::PaddingMode::Explicit;
    window.pad = pair("padding");
  }
  const layers::WindowPlan plan =
      layers::plan_window(config.at("type").get<std::string>(), window, input_shape, pooling);
  // The far side's padding: what the last window reaches past the image (never negative; a
  // window that stops short of the edge needs none, as ONNX floors the output size too).
  auto after = [](int64_t in, int64_t out, int64_t stride, int64_t kernel, int64_t dilation, int64_t before) {
    return std::max<int64_t>(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - in - before);
  };
  const int64_t bottom = after(plan.in_h, plan.out_h, window.stride.h, window.kernel.h, window.dilation.h, plan.pad_top);
  const int64_t right = after(plan.in_w, plan.out_w, window.stride.w, window.kernel.w, window.dilation.w, plan.pad_left);
  std::vector<Attribute> attributes = {
      Attribute::integers("kernel_shape", {window.kernel.h, window.kernel.w}),
      Attribute::integers("strides", {window.stride.h, window.stride.w}),
      Attribute::integers("pads", {plan.pad_top, plan.pad_left, bottom, right}),
  };
  if (!pooling) attributes.push_back(Attribute::integers("dilations", {window.dilation.h, window.dilation.w}));
  return attributes;
}

std::string lifted1d_nodes(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  const Layer* inner = layers::lifted_inner(layer);
  if (!inner) throw Error("ONNX export: the " + layer.kind() + " layer is not a 1-D window layer (an exporter bug)");
  const Shape image = {1, input_shape.at(0), input_shape.at(1)};
  const std::string as_image = graph.node(
      "Reshape", {input, graph.int_constant("image_shape", {4}, {0, 1, input_shape.at(0), input_shape.at(1)})});
  const auto* exporter = layer_exporter_registry().find(inner->kind());
  if (!exporter) throw Error("ONNX export: no exporter for " + inner->kind() + " (an exporter bug)");
  const std::string out = exporter->factory(*inner, image, as_image, graph);
  const Shape out_image = make_layer(inner->config())->build(image);
  if (out_image.size() != 3) return out;  // global pooling: (batch, channels) already
  return graph.node("Reshape",
                    {out, graph.int_constant("sequence_shape", {3}, {0, out_image.at(1), out_image.at(2)})});
}

namespace {

// ONNX's [directions, G*H, columns] block from the layer's (columns x G*H) blocks, one per
// direction, gates reordered: onnx[d][(k*H + u)][c] = layer_d[c][gate_order[k]*H + u].
std::vector<float> onnx_gate_rows(const std::vector<const ParamBlock*>& blocks, int64_t columns, int64_t units,
                                  const std::vector<int64_t>& gate_order) {
  const int64_t gates = static_cast<int64_t>(gate_order.size()), width = gates * units;
  std::vector<float> out;
  for (const ParamBlock* block : blocks) {
    if (block->size != columns * width)
      throw Error("ONNX export: the recurrent block " + block->name + " has the wrong size (an exporter bug)");
    for (int64_t k = 0; k < gates; ++k)
      for (int64_t u = 0; u < units; ++u)
        for (int64_t c = 0; c < columns; ++c) out.push_back(block->value[c * width + gate_order[k] * units + u]);
  }
  return out;
}

// A bias block in ONNX's gate order (zeros for a missing block: rnn and lstm have one bias).
void append_gate_bias(const ParamBlock* block, int64_t units, const std::vector<int64_t>& gate_order,
                      std::vector<float>& out) {
  for (int64_t gate : gate_order)
    for (int64_t u = 0; u < units; ++u) out.push_back(block ? block->value[gate * units + u] : 0.0f);
}

const ParamBlock* find_block(const Layer& layer, const std::string& name) {
  for (const ParamBlock& b : layer.params())
    if (b.name == name) return &b;
  return nullptr;
}

// One ONNX op of the layer's cell over `time_major` (steps, batch, features): the directions
// whose blocks `prefixes` name ("" the layer's own, "reverse_" its reverse twin's), as
// `direction` says; the per-direction activations list in `attributes` is repeated for each.
// Returns Y (steps, directions, batch, units) and Y_h (directions, batch, units).
std::vector<std::string> recurrent_op(const Layer& layer, const std::vector<std::string>& prefixes,
                                      const std::string& direction, const std::string& time_major, int64_t features,
                                      int64_t units, const std::string& op_type, const std::vector<int64_t>& gate_order,
                                      std::vector<Attribute> attributes, OnnxGraph& graph) {
  const int64_t gates = static_cast<int64_t>(gate_order.size()), directions = static_cast<int64_t>(prefixes.size());
  std::vector<const ParamBlock*> w, r;
  std::vector<float> b;
  for (const std::string& p : prefixes) {
    w.push_back(&param_block(layer, p + "weight"));
    r.push_back(&param_block(layer, p + "recurrent_weight"));
    append_gate_bias(&param_block(layer, p + "bias"), units, gate_order, b);
    append_gate_bias(find_block(layer, p + "recurrent_bias"), units, gate_order, b);
  }
  for (Attribute& a : attributes)
    if (a.name == "activations") {
      const std::vector<std::string> one = a.strings;
      for (int64_t d = 1; d < directions; ++d) a.strings.insert(a.strings.end(), one.begin(), one.end());
    }
  attributes.push_back(Attribute::integer("hidden_size", units));
  attributes.push_back(Attribute::text("direction", direction));
  return graph.multi_node(
      op_type,
      {time_major, graph.constant("W", {directions, gates * units, features}, onnx_gate_rows(w, features, units, gate_order)),
       graph.constant("R", {directions, gates * units, units}, onnx_gate_rows(r, units, units, gate_order)),
       graph.constant("B", {directions, 2 * gates * units}, std::move(b))},
      attributes, 2);
}

// Recurrent::forward_masked in ONNX: each direction runs as a forward op over its sequences' real
// steps moved to the front (in order, or last to first for the reverse direction), padding after
// them, so every real step sees exactly the real steps before it; its outputs are taken at each
// sequence's own length, or put back at their steps. Padding steps, and sequences with no real
// step, give zeros. The order comes from TopK over a key that puts real steps first: step t, or
// T-1-t in reverse, for a real step, T+t for padding. (Not the ops' sequence_lens: the operator
// spec leaves what they do to the reverse direction and past a length unsaid, and some runtimes
// refuse a length of 0.)
std::string masked_recurrent_nodes(const Layer& layer, const Shape& input_shape, const std::string& input,
                                   OnnxGraph& graph, const std::string& op_type, const std::vector<int64_t>& gate_order,
                                   const std::vector<Attribute>& attributes) {
  const std::string real = graph.step_mask();  // (batch, steps) bool
  const nlohmann::json config = layer.config();
  const int64_t steps = input_shape.at(0), features = input_shape.at(1), units = config.at("units").get<int64_t>();
  const bool bidirectional = config.value("bidirectional", false);
  const bool merge_sum = config.value("merge", std::string("concat")) == "sum";
  const bool sequences = config.value("return_sequences", false);
  std::vector<int64_t> forward_key(static_cast<size_t>(steps)), reverse_key(forward_key), padding_key(forward_key);
  for (int64_t t = 0; t < steps; ++t) {
    forward_key[static_cast<size_t>(t)] = t;
    reverse_key[static_cast<size_t>(t)] = steps - 1 - t;
    padding_key[static_cast<size_t>(t)] = steps + t;
  }
  const std::string padding = graph.int_constant("padding_key", {steps}, std::move(padding_key));
  const std::string all_steps = graph.int_constant("steps", {1}, {steps});
  // The indices that sort each row of `key` (batch, steps) ascending (keys are distinct).
  auto sorting = [&](const std::string& key) {
    return graph.multi_node("TopK", {key, all_steps},
                            {Attribute::integer("axis", 1), Attribute::integer("largest", 0),
                             Attribute::integer("sorted", 1)},
                            2)[1];
  };
  // Step indices (batch, k) spread over the last axis to (batch, k, width), for GatherElements.
  auto spread = [&](const std::string& index, int64_t width) {
    const std::string column = graph.node("Unsqueeze", {index, graph.int_constant("axes", {1}, {2})});
    return graph.node("Expand", {column, graph.int_constant("spread", {3}, {1, 1, width})});
  };
  auto steps_at = [&](const std::string& data, const std::string& index, int64_t width) {
    return graph.node("GatherElements", {data, spread(index, width)}, {Attribute::integer("axis", 1)});
  };
  const std::string zero = graph.int_constant("zero", {}, {0});
  std::string last, any_real;  // (batch, 1): the last real step's packed index; whether there is one
  if (!sequences) {
    constexpr int64_t kOnnxInt64 = 7;
    const std::string lengths =
        graph.node("ReduceSum", {graph.node("Cast", {real}, {Attribute::integer("to", kOnnxInt64)}),
                                 graph.int_constant("axes", {1}, {1})},
                   {Attribute::integer("keepdims", 1)});
    last = graph.node("Max", {graph.node("Sub", {lengths, graph.int_constant("one", {}, {1})}), zero});
    any_real = graph.node("Greater", {lengths, zero});
  }
  std::vector<std::string> outputs;
  for (const bool reverse : bidirectional ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
    const std::string key = graph.node(
        "Where", {real, graph.int_constant(reverse ? "reverse_key" : "forward_key", {steps}, reverse ? reverse_key : forward_key),
                  padding});
    const std::string order = sorting(key);  // (batch, steps): packed step k is step order[k]
    const std::string packed = steps_at(input, order, features);
    const std::string time_major = graph.node("Transpose", {packed}, {Attribute::integers("perm", {1, 0, 2})});
    const std::string y = recurrent_op(layer, {reverse ? "reverse_" : ""}, "forward", time_major, features, units,
                                       op_type, gate_order, attributes, graph)[0];
    // (steps, 1, batch, units) -> (batch, steps, units), still packed.
    const std::string packed_out = graph.node(
        "Reshape", {graph.node("Transpose", {y}, {Attribute::integers("perm", {2, 0, 1, 3})}),
                    graph.int_constant("shape", {3}, {0, 0, units})});
    if (sequences)  // step t's output is packed step k where order[k] = t: the inverse permutation
      outputs.push_back(steps_at(packed_out, sorting(order), units));
    else
      outputs.push_back(graph.node("Reshape", {steps_at(packed_out, last, units),
                                               graph.int_constant("shape", {2}, {0, units})}));
  }
  std::string merged = outputs[0];
  if (bidirectional)
    merged = merge_sum ? graph.node("Add", outputs)
                       : graph.node("Concat", outputs, {Attribute::integer("axis", sequences ? 2 : 1)});
  const std::string keep =
      sequences ? graph.node("Unsqueeze", {real, graph.int_constant("axes", {1}, {2})}) : any_real;
  return graph.node("Where", {keep, merged, graph.constant("zero", {}, {0.0f})});
}

}  // namespace

std::string recurrent_nodes(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph,
                            const std::string& op_type, const std::vector<int64_t>& gate_order,
                            std::vector<Attribute> attributes) {
  // A stack (layers: N): each stacked layer's own nodes in turn, dropout as the identity; the
  // step mask goes on while the stacked layers keep it (stack.cpp).
  const std::vector<const Layer*> children = layers::stacked_children(layer);
  if (!children.empty()) {
    std::string tensor = input;
    Shape shape = input_shape;
    for (const Layer* child : children) {
      const auto* exporter = layer_exporter_registry().find(child->kind());
      if (!exporter) throw Error("ONNX export: no exporter for the stacked " + child->kind() + " (an exporter bug)");
      tensor = exporter->factory(*child, shape, tensor, graph);
      shape = make_layer(child->config())->build(shape);
      if (!child->keeps_mask()) graph.set_step_mask("");
    }
    return tensor;
  }
  if (!graph.step_mask().empty())
    return masked_recurrent_nodes(layer, input_shape, input, graph, op_type, gate_order, attributes);
  const nlohmann::json config = layer.config();
  const int64_t units = config.at("units").get<int64_t>(), features = input_shape.at(1);
  const bool bidirectional = config.value("bidirectional", false);
  const bool merge_sum = config.value("merge", std::string("concat")) == "sum";
  const bool sequences = config.value("return_sequences", false);
  const int64_t directions = bidirectional ? 2 : 1;
  const std::vector<std::string> prefixes = bidirectional ? std::vector<std::string>{"", "reverse_"}
                                                          : std::vector<std::string>{""};
  const std::string time_major = graph.node("Transpose", {input}, {Attribute::integers("perm", {1, 0, 2})});
  const std::vector<std::string> outputs =
      recurrent_op(layer, prefixes, bidirectional ? "bidirectional" : "forward", time_major, features, units, op_type,
                   gate_order, std::move(attributes), graph);
  // Y is (steps, directions, batch, units), Y_h (directions, batch, units); the layer gives
  // (batch, steps, directions * units) or (batch, directions * units), or the directions' sum.
  std::string batch_major;
  if (sequences)
    batch_major = graph.node("Transpose", {outputs[0]}, {Attribute::integers("perm", {2, 0, 1, 3})});
  else
    batch_major = graph.node("Transpose", {outputs[1]}, {Attribute::integers("perm", {1, 0, 2})});
  const int64_t direction_axis = sequences ? 2 : 1;
  if (merge_sum && bidirectional)
    return graph.node("ReduceSum", {batch_major, graph.int_constant("axes", {1}, {direction_axis})},
                      {Attribute::integer("keepdims", 0)});
  std::vector<int64_t> shape = sequences ? std::vector<int64_t>{0, 0, directions * units}
                                         : std::vector<int64_t>{0, directions * units};
  const int64_t rank = static_cast<int64_t>(shape.size());
  return graph.node("Reshape", {batch_major, graph.int_constant("shape", {rank}, std::move(shape))});
}

}  // namespace nntune::onnx_export
