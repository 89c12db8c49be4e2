// Search spaces in the YAML spec: distributions, conditional branches, {count, each}, the tune
// section, validation messages with line:column, and trial -> fixed training spec.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nntune/tune/tune_spec.hpp"
#include "test_util.hpp"

namespace nntune::tune {
namespace {

using nlohmann::json;

// A valid base; tests append or replace lines. Line numbers matter for the location checks.
std::string spec_with(const std::string& model, const std::string& train, const std::string& tune = "") {
  return "data:\n"                                        // 1
         "  train: {csv: {path: data.csv, label: y}}\n"   // 2
         "  validation: {split: 0.2}\n"                   // 3
         "model:\n" +                                     // 4
         model + "train:\n" + train + (tune.empty() ? "" : "tune:\n" + tune);
}

TuneSpec parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_tune_spec(text, "s.yaml", overrides);
}

// Picks the first value of every distribution, or a value by name.
SpecTree sample(const SpecTree& space, const json& fixed, std::vector<std::string>* names = nullptr) {
  return materialize(space, [&](const std::string& name, const Distribution& d) -> json {
    if (names) names->push_back(name);
    if (fixed.contains(name)) return fixed.at(name);
    return d.kind == DistributionKind::Categorical ? d.choices.front() : d.to_external(d.low);
  });
}

const std::string kModel = "  hidden: [{units: {int: [4, 64], log: true}, dropout: {float: [0.0, 0.5]}}]\n";
const std::string kTrain =
    "  optimizer:\n"
    "    choice:\n"
    "      - {name: sgd, lr: {float: [0.001, 0.5], log: true}, momentum: {float: [0.0, 0.9]}}\n"
    "      - {name: adam, lr: {float: [0.0001, 0.01], log: true}}\n"
    "  batch_size: {choice: [16, 32]}\n"
    "  epochs: 2\n";

TEST(TuneSpec, ParsesSpaceAndTuneSection) {
  const TuneSpec s = parse(spec_with(kModel, kTrain,
                                     "  objective: {metric: val_loss}\n"
                                     "  sampler: {name: random, seed: 7}\n"
                                     "  pruner: median\n"
                                     "  trials: 12\n"
                                     "  timeout: 1h30m\n"
                                     "  jobs: 2\n"));
  EXPECT_EQ(s.config.objective.metric, "val_loss");
  EXPECT_EQ(s.config.objective.direction, Direction::Minimize);
  EXPECT_EQ(s.config.sampler.name, "random");
  EXPECT_EQ(s.config.sampler.seed, 7u);
  EXPECT_EQ(s.config.pruner.name, "median");
  EXPECT_EQ(s.config.trials, 12);
  EXPECT_DOUBLE_EQ(s.config.timeout_seconds, 5400.0);
  EXPECT_EQ(s.config.jobs, 2);
  EXPECT_EQ(s.config.study, "s");  // the file stem
  EXPECT_EQ(s.config.storage, "sqlite:///nntune.db");
  EXPECT_FALSE(s.space.root.contains("tune"));
}

TEST(TuneSpec, DefaultsAndOverrides) {
  const TuneSpec s = parse(spec_with(kModel, kTrain), {"tune.trials=3", "tune.sampler.name=grid", "train.epochs=1"});
  EXPECT_EQ(s.config.objective.metric, "val_accuracy");
  EXPECT_EQ(s.config.objective.direction, Direction::Maximize);
  EXPECT_EQ(s.config.trials, 3);
  EXPECT_EQ(s.config.sampler.name, "grid");
  EXPECT_EQ(s.space.root["train"]["epochs"], 1);
}

TEST(TuneSpec, ConditionalParametersOnlyOnTheirBranch) {
  const TuneSpec s = parse(spec_with(kModel, kTrain));
  std::vector<std::string> sgd_names, adam_names;
  const SpecTree sgd = sample(s.space, {{"train.optimizer", "sgd"}}, &sgd_names);
  const SpecTree adam = sample(s.space, {{"train.optimizer", "adam"}}, &adam_names);
  const std::vector<std::string> expected_sgd = {"model.hidden[0].dropout", "model.hidden[0].units",
                                                 "train.batch_size",        "train.optimizer",
                                                 "train.optimizer.sgd.lr",  "train.optimizer.sgd.momentum"};
  const std::vector<std::string> expected_adam = {"model.hidden[0].dropout", "model.hidden[0].units", "train.batch_size",
                                                  "train.optimizer", "train.optimizer.adam.lr"};
  EXPECT_EQ(sgd_names, expected_sgd);
  EXPECT_EQ(adam_names, expected_adam);
  EXPECT_EQ(sgd.root["train"]["optimizer"], json::parse(R"({"name": "sgd", "lr": 0.001, "momentum": 0.0})"));
  EXPECT_EQ(adam.root["train"]["optimizer"], json::parse(R"({"name": "adam", "lr": 0.0001})"));
  // The branch keeps the marks of where it was written (line 10 for adam).
  EXPECT_EQ(adam.value_marks.at("train.optimizer.lr").line, 10);
}

TEST(TuneSpec, HiddenCountEachExpands) {
  const std::string model =
      "  hidden:\n"
      "    count: {int: [1, 3]}\n"
      "    each: {units: {int: [8, 64]}, activation: {choice: [relu, tanh]}}\n";
  const TuneSpec s = parse(spec_with(model, kTrain));
  std::vector<std::string> names;
  const SpecTree fixed = sample(s.space,
                                {{"model.hidden.count", 2},
                                 {"model.hidden.0.units", 32},
                                 {"model.hidden.1.units", 16},
                                 {"model.hidden.1.activation", "tanh"}},
                                &names);
  ASSERT_TRUE(fixed.root["model"]["hidden"].is_array());
  ASSERT_EQ(fixed.root["model"]["hidden"].size(), 2u);
  EXPECT_EQ(fixed.root["model"]["hidden"][0], json::parse(R"({"units": 32, "activation": "relu"})"));
  EXPECT_EQ(fixed.root["model"]["hidden"][1], json::parse(R"({"units": 16, "activation": "tanh"})"));
  EXPECT_NE(std::find(names.begin(), names.end(), "model.hidden.1.units"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "model.hidden.2.units"), names.end());
  const TrainingSpec spec = training_spec_of(fixed);
  ASSERT_EQ(spec.model.hidden.size(), 2u);
  EXPECT_EQ(spec.model.hidden[1].units, 16);
  EXPECT_EQ(spec.model.hidden[1].activation, "tanh");

  const auto params = space_parameters(s.space);
  std::vector<std::string> all;
  for (const auto& [name, d] : params) all.push_back(name);
  for (const char* n : {"model.hidden.count", "model.hidden.0.units", "model.hidden.2.activation"})
    EXPECT_NE(std::find(all.begin(), all.end(), n), all.end()) << n;
}

// A block of layers repeated {count, each: [...]} (or chosen among lists) is spliced into
// model.layers; messages about a spliced layer still point at its line in the spec.
TEST(TuneSpec, LayerBlocksAreSplicedIntoTheLayerList) {
  const std::string model =
      "  layers:\n"                                                                     // 5
      "    - count: {int: [1, 3]}\n"                                                    // 6
      "      each:\n"                                                                   // 7
      "        - {type: dense, units: {int: [2, 8]}, activation: relu}\n"               // 8
      "        - {choice: [[{type: batch_norm}], []]}\n"                                // 9
      "        - {type: dropout, rate: 0.1}\n"                                          // 10
      "    - {type: dense, units: 2}\n";                                                // 11
  const TuneSpec s = parse(spec_with(model, "  epochs: 2\n"));
  const SpecTree fixed = sample(s.space, {{"model.layers[0].count", 2},
                                          {"model.layers[0].0[1]", 0},
                                          {"model.layers[0].1[1]", 1}});
  std::vector<std::string> types;
  for (const json& layer : fixed.root["model"]["layers"]) types.push_back(layer.at("type"));
  EXPECT_EQ(types, (std::vector<std::string>{"dense", "batch_norm", "dropout", "dense", "dropout", "dense"}));
  EXPECT_NO_THROW(training_spec_of(fixed));
  // The last layer (index 5 now) keeps its own line; a spliced layer its block's line.
  EXPECT_EQ(fixed.where("model.layers[5].units").rfind("s.yaml:11:", 0), 0u) << fixed.where("model.layers[5].units");
  EXPECT_EQ(fixed.where("model.layers[4].rate").rfind("s.yaml:10:", 0), 0u) << fixed.where("model.layers[4].rate");

  // A value that no layer takes is refused at its line, inside the block.
  try {
    parse(spec_with("  layers:\n    - count: 2\n      each: [{type: dropout, rate: {float: [0.1, 1.5]}}]\n"
                    "    - {type: dense, units: 2}\n",
                    "  epochs: 2\n"));
    ADD_FAILURE() << "accepted a dropout rate up to 1.5";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml:7:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rate"), std::string::npos) << e.what();
  }
}

TEST(TuneSpec, ConditionalParametersAreTheBranchesAndCounts) {
  const std::string model = "  hidden: {count: {int: [1, 2]}, each: {units: {int: [8, 64]}}}\n";
  const TuneSpec s = parse(spec_with(model, kTrain));
  const std::vector<std::string> expected = {"train.optimizer.sgd.lr", "train.optimizer.sgd.momentum",
                                             "train.optimizer.adam.lr", "model.hidden.1.units"};
  std::vector<std::string> got = conditional_parameters(s.space);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = expected;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_TRUE(conditional_parameters(parse(spec_with(kModel, "  batch_size: {choice: [8, 16]}\n")).space).empty());
}

// name: makes one parameter of distributions written in several places (Optuna's define-by-run
// suggest_float("lr", ...) before the optimiser choice): lr exists in every trial, whichever
// branch it takes, so samplers learn it from all the trials.
TEST(TuneSpec, NamedParameterIsSharedByTheBranches) {
  const std::string train =
      "  optimizer:\n"
      "    choice:\n"
      "      - {name: sgd, lr: {float: [0.001, 0.5], log: true, name: lr}, momentum: {float: [0.0, 0.9]}}\n"
      "      - {name: adam, lr: {float: [0.001, 0.5], log: true, name: lr}}\n"
      "  epochs: 2\n";
  const TuneSpec s = parse(spec_with(kModel, train));
  std::vector<std::string> names;
  const SpecTree adam = sample(s.space, {{"train.optimizer", "adam"}, {"lr", 0.02}}, &names);
  EXPECT_EQ(adam.root["train"]["optimizer"], json::parse(R"({"name": "adam", "lr": 0.02})"));
  EXPECT_NE(std::find(names.begin(), names.end(), "lr"), names.end());
  const SpecTree sgd = sample(s.space, {{"train.optimizer", "sgd"}, {"lr", 0.3}});
  EXPECT_EQ(sgd.root["train"]["optimizer"]["lr"], 0.3);
  std::vector<std::string> all;
  for (const auto& [name, d] : space_parameters(s.space)) all.push_back(name);
  EXPECT_EQ(std::count(all.begin(), all.end(), "lr"), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), "train.optimizer.adam.lr"), 0);
  EXPECT_EQ(conditional_parameters(s.space), std::vector<std::string>{"train.optimizer.sgd.momentum"});

  // One name, two distributions: refused where the second is written.
  const std::string clash =
      "  optimizer:\n"
      "    choice:\n"
      "      - {name: sgd, lr: {float: [0.001, 0.5], log: true, name: lr}}\n"
      "      - {name: adam, lr: {float: [0.0001, 0.01], log: true, name: lr}}\n";
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, clash)), "s.yaml:10:", "parameter 'lr' is also written at",
                        "train.optimizer.choice[0].lr", "one distribution wherever it appears");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, "  epochs: {int: [1, 3], name: \"two words\"}\n")), "s.yaml:7:",
                        "letters, digits");
}

