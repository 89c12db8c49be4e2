// Validated tree -> typed TrainingSpec; cross-field rules; the model's layers and their shapes.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/gemm.hpp"
#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/spec.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/loss_registry.hpp"
#include "spec/schema.hpp"
#include "train/optimizer_registry.hpp"
#include "train/schedule_registry.hpp"

namespace nntune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const json* find(const json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

template <typename T>
T get_or(const json& j, const std::string& key, T fallback) {
  const json* v = find(j, key);
  return v ? v->get<T>() : fallback;
}

int64_t get_int(const json& v) { return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>()); }
int64_t int_or(const json& j, const std::string& key, int64_t fallback) {
  const json* v = find(j, key);
  return v ? get_int(*v) : fallback;
}

std::string resolve_path(const SpecTree& tree, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute() || tree.base_dir.empty()) return p;
  return (fs::path(tree.base_dir) / p).lexically_normal().string();
}

DataSourceSpec source_from(const SpecTree& tree, const json* j, const std::string& path) {
  DataSourceSpec s;
  s.path_in_spec = path;
  if (!j) return s;
  if (const json* idx = find(*j, "idx")) {
    s.kind = "idx";
    s.images = resolve_path(tree, idx->at("images").get<std::string>());
    s.labels = resolve_path(tree, idx->at("labels").get<std::string>());
  } else if (const json* csv = find(*j, "csv")) {
    s.kind = "csv";
    s.csv.path = resolve_path(tree, csv->at("path").get<std::string>());
    s.csv.header = get_or(*csv, "header", true);
    s.csv.skip_rows = int_or(*csv, "skip_rows", 0);
    s.csv.delimiter = get_or<std::string>(*csv, "delimiter", ",")[0];
    auto column = [](const json& c) { return c.is_string() ? c.get<std::string>() : std::to_string(get_int(c)); };
    auto columns = [&](const char* key) {
      std::vector<std::string> out;
      if (const json* list = find(*csv, key))
        for (const json& c : *list) out.push_back(column(c));
      return out;
    };
    if (const json* label = find(*csv, "label")) {
      if (label->is_array())
        s.csv.labels = columns("label");
      else
        s.csv.label = column(*label);
    }
    s.csv.features = columns("features");
    s.csv.drop = columns("drop");
    if (const json* id = find(*csv, "id")) s.csv.id = column(*id);
  } else if (const json* npy = find(*j, "npy")) {
    s.kind = "npy";
    s.x = resolve_path(tree, npy->at("x").get<std::string>());
    s.y = resolve_path(tree, npy->at("y").get<std::string>());
  } else if (const json* series = find(*j, "series")) {
    s.kind = "series";
    auto names = [&](const char* key) {
      std::vector<std::string> out;
      if (const json* v = find(*series, key)) {
        if (v->is_string()) out.push_back(v->get<std::string>());
        else
          for (const json& name : *v) out.push_back(name.get<std::string>());
      }
      return out;
    };
    s.series.path = resolve_path(tree, series->at("path").get<std::string>());
    s.series.time = get_or<std::string>(*series, "time", "");
    s.series.values = names("values");
    s.series.targets = names("targets");
    s.series.window = get_int(series->at("window"));
    s.series.horizon = int_or(*series, "horizon", 1);
    s.series.stride = int_or(*series, "stride", 1);
    s.series.missing = get_or<std::string>(*series, "missing", "refuse");
    s.series.delimiter = get_or<std::string>(*series, "delimiter", ",")[0];
  } else if (const json* split = find(*j, "split")) {
    s.kind = "split";
    s.split = split->get<double>();
  } else if (const json* last = find(*j, "last")) {
    s.kind = "last";
    if (last->is_number_integer())
      s.last = get_int(*last);
    else
      s.last_fraction = last->get<double>();
  }
  return s;
}

bool is_val_metric(const std::string& m) { return m.rfind("val_", 0) == 0; }

