// The nntune command line end to end, on a tiny CSV in a temporary directory. The binary is run
// through std::system with its output redirected to files.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <yaml-cpp/yaml.h>
#include <sstream>

#include "nn/gemm.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::CliRun;
using testing::run_nntune;
using testing::TempDir;

const char* const kSpec =
    "seed: 2\n"
    "data:\n"
    "  train: {csv: {path: data.csv, label: label}}\n"
    "  validation: {split: 0.2}\n"
    "  test: {last: 10}\n"
    "  scale: standard\n"
    "model: {hidden: [8]}\n"
    "train: {optimizer: {name: adam, lr: 0.05}, batch_size: 8, epochs: 3}\n";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir.file("data.csv"), testing::two_class_csv(60));
    testing::write_file(dir.file("spec.yaml"), kSpec);
  }
  TempDir dir;
};

// The text after "prefix: " on the line that starts with it.
std::string line_after(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  return "<no line starting with '" + prefix + "'>";
}

TEST_F(CliTest, TrainSaysWhichPrecisionTheProductsUsed) {
  // precision: bf16 allows bf16 where it is faster on this CPU: the user is told what ran.
  if (!gemm_precision_available(GemmPrecision::Bf16)) GTEST_SKIP() << "this CPU lacks AVX512_BF16";
  const CliRun bf16 = run_nntune(dir, "train spec.yaml --set train.precision=bf16 --output out --no-report");
  ASSERT_EQ(bf16.exit_code, 0) << bf16.out << bf16.err;
  const std::string used = line_after(bf16.out, "precision: ");
  EXPECT_TRUE(used.rfind("bf16", 0) == 0 || used.rfind("fp32: bf16 was allowed, but ", 0) == 0) << bf16.out;
  if (gemm_bf16_peak_ratio() < kBf16MinPeakRatio) {
    EXPECT_NE(used.find("every matrix product ran in fp32"), std::string::npos) << used;
  }
  const auto history = nlohmann::json::parse(testing::read_file(dir.file("out/history.json")));
  EXPECT_EQ(history["precision_used"], used);
  // fp32 runs say nothing extra on the terminal; history.json still records it.
  const CliRun fp32 = run_nntune(dir, "train spec.yaml --output out32 --no-report");
  ASSERT_EQ(fp32.exit_code, 0) << fp32.err;
  EXPECT_EQ(fp32.out.find("precision: "), std::string::npos) << fp32.out;
  EXPECT_EQ(nlohmann::json::parse(testing::read_file(dir.file("out32/history.json")))["precision_used"], "fp32");
}

