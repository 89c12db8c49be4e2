// The metrics people report, against values worked out by hand (scikit-learn's documented
// examples among them: scikit-learn is not installed here, so each expected value is derived in
// the comment or in the test from its definition, never taken from the code under test).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nntune/loss.hpp"
#include "nntune/metrics.hpp"
#include "nntune/model.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"
#include "train/train_internal.hpp"

namespace nntune {
namespace {

// ---------------------------------------------------------------- ROC AUC

TEST(RocAuc, ScikitLearnDocumentedExample) {
  // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75: of the 4 (positive, negative)
  // pairs, (0.35, 0.4) is the only one ordered wrongly.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), 0.75);
}

TEST(RocAuc, TiesCountOneHalf) {
  // Positives 0.5 and 0.9, negatives 0.1 and 0.5: 1 + 0.5 (the tie) + 1 + 1 = 3.5 of 4 pairs.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.5, 0.5, 0.9}, {false, true, false, true}), 0.875);
  // Everything tied: no information, 0.5.
  EXPECT_DOUBLE_EQ(roc_auc({2, 2, 2, 2, 2}, {true, false, true, false, false}), 0.5);
  // Perfect and reversed.
  EXPECT_DOUBLE_EQ(roc_auc({1, 2, 3, 4}, {false, false, true, true}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({4, 3, 2, 1}, {false, false, true, true}), 0.0);
}

TEST(RocAuc, EqualsThePairCountOnRandomScoresWithManyTies) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> score(0, 9), label(0, 2);
  for (int round = 0; round < 20; ++round) {
    std::vector<double> s;
    std::vector<bool> positive;
    for (int i = 0; i < 57; ++i) {
      s.push_back(score(rng) / 10.0);  // 10 distinct values: many ties
      positive.push_back(label(rng) == 0);
    }
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < s.size(); ++i)
      for (size_t j = 0; j < s.size(); ++j)
        if (positive[i] && !positive[j]) {
          pairs += 1;
          wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
    EXPECT_NEAR(roc_auc(s, positive), wins / pairs, 1e-12) << "round " << round;
  }
}

TEST(RocAuc, UndefinedWithOneClass) {
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.2}, {true, true})));
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.2}, {false, false})));
  EXPECT_ERROR_CONTAINS(roc_auc({0.1}, {true, false}), "1 scores but 2 labels");
}

// ---------------------------------------------------------------- precision, recall, f1