// Cross-field rules the per-path schema cannot express.
void check_cross_fields(const SpecTree& tree) {
  const json& root = tree.root;
  const json& data = root.at("data");
  const json& model = root.at("model");
  const json* train = find(root, "train");
  for (const char* part : {"validation", "test"}) {
    const json* s = find(data, part);
    const json* last = s ? find(*s, "last") : nullptr;
    // A count of rows, or a fraction: 1.5 is neither.
    if (last && last->is_number_float() && last->get<double>() >= 1.0)
      tree.fail(std::string("data.") + part + ".last",
                "must be a whole number of rows (e.g. 100) or a fraction below 1 (e.g. 0.2), got " + last->dump());
  }
  const json* train_source = find(data, "train");
  const bool series = train_source && find(*train_source, "series");
  // A series forecasts numbers: regression unless the spec says otherwise (refused below).
  const std::string task = get_or<std::string>(data, "task", series ? "regression" : "classification");
  if (series) {
    if (task != "regression")
      tree.fail("data.task", "series data is forecast by regression; remove data.task or set it to regression");
    for (const char* part : {"validation", "test"}) {
      const json* s = find(data, part);
      if (s && !find(*s, "last"))
        tree.fail(std::string("data.") + part, "a series is split in time order: use {last: fraction or rows} (the "
                                               "latest part of the series), not a random split or another file");
    }
    // Image options have no meaning on windows of a series.
    if (find(data, "channels") && data.at("channels") != "none")
      tree.fail("data.channels", "adds a channel axis to images; series windows are (window, columns) already: remove it");
    if (train && find(*train, "augment"))
      tree.fail("train.augment", "changes training images; series windows are not images: remove it", true);
    const json* sd = find(train_source->at("series"), "delimiter");
    if (sd && sd->get<std::string>().size() != 1)
      tree.fail("data.train.series.delimiter", "must be exactly one character, e.g. \",\" or \";\"");
  } else if (find(model, "forecast")) {
    tree.fail("model.forecast", "applies to series data only (data.train: {series: ...}); remove it", true);
  }

  const json* layers = find(model, "layers");
  const json* hidden = find(model, "hidden");
  if (!layers && !hidden)
    tree.fail("model", "give either layers: (an explicit list, e.g. [{type: dense, units: 10}]) or hidden: (the MLP "
                       "shorthand, e.g. [256, 128])");
  if (layers && hidden)
    tree.fail("model.hidden", "give either model.layers or model.hidden, not both", true);
  if (layers) {
    if (layers->empty()) tree.fail("model.layers", "the list is empty; add at least one layer, e.g. {type: dense, units: 10}");
    for (const std::string& key : spec::shorthand_only_model_keys())
      if (find(model, key))
        tree.fail(std::string("model.") + key,
                  std::string("only used with the MLP shorthand (model.hidden); with an explicit layers list set '") + key +
                      "' on each layer",
                  true);
  }

  auto uses_idx = [&](const char* part) {
    const json* s = find(data, part);
    return s && find(*s, "idx");
  };
  if (find(data, "missing_indicator") && data.at("missing_indicator").get<bool>() &&
      get_or<std::string>(data, "impute", "none") == "none")
    tree.fail("data.missing_indicator", "marks imputed cells, so it needs data.impute (mean, median or most_frequent)");

  if (task == "regression" && (uses_idx("train") || uses_idx("validation") || uses_idx("test")))
    tree.fail("data.task", "IDX image files hold class labels, so the task must be classification");

  const std::string loss = train ? get_or<std::string>(*train, "loss", "") : "";
  if (!loss.empty()) {
    const auto declared = make_loss(loss);
    const bool classification_loss = declared->is_classification();
    if (classification_loss && task == "regression")
      tree.fail("train.loss", loss + " is a classification loss but data.task is regression; use " +
                                  schema::join(loss_names_for(false), " or ") + ", or set data.task: classification");
    if (!classification_loss && task == "classification")
      tree.fail("train.loss", loss + " is a regression loss but data.task is classification; use " +
                                  schema::join(loss_names_for(true), " or ") + ", or set data.task: regression");
    const int64_t classes = declared->required_classes();
    if (classes > 0 && find(data, "num_classes") && get_int(data.at("num_classes")) != classes)
      tree.fail("data.num_classes", loss + " needs exactly " + std::to_string(classes) + " classes; use " +
                                        default_loss_name(true) + " for another number");
  }

  if (train && get_or<std::string>(*train, "precision", "fp32") == "bf16" &&
      !gemm_bf16_unavailable_reason().empty())
    tree.fail("train.precision", gemm_bf16_unavailable_reason());

  const bool has_validation = find(data, "validation") != nullptr;
  const bool classification = task == "classification";
  // A metric name: known (top_K_accuracy for any K) and measured for the task.
  auto check_metric = [&](const std::string& name, const std::string& at) {
    try {
      require_metric(name, "");
    } catch (const Error& e) {
      tree.fail(at, e.what());
    }
    const std::string problem = metric_task_problem(name, classification);
    if (!problem.empty()) tree.fail(at, problem + " (val_ in front for validation data)");
  };
  if (const json* metrics = train ? find(*train, "metrics") : nullptr) {
    for (size_t i = 0; i < metrics->size(); ++i) {
      const std::string at = "train.metrics[" + std::to_string(i) + "]";
      const std::string name = metrics->at(i).get<std::string>();
      check_metric(name, at);
      if (is_val_metric(name))
        tree.fail(at, "name the metric without val_ (" + name.substr(4) +
                          "): it is reported for the training data and, as " + name + ", for the validation data");
    }
  }
  for (const char* callback : {"early_stopping", "reduce_on_plateau"}) {
    const json* c = train ? find(*train, callback) : nullptr;
    if (!c) continue;
    const std::string path = std::string("train.") + callback;
    const std::string monitor = get_or<std::string>(*c, "monitor", "val_loss");
    const std::string at = find(*c, "monitor") ? path + ".monitor" : path;
    if (is_val_metric(monitor) && !has_validation)
      tree.fail(at, "monitors " + monitor + ", which needs validation data: add data.validation (e.g. {split: 0.1}) or "
                    "monitor loss");
    check_metric(monitor, at);
  }
  if (const json* weights = train ? find(*train, "class_weight") : nullptr; weights && *weights != "none") {
    if (!classification)
      tree.fail("train.class_weight", "class weights apply to classification, but data.task is regression; remove it", true);
    if (weights->is_object())
      for (const auto& [key, value] : weights->items()) {
        const bool whole = !key.empty() && key.size() < 10 &&
                           std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!whole)
          tree.fail("train.class_weight." + key, "'" + key + "' is not a class number; the keys are classes 0, 1, ... "
                                                 "(e.g. {0: 1, 1: 5})", true);
      }
  }
  if (train && find(*train, "label_smoothing") && !classification && train->at("label_smoothing").get<double>() != 0.0)
    tree.fail("train.label_smoothing", "label smoothing applies to the cross-entropies (classification); remove it");

  for (const char* part : {"train", "validation", "test"}) {
    const json* s = find(data, part);
    const json* csv = s ? find(*s, "csv") : nullptr;
    if (csv && find(*csv, "delimiter") && csv->at("delimiter").get<std::string>().size() != 1)
      tree.fail(std::string("data.") + part + ".csv.delimiter", "must be exactly one character, e.g. \",\" or \";\"");
    const json* label = csv ? find(*csv, "label") : nullptr;
    if (label && label->is_array() && label->size() > 1 && task == "classification")
      tree.fail(std::string("data.") + part + ".csv.label",
                "several label columns are targets of multi-output regression; set data.task: regression, or give one "
                "label column");
    if (label && label->is_array() && label->empty())
      tree.fail(std::string("data.") + part + ".csv.label", "the list of label columns is empty");
  }
}

}  // namespace