TEST(TuneSpec, SampledTrialPassesTrainingValidation) {
  const TuneSpec s = parse(spec_with(kModel, kTrain));
  const SpecTree fixed = sample(s.space, {{"train.optimizer", "sgd"}, {"train.optimizer.sgd.momentum", 0.5}});
  const TrainingSpec spec = training_spec_of(fixed);
  EXPECT_EQ(spec.train.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(spec.train.optimizer.momentum, 0.5);
  EXPECT_EQ(spec.train.batch_size, 16);
  EXPECT_EQ(spec.model.hidden.at(0).units, 4);
}

TEST(TuneSpec, BestSpecRoundTripsThroughYaml) {
  const TuneSpec s = parse(spec_with(kModel, kTrain));
  const json params = {{"train.optimizer", "adam"},
                       {"train.optimizer.adam.lr", 0.0012345678901234567},
                       {"train.batch_size", 32},
                       {"model.hidden[0].units", 17},
                       {"model.hidden[0].dropout", 0.25}};
  const SpecTree fixed = materialize_params(s.space, params);
  const std::string yaml = spec_to_yaml(fixed.root);
  const TrainingSpec back = parse_spec(yaml, "best.yaml");
  EXPECT_EQ(back.tree.root, fixed.root) << yaml;
  EXPECT_DOUBLE_EQ(back.train.optimizer.lr, 0.0012345678901234567);
  EXPECT_EQ(back.model.hidden.at(0).units, 17);
  EXPECT_ERROR_CONTAINS(materialize_params(s.space, json{{"train.optimizer", "adam"}}), "no value for the parameter");
}

TEST(TuneSpec, RefitSpecTrainsOnAllTheDataForTheTrialsEpochs) {
  const json fixed = {{"data", {{"train", {{"csv", {{"path", "d.csv"}, {"label", "y"}}}}}, {"validation", {{"last", 100}}}}},
                      {"train",
                       {{"epochs", 10},
                        {"schedule", {{"name", "cosine"}}},
                        {"early_stopping", {{"monitor", "val_accuracy"}, {"patience", 3}, {"restore_best", true}}},
                        {"reduce_on_plateau", {{"monitor", "val_loss"}}}}}};
  // Accuracy by epoch: best (first of two equal) at 4; early stopping ended the run at 7.
  const std::map<int64_t, double> reports = {{1, 0.5}, {2, 0.7}, {3, 0.6}, {4, 0.8}, {5, 0.8}, {6, 0.7}, {7, 0.75}};
  std::vector<std::string> changes;
  json refit = refit_spec(fixed, reports, "val_accuracy", true, changes);
  EXPECT_FALSE(refit["data"].contains("validation"));
  EXPECT_EQ(refit["data"]["train"], fixed["data"]["train"]);
  EXPECT_EQ(refit["train"]["epochs"], 4);
  EXPECT_FALSE(refit["train"].contains("early_stopping"));
  EXPECT_FALSE(refit["train"].contains("reduce_on_plateau"));
  EXPECT_EQ(refit["train"]["schedule"], fixed["train"]["schedule"]);
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_NE(changes[3].find("train.epochs 4"), std::string::npos) << changes[3];
  EXPECT_NE(changes[4].find("schedule now spans 4 epochs"), std::string::npos) << changes[4];

  // Minimising: the lowest report; the objective's metric is not the one early stopping
  // watched, or no best weights were restored: the last report's epoch.
  changes.clear();
  EXPECT_EQ(refit_spec(fixed, reports, "val_accuracy", false, changes)["train"]["epochs"], 1);
  changes.clear();
  EXPECT_EQ(refit_spec(fixed, reports, "val_loss", true, changes)["train"]["epochs"], 7);
  json no_restore = fixed;
  no_restore["train"]["early_stopping"]["restore_best"] = false;
  changes.clear();
  EXPECT_EQ(refit_spec(no_restore, reports, "val_accuracy", true, changes)["train"]["epochs"], 7);
  // No reports (cross-validation objective without per-epoch values): the epochs stay.
  changes.clear();
  EXPECT_EQ(refit_spec(fixed, {}, "val_accuracy", true, changes)["train"]["epochs"], 10);

  // A validation set of its own cannot go back into the training data.
  json own_file = fixed;
  own_file["data"]["validation"] = {{"csv", {{"path", "v.csv"}, {"label", "y"}}}};
  EXPECT_ERROR_CONTAINS(refit_spec(own_file, reports, "val_accuracy", true, changes), "data.validation",
                        "merge it into the training data");
}

TEST(TuneSpec, YamlQuotesStringsThatLookLikeOtherTypes) {
  const json root = {{"a", "true"}, {"b", "12"}, {"c", 1.0}, {"d", "plain"}, {"e", json::array({1, 2})}};
  const SpecTree back = parse_spec_tree(spec_to_yaml(root), "x.yaml");
  EXPECT_EQ(back.root, root);
  EXPECT_TRUE(back.root["c"].is_number_float());
}

TEST(TuneSpec, DurationParsing) {
  EXPECT_DOUBLE_EQ(parse_duration("600"), 600.0);
  EXPECT_DOUBLE_EQ(parse_duration("600s"), 600.0);
  EXPECT_DOUBLE_EQ(parse_duration("10m"), 600.0);
  EXPECT_DOUBLE_EQ(parse_duration("1h"), 3600.0);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h"), 5400.0);
  EXPECT_ERROR_CONTAINS(parse_duration("10 minutes please"), "cannot read the duration", "10m");
  EXPECT_ERROR_CONTAINS(parse_duration(""), "cannot read the duration");
  EXPECT_DOUBLE_EQ(parse_duration("1h30m"), 5400.0);
  EXPECT_DOUBLE_EQ(parse_duration("2 min"), 120.0);
  // A very long text is an error, not a stack overflow (std::regex recursed once per character).
  EXPECT_ERROR_CONTAINS(parse_duration(std::string(300000, '1')), "cannot read the duration");
  EXPECT_DOUBLE_EQ(parse_duration("0." + std::string(300000, '0') + "1s" + "2s"), 2.0);
}

// ---- every invalid space: message and line:column ----

void expect_invalid_train(const std::string& train_line, const std::vector<std::string>& parts) {
  // The train section is line 6 onwards; the bad value sits on line 7.
  const std::string text = spec_with(kModel, "  epochs: 2\n" + train_line);
  try {
    parse(text);
    ADD_FAILURE() << "accepted: " << train_line;
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

TEST(TuneSpec, EnqueuedPointsAreReadAndCheckedAgainstTheSpace) {
  const TuneSpec spec = parse(spec_with(kModel, kTrain,
                                        "  enqueue:\n"
                                        "    - {train.optimizer: adam, train.optimizer.adam.lr: 0.001}\n"
                                        "    - train.batch_size: 32\n"));
  ASSERT_EQ(spec.config.enqueue.size(), 2u);
  EXPECT_EQ(spec.config.enqueue[0], (json{{"train.optimizer", "adam"}, {"train.optimizer.adam.lr", 0.001}}));
  EXPECT_EQ(spec.config.enqueue[1], (json{{"train.batch_size", 32}}));
}

TEST(TuneSpecErrors, EnqueuedPointsNameParametersOfTheSpaceWithValuesInside) {
  // The tune section starts on line 13; the enqueued point is on line 15.
  auto expect_invalid = [](const std::string& point, const std::vector<std::string>& parts) {
    try {
      parse(spec_with(kModel, kTrain, "  enqueue:\n    - " + point + "\n"));
      ADD_FAILURE() << "accepted: " << point;
    } catch (const Error& e) {
      for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
    }
  };
  expect_invalid("{train.optimizer.adam.lrr: 0.001}", {"s.yaml:15:", "tune.enqueue[0].train.optimizer.adam.lrr",
                                                       "not a parameter of the search space", "train.optimizer.adam.lr"});
  expect_invalid("{train.optimizer.adam.lr: 0.5}", {"s.yaml:15:", "value 0.5 is outside the space", "[0.0001, 0.01]"});
  expect_invalid("{train.optimizer: rmsprop}", {"s.yaml:15:", "\"rmsprop\" is not one of the choices"});
  expect_invalid("{train.batch_size: 24}", {"s.yaml:15:", "train.batch_size", "not one of the choices"});
  expect_invalid("lr", {"s.yaml:15:", "tune.enqueue[0]"});
}

TEST(TuneSpecErrors, LowAboveHigh) {
  expect_invalid_train("  optimizer: {name: adam, lr: {float: [0.1, 0.01]}}\n", {"s.yaml:8:", "train.optimizer.lr", "low 0.1 > high 0.01"});
}

TEST(TuneSpecErrors, LogWithNonPositiveLow) {
  expect_invalid_train("  optimizer: {name: adam, lr: {float: [0, 0.1], log: true}}\n", {"s.yaml:8:", "log scale needs low > 0"});
}

TEST(TuneSpecErrors, EmptyChoice) {
  expect_invalid_train("  batch_size: {choice: []}\n", {"s.yaml:8:", "train.batch_size", "empty choice"});
}

TEST(TuneSpecErrors, StepDoesNotDivideRange) {
  expect_invalid_train("  batch_size: {int: [16, 100], step: 16}\n", {"s.yaml:8:", "step 16 does not divide"});
}

TEST(TuneSpecErrors, UnknownKeyInDistribution) {
  expect_invalid_train("  batch_size: {int: [16, 64], lgo: true}\n", {"s.yaml:8:", "unknown key 'lgo'", "log, step"});
}

TEST(TuneSpecErrors, BadBounds) {
  expect_invalid_train("  batch_size: {int: [16]}\n", {"s.yaml:8:", "expected [low, high]"});
  expect_invalid_train("  batch_size: {int: [1.5, 8]}\n", {"s.yaml:8:", "two integers"});
}

TEST(TuneSpecErrors, FloatWhereAnIntegerGoes) {
  expect_invalid_train("  batch_size: {float: [16, 64]}\n", {"s.yaml:8:", "train.batch_size", "use {int:"});
}

TEST(TuneSpecErrors, ValuesOutsideTheSchemaRange) {
  // The upper bound 1.5 is reported at its own column.
  try {
    parse(spec_with("  hidden: [8]\n  dropout: {float: [0.0, 1.5]}\n", "  epochs: 2\n"));
    ADD_FAILURE() << "accepted dropout up to 1.5";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml:6:26: model.dropout: must be >= 0 and < 1, got 1.5"), std::string::npos)
        << e.what();
  }
  expect_invalid_train("  optimizer: {name: adam, lr: {float: [0.0, 0.1]}}\n", {"s.yaml:8:", "train.optimizer.lr", "must be > 0"});
  expect_invalid_train("  optimizer: {choice: [adam, sgdd]}\n", {"s.yaml:8:", "unknown optimizer 'sgdd'", "did you mean 'sgd'"});
}

TEST(TuneSpecErrors, BadKeyInsideABranch) {
  expect_invalid_train("  optimizer: {choice: [{name: adam}, {name: sgd, momentm: 0.9}]}\n",
                       {"s.yaml:8:", "unknown key 'momentm'", "did you mean 'momentum'"});
}

TEST(TuneSpecErrors, DistributionWhereNotAllowed) {
  EXPECT_ERROR_CONTAINS(parse("data:\n  train: {csv: {path: {choice: [a.csv, b.csv]}, label: y}}\n"
                              "  validation: {split: 0.2}\nmodel: {hidden: [8]}\n"),
                        "s.yaml:2:", "data.train.csv.path", "cannot be tuned");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, "  epochs: 2\n") + "seed: {int: [1, 5]}\n"), "seed cannot be tuned");
  // A distribution in place of a whole mapping that is not a choice.
  expect_invalid_train("  early_stopping: {float: [1, 2]}\n", {"s.yaml:8:", "train.early_stopping"});
}

