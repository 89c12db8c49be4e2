// The YAML training spec: parsing, validation messages with line:column, --set overrides, the
// MLP shorthand, and the driver on a tiny CSV.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/optimizer.hpp"
#include "nntune/schedule.hpp"
#include "nntune/spec.hpp"
#include "nn/layers/layer_registry.hpp"
#include "spec/reference.hpp"
#include "spec/schema.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_npy;

// A valid spec; tests replace one line of it.
const char* const kBase =
    "seed: 3\n"                                                // 1
    "data:\n"                                                  // 2
    "  train: {csv: {path: train.csv, label: y}}\n"            // 3
    "  validation: {split: 0.25}\n"                            // 4
    "  scale: standard\n"                                      // 5
    "model:\n"                                                 // 6
    "  layers:\n"                                              // 7
    "    - {type: dense, units: 8, activation: relu}\n"        // 8
    "    - {type: dense, units: 3}\n"                          // 9
    "train:\n"                                                 // 10
    "  optimizer: {name: adam, lr: 0.01}\n"                    // 11
    "  batch_size: 4\n"                                        // 12
    "  epochs: 2\n";                                           // 13

TrainingSpec parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_spec(text, "s.yaml", overrides, "/data");
}

// kBase with line `line` (1-based) replaced by `replacement` (may hold several lines).
std::string with_line(int line, const std::string& replacement) {
  std::istringstream in(kBase);
  std::string out, l;
  for (int i = 1; std::getline(in, l); ++i) out += (i == line ? replacement : l) + "\n";
  return out;
}

TEST(SpecParse, ValidSpecBecomesTypedConfigs) {
  const TrainingSpec spec = parse(kBase);
  EXPECT_EQ(spec.seed, 3u);
  EXPECT_EQ(spec.train.seed, 3u);
  EXPECT_EQ(spec.data.train.kind, "csv");
  EXPECT_EQ(spec.data.train.csv.path, "/data/train.csv");  // relative to the spec's directory
  EXPECT_EQ(spec.data.train.csv.label, "y");
  EXPECT_EQ(spec.data.validation.kind, "split");
  EXPECT_DOUBLE_EQ(spec.data.validation.split, 0.25);
  EXPECT_EQ(spec.data.scale, "standard");
  ASSERT_EQ(spec.model.layers.size(), 2u);
  EXPECT_EQ(spec.model.layers[0], json({{"type", "dense"}, {"units", 8}, {"activation", "relu"}}));
  EXPECT_FALSE(spec.model.shorthand);
  EXPECT_EQ(spec.train.loss, "categorical_crossentropy");
  EXPECT_EQ(spec.train.optimizer.name, "adam");
  EXPECT_DOUBLE_EQ(spec.train.optimizer.lr, 0.01);
  EXPECT_EQ(spec.train.batch_size, 4);
  EXPECT_EQ(spec.train.epochs, 2);
  EXPECT_EQ(spec.output_dir, "runs/s");
}

TEST(SpecParse, ScalarsFollowYamlCoreRules) {
  const TrainingSpec spec = parse(with_line(11, "  optimizer: {name: sgd, lr: 1e-3, nesterov: true, momentum: .5}"));
  EXPECT_DOUBLE_EQ(spec.train.optimizer.lr, 1e-3);
  EXPECT_TRUE(spec.train.optimizer.nesterov);
  EXPECT_DOUBLE_EQ(spec.train.optimizer.momentum, 0.5);
  // Quoted numbers stay strings, so they are type errors where a number is expected.
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch_size: \"4\"")), "s.yaml:12:15: train.batch_size: expected an integer");
}

TEST(SpecParse, AbsolutePathsAndDefaults) {
  const TrainingSpec spec = parse(
      "data: {train: {idx: {images: /x/i.gz, labels: l.gz}}, scale: {divide: 255}}\n"
      "model: {hidden: [4]}\n");
  EXPECT_EQ(spec.data.train.images, "/x/i.gz");
  EXPECT_EQ(spec.data.train.labels, "/data/l.gz");
  EXPECT_EQ(spec.data.scale, "divide");
  EXPECT_FLOAT_EQ(spec.data.divide_by, 255.0f);
  EXPECT_EQ(spec.seed, 0u);
  EXPECT_EQ(spec.train.optimizer.name, "adam");
  EXPECT_EQ(spec.train.schedule.name, "constant");
  EXPECT_FALSE(spec.early_stopping.has_value());
}

// The effective spec (nntune train --print-spec) from the C++ API: the schema's defaults filled
// in, a component named alone written out with its own keys, and the result parses to the same
// typed spec.
TEST(EffectiveSpec, FillsTheSchemasDefaultsAndParsesToTheSameSpec) {
  const TrainingSpec spec = parse_spec(
      "data: {train: {csv: {path: d.csv}}, task: regression}\nmodel: {hidden: [3]}\ntrain: {optimizer: sgd}\n",
      "s.yaml");
  const json effective = effective_spec(spec);
  EXPECT_EQ(effective["train"]["optimizer"]["name"], "sgd");
  EXPECT_TRUE(effective["train"]["optimizer"].contains("lr")) << effective.dump();
  EXPECT_EQ(effective["train"]["loss"], "mse");  // from the task
  EXPECT_EQ(effective["train"]["batch_size"], 32);
  EXPECT_EQ(effective["seed"], 0);
  EXPECT_EQ(effective["model"]["activation"], "relu");
  EXPECT_FALSE(effective.contains("early_stopping"));  // absent means off: never added
  EXPECT_FALSE(effective["data"].contains("validation"));
  const TrainingSpec again = parse_spec(effective.dump(), "effective.yaml");  // JSON is YAML
  EXPECT_EQ(again.train.optimizer.name, spec.train.optimizer.name);
  EXPECT_EQ(again.train.optimizer.lr, spec.train.optimizer.lr);
  EXPECT_EQ(again.train.loss, spec.train.loss);
  EXPECT_EQ(again.train.batch_size, spec.train.batch_size);
  EXPECT_EQ(again.output_dir, spec.output_dir);
  EXPECT_EQ(effective_spec(again), effective);
}

