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
#include "nntune/series.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune {
namespace {

using onnx_export::Attribute;
using onnx_export::OnnxGraph;

std::string join_with(const std::vector<std::string>& names, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? separator : "") + names[i];
  return out;
}

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

// The graph input of a model with text columns: their raw cells, (batch, text columns), beside
// `input`, which then holds the numeric columns only.
constexpr const char* kTextInputName = "text_input";

bool has_text_columns(const Preprocessing& p) {
  return std::any_of(p.categories.begin(), p.categories.end(), [](const auto& c) { return !c.empty(); });
}

// What Preprocessing::transform does: missing (NaN) numeric cells replaced by the fitted values
// (IsNaN + Where), text columns one-hot encoded (ONNX-ML OneHotEncoder over the categories and the
// cells that count as missing, then a MatMul that maps a missing cell to the imputed category, or
// to zeros), 0/1 missing indicators appended, all in the model's column order.
std::string export_preprocessing(const Preprocessing& p, const std::string& input, OnnxGraph& graph) {
  if (!p.active()) return input;
  const int64_t width = static_cast<int64_t>(p.columns.size());
  if (!has_text_columns(p)) {
    if (p.fill.empty()) return input;
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
  // Where each column sits in its input.
  std::vector<int64_t> position(static_cast<size_t>(width));
  std::vector<float> numeric_fill;
  int64_t numeric = 0, text = 0;
  for (size_t k = 0; k < p.columns.size(); ++k) {
    position[k] = p.categories[k].empty() ? numeric++ : text++;
    if (p.categories[k].empty() && !p.fill.empty()) numeric_fill.push_back(p.fill[k]);
  }
  std::string numbers = input, flags;
  if (numeric > 0) {
    const std::string missing = graph.node("IsNaN", {input});
    if (!p.fill.empty()) numbers = graph.node("Where", {missing, graph.constant("fill", {numeric}, numeric_fill), input});
    if (!p.indicator_columns.empty()) flags = graph.node("Cast", {missing}, {Attribute::integer("to", 1)});  // FLOAT
  }
  auto column_of = [&](const std::string& tensor, int64_t at) {
    return graph.node("Gather", {tensor, graph.int_constant("column", {1}, {at})}, {Attribute::integer("axis", 1)});
  };
  const std::vector<std::string>& missing_texts = missing_cell_texts();
  const int64_t m = static_cast<int64_t>(missing_texts.size());
  std::vector<std::string> pieces;
  std::vector<std::string> text_missing(p.columns.size());  // per text column: its 0/1 missing flag
  for (size_t k = 0; k < p.columns.size(); ++k) {
    if (p.categories[k].empty()) {
      pieces.push_back(column_of(numbers, position[k]));
      continue;
    }
    const std::vector<std::string>& categories = p.categories[k];
    const int64_t count = static_cast<int64_t>(categories.size());
    std::vector<std::string> known = categories;
    known.insert(known.end(), missing_texts.begin(), missing_texts.end());
    // zeros = 1: an unseen category encodes as zeros; 0: the runtime fails on it (on_unknown: error).
    const std::string onehot = graph.multi_node(
        "OneHotEncoder", {column_of(kTextInputName, position[k])},
        {Attribute::texts("cats_strings", known), Attribute::integer("zeros", p.on_unknown == "zeros" ? 1 : 0)}, 1,
        "ai.onnx.ml")[0];
    graph.declare(onehot, {1, count + m});
    const std::string flat = graph.node("Reshape", {onehot, graph.int_constant("shape", {2}, {0, count + m})});
    std::vector<float> map(static_cast<size_t>((count + m) * count), 0.0f);
    for (int64_t c = 0; c < count; ++c) map[static_cast<size_t>(c * count + c)] = 1.0f;
    if (!p.fill.empty())
      for (int64_t r = count; r < count + m; ++r) map[static_cast<size_t>(r * count + static_cast<int64_t>(p.fill[k]))] = 1.0f;
    pieces.push_back(graph.node("MatMul", {flat, graph.constant("categories", {count + m, count}, map)}));
    std::vector<float> select(static_cast<size_t>(count + m), 0.0f);
    for (int64_t r = count; r < count + m; ++r) select[static_cast<size_t>(r)] = 1.0f;
    text_missing[k] = graph.node("MatMul", {flat, graph.constant("missing_select", {count + m, 1}, select)});
  }
  for (int64_t j : p.indicator_columns) {
    const size_t k = static_cast<size_t>(j);
    pieces.push_back(p.categories[k].empty() ? column_of(flags, position[k]) : text_missing[k]);
  }
  return graph.node("Concat", pieces, {Attribute::integer("axis", 1)});
}

// A series model's transform (ForecastTransform, src/data/series.cpp) around its network, on
// raw windows x (batch, window, columns): z = (x - offset) * factor, minus each window's last
// value or mean per column (normalize); after the network, y = (out + base) / factor + offset per
// output, base = the scaled last value (delta target) or the subtracted reference, plus the
// linear skip path z * W + b.
struct ForecastNodes {
  std::string z, last, reference;  // (batch, window, columns); (batch, columns) twice
};

ForecastNodes forecast_inputs(const ForecastTransform& f, const std::string& x, OnnxGraph& graph) {
  const int64_t window = f.window, columns = f.columns;
  ForecastNodes n;
  const std::string scaled =
      graph.node("Mul", {graph.node("Sub", {x, graph.constant("offset", {columns}, f.offset)}),
                         graph.constant("factor", {columns}, f.factor)});
  auto flat = [&](const std::string& t) {  // (batch, 1, columns) -> (batch, columns)
    return graph.node("Reshape", {t, graph.int_constant("shape", {2}, {0, columns})});
  };
  const std::string last = graph.node("Gather", {scaled, graph.int_constant("last_step", {1}, {window - 1})},
                                      {Attribute::integer("axis", 1)});
  n.last = flat(last);
  n.z = scaled;
  if (f.normalize != "none") {
    const std::string ref =
        f.normalize == "last"
            ? last
            : graph.node("ReduceMean", {scaled}, {Attribute::integers("axes", {1}), Attribute::integer("keepdims", 1)});
    n.z = graph.node("Sub", {scaled, ref});
    n.reference = flat(ref);
  }
  return n;
}

std::string forecast_outputs(const ForecastTransform& f, const ForecastNodes& n, const std::string& out,
                             OnnxGraph& graph) {
  const int64_t columns = f.columns, outputs = f.outputs(), k_count = static_cast<int64_t>(f.targets.size());
  // Output k forecasts target column targets[k % targets]: a (columns x outputs) selection.
  std::vector<float> select(static_cast<size_t>(columns * outputs), 0.0f), factor(static_cast<size_t>(outputs)),
      offset(static_cast<size_t>(outputs));
  for (int64_t k = 0; k < outputs; ++k) {
    const int64_t c = f.targets[static_cast<size_t>(k % k_count)];
    select[static_cast<size_t>(c * outputs + k)] = 1.0f;
    factor[static_cast<size_t>(k)] = f.factor[static_cast<size_t>(c)];
    offset[static_cast<size_t>(k)] = f.offset[static_cast<size_t>(c)];
  }
  std::string y = out;
  const std::string anchor = f.target == "delta" ? n.last : n.reference;
  if (!anchor.empty())
    y = graph.node("Add", {y, graph.node("MatMul", {anchor, graph.constant("target_select", {columns, outputs}, select)})});
  if (!f.skip_weights.empty()) {
    const int64_t p = f.window * columns;
    const std::vector<float> weights(f.skip_weights.begin(), f.skip_weights.begin() + p * outputs);
    const std::vector<float> bias(f.skip_weights.begin() + p * outputs, f.skip_weights.end());
    const std::string flat_z = graph.node("Reshape", {n.z, graph.int_constant("flat_shape", {2}, {0, p})});
    y = graph.node("Add", {y, graph.node("Gemm", {flat_z, graph.constant("skip_weight", {p, outputs}, weights),
                                                 graph.constant("skip_bias", {outputs}, bias)})});
  }
  return graph.node("Add", {graph.node("Div", {y, graph.constant("target_factor", {outputs}, factor)}),
                            graph.constant("target_offset", {outputs}, offset)});
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
    // Classes on the last axis: one sample's, or each step's of a sequence (as predict links them).
    if (model.output_shape().size() != 1 && model.output_shape().size() != 2)
      throw Error("cannot export to ONNX: the softmax output link over outputs of shape " +
                  shape_string(model.output_shape()) + " is not supported (only one dimension of classes, per "
                  "sample or per step)");
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
  const auto& exporters = onnx_export::layer_exporter_registry();
  // Refuse before building anything, naming every layer that has no exporter.
  for (size_t i = 0; i < network.layers().size(); ++i) {
    const std::string kind = network.layers()[i]->kind();
    if (!exporters.find(kind))
      throw Error("cannot export " + which + " to ONNX: layer " + std::to_string(i) + " (" + kind +
                  ") has no ONNX exporter; layer kinds that export: " + join(onnx_exportable_layer_kinds()));
  }
  // A series model: its windows scaled and normalised before the network (forecast_inputs),
  // the anchor and skip path added and the scaling undone after it (forecast_outputs).
  graph.set_scope(scope + "forecast/");
  const ForecastNodes forecast = model.forecast.enabled ? forecast_inputs(model.forecast, input, graph) : ForecastNodes{};
  graph.set_scope(scope + "preprocessing/");
  std::string tensor = model.forecast.enabled ? forecast.z : export_preprocessing(model.preprocessing, input, graph);
  graph.set_scope(scope + "scaler/");
  tensor = export_scaler(model.scaler, network.input_shape(), tensor, graph);
  Shape shape = network.input_shape();
  graph.set_step_mask("");
  for (size_t i = 0; i < network.layers().size(); ++i) {
    const Layer& layer = *network.layers()[i];
    graph.set_scope(scope + "layer" + std::to_string(i) + "_" + layer.kind() + "/");
    tensor = exporters.find(layer.kind())->factory(layer, shape, tensor, graph);
    // The step mask goes on as Network::forward hands it on (an embedding with mask_zero sets it).
    if (!layer.makes_mask() && !layer.keeps_mask()) graph.set_step_mask("");
    // The next input shape from the layer's own shape inference, on a fresh copy of it.
    shape = make_layer(layer.config())->build(shape);
  }
  graph.set_scope(scope + "link/");
  tensor = export_link(model, tensor, graph);
  if (!model.forecast.enabled) return tensor;
  graph.set_scope(scope + "forecast/");
  return forecast_outputs(model.forecast, forecast, tensor, graph);
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
  // A model with preprocessing takes its raw columns: numbers in `input`, text in text_input.
  const Preprocessing& p = model.is_ensemble() && !model.members.empty() ? model.members.front().preprocessing
                                                                          : model.preprocessing;
  std::vector<std::string> number_columns, text_columns;
  for (size_t k = 0; k < p.columns.size(); ++k) (p.categories[k].empty() ? number_columns : text_columns).push_back(p.columns[k]);
  if (!text_columns.empty()) graph.add_input(kTextInputName, {static_cast<int64_t>(text_columns.size())}, true);
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
  const Shape input_shape = p.active() ? Shape{static_cast<int64_t>(number_columns.size())} : model.input_shape();
  if (p.active()) metadata.push_back({"nntune.input_columns", join_with(number_columns, ",")});
  if (!text_columns.empty()) metadata.push_back({"nntune.text_columns", join_with(text_columns, ",")});
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