TEST(TuneSpecErrors, RepeatedListErrors) {
  EXPECT_ERROR_CONTAINS(parse(spec_with("  hidden: {each: {units: 8}}\n", "  epochs: 2\n")), "s.yaml:5:",
                        "missing required key 'count'");
  EXPECT_ERROR_CONTAINS(parse(spec_with("  hidden: {count: {int: [1, 2]}, each: {units: 8, dropot: 0.1}}\n", "  epochs: 2\n")),
                        "s.yaml:5:", "unknown key 'dropot'");
  EXPECT_ERROR_CONTAINS(parse(spec_with("  hidden: {count: -1, each: {units: 8}}\n", "  epochs: 2\n")), "s.yaml:5:",
                        "model.hidden.count", "between 0 and 10000");
}

TEST(TuneSpecErrors, TuneSection) {
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  sampler: tpee\n")), "s.yaml:14:", "tune.sampler",
                        "unknown sampler 'tpee'", "did you mean 'tpe'");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  trails: 5\n")), "s.yaml:14:", "unknown key 'trails'",
                        "did you mean 'trials'");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  timeout: soon\n")), "s.yaml:14:", "tune.timeout",
                        "cannot read the duration");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  jobs: 0\n")), "s.yaml:14:", "tune.jobs");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain), {"tune.trials=zero"}), "--set tune.trials=zero",
                        "expected an integer");
}