TEST(SpecParse, RegressionDefaultsToMse) {
  const TrainingSpec spec = parse(with_line(5, "  task: regression"));
  EXPECT_EQ(spec.train.loss, "mse");
  EXPECT_EQ(spec.data.task, Task::Regression);
}

TEST(SpecParse, YamlSyntaxErrorHasLineAndColumn) {
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch_size: [4")), "s.yaml:", "YAML syntax error");
  EXPECT_ERROR_CONTAINS(parse(""), "s.yaml", "empty");
}

TEST(SpecParse, DuplicateKey) {
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 2\n  epochs: 3")), "s.yaml:14:3: train.epochs: duplicate key");
}

// ---- validation messages ----

TEST(SpecValidate, UnknownKeySuggestsClosestAndListsAllowed) {
  EXPECT_ERROR_CONTAINS(parse(with_line(9, "    - {type: dense, unit: 3}")),
                        "s.yaml:9:21: model.layers[1].unit: unknown key 'unit' for type 'dense' (did you mean 'units'?)",
                        "allowed keys: type, l1, l2, units, activation, kernel_init, bias_init, use_bias");
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch: 4")), "s.yaml:12:3: train.batch: unknown key 'batch'",
                        "did you mean 'batch_size'?");
  // A key that fits another optimiser is still unknown for this one.
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: sgd, beta1: 0.9}")),
                        "s.yaml:11:26: train.optimizer.beta1: unknown key 'beta1' for name 'sgd'",
                        "allowed keys: name, lr, weight_decay, decoupled_weight_decay, momentum, nesterov");
}

TEST(SpecValidate, WrongType) {
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: ten")), "s.yaml:13:11: train.epochs: expected an integer >= 1, got \"ten\"");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 2.5")), "s.yaml:13:11: train.epochs: expected an integer");
  EXPECT_ERROR_CONTAINS(parse("data: {train: {csv: {path: a.csv}}}\nmodel:\n  layers: {type: dense}\n"),
                        "s.yaml:3:11: model.layers: expected a list, got a mapping");
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: 3")), "s.yaml:11:14: train.optimizer: expected a name (sgd,");
}

TEST(SpecValidate, OutOfRange) {
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, lr: 0}")),
                        "s.yaml:11:31: train.optimizer.lr: must be > 0, got 0");
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, lr: -1e-3}")), "train.optimizer.lr: must be > 0");
  EXPECT_ERROR_CONTAINS(parse(with_line(9, "    - {type: dense, units: 0}")),
                        "s.yaml:9:28: model.layers[1].units: must be >= 1, got 0");
  EXPECT_ERROR_CONTAINS(parse(with_line(9, "    - {type: dropout, rate: 1}")),
                        "s.yaml:9:29: model.layers[1].rate: must be >= 0 and < 1, got 1");
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch_size: 0")), "s.yaml:12:15: train.batch_size: must be >= 1, got 0");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 0")), "s.yaml:13:11: train.epochs: must be >= 1, got 0");
  EXPECT_ERROR_CONTAINS(parse("data: {train: {csv: {path: a.csv}}}\nmodel: {hidden: [4], dropout: 1.5}\n"),
                        "s.yaml:2:31: model.dropout: must be >= 0 and < 1, got 1.5");
  EXPECT_ERROR_CONTAINS(parse(with_line(4, "  validation: {split: 1.0}")),
                        "s.yaml:4:23: data.validation.split: must be > 0 and < 1");
}

TEST(SpecValidate, NumbersBeyondWhatCanBeStoredNameTheirPlace) {
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, lr: 1e400}")),
                        "s.yaml:11:31: train.optimizer.lr: the number 1e400 is too large");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 99999999999999999999999")),
                        "s.yaml:13:11: train.epochs: the integer 99999999999999999999999 is out of range");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: -99999999999999999999999")), "s.yaml:13:11: train.epochs:",
                        "out of range");
  // Written as a float, an integer field is still bounded.
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 1e23")), "s.yaml:13:11: train.epochs:", "expected an integer");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer.lr=1e400"}), "--set train.optimizer.lr=1e400:", "too large");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"model.layers[99999999999999999999].units=1"}),
                        "--set model.layers[99999999999999999999].units=1: bad path", "index is too large");
  // A very long number is an error, not a stack overflow (std::regex recursed once per digit).
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: " + std::string(300000, '1'))), "s.yaml:13:11: train.epochs:",
                        "out of range", "(300000 characters)");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 0." + std::string(300000, '1'))), "train.epochs: expected an integer");
  // Found by the fuzzer: text that is not UTF-8 ended as "internal error" from the JSON library.
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch_size: caf\xE9")), "s.yaml:12:15: train.batch_size:",
                        "not valid UTF-8");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.epochs=caf\xE9"}), "--set train.epochs=", "not valid UTF-8");
  EXPECT_ERROR_CONTAINS(parse(with_line(12, "  batch_\xE9: 4")), "s.yaml:12:3:", "not valid UTF-8");
  // A tiny number underflows to zero (or a subnormal) the way a C++ or Python parser reads it.
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, lr: 1e-400}")), "train.optimizer.lr: must be > 0");
}