TEST_F(CliTest, TrainEvalPredictEndToEnd) {
  const CliRun train = run_nntune(dir, "train spec.yaml --set train.epochs=4 --output out");
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  // Not a terminal: one plain line per epoch.
  EXPECT_NE(train.out.find("epoch 1/4  loss "), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("epoch 4/4  loss "), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("val_accuracy"), std::string::npos);
  EXPECT_NE(train.out.find("data: 40 train, 10 validation, 10 test samples"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("model: out/model.nnt"), std::string::npos);
  ASSERT_TRUE(std::filesystem::exists(dir.file("out/model.nnt")));
  ASSERT_TRUE(std::filesystem::exists(dir.file("out/history.json")));
  const auto history = nlohmann::json::parse(testing::read_file(dir.file("out/history.json")));
  EXPECT_EQ(history["overrides"], nlohmann::json({"train.epochs=4"}));
  EXPECT_EQ(history["epochs"].size(), 4u);

  const std::string test_line = line_after(train.out, "test: ");
  EXPECT_TRUE(std::regex_search(test_line, std::regex("^loss [0-9.]+  accuracy [0-9.]+ \\([0-9]+/10\\)$"))) << test_line;

  // eval on the spec's test set reproduces the printed test figures exactly.
  const CliRun eval = run_nntune(dir, "eval out/model.nnt --spec spec.yaml");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(line_after(eval.out, "eval: "), test_line);

  // eval on a CSV file with the same layout as in training (label column found by name).
  std::string tail = "a,b,label\n";
  std::istringstream rows(testing::two_class_csv(60));
  std::string row;
  for (int i = 0; std::getline(rows, row); ++i)
    if (i > 50) tail += row + "\n";
  testing::write_file(dir.file("test.csv"), tail);
  const CliRun eval_csv = run_nntune(dir, "eval out/model.nnt test.csv");
  ASSERT_EQ(eval_csv.exit_code, 0) << eval_csv.err;
  EXPECT_EQ(line_after(eval_csv.out, "eval: "), test_line);

  // predict writes one row per sample: the class and one probability per class.
  const CliRun predict = run_nntune(dir, "predict out/model.nnt test.csv -o predictions.csv");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  const std::string predictions = testing::read_file(dir.file("predictions.csv"));
  std::istringstream lines(predictions);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header, "class,p0,p1");
  int count = 0;
  for (std::string l; std::getline(lines, l);) {
    ++count;
    EXPECT_TRUE(std::regex_match(l, std::regex("[01],[-0-9.e]+,[-0-9.e]+"))) << l;
  }
  EXPECT_EQ(count, 10);

  // A features-only CSV works for predict too.
  testing::write_file(dir.file("features.csv"), "a,b\n0.1,1.0\n3.2,-1.0\n");
  const CliRun features = run_nntune(dir, "predict out/model.nnt features.csv");
  ASSERT_EQ(features.exit_code, 0) << features.err;
  EXPECT_EQ(std::count(features.out.begin(), features.out.end(), '\n'), 3) << features.out;
  EXPECT_NE(features.out.find("\n0,"), std::string::npos) << features.out;
  EXPECT_NE(features.out.find("\n1,"), std::string::npos) << features.out;
  // ... and is read as strictly as training data: no "1.5abc" read as 1.5, no NaN passed on.
  testing::write_file(dir.file("features.csv"), "a,b\n0.1,1.0\n1.5abc,-1.0\n");
  CliRun bad = run_nntune(dir, "predict out/model.nnt features.csv");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.err.find("features.csv', line 3, column 1: cell \"1.5abc\" is not a number"), std::string::npos) << bad.err;
  testing::write_file(dir.file("features.csv"), "a,b\n0.1,nan\n");
  bad = run_nntune(dir, "predict out/model.nnt features.csv");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.err.find("line 2, column 2"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("NaN"), std::string::npos) << bad.err;
}

TEST_F(CliTest, CrossValidationPrintsFoldScores) {
  const CliRun cv = run_nntune(dir, "cv spec.yaml --folds 3 --set train.epochs=2");
  ASSERT_EQ(cv.exit_code, 0) << cv.out << cv.err;
  for (const char* part : {"fold 1/3: loss ", "fold 2/3: ", "fold 3/3: ", "mean:   loss ", "stddev: loss ", "accuracy"})
    EXPECT_NE(cv.out.find(part), std::string::npos) << part << "\n" << cv.out;
}

TEST_F(CliTest, BadSpecExitsOneWithTheLocatedMessage) {
  testing::write_file(dir.file("bad.yaml"),
                      "data:\n  train: {csv: {path: data.csv}}\nmodel: {hidden: [8]}\ntrain: {optimizer: {name: adam, lr: -1}}\n");
  const CliRun run = run_nntune(dir, "train bad.yaml");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "nntune: bad.yaml:4:37: train.optimizer.lr: must be > 0, got -1\n");
  EXPECT_FALSE(std::filesystem::exists(dir.file("runs/bad/model.nnt")));

  const CliRun unknown_override = run_nntune(dir, "train spec.yaml --set train.optimiser.lr=1");
  EXPECT_EQ(unknown_override.exit_code, 1);
  EXPECT_NE(unknown_override.err.find("nntune: --set train.optimiser.lr=1: unknown key 'optimiser' in train (did you "
                                      "mean 'optimizer'?)"),
            std::string::npos)
      << unknown_override.err;

  const CliRun missing = run_nntune(dir, "train nothing.yaml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nntune: cannot read spec file 'nothing.yaml'"), std::string::npos) << missing.err;
}