TEST(TuneSpecErrors, ValidationMetricNeedsValidationData) {
  EXPECT_ERROR_CONTAINS(parse("data: {train: {csv: {path: d.csv, label: y}}}\nmodel: {hidden: [8]}\n"),
                        "val_accuracy needs validation data");
  // Cross-validation provides it.
  EXPECT_NO_THROW(parse("data: {train: {csv: {path: d.csv, label: y}}}\nmodel: {hidden: [8]}\n"
                        "tune: {objective: {cv: {folds: 3}}}\n"));
}

TEST(TuneSpec, RegressionDefaultsToValidationLoss) {
  const TuneSpec s = parse("data: {train: {csv: {path: d.csv, label: y}}, validation: {split: 0.2}, task: regression}\n"
                           "model: {hidden: [8]}\ntrain: {loss: mse}\n");
  EXPECT_EQ(s.config.objective.metric, "val_loss");
  EXPECT_EQ(s.config.objective.direction, Direction::Minimize);
}

TEST(TuneSpec, HyperbandBudgetIsTheEpochs) {
  const TuneSpec s = parse(spec_with(kModel, "  epochs: {int: [2, 9]}\n", "  pruner: hyperband\n"));
  EXPECT_EQ(s.config.pruner.max_resource, 9);
}

TEST(TuneSpec, AbsolutizesRelativeDataPaths) {
  json root = json::parse(R"({"data": {"train": {"csv": {"path": "d.csv"}}, "test": {"idx": {"images": "/abs/i", "labels": "l"}}}})");
  absolutize_data_paths(root, "/base/dir");
  EXPECT_EQ(root["data"]["train"]["csv"]["path"], "/base/dir/d.csv");
  EXPECT_EQ(root["data"]["test"]["idx"]["images"], "/abs/i");
  EXPECT_EQ(root["data"]["test"]["idx"]["labels"], "/base/dir/l");
}