TEST(SpecValidate, UnknownEnumValuesListAllowed) {
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adamm}")),
                        "s.yaml:11:21: train.optimizer.name: unknown optimizer 'adamm' (did you mean 'adam'?)",
                        "allowed: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw");
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: adamm")),
                        "s.yaml:11:14: train.optimizer: unknown optimizer 'adamm' (did you mean 'adam'?)");
  EXPECT_ERROR_CONTAINS(parse(with_line(8, "    - {type: dense, units: 8, activation: rleu}")),
                        "s.yaml:8:43: model.layers[0].activation: unknown activation 'rleu' (did you mean 'relu'?)",
                        "allowed: linear, relu, sigmoid, tanh");
  EXPECT_ERROR_CONTAINS(parse(with_line(8, "    - {type: dense, units: 8, kernel_init: he}")),
                        "s.yaml:8:44: model.layers[0].kernel_init: unknown initializer 'he'", "he_normal");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 2\n  loss: cross_entropy")),
                        "s.yaml:14:9: train.loss: unknown loss 'cross_entropy'", "categorical_crossentropy");
  EXPECT_ERROR_CONTAINS(parse(with_line(13, "  epochs: 2\n  schedule: {name: cosin}")),
                        "s.yaml:14:20: train.schedule.name: unknown schedule 'cosin' (did you mean 'cosine'?)",
                        "allowed: constant, step, exponential, cosine");
  EXPECT_ERROR_CONTAINS(parse(with_line(9, "    - {type: dens, units: 3}")),
                        "s.yaml:9:14: model.layers[1].type: unknown layer type 'dens' (did you mean 'dense'?)",
                        "dropout, batch_norm, flatten");
}

TEST(SpecValidate, MissingRequiredKeys) {
  EXPECT_ERROR_CONTAINS(parse(with_line(3, "  test: {last: 5}")), "s.yaml:3:3: data: missing required key 'train'");
  EXPECT_ERROR_CONTAINS(parse(with_line(9, "    - {type: dense}")),
                        "s.yaml:9:7: model.layers[1]: missing required key 'units' for type 'dense'");
  EXPECT_ERROR_CONTAINS(parse(with_line(3, "  train: {csv: {label: y}}")),
                        "s.yaml:3:16: data.train.csv: missing required key 'path'");
  EXPECT_ERROR_CONTAINS(parse(with_line(3, "  train: {}")), "s.yaml:3:10: data.train: empty; give exactly one of: idx, csv, npy");
  EXPECT_ERROR_CONTAINS(parse("data: {train: {csv: {path: a.csv}}}\nmodel: {hiddn: [3]}\n"),
                        "s.yaml:2:9: model.hiddn: unknown key 'hiddn' (did you mean 'hidden'?)");
  EXPECT_ERROR_CONTAINS(parse("data: {train: {csv: {path: a.csv}}}\nmodel: {}\n"),
                        "s.yaml:2:8: model: give either layers:", "or hidden:");
}

TEST(SpecValidate, CrossFieldRules) {
  EXPECT_ERROR_CONTAINS(parse(with_line(4, "  task: regression") + "  loss: categorical_crossentropy\n"),
                        "s.yaml:14:9: train.loss: categorical_crossentropy is a classification loss");
  EXPECT_ERROR_CONTAINS(parse(with_line(4, "") + "  early_stopping: {patience: 2}\n"),
                        "s.yaml:14:19: train.early_stopping: monitors val_loss, which needs validation data");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  early_stopping: {monitor: val_mae}\n"),
                        "s.yaml:14:29: train.early_stopping.monitor: val_mae is measured for regression only");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase).replace(std::string(kBase).find("  layers:"), 9, "  activation: relu\n  layers:")),
                        "s.yaml:7:3: model.activation: only used with the MLP shorthand");
  EXPECT_ERROR_CONTAINS(parse("data: {train: {idx: {images: a, labels: b}}, task: regression}\nmodel: {hidden: [4]}\n"),
                        "s.yaml:1:52: data.task: IDX image files hold class labels");
}

TEST(SpecValidate, ImpossibleShapesNameTheLayerAndTheFix) {
  const TrainingSpec spec = parse(kBase);
  EXPECT_ERROR_CONTAINS(check_model_shapes(spec, {28, 28}, 3),
                        "s.yaml:8:7: model.layers[0]: a dense layer needs a flat (1-D) input but gets samples of shape (28, 28)",
                        "add {type: flatten} before it");
  EXPECT_ERROR_CONTAINS(check_model_shapes(spec, {5}, 10),
                        "s.yaml:9:28: model.layers[1].units: the last layer gives samples of shape (3,), but the data has 10 "
                        "classes",
                        "set units: 10");
  check_model_shapes(spec, {5}, 3);  // fits: no throw
  const TrainingSpec with_flatten = parse(with_line(8, "    - {type: flatten}\n    - {type: dense, units: 8}"));
  check_model_shapes(with_flatten, {28, 28}, 3);
  const TrainingSpec softmax_last = parse(with_line(9, "    - {type: dense, units: 3, activation: softmax}"));
  EXPECT_ERROR_CONTAINS(check_model_shapes(softmax_last, {5}, 3), "s.yaml:9:7: model.layers[1]: the last layer applies softmax",
                        "remove the softmax");
}

// ---- overrides ----

