#pragma once
// A small builder of an ONNX graph that hides the protobuf types, so the per-layer exporters
// (src/onnx/exporters/, one file per layer kind) see only names, shapes and floats.
// Tensor names are scoped: "m1/layer2_dense/weight" for member 1's third layer.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nntune/tensor.hpp"

namespace onnx {
class TensorProto;
}

namespace nntune::onnx_export {

struct Attribute {
  enum class Kind { Float, Int, Ints, String, Strings } kind = Kind::Int;
  std::string name;
  float f = 0.0f;
  int64_t i = 0;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  static Attribute real(std::string name, float value) { return {Kind::Float, std::move(name), value, 0, {}, {}}; }
  static Attribute integer(std::string name, int64_t value) { return {Kind::Int, std::move(name), 0.0f, value, {}, {}}; }
  static Attribute integers(std::string name, std::vector<int64_t> values) {
    return {Kind::Ints, std::move(name), 0.0f, 0, std::move(values), {}};
  }
  static Attribute text(std::string name, std::string value) {
    return {Kind::String, std::move(name), 0.0f, 0, {}, {std::move(value)}};
  }
  static Attribute texts(std::string name, std::vector<std::string> values) {
    return {Kind::Strings, std::move(name), 0.0f, 0, {}, std::move(values)};
  }
};

class OnnxGraph {
 public:
  OnnxGraph();
  ~OnnxGraph();
  OnnxGraph(const OnnxGraph&) = delete;
  OnnxGraph& operator=(const OnnxGraph&) = delete;

  // Prefix of every name added from now on ("m0/layer1_dense/").
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  // The step mask of the tensor the next layer reads, as the network hands ForwardContext::mask
  // on: a bool (batch, steps) tensor, true at a real step, made by an embedding with mask_zero;
  // "" when every step is real. export_single keeps it while the layers keep the mask.
  void set_step_mask(std::string mask) { step_mask_ = std::move(mask); }
  const std::string& step_mask() const { return step_mask_; }
  // A float32 constant (graph initializer) of `shape` ({} for a scalar); returns its name.
  std::string constant(const std::string& name, const Shape& shape, std::vector<float> values);
  // An int64 constant (shapes, axes); returns its name.
  std::string int_constant(const std::string& name, const Shape& shape, std::vector<int64_t> values);
  // One node with one output; returns the output's name.
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {});
  // One node with `outputs` outputs (LSTM's Y and Y_h); returns their names in order. `domain`
  // "ai.onnx.ml" for the ONNX-ML operators (the model then imports that opset too).
  std::vector<std::string> multi_node(const std::string& op_type, const std::vector<std::string>& inputs,
                                      const std::vector<Attribute>& attributes, int outputs,
                                      const std::string& domain = "");
  // Declares the type and shape (batch, sample_shape...) of a float32 tensor inside the graph,
  // for operators whose outputs ONNX's shape inference does not type (ONNX-ML's OneHotEncoder).
  void declare(const std::string& name, const Shape& sample_shape);
  // A second graph input beside `input` (batch, sample_shape...): float32, or strings when text.
  void add_input(const std::string& name, const Shape& sample_shape, bool text);

  // The serialized model: graph input `input` (batch, input_shape...), `output` renamed to
  // "output" (batch, output_shape...), metadata as key/value pairs.
  std::string serialize(const std::string& input, const Shape& input_shape, const std::string& output,
                        const Shape& output_shape, const std::vector<std::pair<std::string, std::string>>& metadata);

  static constexpr const char* kInputName = "input";
  static constexpr const char* kOutputName = "output";

 private:
  std::string unique(const std::string& name);
  onnx::TensorProto* initializer(const std::string& name, const Shape& shape, size_t count, int type,
                                 std::string& full);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string scope_, step_mask_;
};

}  // namespace nntune::onnx_export
