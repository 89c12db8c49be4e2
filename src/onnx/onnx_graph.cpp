// OnnxGraph over the protobuf classes protoc generates at build time from the onnx.proto of
// Debian's libonnx-dev (see CMakeLists.txt), so the bytes follow the schema, not a hand encoding.
#include "onnx/onnx_graph.hpp"

#include <set>

#include "nntune/error.hpp"
#include "nntune/spec.hpp"  // nntune_version
#include "onnx.pb.h"

namespace nntune::onnx_export {
namespace {

// Opset 13 holds every operator used (Softmax over the last axis is opset 13 semantics); IR
// version 7 is the one that opset shipped with, so older runtimes read the file too.
constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;

void set_shape(onnx::ValueInfoProto& value, const std::string& name, const Shape& sample_shape, bool text = false) {
  value.set_name(name);
  onnx::TypeProto_Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(text ? onnx::TensorProto::STRING : onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : sample_shape) shape->add_dim()->set_dim_value(d);
}

}  // namespace

struct OnnxGraph::Impl {
  onnx::GraphProto graph;
  std::set<std::string> names;
  struct Input {
    std::string name;
    Shape shape;
    bool text;
  };
  std::vector<Input> extra_inputs;
  bool uses_ml = false;  // an ai.onnx.ml operator was added
};

void OnnxGraph::declare(const std::string& name, const Shape& sample_shape) {
  set_shape(*impl_->graph.add_value_info(), name, sample_shape);
}

void OnnxGraph::add_input(const std::string& name, const Shape& sample_shape, bool text) {
  impl_->names.insert(name);
  impl_->extra_inputs.push_back({name, sample_shape, text});
}

OnnxGraph::OnnxGraph() : impl_(std::make_unique<Impl>()) { impl_->names = {kInputName, kOutputName}; }
OnnxGraph::~OnnxGraph() = default;

std::string OnnxGraph::unique(const std::string& name) {
  std::string candidate = scope_ + name;
  for (int k = 1; impl_->names.count(candidate); ++k) candidate = scope_ + name + "_" + std::to_string(k);
  impl_->names.insert(candidate);
  return candidate;
}

// The checked, uniquely named initializer of `count` values for `shape`; the caller sets its data.
onnx::TensorProto* OnnxGraph::initializer(const std::string& name, const Shape& shape, size_t count, int type,
                                          std::string& full) {
  if (static_cast<int64_t>(count) != shape_size(shape))
    throw Error("ONNX export: constant " + scope_ + name + " has " + std::to_string(count) + " values for shape " +
                shape_string(shape) + " (an exporter bug)");
  full = unique(name);
  onnx::TensorProto* tensor = impl_->graph.add_initializer();
  tensor->set_name(full);
  tensor->set_data_type(type);
  for (int64_t d : shape) tensor->add_dims(d);
  return tensor;
}

std::string OnnxGraph::constant(const std::string& name, const Shape& shape, std::vector<float> values) {
  std::string full;
  onnx::TensorProto* tensor = initializer(name, shape, values.size(), onnx::TensorProto::FLOAT, full);
  // raw_data: little-endian float32, the compact form runtimes read directly.
  tensor->set_raw_data(values.data(), values.size() * sizeof(float));
  return full;
}

std::string OnnxGraph::int_constant(const std::string& name, const Shape& shape, std::vector<int64_t> values) {
  std::string full;
  onnx::TensorProto* tensor = initializer(name, shape, values.size(), onnx::TensorProto::INT64, full);
  for (int64_t v : values) tensor->add_int64_data(v);
  return full;
}

std::string OnnxGraph::node(const std::string& op_type, const std::vector<std::string>& inputs,
                            const std::vector<Attribute>& attributes) {
  return multi_node(op_type, inputs, attributes, 1)[0];
}

std::vector<std::string> OnnxGraph::multi_node(const std::string& op_type, const std::vector<std::string>& inputs,
                                               const std::vector<Attribute>& attributes, int outputs,
                                               const std::string& domain) {
  onnx::NodeProto* node = impl_->graph.add_node();
  if (!domain.empty()) {
    node->set_domain(domain);
    impl_->uses_ml = true;
  }
  std::vector<std::string> names;
  for (int k = 0; k < outputs; ++k) {
    names.push_back(unique(k == 0 ? op_type : op_type + "_out" + std::to_string(k)));
    node->add_output(names.back());
  }
  node->set_name(names[0]);
  node->set_op_type(op_type);
  for (const std::string& in : inputs) node->add_input(in);
  for (const Attribute& a : attributes) {
    onnx::AttributeProto* attr = node->add_attribute();
    attr->set_name(a.name);
    switch (a.kind) {
      case Attribute::Kind::Float:
        attr->set_type(onnx::AttributeProto::FLOAT);
        attr->set_f(a.f);
        break;
      case Attribute::Kind::Int:
        attr->set_type(onnx::AttributeProto::INT);
        attr->set_i(a.i);
        break;
      case Attribute::Kind::Ints:
        attr->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : a.ints) attr->add_ints(v);
        break;
      case Attribute::Kind::String:
        attr->set_type(onnx::AttributeProto::STRING);
        attr->set_s(a.strings.at(0));
        break;
      case Attribute::Kind::Strings:
        attr->set_type(onnx::AttributeProto::STRINGS);
        for (const std::string& v : a.strings) attr->add_strings(v);
        break;
    }
  }
  return names;
}

std::string OnnxGraph::serialize(const std::string& input, const Shape& input_shape, const std::string& output,
                                 const Shape& output_shape,
                                 const std::vector<std::pair<std::string, std::string>>& metadata) {
  onnx::GraphProto& graph = impl_->graph;
  // The graph's result is named "output": rename the tensor that holds it, or copy the input
  // through when no node computes anything (a model that is the identity).
  bool renamed = false;
  if (output != input) {
    for (onnx::NodeProto& node : *graph.mutable_node())
      for (std::string& out : *node.mutable_output())
        if (out == output) {
          out = kOutputName;
          renamed = true;
        }
    for (onnx::NodeProto& node : *graph.mutable_node())
      for (std::string& in : *node.mutable_input())
        if (in == output) in = kOutputName;
  }
  if (!renamed) {
    onnx::NodeProto* copy = graph.add_node();
    copy->set_name(kOutputName);
    copy->set_op_type("Identity");
    copy->add_input(output);
    copy->add_output(kOutputName);
  }
  set_shape(*graph.add_input(), input, input_shape);
  for (const Impl::Input& extra : impl_->extra_inputs) set_shape(*graph.add_input(), extra.name, extra.shape, extra.text);
  set_shape(*graph.add_output(), kOutputName, output_shape);

  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("nntune");
  model.set_producer_version(nntune_version());
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  if (impl_->uses_ml) {
    // ONNX-ML opset 1 holds OneHotEncoder (one-hot of text columns).
    onnx::OperatorSetIdProto* ml = model.add_opset_import();
    ml->set_domain("ai.onnx.ml");
    ml->set_version(1);
  }
  for (const auto& [key, value] : metadata) {
    onnx::StringStringEntryProto* entry = model.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  graph.set_name("nntune");
  *model.mutable_graph() = graph;
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("ONNX export: the protobuf serialisation failed");
  return bytes;
}

}  // namespace nntune::onnx_export