TEST(SpecOverride, SetsScalarsListsAndMappings) {
  const TrainingSpec spec = parse(kBase, {"train.optimizer.lr=3e-4", "model.layers[0].units=512", "train.shuffle=false",
                                          "data.validation={last: 2}"});
  EXPECT_DOUBLE_EQ(spec.train.optimizer.lr, 3e-4);
  EXPECT_EQ(spec.model.layers[0]["units"], 512);
  EXPECT_FALSE(spec.train.shuffle);
  EXPECT_EQ(spec.data.validation.kind, "last");
  EXPECT_EQ(spec.data.validation.last, 2);
  EXPECT_EQ(spec.tree.overrides.size(), 4u);

  const TrainingSpec sgd = parse(kBase, {"train.optimizer={name: sgd}", "train.optimizer.momentum=0.9"});
  EXPECT_EQ(sgd.train.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(sgd.train.optimizer.momentum, 0.9);
  EXPECT_TRUE(sgd.train.optimizer.decoupled_weight_decay);  // nntune's default
  const TrainingSpec coupled = parse(kBase, {"train.optimizer.weight_decay=1e-4", "train.optimizer.decoupled_weight_decay=false"});
  EXPECT_DOUBLE_EQ(coupled.train.optimizer.weight_decay, 1e-4);
  EXPECT_FALSE(coupled.train.optimizer.decoupled_weight_decay);
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer.decoupled_weight_decay=maybe"}), "decoupled_weight_decay");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer={name: adamw, decoupled_weight_decay: false}"}),
                        "unknown key 'decoupled_weight_decay' for name 'adamw'");

  // A shorthand name becomes a mapping when one of its fields is set; absent sections are created.
  const TrainingSpec named = parse(with_line(11, "  optimizer: rmsprop"),
                                   {"train.optimizer.rho=0.8", "train.early_stopping.patience=1"});
  EXPECT_EQ(named.train.optimizer.name, "rmsprop");
  EXPECT_DOUBLE_EQ(named.train.optimizer.rho, 0.8);
  ASSERT_TRUE(named.early_stopping.has_value());
  EXPECT_EQ(named.early_stopping->patience, 1);

  const TrainingSpec hidden = parse("data: {train: {csv: {path: a.csv}}}\nmodel: {hidden: [4]}\n", {"model.hidden=[256,128]"});
  ASSERT_EQ(hidden.model.hidden.size(), 2u);
  EXPECT_EQ(hidden.model.hidden[1].units, 128);
}

TEST(SpecOverride, UnknownPathNamesAllowedKeys) {
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer.lrr=0.1"}),
                        "--set train.optimizer.lrr=0.1: unknown key 'lrr' in train.optimizer (did you mean 'lr'?)",
                        "allowed keys: name, lr, weight_decay, decoupled_weight_decay, beta1, beta2, epsilon");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"trian.epochs=3"}), "unknown key 'trian' in the top level (did you mean 'train'?)",
                        "allowed keys: seed, data, model, train, output");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"model.layers[5].units=3"}), "index 5 is out of range: model.layers has 2 entries");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.epochs.x=3"}), "train.epochs holds an integer, not a mapping");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.epochs"}), "expected path=value");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"model.layers[x].units=3"}), "bad path", "index must be a number");
}

TEST(SpecOverride, BadValueIsReportedAgainstTheOverride) {
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer.lr=-1"}), "--set train.optimizer.lr=-1: train.optimizer.lr: must be > 0");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.epochs=many"}), "--set train.epochs=many: train.epochs: expected an integer");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"model.layers[1]={type: dense, unit: 3}"}),
                        "--set model.layers[1]={type: dense, unit: 3}: model.layers[1].unit: unknown key 'unit'");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.epochs=[1"}), "--set train.epochs=[1: the value is not valid YAML");
}

// ---- the MLP shorthand ----

TEST(SpecShorthand, ExpandsToDenseBlocksAndOutputLayer) {
  const TrainingSpec spec = parse(
      "data: {train: {csv: {path: a.csv}}}\n"
      "model:\n"
      "  hidden: [8, {units: 4, dropout: 0.5, activation: tanh}]\n"
      "  activation: elu\n"
      "  batch_norm: true\n"
      "  dropout: 0.2\n"
      "  l2: 0.001\n");
  ASSERT_TRUE(spec.model.shorthand);
  const std::vector<json> layers = expand_layers(spec.model, {2, 3}, 5);
  const std::vector<json> expected = {
      {{"type", "flatten"}},
      {{"type", "dense"}, {"units", 8}, {"activation", "elu"}, {"kernel_init", "he_normal"}, {"l2", 0.001}},
      {{"type", "batch_norm"}},
      {{"type", "dropout"}, {"rate", 0.2}},
      {{"type", "dense"}, {"units", 4}, {"activation", "tanh"}, {"kernel_init", "he_normal"}, {"l2", 0.001}},
      {{"type", "batch_norm"}},
      {{"type", "dropout"}, {"rate", 0.5}},
      {{"type", "dense"}, {"units", 5}, {"activation", "linear"}, {"kernel_init", "xavier_uniform"}, {"l2", 0.001}},
  };
  ASSERT_EQ(layers.size(), expected.size());
  for (size_t i = 0; i < layers.size(); ++i) EXPECT_EQ(layers[i], expected[i]) << "layer " << i;

  // 1-D input: no flatten; {count, units}; zero hidden layers is a linear model.
  const TrainingSpec repeated = parse("data: {train: {csv: {path: a.csv}}}\nmodel: {hidden: {count: 2, units: 16}}\n");
  const std::vector<json> plain = expand_layers(repeated.model, {7}, 1);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0], json({{"type", "dense"}, {"units", 16}, {"activation", "relu"}, {"kernel_init", "he_normal"}}));
  EXPECT_EQ(plain[2]["units"], 1);
  const TrainingSpec none = parse("data: {train: {csv: {path: a.csv}}}\nmodel: {hidden: {count: 0, units: 16}}\n");
  EXPECT_EQ(expand_layers(none.model, {7}, 3).size(), 1u);
}

// ---- the schema agrees with the registries of the other parts ----