TEST_F(CliTest, DivergenceExitsNonZeroAndWritesNoModel) {
  const CliRun run = run_nntune(dir, "train spec.yaml --set train.optimizer.lr=1e30 --set train.epochs=3 --output diverged");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.err.find("nntune: training diverged"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("no model was written"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("diverged/model.nnt")));
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run_nntune(dir, "").exit_code, 2);
  EXPECT_EQ(run_nntune(dir, "train").exit_code, 2);
  const CliRun bogus = run_nntune(dir, "frobnicate");
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_EQ(bogus.err.rfind("nntune: ", 0), 0u) << bogus.err;
  EXPECT_EQ(run_nntune(dir, "eval model.nnt").exit_code, 2);  // neither DATA nor --spec
}

TEST_F(CliTest, PrintSpecFillsInEveryDefaultAndReadsBackTheSame) {
  const CliRun run = run_nntune(dir, "train spec.yaml --print-spec --set train.epochs=2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("runs"))) << "--print-spec must not train";
  EXPECT_EQ(run.out.find("epoch 1/"), std::string::npos) << run.out;
  const YAML::Node printed = YAML::Load(run.out);
  // Given values stay, overrides are applied, defaults the spec left out are there.
  EXPECT_EQ(printed["train"]["batch_size"].as<int>(), 8);
  EXPECT_EQ(printed["train"]["epochs"].as<int>(), 2);
  EXPECT_EQ(printed["train"]["optimizer"]["lr"].as<double>(), 0.05);
  EXPECT_TRUE(printed["train"]["shuffle"].as<bool>());
  EXPECT_EQ(printed["train"]["optimizer"]["beta1"].as<double>(), 0.9);  // adam's own default
  EXPECT_EQ(printed["train"]["loss"].as<std::string>(), "categorical_crossentropy");  // from the task
  EXPECT_EQ(printed["model"]["activation"].as<std::string>(), "relu");
  EXPECT_EQ(printed["data"]["train"]["csv"]["delimiter"].as<std::string>(), ",");
  EXPECT_EQ(printed["output"]["dir"].as<std::string>(), "runs/spec");
  // The printed spec is a valid spec whose effective spec is itself, and it trains.
  testing::write_file(dir.file("effective.yaml"), run.out);
  const CliRun again = run_nntune(dir, "train effective.yaml --print-spec");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto body = [](const std::string& text) { return text.substr(text.find('\n') + 1); };  // after the comment line
  EXPECT_EQ(body(again.out), body(run.out));
  const CliRun trained = run_nntune(dir, "train effective.yaml -q --no-report -o eff");
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("eff/model.nnt")));
  // An explicit layers list: each layer gets its own defaults, and the shorthand's model-wide
  // keys (refused beside layers) are not added.
  testing::write_file(dir.file("layers.yaml"),
                      "data: {train: {csv: {path: data.csv, label: label}}}\n"
                      "model: {layers: [{type: dense, units: 4}, {type: dense, units: 2}]}\n");
  const CliRun layers = run_nntune(dir, "train layers.yaml --print-spec");
  ASSERT_EQ(layers.exit_code, 0) << layers.err;
  const YAML::Node model = YAML::Load(layers.out)["model"];
  EXPECT_FALSE(model["activation"]) << layers.out;
  EXPECT_EQ(model["layers"][0]["use_bias"].as<bool>(), true) << layers.out;
  testing::write_file(dir.file("layers_effective.yaml"), layers.out);
  const CliRun reread = run_nntune(dir, "train layers_effective.yaml --print-spec");
  EXPECT_EQ(reread.exit_code, 0) << reread.err;
  EXPECT_EQ(body(reread.out), body(layers.out));
}

TEST_F(CliTest, TrainOnATuningSpecSaysToUseTune) {
  testing::write_file(dir.file("tuning.yaml"),
                      std::string(kSpec) + "tune: {trials: 3}\n");
  testing::write_file(dir.file("space.yaml"),
                      "data: {train: {csv: {path: data.csv}}, validation: {split: 0.2}}\n"
                      "model: {hidden: [{units: {int: [2, 8]}}]}\n"
                      "train: {optimizer: {name: adam, lr: {float: [0.001, 0.1], log: true}}}\n");
  const CliRun space = run_nntune(dir, "train space.yaml");
  EXPECT_EQ(space.exit_code, 2);
  EXPECT_NE(space.err.find("space.yaml is a tuning spec: it has 2 distributions to tune (model.hidden[0].units, "
                           "train.optimizer.lr)"),
            std::string::npos)
      << space.err;
  EXPECT_NE(space.err.find("nntune tune space.yaml"), std::string::npos) << space.err;
  const CliRun with_tune = run_nntune(dir, "train tuning.yaml");
  EXPECT_EQ(with_tune.exit_code, 2);
  EXPECT_NE(with_tune.err.find("tuning.yaml is a tuning spec: it has a tune: section"), std::string::npos) << with_tune.err;
  // A spec that is wrong either way keeps its own located error.
  testing::write_file(dir.file("typo.yaml"), "data: {train: {csv: {path: data.csv}}}\nmodel: {hiden: [4]}\n");
  const CliRun typo = run_nntune(dir, "train typo.yaml");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("typo.yaml:2:9: "), std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("tuning spec"), std::string::npos) << typo.err;
}