void validate_spec_tree(const SpecTree& tree) {
  spec::validate_node(spec::root_schema(), tree.root, "", tree);
  check_cross_fields(tree);
}

TrainingSpec spec_from_tree(const SpecTree& tree) {
  TrainingSpec spec;
  spec.tree = tree;
  const json& root = tree.root;
  spec.seed = static_cast<uint64_t>(int_or(root, "seed", 0));

  const json& data = root.at("data");
  const bool series = find(data.at("train"), "series") != nullptr;
  spec.data.task = get_or<std::string>(data, "task", series ? "regression" : "classification") == "regression"
                       ? Task::Regression
                       : Task::Classification;
  spec.data.num_classes = int_or(data, "num_classes", 0);
  spec.data.train = source_from(tree, find(data, "train"), "data.train");
  spec.data.validation = source_from(tree, find(data, "validation"), "data.validation");
  spec.data.test = source_from(tree, find(data, "test"), "data.test");
  if (const json* scale = find(data, "scale")) {
    if (scale->is_string()) {
      spec.data.scale = scale->get<std::string>();
    } else {
      spec.data.scale = "divide";
      spec.data.divide_by = scale->at("divide").get<float>();
    }
  }
  spec.data.channels = get_or<std::string>(data, "channels", "none");
  spec.data.scale_per = get_or<std::string>(data, "scale_per", "auto");
  spec.data.impute = get_or<std::string>(data, "impute", "none");
  spec.data.missing_indicator = get_or(data, "missing_indicator", false);
  spec.data.on_unknown = get_or<std::string>(data, "on_unknown", "error");
  std::vector<std::string> categorical;
  bool auto_categorical = true;
  if (const json* c = find(data, "categorical")) {
    if (c->is_string())
      auto_categorical = c->get<std::string>() == "auto";
    else
      categorical = c->get<std::vector<std::string>>();
  }
  for (DataSourceSpec* s : {&spec.data.train, &spec.data.validation, &spec.data.test}) {
    s->csv.task = spec.data.task;
    s->csv.num_classes = spec.data.num_classes;
    s->csv.text_labels = spec.data.task == Task::Classification;
    s->csv.auto_categorical = auto_categorical;
    s->csv.categorical = categorical;
    s->csv.allow_missing = spec.data.impute != "none";
  }

  const json& model = root.at("model");
  if (const json* forecast = find(model, "forecast")) {
    spec.model.forecast_target = get_or<std::string>(*forecast, "target", "value");
    spec.model.forecast_normalize = get_or<std::string>(*forecast, "normalize", "none");
    spec.model.forecast_skip = get_or<std::string>(*forecast, "skip", "none");
  }
  if (const json* layers = find(model, "layers")) {
    for (const json& layer : *layers) spec.model.layers.push_back(layer);
  } else {
    spec.model.shorthand = true;
    HiddenLayerSpec defaults;
    defaults.activation = get_or<std::string>(model, "activation", "relu");
    defaults.init = get_or<std::string>(model, "init", "he_normal");
    defaults.dropout = get_or(model, "dropout", 0.0);
    defaults.batch_norm = get_or(model, "batch_norm", false);
    defaults.l1 = get_or(model, "l1", 0.0);
    defaults.l2 = get_or(model, "l2", 0.0);
    spec.model.l1 = defaults.l1;
    spec.model.l2 = defaults.l2;
    const json& hidden = model.at("hidden");
    if (hidden.is_object()) {
      for (int64_t i = 0; i < get_int(hidden.at("count")); ++i) {
        HiddenLayerSpec h = defaults;
        h.units = get_int(hidden.at("units"));
        spec.model.hidden.push_back(h);
      }
    } else {
      for (const json& entry : hidden) {
        HiddenLayerSpec h = defaults;
        if (entry.is_number()) {
          h.units = get_int(entry);
        } else {
          h.units = get_int(entry.at("units"));
          h.activation = get_or(entry, "activation", h.activation);
          h.init = get_or(entry, "init", h.init);
          h.dropout = get_or(entry, "dropout", h.dropout);
          h.batch_norm = get_or(entry, "batch_norm", h.batch_norm);
          h.l1 = get_or(entry, "l1", h.l1);
          h.l2 = get_or(entry, "l2", h.l2);
        }
        spec.model.hidden.push_back(h);
      }
    }
  }

  const json train = get_or(root, "train", json::object());
  TrainConfig& t = spec.train;
  t.seed = spec.seed;
  t.loss = get_or<std::string>(train, "loss", default_loss_name(spec.data.task == Task::Classification));
  t.loss = loss_registry().find(t.loss)->info.name;  // an alias reads as its loss
  read_optimizer_config(find(train, "optimizer") ? train.at("optimizer") : json::object(), t.optimizer);

  read_schedule_config(find(train, "schedule") ? train.at("schedule") : json::object(), t.schedule);

  t.batch_size = int_or(train, "batch_size", t.batch_size);
  t.epochs = int_or(train, "epochs", t.epochs);
  t.shuffle = get_or(train, "shuffle", t.shuffle);
  t.clip_norm = get_or(train, "clip_norm", t.clip_norm);
  t.precision = get_or(train, "precision", t.precision);
  if (const json* augment = find(train, "augment")) {
    t.augment.crop_padding = int_or(*augment, "crop_padding", 0);
    t.augment.flip_horizontal = get_or<std::string>(*augment, "flip", "none") == "horizontal";
    t.augment.erasing = get_or(*augment, "erasing", 0.0);
    t.augment.channels_first = spec.data.channels == "first";
  }
  if (const json* metrics = find(train, "metrics"))
    for (const json& m : *metrics) t.metrics.push_back(parse_metric_name(m.get<std::string>()).base);
  if (const json* weights = find(train, "class_weight")) {
    if (weights->is_string()) {
      t.class_weight = weights->get<std::string>();
    } else {
      t.class_weight = "explicit";
      if (weights->is_array())
        for (const json& w : *weights) t.class_weights.push_back(w.get<double>());
      else
        for (const auto& [key, w] : weights->items()) t.class_weight_map[std::stoll(key)] = w.get<double>();
    }
  }
  t.label_smoothing = get_or(train, "label_smoothing", t.label_smoothing);

  if (const json* es = find(train, "early_stopping")) {
    EarlyStoppingConfig c;
    c.monitor = get_or(*es, "monitor", c.monitor);
    c.mode = get_or(*es, "mode", c.mode);
    c.patience = int_or(*es, "patience", c.patience);
    c.min_delta = get_or(*es, "min_delta", c.min_delta);
    c.restore_best = get_or(*es, "restore_best", c.restore_best);
    spec.early_stopping = c;
  }
  if (const json* rp = find(train, "reduce_on_plateau")) {
    ReduceOnPlateauConfig c;
    c.monitor = get_or(*rp, "monitor", c.monitor);
    c.mode = get_or(*rp, "mode", c.mode);
    c.factor = get_or(*rp, "factor", c.factor);
    c.patience = int_or(*rp, "patience", c.patience);
    c.min_delta = get_or(*rp, "min_delta", c.min_delta);
    c.cooldown = int_or(*rp, "cooldown", c.cooldown);
    c.min_lr = get_or(*rp, "min_lr", c.min_lr);
    spec.reduce_on_plateau = c;
  }

  const json output = get_or(root, "output", json::object());
  spec.output_dir = get_or<std::string>(output, "dir", "");
  if (spec.output_dir.empty()) {
    std::string stem = fs::path(tree.source).stem().string();
    spec.output_dir = "runs/" + (stem.empty() ? std::string("spec") : stem);
  }
  return spec;
}