// Trials share data loaded once: run_training on pre-loaded data reads no file.
TEST(TuneSpec, RunTrainingOnPreloadedData) {
  testing::TempDir dir;
  std::string csv = "a,b,y\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i % 2 * 2.0 + (i % 3) * 0.1) + "," + std::to_string(i % 5) + "," + std::to_string(i % 2) + "\n";
  testing::write_file(dir.file("d.csv"), csv);
  const TrainingSpec spec = parse_spec("data: {train: {csv: {path: d.csv, label: y}}, validation: {split: 0.25}}\n"
                                       "model: {hidden: [4]}\ntrain: {epochs: 2, batch_size: 8}\n",
                                       "p.yaml", {}, dir.path().string());
  const SpecData data = load_spec_data(spec);
  const SpecData before = data;
  std::filesystem::remove(dir.file("d.csv"));
  TrainingOptions options;
  options.save = false;
  options.data = &data;
  const TrainingResult result = run_training(spec, {}, options);
  EXPECT_EQ(result.train_size, 30);
  EXPECT_EQ(result.validation_size, 10);
  EXPECT_EQ(result.history.epochs.size(), 2u);
  // The shared data is left as it was (scaling happens on the trial's copy).
  EXPECT_EQ(data.train.x.data()[0], before.train.x.data()[0]);
  options.data = nullptr;
  EXPECT_ERROR_CONTAINS(run_training(spec, {}, options), "d.csv");
}