// The option blocks of `nntune COMMAND --help`: one string per option (its wrapped lines joined).
std::vector<std::string> help_options(const std::string& help) {
  std::vector<std::string> options;
  std::istringstream in(help);
  bool in_options = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Options:") {
      in_options = true;
      continue;
    }
    if (!in_options) continue;
    if (line.empty() || (line[0] != ' ')) {
      in_options = false;
      continue;
    }
    if (line.rfind("  -", 0) == 0) options.push_back(line);
    else if (!options.empty()) options.back() += " " + line;
  }
  return options;
}

// Every command (as `nntune --help` lists them, so a new one is checked too) shows an example in
// its --help, and every option that takes a value says its default (or that it is required).
TEST_F(CliTest, EveryCommandHelpHasAnExampleAndStatesItsDefaults) {
  const CliRun top = run_nntune(dir, "--help");
  ASSERT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("Example"), std::string::npos) << top.out;
  std::vector<std::string> commands;
  std::istringstream in(top.out.substr(top.out.find("Subcommands:")));
  for (std::string line; std::getline(in, line);)
    if (line.size() > 2 && line.rfind("  ", 0) == 0 && line[2] != ' ') commands.push_back(line.substr(2, line.find(' ', 2) - 2));
  ASSERT_GE(commands.size(), 18u) << top.out;
  commands.push_back("storage upgrade");
  for (const std::string& command : commands) {
    const CliRun help = run_nntune(dir, command + " --help");
    ASSERT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("xample"), std::string::npos) << command << " --help has no example:\n" << help.out;
    for (const std::string& option : help_options(help.out)) {
      const bool takes_value = std::regex_search(option, std::regex("^  [-, a-zA-Z0-9]+ (TEXT|INT|UINT|FLOAT|NUMBER)"));
      if (!takes_value) continue;
      EXPECT_TRUE(option.find("default") != std::string::npos || option.find("REQUIRED") != std::string::npos ||
                  option.find("the same as STUDY") != std::string::npos)
          << "nntune " << command << ": the help of this option does not state its default:\n" << option;
    }
  }
}

TEST_F(CliTest, Version) {
  const CliRun run = run_nntune(dir, "--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("nntune 0.1.0"), std::string::npos) << run.out;
}

// The small CSV examples shipped in examples/ train (shortened here to stay fast).
TEST(CliExamples, SmallCsvExamplesTrain) {
  TempDir dir;
  for (const char* example : {"wine_classification", "boston_regression", "breast_cancer_shorthand"}) {
    const std::string spec = std::string(NNTUNE_SOURCE_DIR) + "/examples/" + example + ".yaml";
    if (!std::filesystem::exists("/usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv"))
      GTEST_SKIP() << "sklearn's CSV files are not installed";
    const CliRun run = run_nntune(dir, "train '" + spec + "' --quiet --set train.epochs=3 --output " + example);
    EXPECT_EQ(run.exit_code, 0) << example << ": " << run.err;
    EXPECT_NE(run.out.find("test: loss "), std::string::npos) << example << ": " << run.out;
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string(example) + "/model.nnt"))) << example;
  }
}