TEST(SpecSchema, EnumerationsMatchTheRegistries) {
  const spec::Node& root = spec::root_schema();
  auto node_at = [&](std::initializer_list<std::string> keys) {
    const spec::Node* n = &root;
    for (const std::string& k : keys) {
      const spec::Node* map = spec::as_map(*n, json::object());
      const spec::Field* f = spec::find_field(*map, json::object(), k);
      EXPECT_NE(f, nullptr) << k;
      n = f->node.get();
    }
    return n;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  const spec::Node* optimizer = node_at({"train", "optimizer"});
  EXPECT_EQ(sorted(optimizer->alternatives[0]->choices), sorted(optimizer_names()));
  const spec::Node* schedule = node_at({"train", "schedule"});
  EXPECT_EQ(sorted(schedule->alternatives[0]->choices), sorted(schedule_names()));
  const spec::Node* activation = node_at({"model", "activation"});
  EXPECT_EQ(sorted(activation->choices), sorted(activation_names()));
  const spec::Node* init = node_at({"model", "init"});
  EXPECT_EQ(sorted(init->choices), sorted(initializer_names()));
  for (const std::string& loss : node_at({"train", "loss"})->choices) EXPECT_NO_THROW(make_loss(loss)) << loss;
  const spec::Node* layers = node_at({"model", "layers"});
  std::vector<std::string> types;
  for (const auto& [type, fields] : layers->item->variants) types.push_back(type);
  EXPECT_EQ(sorted(types), sorted(layer_types()));
  // Every layer type builds from the keys the schema allows.
  for (const auto& [type, fields] : layers->item->variants) {
    // The required keys with the values of the layer's declared example.
    const json& example = layer_registry().find(type)->info.example;
    json config = {{"type", type}};
    for (const spec::Field& f : fields)
      if (f.required) config[f.key] = example.at(f.key);
    EXPECT_NO_THROW(make_layer(config)) << config.dump();
  }
}

// ---- the driver on a tiny CSV ----

std::string tiny_csv() {
  // Two well separated classes in two features.
  std::string csv = "a,b,y\n";
  for (int i = 0; i < 40; ++i) {
    const int cls = i % 2;
    csv += std::to_string(cls * 4 + (i % 5) * 0.1) + "," + std::to_string(-cls * 3 + (i % 3) * 0.1) + "," +
           std::to_string(cls) + "\n";
  }
  return csv;
}

TEST(SpecDriver, TrainsSavesAndRecordsOverrides) {
  TempDir dir;
  testing::write_file(dir.file("train.csv"), tiny_csv());
  const std::string yaml =
      "seed: 5\n"
      "data:\n"
      "  train: {csv: {path: train.csv, label: y}}\n"
      "  validation: {split: 0.25}\n"
      "  test: {last: 8}\n"
      "  scale: standard\n"
      "model: {hidden: [6]}\n"
      "train: {optimizer: {name: adam, lr: 0.05}, batch_size: 8, epochs: 3}\n";
  testing::write_file(dir.file("s.yaml"), yaml);
  const TrainingSpec spec = load_spec(dir.file("s.yaml"), {"train.epochs=4"});
  TrainingOptions options;
  options.output_dir = dir.file("out");
  bool ready_called = false;
  options.on_ready = [&](const TrainingResult& r) {
    ready_called = true;
    EXPECT_EQ(r.train_size, 24);
    EXPECT_EQ(r.validation_size, 8);
    EXPECT_EQ(r.test_size, 8);
    EXPECT_EQ(r.num_params, 2 * 6 + 6 + 6 * 2 + 2);
  };
  const TrainingResult result = run_training(spec, {}, options);
  EXPECT_TRUE(ready_called);
  EXPECT_EQ(result.history.epochs.size(), 4u);
  ASSERT_TRUE(result.test_metrics.count("accuracy"));
  ASSERT_TRUE(std::filesystem::exists(result.model_path));
  const json history = json::parse(testing::read_file(result.history_path));
  EXPECT_EQ(history["overrides"], json({"train.epochs=4"}));
  EXPECT_EQ(history["seed"], 5);
  EXPECT_EQ(history["epochs"].size(), 4u);
  EXPECT_TRUE(history["epochs"][0]["metrics"].contains("val_loss"));
  EXPECT_EQ(history["nntune_version"], nntune_version());
  EXPECT_DOUBLE_EQ(history["test"]["accuracy"].get<double>(), result.test_metrics.at("accuracy"));

  // The saved model reproduces the test metrics exactly.
  Model model = load_model(result.model_path);
  const SpecData data = load_spec_data(spec);
  const Metrics again = evaluate_model(model, *data.test);
  EXPECT_EQ(again.at("loss"), result.test_metrics.at("loss"));
  EXPECT_EQ(model.metadata["overrides"], json({"train.epochs=4"}));
}

TEST(SpecDriver, AClassSeenOnlyOutsideTheTrainingFileIsRefused) {
  TempDir dir;
  testing::write_file(dir.file("train.csv"), tiny_csv());  // classes 0 and 1
  testing::write_file(dir.file("val.csv"), "a,b,y\n0.1,0.2,0\n4.0,-3.0,1\n1.0,1.0,2\n");
  const std::string yaml =
      "data:\n"
      "  train: {csv: {path: train.csv, label: y}}\n"
      "  validation: {csv: {path: val.csv, label: y}}\n"
      "model: {hidden: [2]}\n";
  testing::write_file(dir.file("s.yaml"), yaml);
  EXPECT_ERROR_CONTAINS(load_spec_data(load_spec(dir.file("s.yaml"))), "s.yaml:3:", "data.validation",
                        "label 2", "val.csv", "row 3", "not in the training data");
  testing::write_file(dir.file("s.yaml"),
                      "data:\n  train: {csv: {path: train.csv, label: y}}\n  test: {csv: {path: val.csv, label: y}}\n"
                      "model: {hidden: [2]}\n");
  EXPECT_ERROR_CONTAINS(load_spec_data(load_spec(dir.file("s.yaml"))), "data.test", "label 2", "val.csv");
  // With num_classes given, the classes are the user's decision and a class may be absent from training.
  testing::write_file(dir.file("s.yaml"),
                      "data:\n  train: {csv: {path: train.csv, label: y}}\n  validation: {csv: {path: val.csv, label: y}}\n"
                      "  num_classes: 3\nmodel: {hidden: [2]}\n");
  EXPECT_EQ(load_spec_data(load_spec(dir.file("s.yaml"))).train.num_classes, 3);
}

TEST(SpecDriver, DataErrorsCarryTheSpecLocation) {
  TempDir dir;
  testing::write_file(dir.file("s.yaml"), "data:\n  train: {csv: {path: missing.csv}}\nmodel: {hidden: [2]}\n");
  EXPECT_ERROR_CONTAINS(run_training(load_spec(dir.file("s.yaml"))), "s.yaml:2:16: data.train.csv: cannot read CSV file", "missing.csv");
}

}  // namespace
}  // namespace nntune