TEST(TuneSpec, ObjectiveMetricDirectionAndTask) {
  EXPECT_EQ(parse(spec_with(kModel, kTrain, "  objective: {metric: val_f1}\n")).config.objective.direction,
            Direction::Maximize);
  const TuneSpec auc = parse(spec_with(kModel, kTrain, "  objective: {metric: val_roc_auc}\n"));
  EXPECT_EQ(auc.config.objective.metric, "val_auc");  // as the epochs report it
  EXPECT_EQ(auc.config.objective.direction, Direction::Maximize);
  EXPECT_EQ(parse(spec_with(kModel, kTrain, "  objective: {metric: val_top_3_accuracy}\n")).config.objective.direction,
            Direction::Maximize);
  EXPECT_EQ(parse(spec_with(kModel, kTrain, "  objective: {metric: val_f1, direction: minimize}\n"))
                .config.objective.direction,
            Direction::Minimize);
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  objective: {metric: val_f1s}\n")), "s.yaml:14:",
                        "tune.objective.metric: unknown metric 'val_f1s' (did you mean 'val_f1'?)");
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, kTrain, "  objective: {metric: val_r2}\n")),
                        "tune.objective.metric: val_r2 is measured for regression only");
  const std::string regression = "data: {train: {csv: {path: d.csv, label: y}}, validation: {split: 0.2}, task: regression}\n"
                                 "model: {hidden: [8]}\ntrain: {loss: mse}\n";
  EXPECT_ERROR_CONTAINS(parse(regression + "tune: {objective: {metric: val_auc}}\n"),
                        "tune.objective.metric: val_auc is measured for classification only");
  const TuneSpec r2 = parse(regression + "tune: {objective: {metric: val_r2}}\n");
  EXPECT_EQ(r2.config.objective.direction, Direction::Maximize);
  EXPECT_EQ(parse(regression + "tune: {objective: {metric: val_mae}}\n").config.objective.direction, Direction::Minimize);
}