// A table as people have it: an id, text labels, a text column, missing cells, a quoted note.
TEST(CliTables, TrainEvalPredictOnARawTable) {
  TempDir dir;
  std::string csv = "name,size,color,note,species\n";
  const char* colors[] = {"red", "blue", "green"};
  const char* species[] = {"cat", "dog"};
  for (int i = 0; i < 40; ++i) {
    const int k = i % 2;
    const std::string size = i % 7 == 3 ? (i % 2 ? "NA" : "") : std::to_string(k * 3 + (i % 5) * 0.1);
    csv += "n" + std::to_string(i) + "," + size + "," + colors[(i + k) % 3] + ",\"a, b\"," + species[k] + "\n";
  }
  testing::write_file(dir.file("pets.csv"), csv);
  testing::write_file(dir.file("spec.yaml"),
                      "seed: 1\n"
                      "data:\n"
                      "  train: {csv: {path: pets.csv, label: species, id: name, drop: [note]}}\n"
                      "  test: {last: 8}\n"
                      "  impute: median\n"
                      "  missing_indicator: true\n"
                      "  scale: standard\n"
                      "model: {hidden: [8]}\n"
                      "train: {optimizer: {name: adam, lr: 0.05}, batch_size: 8, epochs: 5}\n");
  const CliRun train = run_nntune(dir, "train spec.yaml --output out --quiet");
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  const std::string test_line = line_after(train.out, "test: ");
  const CliRun eval = run_nntune(dir, "eval out/model.nnt --spec spec.yaml");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(line_after(eval.out, "eval: "), test_line);
  // The report's confusion matrix names the classes.
  EXPECT_NE(testing::read_file(dir.file("out/report.html")).find(">cat<"), std::string::npos);

  // predict on a file without the label column, its columns in another order.
  testing::write_file(dir.file("new.csv"), "color,name,size\nred,x1,0.1\nblue,\"x, 2\",\nred,x3,3.2\n");
  const CliRun predict = run_nntune(dir, "predict out/model.nnt new.csv -o pred.csv");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  const std::string pred = testing::read_file(dir.file("pred.csv"));
  EXPECT_EQ(pred.substr(0, pred.find('\n')), "name,class,prob_cat,prob_dog") << pred;
  EXPECT_TRUE(std::regex_search(pred, std::regex("\nx1,(cat|dog),[0-9.e-]+,[0-9.e-]+\n\"x, 2\",(cat|dog),"))) << pred;

  // An unseen category is refused naming the column, the value and the line.
  testing::write_file(dir.file("odd.csv"), "name,size,color\nq,1,purple\n");
  const CliRun odd = run_nntune(dir, "predict out/model.nnt odd.csv");
  EXPECT_EQ(odd.exit_code, 1);
  EXPECT_NE(odd.err.find("column 'color' has the category \"purple\" at line 2"), std::string::npos) << odd.err;
  // A column the model needs is missing from the file: named, with the file's columns.
  testing::write_file(dir.file("short.csv"), "name,color\nq,red\n");
  const CliRun missing = run_nntune(dir, "predict out/model.nnt short.csv");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("feature column 'size' is not in the header"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("short.csv"), std::string::npos) << missing.err;
}

TEST(CliTables, MultiOutputRegressionNamesItsTargets) {
  TempDir dir;
  std::string csv = "x,t1,t2\n";
  for (int i = 0; i < 30; ++i) csv += std::to_string(i * 0.1) + "," + std::to_string(i * 0.2) + "," + std::to_string(1 - i * 0.1) + "\n";
  testing::write_file(dir.file("r.csv"), csv);
  testing::write_file(dir.file("spec.yaml"),
                      "data:\n  train: {csv: {path: r.csv, label: [t1, t2]}}\n  task: regression\n"
                      "model: {hidden: [4]}\ntrain: {epochs: 2}\n");
  const CliRun train = run_nntune(dir, "train spec.yaml --output out --quiet --no-report");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const CliRun predict = run_nntune(dir, "predict out/model.nnt r.csv");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_EQ(predict.out.substr(0, predict.out.find('\n')), "t1,t2");
}