TrainingSpec parse_spec(const std::string& yaml_text, const std::string& source_name,
                        const std::vector<std::string>& overrides, const std::string& base_dir) try {
  SpecTree tree = parse_spec_tree(yaml_text, source_name, base_dir);
  for (const std::string& assignment : overrides) apply_override(tree, assignment);
  validate_spec_tree(tree);
  return spec_from_tree(tree);
} catch (const nlohmann::json::exception& e) {
  // Text that is not UTF-8 (which a JSON value cannot show) is what reaches here: an error, never an abort.
  throw Error(source_name + ": the spec or a --set override holds a value nntune cannot read (" + e.what() +
              "); text must be UTF-8: save the file as UTF-8");
}

TrainingSpec load_spec(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read spec file '" + path + "': " + (fs::exists(path) ? "permission denied" : "no such file"));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_spec(text.str(), path, overrides, fs::path(path).parent_path().string());
}

std::vector<json> expand_layers(const ModelSpec& model, const Shape& input_sample_shape, int64_t output_width) {
  if (!model.shorthand) return model.layers;
  std::vector<json> layers;
  if (input_sample_shape.size() != 1) layers.push_back(layer_configs::flatten());
  for (const HiddenLayerSpec& h : model.hidden) {
    json dense = layer_configs::dense(h.units, h.activation, h.init);
    if (h.l1 != 0.0) dense["l1"] = h.l1;
    if (h.l2 != 0.0) dense["l2"] = h.l2;
    layers.push_back(dense);
    if (h.batch_norm) layers.push_back(layer_configs::batch_norm());
    if (h.dropout > 0.0) layers.push_back(layer_configs::dropout(h.dropout));
  }
  // The output layer is linear: the loss applies softmax/sigmoid itself.
  json output = layer_configs::dense(output_width, "linear", "xavier_uniform");
  if (model.l1 != 0.0) output["l1"] = model.l1;
  if (model.l2 != 0.0) output["l2"] = model.l2;
  layers.push_back(output);
  return layers;
}