namespace nntune {
namespace {

// docs/spec-reference.md is generated from the declarations; it must not drift from them.
TEST(SpecReference, TheDocumentIsWhatTheDeclarationsSay) {
  std::ifstream in(std::string(NNTUNE_SOURCE_DIR) + "/docs/spec-reference.md");
  ASSERT_TRUE(in) << "docs/spec-reference.md is missing";
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(text.str() == spec_reference_markdown())
      << "docs/spec-reference.md is out of date: run build/nntune spec --reference > docs/spec-reference.md";
  // Every registered layer type and sampler has its section.
  for (const std::string& type : layer_types()) EXPECT_NE(text.str().find("### `" + type + "`"), std::string::npos) << type;
  EXPECT_NE(text.str().find("### `auto`"), std::string::npos);
}


TEST(SpecTables, ColumnsCategoriesAndImputationReachTheCsvOptions) {
  const TrainingSpec spec = parse(with_line(3,
                                            "  train: {csv: {path: train.csv, label: species, features: [a, 2], "
                                            "drop: [n], id: name}}\n"
                                            "  categorical: [zip]\n"
                                            "  impute: median\n"
                                            "  missing_indicator: true\n"
                                            "  on_unknown: zeros"));
  const CsvOptions& c = spec.data.train.csv;
  EXPECT_EQ(c.label, "species");
  EXPECT_EQ(c.features, (std::vector<std::string>{"a", "2"}));
  EXPECT_EQ(c.drop, (std::vector<std::string>{"n"}));
  EXPECT_EQ(c.id, "name");
  EXPECT_EQ(c.categorical, (std::vector<std::string>{"zip"}));
  EXPECT_TRUE(c.auto_categorical);
  EXPECT_TRUE(c.text_labels);
  EXPECT_TRUE(c.allow_missing);
  EXPECT_EQ(spec.data.impute, "median");
  EXPECT_TRUE(spec.data.missing_indicator);
  EXPECT_EQ(spec.data.on_unknown, "zeros");
  // Defaults: text columns auto-detected, missing cells refused.
  const TrainingSpec plain = parse(kBase);
  EXPECT_TRUE(plain.data.train.csv.auto_categorical);
  EXPECT_FALSE(plain.data.train.csv.allow_missing);
  EXPECT_FALSE(parse(with_line(5, "  categorical: none")).data.train.csv.auto_categorical);
}

TEST(SpecTables, BadTableKeysAreLocated) {
  EXPECT_ERROR_CONTAINS(parse(with_line(5, "  missing_indicator: true")), "s.yaml:5:", "data.missing_indicator",
                        "needs data.impute");
  EXPECT_ERROR_CONTAINS(parse(with_line(3, "  train: {csv: {path: train.csv, label: [a, b]}}")), "s.yaml:3:",
                        "data.train.csv.label", "task: regression");
  EXPECT_ERROR_CONTAINS(parse(with_line(5, "  impute: mode")), "s.yaml:5:", "data.impute");
}


// The preprocessing is fitted on the training rows: the held-out test rows (an outlier, a
// category of their own) and a separate validation file do not move the fitted values.
TEST(SpecTables, PreprocessingIsFittedOnTheTrainingRowsOnly) {
  TempDir dir;
  std::string csv = "w,color,y\n";
  for (int i = 0; i < 20; ++i) csv += (i == 5 ? std::string("") : std::to_string(i % 2 ? 1 : 3)) + "," +
                                      (i % 2 ? "red" : "blue") + "," + (i % 2 ? "b" : "a") + "\n";
  csv += "1000,purple,a\n1000,purple,b\n";  // the last two rows: the test part
  testing::write_file(dir.file("t.csv"), csv);
  testing::write_file(dir.file("v.csv"), "y,color,w\nb,red,-500\na,green,\n");
  testing::write_file(dir.file("s.yaml"),
                      "data:\n"
                      "  train: {csv: {path: t.csv, label: y}}\n"
                      "  validation: {csv: {path: v.csv}}\n"
                      "  test: {last: 2}\n"
                      "  impute: mean\n"
                      "  on_unknown: zeros\n"
                      "model: {hidden: [2]}\n"
                      "train: {epochs: 1}\n");
  const TrainingSpec spec = load_spec(dir.file("s.yaml"));
  // The validation file: columns found by name in its own order, labels as the training classes.
  const SpecData data = load_spec_data(spec);
  ASSERT_TRUE(data.validation);
  EXPECT_EQ(data.validation->column_names, (std::vector<std::string>{"w", "color"}));
  EXPECT_EQ(data.validation->y[0], 1.0f);  // "b"
  TrainingOptions options;
  options.output_dir = dir.file("out");
  const TrainingResult result = run_training(spec, {}, options);
  const Model model = load_model(result.model_path);
  EXPECT_EQ(model.class_names, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(model.preprocessing.fill.size(), 2u);
  EXPECT_FLOAT_EQ(model.preprocessing.fill[0], (10 * 3 + 9 * 1) / 19.0f);  // 19 present training cells (row 6 is empty)
  EXPECT_EQ(model.preprocessing.categories[1], (std::vector<std::string>{"blue", "red"}));
  // From C++: a new file read the model's way (columns by name, no label) predicts as the
  // encoded rows do through the network alone.
  testing::write_file(dir.file("new.csv"), "color,w\nred,\nblue,3\n");
  Model trained = load_model(result.model_path);
  CsvOptions layout;
  layout.path = dir.file("new.csv");
  const Dataset fresh = load_csv_for_model(trained, layout, false);
  const Tensor got = predict(trained, fresh);
  Model network_only = load_model(result.model_path);
  network_only.preprocessing = Preprocessing{};
  const float fill = model.preprocessing.fill[0];
  const Tensor expected = predict(network_only, Tensor({2, 3}, {fill, 0, 1, 3, 1, 0}));
  ASSERT_EQ(got.shape(), expected.shape());
  for (int64_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], expected[k]) << k;
  // A column with no value in the training rows cannot be imputed.
  testing::write_file(dir.file("t.csv"), "w,v,y\n1,,a\n2,NA,b\n3,,a\n");
  testing::write_file(dir.file("s.yaml"), "data:\n  train: {csv: {path: t.csv, label: y}}\n  impute: mean\nmodel: {hidden: [2]}\n");
  EXPECT_ERROR_CONTAINS(run_training(load_spec(dir.file("s.yaml")), {}, TrainingOptions{.save = false}), "s.yaml:",
                        "column 'v' has no value", "drop: [v]");
}


// load_csv_for_model on a model of numbers only: with or without the label column.
TEST(SpecTables, NumbersOnlyModelsReadCsvsWithOrWithoutTheLabel) {
  TempDir dir;
  testing::write_file(dir.file("train.csv"), tiny_csv());
  testing::write_file(dir.file("s.yaml"), "data:\n  train: {csv: {path: train.csv, label: y}}\nmodel: {hidden: [2]}\n"
                                          "train: {epochs: 1}\n");
  TrainingOptions options;
  options.output_dir = dir.file("out");
  Model model = load_model(run_training(load_spec(dir.file("s.yaml")), {}, options).model_path);
  EXPECT_FALSE(model.preprocessing.active());
  CsvOptions csv;
  csv.path = dir.file("train.csv");
  const Dataset with_label = load_csv_for_model(model, csv, false);
  EXPECT_EQ(with_label.x.shape(), (Shape{40, 2}));
  EXPECT_EQ(with_label.y.size(), 0);
  testing::write_file(dir.file("x.csv"), "a,b\n1,2\n");
  csv.path = dir.file("x.csv");
  EXPECT_EQ(load_csv_for_model(model, csv, false).x.shape(), (Shape{1, 2}));
  csv.path = dir.file("train.csv");
  EXPECT_EQ(load_csv_for_model(model, csv, true).y.shape(), (Shape{40, 1}));
}

// ---- metrics, class weights, label smoothing, Keras names ----

TEST(SpecMetrics, MetricsClassWeightsAndSmoothingBecomeTheTrainConfig) {
  const TrainingSpec spec = parse(std::string(kBase) +
                                  "  metrics: [f1, roc_auc, top_2_accuracy]\n"
                                  "  class_weight: {0: 1, 2: 4.5}\n"
                                  "  label_smoothing: 0.1\n"
                                  "  early_stopping: {monitor: val_auc}\n");
  EXPECT_EQ(spec.train.metrics, (std::vector<std::string>{"f1", "auc", "top_2_accuracy"}));
  EXPECT_EQ(spec.train.class_weight, "explicit");
  EXPECT_EQ(spec.train.class_weight_map, (std::map<int64_t, double>{{0, 1.0}, {2, 4.5}}));
  EXPECT_DOUBLE_EQ(spec.train.label_smoothing, 0.1);
  EXPECT_EQ(spec.early_stopping->monitor, "val_auc");
  EXPECT_EQ(parse(std::string(kBase) + "  class_weight: balanced\n").train.class_weight, "balanced");
  EXPECT_EQ(parse(std::string(kBase) + "  class_weight: {0: 2}\n", {"train.class_weight.1=5"}).train.class_weight_map,
            (std::map<int64_t, double>{{0, 2.0}, {1, 5.0}}));
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  class_weight: {0: 2}\n", {"train.class_weight.1=-5"}),
                        "train.class_weight.1", ">= 0");
  EXPECT_EQ(parse(std::string(kBase) + "  class_weight: [1, 2, 3]\n").train.class_weights,
            (std::vector<double>{1, 2, 3}));
}

TEST(SpecMetrics, MetricsThatDoNotFitAreRefusedWithTheirPlace) {
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  metrics: [f1, f2]\n"),
                        "s.yaml:14:17: train.metrics[1]: unknown metric 'f2' (did you mean 'f1'?)");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  metrics: [r2]\n"),
                        "s.yaml:14:13: train.metrics[0]: r2 is measured for regression only");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  metrics: [val_f1]\n"), "train.metrics[0]: name the metric without val_");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  early_stopping: {monitor: val_f1_score}\n"),
                        "train.early_stopping.monitor: unknown metric 'val_f1_score'");
  const std::string regression = with_line(4, "  validation: {split: 0.25}\n  task: regression");
  // A regression spec: the last layer is checked later; the loss is mse by default.
  EXPECT_ERROR_CONTAINS(parse(regression + "  early_stopping: {monitor: val_auc}\n"),
                        "train.early_stopping.monitor: val_auc is measured for classification only");
  EXPECT_ERROR_CONTAINS(parse(regression + "  reduce_on_plateau: {monitor: f1}\n"),
                        "train.reduce_on_plateau.monitor: f1 is measured for classification only");
  EXPECT_ERROR_CONTAINS(parse(regression + "  class_weight: balanced\n"), "train.class_weight: class weights apply to classification");
  EXPECT_ERROR_CONTAINS(parse(regression + "  label_smoothing: 0.1\n"), "train.label_smoothing: label smoothing applies");
  EXPECT_NO_THROW(parse(regression + "  metrics: [r2, mse]\n  early_stopping: {monitor: val_r2}\n"));
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  class_weight: {one: 2}\n"),
                        "train.class_weight.one: 'one' is not a class number");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  class_weight: [1, -2]\n"), "train.class_weight[1]", ">= 0");
  EXPECT_ERROR_CONTAINS(parse(std::string(kBase) + "  label_smoothing: 1\n"), "train.label_smoothing", "< 1");
}