TEST(ClassificationMetrics, ScikitLearnDocumentedMacroExample) {
  // precision_recall_fscore_support(y_true, y_pred, average='macro') with
  // y_true = [cat, dog, pig, cat, dog, pig], y_pred = [cat, pig, dog, cat, cat, dog]
  // = (0.22, 0.33, 0.26): cat is predicted 3 times (2 right) and is 2 samples (both found):
  // precision 2/3, recall 1, f1 0.8; dog and pig are never predicted right: 0, 0, 0.
  const ClassificationMetrics m = classification_metrics({0, 1, 2, 0, 1, 2}, {0, 2, 1, 0, 0, 1}, 3);
  EXPECT_EQ(m.precision, (std::vector<double>{2.0 / 3.0, 0.0, 0.0}));
  EXPECT_EQ(m.recall, (std::vector<double>{1.0, 0.0, 0.0}));
  EXPECT_NEAR(m.f1[0], 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(m.macro_precision, 2.0 / 9.0);
  EXPECT_DOUBLE_EQ(m.macro_recall, 1.0 / 3.0);
  EXPECT_NEAR(m.macro_f1, 0.8 / 3.0, 1e-15);
  // Three classes: the headline figures are the macro ones.
  EXPECT_DOUBLE_EQ(m.f1_avg, m.macro_f1);
  EXPECT_EQ(m.support, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_DOUBLE_EQ(m.accuracy, 2.0 / 6.0);
  EXPECT_EQ(m.confusion[0], (std::vector<int64_t>{2, 0, 0}));
  EXPECT_EQ(m.confusion[1], (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(m.confusion[2], (std::vector<int64_t>{0, 2, 0}));  // both pigs taken for dogs
  EXPECT_FALSE(m.has_scores);
}

TEST(ClassificationMetrics, BinaryReportsClassOneAndMacroSeparately) {
  // Class 1: TP at 1, 4, 5; FP at 3; FN at 2 -> precision 3/4, recall 3/4, f1 3/4.
  // Class 0: TP at 0, 6; FP at 2; FN at 3 -> 2/3 each.
  const ClassificationMetrics m = classification_metrics({0, 1, 1, 0, 1, 1, 0}, {0, 1, 0, 1, 1, 1, 0}, 2);
  EXPECT_DOUBLE_EQ(m.precision_avg, 0.75);
  EXPECT_DOUBLE_EQ(m.recall_avg, 0.75);
  EXPECT_DOUBLE_EQ(m.f1_avg, 0.75);
  EXPECT_DOUBLE_EQ(m.precision[0], 2.0 / 3.0);
  EXPECT_NEAR(m.macro_f1, (0.75 + 2.0 / 3.0) / 2.0, 1e-15);
}

TEST(ClassificationMetrics, ZeroDivisionGivesZeroAndAucPerClass) {
  // Class 2 is never predicted and has one sample: precision 0 (nothing predicted), recall 0.
  const std::vector<int64_t> labels = {0, 1, 2, 0};
  const std::vector<float> p = {0.8f, 0.1f, 0.1f,   // 0
                                0.2f, 0.7f, 0.1f,   // 1
                                0.5f, 0.2f, 0.3f,   // 2, predicted 0
                                0.6f, 0.3f, 0.1f};  // 0
  const ClassificationMetrics m = classification_metrics(labels, {0, 1, 0, 0}, 3, p);
  EXPECT_EQ(m.precision[2], 0.0);
  EXPECT_EQ(m.recall[2], 0.0);
  EXPECT_EQ(m.f1[2], 0.0);
  // One-vs-rest by hand: class 0 scores (0.8, 0.6) vs (0.2, 0.5): all 4 pairs right -> 1.
  // Class 1: 0.7 vs (0.1, 0.2, 0.3) -> 1. Class 2: 0.3 vs (0.1, 0.1, 0.1) -> 1.
  EXPECT_EQ(m.auc, (std::vector<double>{1.0, 1.0, 1.0}));
  EXPECT_DOUBLE_EQ(m.auc_avg, 1.0);
  // A class without samples has no AUC; the macro average is over the defined ones.
  const ClassificationMetrics absent = classification_metrics({0, 1, 0}, {0, 1, 1}, 3,
                                                              {0.9f, 0.05f, 0.05f, 0.2f, 0.7f, 0.1f, 0.4f, 0.5f, 0.1f});
  EXPECT_TRUE(std::isnan(absent.auc[2]));
  // Class 0: (0.9, 0.4) vs 0.2 -> 1; class 1: 0.7 vs (0.05, 0.5) -> 1.
  EXPECT_DOUBLE_EQ(absent.auc_avg, 1.0);
}

TEST(ClassificationMetrics, BinaryAucFromClassOneLogits) {
  // Logits rank as probabilities do: the documented example again, as logits.
  auto logit = [](double p) { return static_cast<float>(std::log(p / (1 - p))); };
  const ClassificationMetrics m =
      classification_metrics({0, 0, 1, 1}, {0, 0, 0, 1}, 2, {logit(0.1), logit(0.4), logit(0.35), logit(0.8)});
  EXPECT_DOUBLE_EQ(m.auc_avg, 0.75);
  EXPECT_DOUBLE_EQ(m.auc[0], 0.75);  // class 0's AUC mirrors class 1's
}

TEST(ClassificationMetrics, BadInputSaysWhat) {
  EXPECT_ERROR_CONTAINS(classification_metrics({0, 3}, {0, 1}, 3), "sample 1 has class 3", "outside 0..2");
  EXPECT_ERROR_CONTAINS(classification_metrics({0}, {0, 1}, 3), "1 labels but 2 predictions");
  EXPECT_ERROR_CONTAINS(classification_metrics({0, 1}, {0, 1}, 3, {0.1f, 0.2f}), "give n x classes");
}

// ---------------------------------------------------------------- top-k

TEST(TopKAccuracy, ScikitLearnDocumentedExample) {
  // top_k_accuracy_score([0, 1, 2, 2], scores, k=2) = 0.75: the last sample's class 2 has the
  // lowest score.
  const std::vector<float> scores = {0.5f, 0.2f, 0.2f, 0.3f, 0.4f, 0.2f, 0.2f, 0.4f, 0.3f, 0.7f, 0.2f, 0.1f};
  EXPECT_DOUBLE_EQ(top_k_accuracy({0, 1, 2, 2}, scores, 3, 2), 0.75);
  // k = 1 is accuracy (argmax 0, 1, 1, 0 against 0, 1, 2, 2); k = 3 takes every class.
  EXPECT_DOUBLE_EQ(top_k_accuracy({0, 1, 2, 2}, scores, 3, 1), 0.5);
  EXPECT_DOUBLE_EQ(top_k_accuracy({0, 1, 2, 2}, scores, 3, 3), 1.0);
}

TEST(TopKAccuracy, TiesGoToTheLowerClassAsArgmax) {
  const std::vector<float> tied = {0.5f, 0.5f, 0.0f};
  EXPECT_DOUBLE_EQ(top_k_accuracy({0}, tied, 3, 1), 1.0);
  EXPECT_DOUBLE_EQ(top_k_accuracy({1}, tied, 3, 1), 0.0);
  EXPECT_DOUBLE_EQ(top_k_accuracy({1}, tied, 3, 2), 1.0);
  EXPECT_ERROR_CONTAINS(top_k_accuracy({0}, tied, 3, 0), "k must be >= 1");
}

// ---------------------------------------------------------------- regression

TEST(RegressionMetrics, ScikitLearnDocumentedExamples) {
  // r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.948...: SS_res = 0.25 + 0.25 + 0 + 1 = 1.5,
  // mean 2.875, SS_tot = 0.125^2 + 3.375^2 + 0.875^2 + 4.125^2 = 29.1875.
  // mean_absolute_error = 0.5, mean_squared_error = 0.375 on the same data.
  const RegressionMetrics m = regression_metrics(Tensor({4, 1}, {2.5f, 0.0f, 2.0f, 8.0f}), Tensor({4, 1}, {3.0f, -0.5f, 2.0f, 7.0f}));
  EXPECT_NEAR(m.r2, 1.0 - 1.5 / 29.1875, 1e-12);
  EXPECT_NEAR(m.r2, 0.948, 1e-3);
  EXPECT_DOUBLE_EQ(m.mae, 0.5);
  EXPECT_DOUBLE_EQ(m.mse, 0.375);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(0.375));
}

TEST(RegressionMetrics, SeveralOutputsAverageTheirR2) {
  // r2_score([[0.5, 1], [-1, 1], [7, -6]], [[0, 2], [-1, 2], [8, -5]]) = 0.936... (uniform average).
  // Output 0: SS_res 0.25 + 0 + 1, mean 13/6; output 1: SS_res 3, mean -4/3.
  const Tensor truth({3, 2}, {0.5f, 1.0f, -1.0f, 1.0f, 7.0f, -6.0f}), pred({3, 2}, {0.0f, 2.0f, -1.0f, 2.0f, 8.0f, -5.0f});
  const RegressionMetrics m = regression_metrics(pred, truth);
  const double m0 = 6.5 / 3.0, m1 = -4.0 / 3.0;
  const double tot0 = (0.5 - m0) * (0.5 - m0) + (-1 - m0) * (-1 - m0) + (7 - m0) * (7 - m0);
  const double tot1 = 2 * (1 - m1) * (1 - m1) + (-6 - m1) * (-6 - m1);
  EXPECT_NEAR(m.r2_per_output[0], 1 - 1.25 / tot0, 1e-12);
  EXPECT_NEAR(m.r2_per_output[1], 1 - 3.0 / tot1, 1e-12);
  EXPECT_NEAR(m.r2, 0.936, 1e-3);
  EXPECT_NEAR(m.mae_per_output[1], 1.0, 1e-12);
}

TEST(RegressionMetrics, ConstantTargets) {
  // scikit-learn's force_finite: 1 when predicted exactly, else 0.
  EXPECT_EQ(regression_metrics(Tensor({2, 1}, {1.0f, 1.0f}), Tensor({2, 1}, {1.0f, 1.0f})).r2, 1.0);
  EXPECT_EQ(regression_metrics(Tensor({2, 1}, {1.0f, 2.0f}), Tensor({2, 1}, {1.0f, 1.0f})).r2, 0.0);
}

// ---------------------------------------------------------------- the catalog

TEST(MetricCatalog, NamesDirectionsAndTasks) {
  EXPECT_TRUE(metric_maximized("val_auc"));
  EXPECT_TRUE(metric_maximized("f1"));
  EXPECT_TRUE(metric_maximized("val_r2"));
  EXPECT_TRUE(metric_maximized("top_5_accuracy"));
  EXPECT_FALSE(metric_maximized("val_mae"));
  EXPECT_FALSE(metric_maximized("rmse"));
  EXPECT_FALSE(metric_maximized("val_loss"));
  const MetricName top = parse_metric_name("val_top_12_accuracy");
  ASSERT_NE(top.info, nullptr);
  EXPECT_TRUE(top.validation);
  EXPECT_EQ(top.k, 12);
  EXPECT_EQ(top.base, "top_12_accuracy");
  EXPECT_EQ(parse_metric_name("top_0_accuracy").info, nullptr);
  EXPECT_EQ(parse_metric_name("top_x_accuracy").info, nullptr);
  EXPECT_EQ(canonical_metric_name("val_roc_auc"), "val_auc");
  EXPECT_EQ(metric_task_problem("val_auc", false), "val_auc is measured for classification only; for regression use "
                                                   "loss, mae, mse, rmse, r2");
  EXPECT_NE(metric_task_problem("r2", true).find("r2 is measured for regression only"), std::string::npos);
  EXPECT_EQ(metric_task_problem("loss", false), "");
  EXPECT_ERROR_CONTAINS(require_metric("val_f2", "early stopping"),
                        "early stopping: unknown metric 'val_f2' (did you mean 'val_f1'?)", "top_K_accuracy");
  EXPECT_TRUE(train_detail::maximize("auto", "val_auc", "x"));
  EXPECT_FALSE(train_detail::maximize("auto", "val_rmse", "x"));
}

// ---------------------------------------------------------------- through evaluate and fit

TEST(MetricAccumulator, EvaluatePredictionsMatchesThePureFunctions) {
  // Probabilities of 3 classes (as predict() gives them) for 5 samples.
  const std::vector<float> p = {0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f, 0.3f, 0.3f, 0.4f,
                                0.5f, 0.4f, 0.1f, 0.2f, 0.45f, 0.35f};
  const std::vector<int64_t> labels = {0, 1, 2, 1, 2};
  Tensor predictions({5, 3}, p), targets({5, 1}, {0, 1, 2, 1, 2});
  const auto loss = make_loss("categorical_crossentropy");
  const Metrics m = evaluate_predictions(*loss, predictions, targets, {"f1", "auc", "top_2_accuracy", "macro_recall"});
  const ClassificationMetrics want = classification_metrics(labels, {0, 1, 2, 0, 1}, 3, p);
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.6);
  EXPECT_NEAR(m.at("f1"), want.macro_f1, 1e-12);
  EXPECT_NEAR(m.at("macro_recall"), want.macro_recall, 1e-12);
  // AUC on the probabilities (the accumulator renormalises softmax(log p) = p, to float precision).
  EXPECT_NEAR(m.at("auc"), want.auc_avg, 1e-6);
  // Sample 3 (class 1, scores 0.5 / 0.4 / 0.1) is right in the top 2; sample 4 (class 2, 0.35
  // against 0.45 and 0.2) too: every sample -> 1. (No score ties a positive with a negative, so
  // float rounding in the softmax cannot move the AUC.)
  EXPECT_DOUBLE_EQ(m.at("top_2_accuracy"), 1.0);
  EXPECT_EQ(m.count("precision"), 0u);  // only what was asked
  EXPECT_ERROR_CONTAINS(evaluate_predictions(*loss, predictions, targets, {"r2"}), "r2 is measured for regression only");
  EXPECT_ERROR_CONTAINS(evaluate_predictions(*loss, predictions, targets, {"val_f1"}), "name it without val_");

  const auto mse = make_loss("mse");
  const Metrics r = evaluate_predictions(*mse, Tensor({4, 1}, {2.5f, 0.0f, 2.0f, 8.0f}), Tensor({4, 1}, {3.0f, -0.5f, 2.0f, 7.0f}),
                                         {"r2", "mse"});
  EXPECT_NEAR(r.at("r2"), 1.0 - 1.5 / 29.1875, 1e-12);
  EXPECT_DOUBLE_EQ(r.at("mse"), 0.375);
}

TEST(MetricAccumulator, RegressionR2AcrossBatchesEqualsOnePass) {
  // The accumulator's running mean (several batches) against regression_metrics in one pass.
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(5.0f, 2.0f);
  Tensor pred({40, 2}), truth({40, 2});
  for (int64_t i = 0; i < 80; ++i) {
    truth[i] = normal(rng);
    pred[i] = truth[i] + 0.5f * (normal(rng) - 5.0f);
  }
  const auto loss = make_loss("mse");
  train_detail::MetricAccumulator acc(*loss, {"r2"});
  for (int64_t b = 0; b < 40; b += 16) {
    const int64_t end = std::min<int64_t>(40, b + 16);
    Tensor p({end - b, 2}, std::vector<float>(pred.data() + b * 2, pred.data() + end * 2));
    Tensor t({end - b, 2}, std::vector<float>(truth.data() + b * 2, truth.data() + end * 2));
    acc.add(p, t, 0.0);
  }
  Metrics m;
  acc.write(m, "val_");
  EXPECT_NEAR(m.at("val_r2"), regression_metrics(pred, truth).r2, 1e-12);
}

TEST(MetricAccumulator, BinaryLogitsGiveClassOneFigures) {
  // Logits of one-output binary cross-entropy: predicted 1 when > 0.
  const Tensor logits({4, 1}, {-2.0f, 0.5f, -0.1f, 3.0f}), labels({4, 1}, {0, 0, 1, 1});
  const auto loss = make_loss("binary_crossentropy");
  train_detail::MetricAccumulator acc(*loss, {"precision", "recall", "auc", "macro_f1"});
  acc.add(logits, labels, 0.0);
  Metrics m;
  acc.write(m, "");
  // Predicted 0, 1, 0, 1: class 1 TP 1, FP 1, FN 1 -> precision 1/2, recall 1/2.
  EXPECT_DOUBLE_EQ(m.at("precision"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("recall"), 0.5);
  // Positives (-0.1, 3) vs negatives (-2, 0.5): 3 of 4 pairs right.
  EXPECT_DOUBLE_EQ(m.at("auc"), 0.75);
  EXPECT_DOUBLE_EQ(m.at("macro_f1"), 0.5);
  // Multi-label outputs have no single class per sample.
  train_detail::MetricAccumulator multi(*loss, {"f1"});
  EXPECT_ERROR_CONTAINS(multi.add(Tensor({1, 2}, {0.1f, 0.2f}), Tensor({1, 2}, {0, 1}), 0.0), "multi-label");
}

// Two Gaussian blobs, 2-D.
Dataset blobs(int64_t per_class, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.7f);
  Dataset d;
  d.x = Tensor({2 * per_class, 2});
  d.y = Tensor({2 * per_class, 1});
  for (int64_t i = 0; i < 2 * per_class; ++i) {
    const float c = i % 2 == 0 ? -1.0f : 1.0f;
    d.x[2 * i] = c + noise(rng);
    d.x[2 * i + 1] = c + noise(rng);
    d.y[i] = i % 2 == 0 ? 0.0f : 1.0f;
  }
  d.num_classes = 2;
  d.task = Task::Classification;
  return d;
}

Network small_network(int64_t outputs) {
  Network net;
  net.add(make_layer({{"type", "dense"}, {"units", 8}, {"activation", "tanh"}}));
  net.add(make_layer({{"type", "dense"}, {"units", outputs}}));
  Rng rng(1);
  net.build({2}, rng);
  return net;
}

TEST(FitMetrics, WatchedAndConfiguredMetricsAreReportedEachEpoch) {
  const Dataset train = blobs(30, 1), validation = blobs(10, 2);
  Network net = small_network(2);
  TrainConfig config;
  config.epochs = 3;
  config.optimizer.lr = 0.05;
  config.metrics = {"f1", "top_1_accuracy"};
  EarlyStoppingConfig es;
  es.monitor = "val_roc_auc";  // an alias: reported as val_auc, maximised
  es.patience = 10;
  auto stopper = make_early_stopping(es);
  const History h = fit(net, train, &validation, config, {stopper.get()});
  for (const EpochLog& e : h.epochs) {
    for (const char* key : {"f1", "val_f1", "auc", "val_auc", "top_1_accuracy", "val_top_1_accuracy"})
      EXPECT_EQ(e.metrics.count(key), 1u) << key << " at epoch " << e.epoch;
    // top_1 is accuracy by construction.
    EXPECT_DOUBLE_EQ(e.metrics.at("val_top_1_accuracy"), e.metrics.at("val_accuracy"));
  }
  // Maximised: the best epoch is the one with the highest val_auc (first of equals).
  int64_t best = 1;
  for (const EpochLog& e : h.epochs)
    if (e.metrics.at("val_auc") > h.epochs[static_cast<size_t>(best - 1)].metrics.at("val_auc")) best = e.epoch;
  EXPECT_EQ(h.best_epoch, best);

  TrainConfig bad = config;
  bad.metrics = {"r2"};
  Network net2 = small_network(2);
  EXPECT_ERROR_CONTAINS(fit(net2, train, &validation, bad), "r2 is measured for regression only");
  bad.metrics = {"f11"};
  EXPECT_ERROR_CONTAINS(fit(net2, train, &validation, bad), "unknown metric 'f11'", "did you mean 'f1'");
}

// ---------------------------------------------------------------- class weights

TEST(ClassWeights, BalancedIsNOverClassesTimesCount) {
  Dataset d;
  d.y = Tensor({4, 1}, {0, 0, 0, 1});
  TrainConfig c;
  c.class_weight = "balanced";
  // 4 samples, 2 classes: class 0 (3 samples) 4 / (2 * 3), class 1 (1 sample) 4 / (2 * 1).
  EXPECT_EQ(resolve_class_weights(c, d, 2), (std::vector<double>{4.0 / 6.0, 2.0}));
  EXPECT_ERROR_CONTAINS(resolve_class_weights(c, d, 3), "class 2 has no training sample");
  c.class_weight = "explicit";
  c.class_weight_map = {{1, 5.0}};
  EXPECT_EQ(resolve_class_weights(c, d, 3), (std::vector<double>{1.0, 5.0, 1.0}));
  c.class_weight_map = {{3, 5.0}};
  EXPECT_ERROR_CONTAINS(resolve_class_weights(c, d, 3), "class 3 does not exist", "3 classes (0..2)");
  c.class_weight_map.clear();
  c.class_weights = {1.0, 2.0};
  EXPECT_ERROR_CONTAINS(resolve_class_weights(c, d, 3), "2 weights listed but the model has 3 classes");
  c.class_weight = "none";
  EXPECT_TRUE(resolve_class_weights(c, d, 3).empty());
  // One-hot rows count by their argmax.
  Dataset one_hot;
  one_hot.y = Tensor({3, 2}, {1, 0, 0, 1, 0, 1});
  c.class_weight = "balanced";
  EXPECT_EQ(resolve_class_weights(c, one_hot, 2), (std::vector<double>{1.5, 0.75}));
}

TEST(ClassWeights, ValidationLossIsUnweighted) {
  // The same run with and without class weights: val_loss is the plain loss of each network,
  // which evaluate() (never weighted) reproduces.
  const Dataset train = blobs(20, 3), validation = blobs(8, 4);
  Network net = small_network(2);
  TrainConfig config;
  config.epochs = 2;
  config.class_weight = "explicit";
  config.class_weights = {1.0, 4.0};
  config.label_smoothing = 0.2;
  const History h = fit(net, train, &validation, config);
  const auto plain = make_loss("categorical_crossentropy");
  EXPECT_DOUBLE_EQ(h.epochs.back().metrics.at("val_loss"), evaluate(net, *plain, validation).at("loss"));
}


// ---------------------------------------------------------------- the evaluation report

TEST(EvaluationReport, RegressionPerOutputAndJsonShape) {
  Model model;
  model.network = small_network(2);
  model.loss = "mse";
  model.task = Task::Regression;
  Dataset data = blobs(6, 7);
  data.task = Task::Regression;
  data.y = Tensor({12, 2});
  for (int64_t i = 0; i < 24; ++i) data.y[i] = static_cast<float>(i % 5) * 0.3f;
  const EvaluationReport r = evaluate_model_report(model, data);
  const RegressionMetrics want = regression_metrics(predict(model, data.x), data.y);
  EXPECT_NEAR(r.metrics.at("r2"), want.r2, 1e-9);
  EXPECT_NEAR(r.metrics.at("mse"), want.mse, 1e-9);
  EXPECT_NEAR(r.metrics.at("mae"), want.mae, 1e-9);
  EXPECT_EQ(r.metrics.count("accuracy"), 0u);
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["task"], "regression");
  EXPECT_EQ(j["outputs"], 2);
  EXPECT_EQ(j["per_output"]["r2"].size(), 2u);
  EXPECT_NEAR(j["per_output"]["r2"][1].get<double>(), want.r2_per_output[1], 1e-12);
  EXPECT_EQ(evaluate_model(model, data).count("r2"), 0u);  // the figures `train` prints: loss, mae, rmse
  EXPECT_ERROR_CONTAINS(evaluate_model_report(model, data, 1024, -1), "k must be >= 1");
}

TEST(EvaluationReport, ClassificationWithAMissingClassWritesNullAuc) {
  Model model;
  model.network = small_network(3);
  model.loss = "categorical_crossentropy";
  model.task = Task::Classification;
  model.num_classes = 3;
  Dataset data = blobs(5, 8);  // labels 0 and 1 only: class 2 has no sample
  data.num_classes = 3;
  const EvaluationReport r = evaluate_model_report(model, data, 4, 2);
  EXPECT_EQ(r.top_k, 2);
  EXPECT_EQ(r.classification.classes, 3);
  EXPECT_TRUE(std::isnan(r.classification.auc[2]));
  const nlohmann::json j = r.to_json();
  EXPECT_TRUE(j["per_class"]["auc"][2].is_null());
  EXPECT_EQ(j["per_class"]["support"], nlohmann::json({5, 5, 0}));
  EXPECT_EQ(j["metrics"].count("top_2_accuracy"), 1u);
  EXPECT_EQ(j["metrics"].count("top_5_accuracy"), 0u);
  // The same figures as the accumulator over one batch of predictions.
  const Metrics direct = evaluate_predictions(*make_loss("categorical_crossentropy"), predict(model, data.x), data.y, {"f1"});
  EXPECT_NEAR(r.metrics.at("f1"), direct.at("f1"), 1e-12);
}

}  // namespace
}  // namespace nntune