int64_t required_output_width(const TrainingSpec& spec, const Dataset& train) {
  // Per-step regression targets (n, steps, values): the width of one step.
  if (spec.data.task == Task::Regression) return train.y.rank() == 3 ? train.y.shape()[2] : train.y.features();
  return make_loss(spec.train.loss)->output_width(train.num_classes, train.y.features());
}

int64_t target_steps(const TrainingSpec& spec, const Dataset& train) {
  const Shape& y = train.y.shape();
  if (spec.data.task == Task::Regression) return y.size() == 3 ? y[1] : 0;
  return y.size() == 2 && y[1] > 1 ? y[1] : 0;  // class indices per step: (n, steps)
}

namespace {
// Where to report a problem with expanded layer i.
std::string layer_path(const TrainingSpec& spec, size_t i) {
  return spec.model.shorthand ? "model.hidden" : "model.layers[" + std::to_string(i) + "]";
}
}  // namespace

namespace {
// A layer config from the spec as make_layer() takes it: l1/l2 are the network's, not the layer's.
std::unique_ptr<Layer> make_spec_layer(const TrainingSpec& spec, size_t i, json config) {
  Regularizer reg;
  if (config.contains("l1")) reg.l1 = config["l1"].get<float>();
  if (config.contains("l2")) reg.l2 = config["l2"].get<float>();
  config.erase("l1");
  config.erase("l2");
  try {
    auto layer = make_layer(config);
    layer->regularizer = reg;
    return layer;
  } catch (const Error& e) {
    spec.tree.fail(layer_path(spec, i), e.what());
  }
}
}  // namespace