// The README's "Your own data" commands on examples/flowers.yaml (shortened).
TEST(CliExamples, OwnDataFlowersTrainEvalPredictExport) {
  TempDir dir;
  const std::string root = NNTUNE_SOURCE_DIR;
  const std::string spec = "'" + root + "/examples/flowers.yaml'";
  const std::string holdout = "'" + root + "/examples/data/flowers_holdout.csv'";
  const CliRun train = run_nntune(dir, "train " + spec + " --quiet --set train.epochs=3 --output flowers");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const CliRun eval = run_nntune(dir, "eval flowers/model.nnt " + holdout);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("samples: 20"), std::string::npos) << eval.out;
  // The per-class table and the JSON name the classes.
  EXPECT_NE(eval.out.find("   setosa "), std::string::npos) << eval.out;
  const CliRun json_eval = run_nntune(dir, "eval flowers/model.nnt " + holdout + " --format json");
  ASSERT_EQ(json_eval.exit_code, 0) << json_eval.err;
  EXPECT_EQ(nlohmann::json::parse(json_eval.out).at("class_names"),
            (nlohmann::json{"setosa", "versicolor", "virginica"}));
  const CliRun predict = run_nntune(dir, "predict flowers/model.nnt " + holdout);
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_EQ(predict.out.substr(0, predict.out.find('\n')), "plant_id,class,prob_setosa,prob_versicolor,prob_virginica");
  // The README's export: the text column is one-hot encoded inside the graph, from a string input
  // (tests/onnx_export_test.py checks the graph's numbers).
  const CliRun exported = run_nntune(dir, "export flowers/model.nnt -o f.onnx");
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  const std::string bytes = testing::read_file(dir.file("f.onnx"));
  EXPECT_NE(bytes.find("OneHotEncoder"), std::string::npos);
  EXPECT_NE(bytes.find("text_input"), std::string::npos);
}

TEST_F(CliTest, EvalPrintsTheTaskMetricsPerClassAndAsJson) {
  const CliRun train = run_nntune(dir, "train spec.yaml --set 'train.metrics=[f1]' --output out --no-report");
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  const std::string test_line = line_after(train.out, "test: ");
  EXPECT_NE(test_line.find("  f1 "), std::string::npos) << test_line;  // train.metrics reach the test figures
  EXPECT_NE(train.out.find("val_f1"), std::string::npos);

  const CliRun eval = run_nntune(dir, "eval out/model.nnt --spec spec.yaml");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(line_after(eval.out, "eval: "), test_line);
  const std::string more = line_after(eval.out, "more: ");
  for (const char* name : {"auc ", "precision ", "recall "}) EXPECT_NE(more.find(name), std::string::npos) << more;
  EXPECT_NE(eval.out.find("     class  precision     recall         f1        auc    support"), std::string::npos)
      << eval.out;

  const CliRun json_run = run_nntune(dir, "eval out/model.nnt --spec spec.yaml --format json --top-k 1");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto j = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(j["task"], "classification");
  EXPECT_EQ(j["samples"], 10);
  EXPECT_EQ(j["classes"], 2);
  for (const char* key : {"precision", "recall", "f1", "auc", "support"}) ASSERT_EQ(j["per_class"][key].size(), 2u) << key;
  // The confusion matrix holds every sample; its diagonal is the accuracy, each row the support.
  int64_t total = 0, diagonal = 0;
  for (int t = 0; t < 2; ++t)
    for (int p = 0; p < 2; ++p) {
      total += j["confusion_matrix"][t][p].get<int64_t>();
      if (t == p) diagonal += j["confusion_matrix"][t][p].get<int64_t>();
    }
  EXPECT_EQ(total, 10);
  EXPECT_EQ(j["per_class"]["support"][0].get<int64_t>() + j["per_class"]["support"][1].get<int64_t>(), 10);
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy"].get<double>(), static_cast<double>(diagonal) / 10.0);
  EXPECT_DOUBLE_EQ(j["metrics"]["top_1_accuracy"].get<double>(), j["metrics"]["accuracy"].get<double>());
  // Two classes: f1 is class 1's.
  EXPECT_DOUBLE_EQ(j["metrics"]["f1"].get<double>(), j["per_class"]["f1"][1].get<double>());

  EXPECT_EQ(run_nntune(dir, "eval out/model.nnt --spec spec.yaml --format xml").exit_code, 2);
}

TEST_F(CliTest, MetricOfTheOtherTaskIsRefusedBeforeTraining) {
  const CliRun r = run_nntune(dir, "train spec.yaml --set 'train.early_stopping={monitor: val_r2}' --output out");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("train.early_stopping.monitor: val_r2 is measured for regression only"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/model.nnt")));
}

}  // namespace
}  // namespace nntune