TEST(TuneSpec, LearningRateIsTunableUnderItsKerasName) {
  const std::string train = "  optimizer: {name: adam, learning_rate: {float: [0.0001, 0.01], log: true}}\n  epochs: 2\n";
  const TuneSpec s = parse(spec_with(kModel, train));
  std::vector<std::string> names;
  const SpecTree fixed = sample(s.space, json::object(), &names);
  EXPECT_NE(std::find(names.begin(), names.end(), "train.optimizer.learning_rate"), names.end());
  EXPECT_DOUBLE_EQ(training_spec_of(fixed).train.optimizer.lr, 0.0001);
}

TEST(TuneSpec, ClassWeightsAndLabelSmoothingAreTunable) {
  const std::string train = "  class_weight: {0: 1, 1: {float: [1.0, 10.0], log: true}}\n"
                            "  label_smoothing: {float: [0.0, 0.2]}\n  epochs: 2\n";
  const TuneSpec s = parse(spec_with(kModel, train));
  std::vector<std::string> names;
  const TrainingSpec fixed = training_spec_of(sample(s.space, json{{"train.class_weight.1", 4.0}}, &names));
  EXPECT_NE(std::find(names.begin(), names.end(), "train.class_weight.1"), names.end());
  EXPECT_EQ(fixed.train.class_weight_map, (std::map<int64_t, double>{{0, 1.0}, {1, 4.0}}));
  EXPECT_DOUBLE_EQ(fixed.train.label_smoothing, 0.0);
  EXPECT_ERROR_CONTAINS(parse(spec_with(kModel, "  label_smoothing: {float: [0.0, 1.5]}\n")), "label_smoothing");
}

}  // namespace
}  // namespace nntune::tune