namespace {
// Targets per step (n, steps) or (n, steps, values): the model must end with (steps, width).
void check_sequence_output(const TrainingSpec& spec, const std::vector<json>& layers, const Shape& shape,
                           int64_t output_width, int64_t steps) {
  const Shape wanted = {steps, output_width};
  if (shape == wanted) return;
  const size_t last = layers.size() - 1;
  const std::string what = spec.data.task == Task::Regression
                               ? std::to_string(output_width) + " value(s) per step"
                               : std::to_string(output_width) + " output(s) per step (" + spec.train.loss + ")";
  const std::string head = "the targets are per step (" + std::to_string(steps) + " steps, " + what +
                           "), so the model must end with samples of shape " + shape_string(wanted) +
                           ", but the last layer gives " + shape_string(shape);
  if (spec.model.shorthand)
    spec.tree.fail("model.hidden", head + "; the MLP shorthand gives one output row per sample: list model.layers "
                                          "with a recurrent layer with return_sequences: true and a dense layer after it");
  const std::string last_path = layer_path(spec, last);
  if (shape.size() != 2)
    spec.tree.fail(last_path, head + "; keep the sequence to the end: return_sequences: true on the last recurrent "
                                     "layer, no flatten or global pooling after it, then {type: dense, units: " +
                                     std::to_string(output_width) + "} (applied per step)");
  if (shape[0] != steps)
    spec.tree.fail(last_path, head + "; the model's sequences have " + std::to_string(shape[0]) +
                                     " steps but the targets have " + std::to_string(steps));
  const bool sized_last = layers[last].contains("units");
  spec.tree.fail(sized_last ? last_path + ".units" : last_path,
                 head + (sized_last ? "; set units: " + std::to_string(output_width)
                                    : "; end the model with {type: dense, units: " + std::to_string(output_width) + "}"));
}
}  // namespace

