// The nntune command line end to end, on a tiny CSV in a temporary directory. The binary is run
// through std::system with its output redirected to files.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

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
