#include "spec/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nn/layers/layer_registry.hpp"
#include "nn/loss_registry.hpp"
#include "train/optimizer_registry.hpp"
#include "train/schedule_registry.hpp"
#include "nntune/error.hpp"
#include "nntune/metrics.hpp"

namespace nntune::spec {
namespace {

using nlohmann::json;

using namespace schema;

// The enumerations come from the components' own lists.
const std::vector<std::string>& activations() { return activation_names(); }
const std::vector<std::string>& initializers() { return initializer_names(); }

NodePtr activation() { return one_of_names("activation", activations()); }
NodePtr initializer() { return one_of_names("initializer", initializers()); }
NodePtr penalty() { return real(0.0); }
NodePtr probability_below_one() { return real(0.0, false, 1.0, true); }

// A CSV column: a header name or a 0-based index.
NodePtr column() { return any_of({text(), integer(0.0)}); }

// A file source for training/validation/test data.
std::vector<Field> file_source_fields() {
  return {
      opt("idx",
          mapping({req("images", text(), "IDX image file (plain or .gz), e.g. train-images-idx3-ubyte.gz"),
                   req("labels", text(), "IDX label file (plain or .gz)")}),
          nullptr, "images and labels in IDX files (MNIST, Fashion-MNIST)"),
      opt("csv",
          mapping({req("path", text(), "the CSV file (relative paths: from the spec's directory)"),
                   opt("label", any_of({text(), integer(0.0), list_of(column())}), nullptr,
                       "the label column, by name or 0-based index; default the last column. A list of columns: "
                       "several targets (multi-output regression)"),
                   opt("features", list_of(column()), nullptr,
                       "the feature columns by name or 0-based index, in this order; default every column but the "
                       "label(s), the id and drop"),
                   opt("drop", list_of(column()), nullptr, "columns to leave out of the features"),
                   opt("id", column(), nullptr,
                       "a column that is neither feature nor label (a name or key): predict copies it to its output"),
                   opt("header", boolean(), true, "the first row names the columns"),
                   opt("skip_rows", integer(0.0), 0, "rows to skip before the header"),
                   opt("delimiter", text(), ",", "one character, e.g. \";\" or \"\\t\" (tab)")}),
          nullptr, "a table: feature columns (numbers, or text as categories) and a label column (numbers or class "
                   "names)"),
      opt("npy", mapping({req("x", text(), "features, shape (N, ...)"), req("y", text(), "labels or targets, shape (N,) or (N, k)")}),
          nullptr, "NumPy .npy arrays"),
  };
}
// A time series (training only: validation and test are its latest parts, {last: ...}).
Field series_source() {
  auto names = any_of({text(), list_of(text())});
  return opt("series",
             mapping({req("path", text(), "the CSV file with a header row (relative paths: from the spec's directory)"),
                      opt("time", text(), nullptr, "the time column, kept for reports and predictions; must increase"),
                      opt("values", names, nullptr, "value column(s), the inputs; default every column but time"),
                      opt("targets", names, nullptr, "the predicted column(s), among values; default all values"),
                      req("window", integer(1.0), "rows of history per sample (tunable: {int: [12, 104]})"),
                      opt("horizon", integer(1.0), 1, "steps predicted: the next horizon rows of the targets"),
                      opt("stride", integer(1.0), 1, "rows between the starts of consecutive training windows"),
                      opt("missing", one_of_names("missing", {"refuse", "interpolate"}), "refuse",
                          "empty cells: refuse (an error naming row and column) or interpolate (linear)"),
                      opt("delimiter", text(), ",", "one character")}),
             nullptr, "a time series cut into windows; validation/test: {last: fraction or rows}");
}
NodePtr train_source() {
  std::vector<Field> fields = file_source_fields();
  fields.push_back(series_source());
  auto n = mapping(std::move(fields));
  n->exactly_one = true;
  return n;
}
// Validation and test: a file source or a part held out of the training data.
NodePtr held_out_source() {
  std::vector<Field> fields = {
      opt("split", real(0.0, true, 1.0, true), nullptr, "hold out this fraction of the training data (random, seeded)"),
      opt("last", real(0.0, true), nullptr,
          "hold out the last N rows of the training data, or the last fraction (0.2: the latest 20%)")};
  for (Field& f : file_source_fields()) fields.push_back(f);
  auto n = mapping(std::move(fields));
  n->exactly_one = true;
  return n;
}

NodePtr scale() {
  auto divide = mapping({req("divide", real(0.0, true), "divide every feature by this number (255 for pixels)")});
  divide->exactly_one = true;
  return any_of({one_of_names("scaling", {"none", "standard", "minmax"}), divide});
}

// Layer configs as make_layer() takes them: each registered layer type with its declared keys
// (src/nn/layers/), plus l1/l2 per layer (the network's regularizer).
NodePtr layer() {
  auto n = mapping({opt("l1", penalty(), 0.0, "L1 penalty on this layer's weights"),
                    opt("l2", penalty(), 0.0, "L2 penalty on this layer's weights")});
  n->tag_key = "type";
  for (const auto& entry : layer_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return n;
}

// MLP shorthand: hidden: [256, 128] | {count: 2, units: 128} | [{units: 256, dropout: 0.2}, ...]
NodePtr hidden() {
  auto per_layer = mapping({req("units", integer(1.0), "outputs of this hidden layer"),
                            opt("activation", activation(), nullptr, "default model.activation"),
                            opt("init", initializer(), nullptr, "default model.init"),
                            opt("dropout", probability_below_one(), nullptr, "default model.dropout"),
                            opt("batch_norm", boolean(), nullptr, "default model.batch_norm"),
                            opt("l1", penalty(), nullptr, "default model.l1"), opt("l2", penalty(), nullptr, "default model.l2")});
  auto repeated = mapping({req("count", integer(0.0), "number of hidden layers"), req("units", integer(1.0), "outputs of each")});
  return any_of({list_of(any_of({integer(1.0), per_layer})), repeated});
}

// train.optimizer: a name, or a mapping tagged by name whose keys are those the optimiser
// declares in its own file (src/train/optimizers/).
NodePtr optimizer() {
  auto n = mapping({});
  n->tag_key = "name";
  n->tag_default = "adam";
  for (const auto& entry : optimizer_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return any_of({one_of_names("optimizer", optimizer_names()), n});
}

// train.schedule: a name, or a mapping tagged by name whose keys are those the schedule declares
// in its own file (src/train/schedules/), plus warmup_epochs.
NodePtr schedule() {
  auto n = mapping({opt("warmup_epochs", real(0.0), 0.0, "linear warm-up from 0 over this many epochs first")});
  n->tag_key = "name";
  n->tag_default = "constant";
  for (const auto& entry : schedule_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return any_of({one_of_names("schedule", schedule_names()), n});
}

// Metric names are open-ended (top_K_accuracy for any K): checked against the metric catalog
// (nntune/metrics.hpp) with the task by the cross-field rules.
NodePtr monitor() { return text(); }
NodePtr mode() { return one_of_names("mode", {"auto", "min", "max"}); }
std::string metric_list() {
  std::vector<std::string> names;
  for (const MetricInfo& m : metric_catalog()) names.push_back(m.name);
  return join(names);
}
NodePtr class_weight() {
  // {class: weight}: the keys are class numbers, checked by the cross-field rules.
  return any_of({one_of_names("class weighting", {"none", "balanced"}), list_of(real(0.0)), map_of(real(0.0))});
}

std::shared_ptr<Node> build_root() {
  auto data = mapping(
      {req("train", train_source(), "the training data: one of idx, csv, npy, series"),
       opt("validation", held_out_source(), nullptr, "validation data: a file, or split / last of the training data"),
       opt("test", held_out_source(), nullptr, "test data, scored once after training"),
       opt("task", one_of_names("task", {"classification", "regression"}), "classification", "what the label is"),
       opt("num_classes", integer(2.0), nullptr, "default: the largest label + 1"),
       opt("scale", scale(), "none", "feature scaling fitted on the training data: none, standard, minmax, {divide: x}"),
       opt("categorical", any_of({one_of_names("categorical", {"auto", "none"}), list_of(text())}), "auto",
           "one-hot encoded feature columns: auto (the columns whose cells are all text), a list of column names "
           "(these, even when they hold numbers, and the text columns), or none (text is an error)"),
       opt("on_unknown", one_of_names("on_unknown", {"error", "zeros"}), "error",
           "a category that the training rows did not have, at prediction: error (naming column, value and row), "
           "or zeros (all one-hot columns 0)"),
       opt("impute", one_of_names("impute", {"none", "mean", "median", "most_frequent"}), "none",
           "fill missing feature cells (empty, NA, NaN, nan, null, ...) with the training rows' mean, median or most "
           "frequent value (text columns: always the most frequent category); none: a missing cell is an error"),
       opt("missing_indicator", boolean(), false,
           "with impute: add a 0/1 column per feature column that had missing cells in the training rows"),
       opt("scale_per", one_of_names("scale_per", {"auto", "value", "feature"}), "auto",
           "standard/minmax statistics per value of a sample, or per feature (last axis) across a sequence's steps; "
           "auto: per feature when the first layer reads sequences (rnn, lstm, gru, conv1d), per value otherwise"),
       opt("channels", one_of_names("channels", {"none", "last", "first"}), "none",
           "give 2-D images a channel axis: last makes 28x28 samples 28x28x1 (what conv2d takes), first 1x28x28")});
  auto model = mapping(
      {opt("layers", list_of(layer()), nullptr, "an explicit list of layers, e.g. [{type: dense, units: 10}]"),
       opt("hidden", hidden(), nullptr, "the MLP shorthand: [256, 128] or {count: 2, units: 128}; the output layer is added"),
       opt("activation", activation(), "relu", "shorthand: the hidden layers' activation"),
       opt("init", initializer(), "he_normal", "shorthand: the hidden layers' initialiser"),
       opt("dropout", probability_below_one(), 0.0, "shorthand: dropout after each hidden layer"),
       opt("batch_norm", boolean(), false, "shorthand: batch normalisation after each hidden layer"),
       opt("l1", penalty(), 0.0, "shorthand: L1 penalty on every layer's weights"),
       opt("l2", penalty(), 0.0, "shorthand: L2 penalty on every layer's weights"),
       opt("forecast",
           mapping({opt("target", one_of_names("target", {"value", "delta"}), "value",
                        "delta: learn the change from the window's last value"),
                    opt("normalize", one_of_names("normalize", {"none", "last", "mean"}), "none",
                        "subtract each window's last value or mean from its inputs, add it back to the outputs"),
                    opt("skip", one_of_names("skip", {"none", "linear"}), "none",
                        "linear: a least-squares linear autoregression on the window added to the network's output")}),
           nullptr, "series data only: how the network's outputs become forecasts (saved with the model)")});
  auto early_stopping = mapping({opt("monitor", monitor(), "val_loss",
                                     "the metric watched: " + metric_list() + " (val_ in front for validation data)"),
                                 opt("mode", mode(), "auto",
                                     "min, max, or auto (the metric's direction: max for accuracy, f1, auc, r2, ...)"),
                                 opt("patience", integer(0.0), 5, "epochs without improvement before stopping"),
                                 opt("min_delta", real(0.0), 0.0, "smallest change that counts as improvement"),
                                 opt("restore_best", boolean(), true, "keep the best epoch's weights")});
  auto plateau = mapping({opt("monitor", monitor(), "val_loss",
                              "the metric watched: " + metric_list() + " (val_ in front for validation data)"),
                          opt("mode", mode(), "auto",
                              "min, max, or auto (the metric's direction: max for accuracy, f1, auc, r2, ...)"),
                          opt("factor", real(0.0, true, 1.0, true), 0.1, "multiplies the learning rate on a plateau"),
                          opt("patience", integer(0.0), 10, "epochs without improvement before reducing"),
                          opt("min_delta", real(0.0), 1e-4, "smallest change that counts as improvement"),
                          opt("cooldown", integer(0.0), 0, "epochs to wait after a reduction"),
                          opt("min_lr", real(0.0), 0.0, "the rate never goes below this")});
  auto augment = mapping(
      {opt("crop_padding", integer(0.0), 0,
           "random crop: pad each side by this many zero pixels, crop the original size at a random offset (0: off)"),
       opt("flip", one_of_names("flip", {"none", "horizontal"}), "none", "horizontal: mirror left-right with probability 0.5"),
       opt("erasing", real(0.0, false, 1.0, false), 0.0,
           "probability of erasing a random rectangle (2-33% of the image, aspect 0.3-3.3) to 0 (Zhong et al. 2017)")});
  auto train = mapping(
      {opt("loss", one_of_names("loss", loss_registry().names_and_aliases()), nullptr,
           "default categorical_crossentropy (classification) or mse (regression)"),
       opt("optimizer", optimizer(), "adam", "a name or {name: ..., lr: ..., ...}"),
       opt("schedule", schedule(), "constant", "a name or {name: ..., ...}"),
       opt("batch_size", integer(1.0), 32, "samples per optimiser step"),
       opt("epochs", integer(1.0), 10, "passes over the training data"),
       opt("shuffle", boolean(), true, "shuffle the training data every epoch"),
       opt("clip_norm", real(0.0), 0.0, "clip the gradient's L2 norm to this (0: off)"),
       opt("precision", one_of_names("precision", {"fp32", "bf16", "auto"}), "fp32",
           "bf16: bfloat16 matrix products (AVX512_BF16, fp32 sums) where they are faster than fp32 on this CPU, fp32 "
           "elsewhere (the run reports which ran); auto: bf16 where the CPU has it"),
       opt("metrics", list_of(text()), json::array(),
           "more metrics each epoch (training and val_): " + metric_list() + "; watched ones are added by themselves"),
       opt("class_weight", class_weight(), "none",
           "weigh the training loss per class: balanced (n / (classes * count); labels per step: counted over the real "
           "steps, weights per step), [w0, w1, ...] or {class: weight} (others 1); cross-entropies only"),
       opt("label_smoothing", real(0.0, false, 1.0, true), 0.0,
           "cross-entropy targets become t (1 - eps) + eps / classes while training (e.g. 0.1)"),
       opt("early_stopping", early_stopping, nullptr, "stop when the monitored metric stops improving"),
       opt("reduce_on_plateau", plateau, nullptr, "lower the learning rate when the monitored metric stalls"),
       opt("augment", augment, nullptr,
           "change training images at random each epoch (never validation, test or predictions), seeded")});
  auto output = mapping({opt("dir", text(), nullptr, "where the model and report go; default runs/SPEC_NAME")});
  return mapping({opt("seed", integer(0.0), 0, "seeds initialisation, shuffling, dropout and splits"),
                  req("data", data, "the data"), req("model", model, "the network"),
                  opt("train", train, nullptr, "training"), opt("output", output, nullptr, "outputs")});
}

}  // namespace

const Node& root_schema() {
  static const std::shared_ptr<Node> root = build_root();
  return *root;
}

const std::vector<std::string>& shorthand_only_model_keys() {
  static const std::vector<std::string> keys = {"activation", "init", "dropout", "batch_norm", "l1", "l2"};
  return keys;
}

void validate_node(const Node& node, const json& value, const std::string& path, const SpecTree& tree,
                   const ScalarHook& hook) {
  schema::validate(node, value, path, [&](const std::string& p, const std::string& message, bool at_key) {
    tree.fail(p, message, at_key);
  }, hook);
}

}  // namespace nntune::spec