TEST(SpecMetrics, LearningRateIsKerasNameForLr) {
  EXPECT_DOUBLE_EQ(parse(with_line(11, "  optimizer: {name: adam, learning_rate: 0.02}")).train.optimizer.lr, 0.02);
  EXPECT_DOUBLE_EQ(parse(kBase, {"train.optimizer={name: sgd, learning_rate: 0.3}"}).train.optimizer.lr, 0.3);
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, lr: 0.01, learning_rate: 0.02}")),
                        "s.yaml:11:", "'learning_rate' and 'lr' are the same setting (lr); give only one of them");
  EXPECT_ERROR_CONTAINS(parse(kBase, {"train.optimizer.learning_rate=0.1"}), "'learning_rate' and 'lr'");
  EXPECT_ERROR_CONTAINS(parse(with_line(11, "  optimizer: {name: adam, learning_rate: -1}")),
                        "train.optimizer.learning_rate", "> 0");
}

TEST(SpecMetrics, ClassWeightsNamingAMissingClassAreRefusedBeforeTraining) {
  TempDir dir;
  std::string csv = "a,b,y\n";
  for (int i = 0; i < 24; ++i) csv += std::to_string(i % 5) + "," + std::to_string(i % 7) + "," + std::to_string(i % 3) + "\n";
  testing::write_file(dir.file("train.csv"), csv);
  TrainingSpec spec = parse_spec(std::string(kBase) + "  class_weight: {5: 2}\n", "s.yaml", {}, dir.path().string());
  TrainingOptions options;
  options.save = false;
  EXPECT_ERROR_CONTAINS(run_training(spec, {}, options), "s.yaml:14:", "train.class_weight", "class 5 does not exist");
  spec = parse_spec(std::string(kBase) + "  class_weight: balanced\n  metrics: [f1, auc]\n  label_smoothing: 0.1\n",
                    "s.yaml", {}, dir.path().string());
  const TrainingResult result = run_training(spec, {}, options);
  EXPECT_EQ(result.history.epochs.back().metrics.count("val_f1"), 1u);
  EXPECT_EQ(result.history.epochs.back().metrics.count("val_auc"), 1u);
}


