// export_onnx: the scaler, the layers (one exporter per kind, src/onnx/exporters/) and the output
// link of a model, or of every member of an ensemble, in one ONNX graph.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/onnx.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune {
namespace {

using onnx_export::Attribute;
using onnx_export::OnnxGraph;

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// What Scaler::apply does: x / divide_by, or (x - offset) * factor per feature with the
// constants shaped like one sample so they broadcast over the batch.
std::string export_scaler(const Scaler& scaler, const Shape& sample_shape, const std::string& input,
                          OnnxGraph& graph) {
  if (scaler.kind == "none") return input;
  if (scaler.kind == "divide") return graph.node("Div", {input, graph.constant("divide_by", {}, {scaler.divide_by})});
  if (scaler.kind != "standard" && scaler.kind != "minmax")
    throw Error("cannot export to ONNX: the scaler kind '" + scaler.kind + "' has no ONNX form");
  if (static_cast<int64_t>(scaler.offset.size()) != shape_size(sample_shape) || scaler.factor.size() != scaler.offset.size())
    throw Error("cannot export to ONNX: the " + scaler.kind + " scaler holds " + std::to_string(scaler.offset.size()) +
                " offsets but a sample has " + std::to_string(shape_size(sample_shape)) +
                " features (the model file is inconsistent; train it again)");
  const std::string centred = graph.node("Sub", {input, graph.constant("offset", sample_shape, scaler.offset)});
  return graph.node("Mul", {centred, graph.constant("factor", sample_shape, scaler.factor)});
}

// What Preprocessing::transform does for numeric columns: missing (NaN) cells replaced by the
// fitted values (IsNaN + Where), then 0/1 missing indicators appended (a selection matrix picks
// the indicator columns). Text columns would need string inputs: refused by name.
std::string export_preprocessing(const Preprocessing& p, const std::string& input, OnnxGraph& graph,
                                 const std::string& which) {
  if (!p.active()) return input;
  for (size_t k = 0; k < p.categories.size(); ++k)
    if (!p.categories[k].empty())
      throw Error("cannot export " + which + " to ONNX: it one-hot encodes the text column '" + p.columns[k] +
                  "', and the exported graph takes numbers only; train without it (drop: [" + p.columns[k] +
                  "]) or encode it as numbers in the CSV to export this model");
  if (p.fill.empty()) return input;
  const int64_t width = static_cast<int64_t>(p.columns.size());
  const std::string missing = graph.node("IsNaN", {input});
  const std::string imputed = graph.node("Where", {missing, graph.constant("fill", {width}, p.fill), input});
  if (p.indicator_columns.empty()) return imputed;
  const int64_t count = static_cast<int64_t>(p.indicator_columns.size());
  std::vector<float> select(static_cast<size_t>(width * count), 0.0f);
  for (int64_t i = 0; i < count; ++i) select[static_cast<size_t>(p.indicator_columns[static_cast<size_t>(i)] * count + i)] = 1.0f;
  const std::string flags = graph.node("Cast", {missing}, {Attribute::integer("to", 1)});  // 1: FLOAT
  const std::string indicators = graph.node("MatMul", {flags, graph.constant("indicator_select", {width, count}, select)});
  return graph.node("Concat", {imputed, indicators}, {Attribute::integer("axis", 1)});
}

// The output links that export, by Loss::link_name() ("" is the identity).
const std::vector<std::string>& exportable_links() {
  static const std::vector<std::string> links = {"", "sigmoid", "softmax"};
  return links;
}

// The link predict applies after the network, as the loss names it.
std::string export_link(const Model& model, const std::string& input, OnnxGraph& graph) {
  const std::string link = make_loss(model.loss)->link_name();
  if (link.empty()) return input;
  if (link == "sigmoid") return graph.node("Sigmoid", {input});
  if (link == "softmax") {
    if (model.output_shape().size() != 1)
      throw Error("cannot export to ONNX: the softmax output link over outputs of shape " +
                  shape_string(model.output_shape()) + " is not supported (only one dimension of classes)");
    return graph.node("Softmax", {input}, {Attribute::integer("axis", -1)});
  }
  throw Error("cannot export to ONNX: the loss '" + model.loss + "' has no known output link; supported losses: " +
              join(onnx_exportable_losses()));
}

// One single model's nodes, every name under `scope`; returns its linked output.
std::string export_single(const Model& model, const std::string& scope, const std::string& input, OnnxGraph& graph,
                          const std::string& which) {
  const Network& network = model.network;
  if (!network.built()) throw Error("cannot export " + which + " to ONNX: its network is not built (train it first)");
  // Exporting the network alone would give an ONNX model whose outputs silently differ.
  if (model.forecast.enabled)
    throw Error("cannot export " + which + " to ONNX: it is a series model, and its forecast transform (column "
                "scaling, per-window normalisation, delta target, linear skip path) has no ONNX form yet; use nntune "
                "predict");
  const auto& exporters = onnx_export::layer_exporter_registry();
  // Refuse before building anything, naming every layer that has no exporter.
  for (size_t i = 0; i < network.layers().size(); ++i) {
    const std::string kind = network.layers()[i]->kind();
    if (!exporters.find(kind))
      throw Error("cannot export " + which + " to ONNX: layer " + std::to_string(i) + " (" + kind +
                  ") has no ONNX exporter; layer kinds that export: " + join(onnx_exportable_layer_kinds()));
  }
  graph.set_scope(scope + "preprocessing/");
  std::string tensor = export_preprocessing(model.preprocessing, input, graph, which);
  graph.set_scope(scope + "scaler/");
  tensor = export_scaler(model.scaler, network.input_shape(), tensor, graph);
  Shape shape = network.input_shape();
  for (size_t i = 0; i < network.layers().size(); ++i) {
    const Layer& layer = *network.layers()[i];
    graph.set_scope(scope + "layer" + std::to_string(i) + "_" + layer.kind() + "/");
    tensor = exporters.find(layer.kind())->factory(layer, shape, tensor, graph);
    // The next input shape from the layer's own shape inference, on a fresh copy of it.
    shape = make_layer(layer.config())->build(shape);
  }
  graph.set_scope(scope + "link/");
  return export_link(model, tensor, graph);
}

}  // namespace