// A dry run of the network's build: every layer's own build() says whether it fits its input and
// what it gives (no second shape calculator to drift from the layers), then the model's end must
// fit the loss and the data.
void check_model_shapes(const TrainingSpec& spec, const Shape& input_sample_shape, int64_t output_width,
                        int64_t target_steps) {
  const std::vector<json> layers = expand_layers(spec.model, input_sample_shape, output_width);
  const SpecTree& tree = spec.tree;
  Shape shape = input_sample_shape;
  std::unique_ptr<Layer> last_layer;
  std::vector<Shape> inputs;  // each layer's input sample shape
  for (size_t i = 0; i < layers.size(); ++i) {
    inputs.push_back(shape);
    last_layer = make_spec_layer(spec, i, layers[i]);
    try {
      shape = last_layer->build(shape);
    } catch (const Error& e) {
      tree.fail(layer_path(spec, i), e.what());
    }
  }
  const size_t last = layers.size() - 1;
  if (spec.model.shorthand && target_steps == 0) return;  // the output layer was sized to fit
  const std::string last_path = layer_path(spec, last);
  const std::string link = last_layer->output_activation();
  const auto loss = make_loss(spec.train.loss);
  if (!link.empty() && link == loss->link_name())
    tree.fail(last_path, "the last layer applies " + link + ", but " + spec.train.loss +
                             " applies it itself (on the raw outputs); remove the " + link + " from the last layer");
  if (target_steps > 0) {
    check_sequence_output(spec, layers, shape, output_width, target_steps);
    return;
  }
  if (shape.size() == 2) {
    // A sequence out but one target per sample: a dense layer that took a sequence applied per
    // step, which is the mistake to point at (it used to need a flat input); else the layer
    // that ends the model.
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i].value("type", "") == "dense" && inputs[i].size() == 2)
        tree.fail(layer_path(spec, i), layer_configs::dense_flat_input_problem(inputs[i]) +
                                           ", or end the sequence before it with a recurrent layer without return_sequences "
                                           "(a dense layer on a sequence applies to each step, which needs targets per step: "
                                           "shape (n, " + std::to_string(inputs[i][0]) + ") of class indices or (n, " +
                                           std::to_string(inputs[i][0]) + ", values))");
    tree.fail(last_path, "the last layer gives sequences of shape " + shape_string(shape) +
                             " (one output row per step), but the targets are one per sample; end the sequence with a "
                             "recurrent layer without return_sequences (or flatten, or a global pooling layer), or give "
                             "targets per step: shape (n, " + std::to_string(shape[0]) + ") of class indices or (n, " +
                             std::to_string(shape[0]) + ", values)");
  }
  if (shape.size() != 1 || shape[0] != output_width) {
    std::string need;
    if (loss->required_classes() > 0)
      need = spec.train.loss + " needs " + std::to_string(output_width) + " output" + (output_width == 1 ? "" : "s");
    else if (spec.data.task == Task::Regression)
      need = "the regression target has " + std::to_string(output_width) + " value(s) per sample";
    else
      need = "the data has " + std::to_string(output_width) + " classes (one output per class)";
    // A last layer with a width of its own (units) is fixed there; any other needs one after it.
    const bool sized_last = layers[last].contains("units");
    tree.fail(sized_last ? last_path + ".units" : last_path,
              "the last layer gives samples of shape " + shape_string(shape) + ", but " + need +
                  (sized_last ? "; set units: " + std::to_string(output_width)
                              : "; end the model with {type: dense, units: " + std::to_string(output_width) + "}"));
  }
}

Network build_network(const TrainingSpec& spec, const Shape& input_sample_shape, int64_t output_width, Rng& rng,
                      int64_t target_steps) {
  check_model_shapes(spec, input_sample_shape, output_width, target_steps);
  const std::vector<json> layers = expand_layers(spec.model, input_sample_shape, output_width);
  Network network;
  for (size_t i = 0; i < layers.size(); ++i) network.add(make_spec_layer(spec, i, layers[i]));
  try {
    network.build(input_sample_shape, rng);
  } catch (const Error& e) {
    spec.tree.fail("model", e.what());
  }
  return network;
}

}  // namespace nntune