// data.scale_per: auto scales per feature across steps when the first layer reads sequences.
TEST(SpecScale, PerFeatureForSequenceLayersUnlessSaidOtherwise) {
  TempDir dir;
  // 24 sequences of 3 steps x 2 features: feature 0 is i + step, feature 1 is 10 i + step.
  std::vector<float> x, y;
  for (int i = 0; i < 24; ++i) {
    for (int t = 0; t < 3; ++t) {
      x.push_back(static_cast<float>(i + t));
      x.push_back(static_cast<float>(10 * i + t));
    }
    y.push_back(static_cast<float>(i % 2));
  }
  write_npy(dir.file("x.npy"), {24, 3, 2}, x);
  write_npy(dir.file("y.npy"), {24}, y);
  auto scaler_of = [&](const std::string& layers, const std::string& per) {
    const TrainingSpec spec = parse_spec("data: {train: {npy: {x: " + dir.file("x.npy") + ", y: " + dir.file("y.npy") +
                                             "}}, scale: standard" + per + "}\nmodel: {layers: " + layers +
                                             "}\ntrain: {epochs: 1}\n",
                                         "s.yaml");
    TrainingOptions options;
    options.output_dir = dir.file("out");
    run_training(spec, {}, options);
    return load_model(dir.file("out/model.nnt")).scaler;
  };
  const std::string recurrent = "[{type: gru, units: 2}, {type: dense, units: 2}]";
  const Scaler by_feature = scaler_of(recurrent, "");
  EXPECT_TRUE(by_feature.per_feature);
  // Feature 0's mean over all steps: 11.5 + 1 = 12.5, the same at every step.
  EXPECT_FLOAT_EQ(by_feature.offset[0], 12.5f);
  EXPECT_FLOAT_EQ(by_feature.offset[2], 12.5f);
  EXPECT_FLOAT_EQ(by_feature.offset[4], 12.5f);
  const Scaler by_value = scaler_of(recurrent, ", scale_per: value");
  EXPECT_FALSE(by_value.per_feature);
  EXPECT_FLOAT_EQ(by_value.offset[0], 11.5f);  // step 0 alone
  EXPECT_FLOAT_EQ(by_value.offset[4], 13.5f);  // step 2 alone
  EXPECT_FALSE(scaler_of("[{type: flatten}, {type: dense, units: 2}]", "").per_feature);
  EXPECT_TRUE(scaler_of("[{type: flatten}, {type: dense, units: 2}]", ", scale_per: feature").per_feature);
  EXPECT_ERROR_CONTAINS(parse_spec("data: {train: {csv: {path: x.csv}}, scale_per: steps}\nmodel: {hidden: [2]}\n", "s.yaml"),
                        "data.scale_per");
}

}  // namespace
}  // namespace nntune