std::vector<std::string> onnx_exportable_layer_kinds() {
  std::vector<std::string> kinds;
  for (const auto& entry : onnx_export::layer_exporter_registry().entries()) kinds.push_back(entry.info.name);
  return kinds;
}

std::vector<std::string> onnx_exportable_losses() {
  std::vector<std::string> losses;
  for (const std::string& name : loss_names()) {
    const std::string link = make_loss(name)->link_name();
    if (std::find(exportable_links().begin(), exportable_links().end(), link) != exportable_links().end())
      losses.push_back(name);
  }
  return losses;
}

std::string export_onnx_bytes(const Model& model) {
  OnnxGraph graph;
  const std::string input = OnnxGraph::kInputName;
  std::string output;
  if (!model.is_ensemble()) {
    output = export_single(model, "", input, graph, "the model");
  } else {
    if (model.member_weights.size() != model.members.size())
      throw Error("cannot export the ensemble to ONNX: it has " + std::to_string(model.members.size()) +
                  " members but " + std::to_string(model.member_weights.size()) + " weights (build it with make_ensemble)");
    // predict's weighted mean of the members' linked outputs: sum_i w_i * member_i(x).
    std::vector<std::string> weighted;
    for (size_t i = 0; i < model.members.size(); ++i) {
      const std::string scope = "m" + std::to_string(i) + "/";
      const std::string member =
          export_single(model.members[i], scope, input, graph, "ensemble member " + std::to_string(i));
      graph.set_scope(scope);
      weighted.push_back(graph.node(
          "Mul", {member, graph.constant("weight", {}, {static_cast<float>(model.member_weights[i])})}));
    }
    graph.set_scope("ensemble/");
    output = graph.node("Sum", weighted);
  }
  const bool classification = model.task == Task::Classification;
  std::vector<std::pair<std::string, std::string>> metadata = {
      {"nntune.loss", model.loss},
      {"nntune.task", classification ? "classification" : "regression"},
      {"nntune.output", classification ? "class probabilities" : "values"},
  };
  if (classification) metadata.push_back({"nntune.num_classes", std::to_string(model.num_classes)});
  if (model.is_ensemble()) metadata.push_back({"nntune.ensemble_members", std::to_string(model.members.size())});
  // A model with preprocessing takes its raw columns.
  const Preprocessing& p = model.is_ensemble() ? model.members.front().preprocessing : model.preprocessing;
  const Shape input_shape = p.active() ? Shape{static_cast<int64_t>(p.columns.size())} : model.input_shape();
  if (p.active()) {
    std::string columns;
    for (size_t k = 0; k < p.columns.size(); ++k) columns += (k ? "," : "") + p.columns[k];
    metadata.push_back({"nntune.input_columns", columns});
  }
  if (!model.class_names.empty()) {
    std::string names;
    for (size_t k = 0; k < model.class_names.size(); ++k) names += (k ? "," : "") + model.class_names[k];
    metadata.push_back({"nntune.class_names", names});
  }
  return graph.serialize(input, input_shape, output, model.output_shape(), metadata);
}

void export_onnx(const Model& model, const std::string& path) {
  const std::string bytes = export_onnx_bytes(model);
  const std::string failed = "cannot write the ONNX model to '" + path + "': ";
  // A temporary file beside the target, renamed over it once complete.
  static std::atomic<uint64_t> sequence{0};
  const std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(sequence++);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(failed + "cannot create '" + temp + "' (" + std::strerror(errno) + "); does the directory exist?");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      throw Error(failed + "writing '" + temp + "' failed (disk full?)");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    throw Error(failed + "renaming '" + temp + "' over it failed (" + reason + "); is it a directory?");
  }
}

}  // namespace nntune
