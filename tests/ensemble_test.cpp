// Ensemble selection (Caruana et al. 2004) and the metrics of predictions it relies on.
#include <cmath>
#include <random>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/model.hpp"
#include "nntune/trainer.hpp"
#include "nntune/tune/ensemble.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using tune::EnsembleSelectionConfig;
using tune::select_ensemble;

Dataset random_dataset(int64_t n, int64_t features, int64_t classes, uint64_t seed) {
  Rng rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Dataset d;
  d.x = Tensor({n, features});
  d.y = Tensor({n, 1});
  for (int64_t i = 0; i < d.x.size(); ++i) d.x[i] = normal(rng);
  for (int64_t i = 0; i < n; ++i) d.y[i] = static_cast<float>(static_cast<int64_t>(rng() % static_cast<uint64_t>(classes)));
  d.num_classes = classes;
  return d;
}

Model random_model(int64_t features, int64_t outputs, const std::string& loss, uint64_t seed) {
  Rng rng(seed);
  Model m;
  m.network = Network::from_config(
      {{"input_shape", {features}},
       {"layers", {{{"type", "dense"}, {"units", 6}, {"activation", "tanh"}}, {{"type", "dense"}, {"units", outputs}}}}},
      rng);
  for (float& p : m.network.parameters()) p *= 3.0f;  // confident predictions, a loss far from log(classes)
  m.loss = loss;
  m.task = loss == "mse" ? Task::Regression : Task::Classification;
  m.num_classes = loss == "categorical_crossentropy" ? outputs : loss == "binary_crossentropy" ? 2 : 0;
  return m;
}

// Through the inverse link, predictions score exactly as the network's own outputs do.
void expect_same_metrics(const std::string& loss_name, int64_t outputs, Dataset data) {
  Model model = random_model(data.x.features(), outputs, loss_name, 11);
  const auto loss = make_loss(loss_name);
  const Metrics direct = evaluate(model.network, *loss, data);
  const Metrics from_predictions = evaluate_predictions(*loss, predict(model, data.x), data.y);
  ASSERT_EQ(direct.size(), from_predictions.size()) << loss_name;
  for (const auto& [name, value] : direct) {
    ASSERT_TRUE(from_predictions.count(name)) << name;
    EXPECT_NEAR(from_predictions.at(name), value, 1e-5 * std::max(1.0, std::fabs(value))) << loss_name << " " << name;
  }
}

TEST(EvaluatePredictions, MatchesEvaluateForEveryLoss) {
  expect_same_metrics("categorical_crossentropy", 4, random_dataset(200, 3, 4, 1));
  Dataset binary = random_dataset(150, 3, 2, 2);
  expect_same_metrics("binary_crossentropy", 1, binary);
  Dataset regression = random_dataset(120, 3, 5, 3);
  Tensor targets({120, 2});
  for (int64_t i = 0; i < targets.size(); ++i) targets[i] = std::sin(static_cast<float>(i));
  regression.y = targets;
  regression.num_classes = 0;
  expect_same_metrics("mse", 2, regression);
}

TEST(EvaluatePredictions, ACertainWrongPredictionHasAFiniteLoss) {
  const auto loss = make_loss("categorical_crossentropy");
  const Metrics m = evaluate_predictions(*loss, Tensor({1, 2}, {1.0f, 0.0f}), Tensor({1, 1}, {1.0f}));
  EXPECT_TRUE(std::isfinite(m.at("loss")));
  EXPECT_GT(m.at("loss"), 20.0);  // -log(1e-12)
  EXPECT_EQ(m.at("accuracy"), 0.0);
}

// Two classes, four samples with labels 0 0 1 1. A and B are each right on three samples and
// wrong on a different one; their mean is right on all four. C is wrong everywhere.
struct ThreeCandidates {
  Tensor targets{{4, 1}, {0, 0, 1, 1}};
  Tensor a{{4, 2}, {0.9f, 0.1f, 0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f}};
  Tensor b{{4, 2}, {0.9f, 0.1f, 0.9f, 0.1f, 0.55f, 0.45f, 0.1f, 0.9f}};
  Tensor c{{4, 2}, {0.1f, 0.9f, 0.2f, 0.8f, 0.9f, 0.1f, 0.8f, 0.2f}};
};

TEST(EnsembleSelection, FindsThePairThatIsBetterThanEitherModel) {
  ThreeCandidates t;
  const auto loss = make_loss("categorical_crossentropy");
  EnsembleSelectionConfig config;
  config.rounds = 6;
  const auto s = select_ensemble({t.c, t.a, t.b}, t.targets, *loss, config);
  ASSERT_EQ(s.score_per_round.size(), 6u);
  // Round 1: A and B tie on accuracy (0.75); B has the lower loss (-log 0.45 - log 0.9 beats
  // -log 0.8 - log 0.4 on the samples that differ), so B is picked.
  EXPECT_DOUBLE_EQ(s.score_per_round[0], 0.75);
  EXPECT_DOUBLE_EQ(s.score_per_round[1], 1.0);  // then A: the mean is right everywhere
  EXPECT_DOUBLE_EQ(s.score, 1.0);
  EXPECT_GE(s.kept_rounds, 2);
  EXPECT_EQ(s.picks[0], 0);  // C never helps
  EXPECT_GT(s.picks[1], 0);
  EXPECT_GT(s.picks[2], 0);
  EXPECT_EQ(s.picks[0] + s.picks[1] + s.picks[2], s.kept_rounds);
  EXPECT_NEAR(s.weights[0] + s.weights[1] + s.weights[2], 1.0, 1e-12);
  // The kept ensemble, rebuilt from the weights, scores what the selection says.
  Tensor mix({4, 2});
  const Tensor* candidates[] = {&t.c, &t.a, &t.b};
  for (int m = 0; m < 3; ++m)
    for (int64_t k = 0; k < mix.size(); ++k) mix[k] += static_cast<float>(s.weights[m]) * (*candidates[m])[k];
  const Metrics rebuilt = evaluate_predictions(*loss, mix, t.targets);
  EXPECT_DOUBLE_EQ(rebuilt.at("accuracy"), 1.0);
  EXPECT_NEAR(rebuilt.at("loss"), s.loss, 1e-6);
}

TEST(EnsembleSelection, OneRoundIsTheBestSingleModelAndTiesGoToTheEarlierCandidate) {
  ThreeCandidates t;
  const auto loss = make_loss("categorical_crossentropy");
  EnsembleSelectionConfig config;
  config.rounds = 1;
  auto s = select_ensemble({t.c, t.a, t.b}, t.targets, *loss, config);
  EXPECT_EQ(s.picks, (std::vector<int64_t>{0, 0, 1}));  // B: same accuracy as A, lower loss
  EXPECT_EQ(s.weights, (std::vector<double>{0.0, 0.0, 1.0}));
  s = select_ensemble({t.a, t.a}, t.targets, *loss, config);
  EXPECT_EQ(s.picks, (std::vector<int64_t>{1, 0}));
}

TEST(EnsembleSelection, NeverKeepsARoundWorseThanAnEarlierOne) {
  // A single perfect model: adding anything else only makes the loss worse, so round 1 stays.
  const Tensor targets({3, 1}, {0, 1, 1});
  const Tensor perfect({3, 2}, {0.99f, 0.01f, 0.01f, 0.99f, 0.02f, 0.98f});
  const Tensor poor({3, 2}, {0.4f, 0.6f, 0.6f, 0.4f, 0.5f, 0.5f});
  const auto loss = make_loss("categorical_crossentropy");
  EnsembleSelectionConfig config;
  config.rounds = 5;
  config.metric = "loss";
  config.maximize = false;
  const auto s = select_ensemble({poor, perfect}, targets, *loss, config);
  EXPECT_EQ(s.picks[0], 0);
  EXPECT_EQ(s.weights[1], 1.0);
  for (double score : s.score_per_round) EXPECT_GE(score, s.score - 1e-12);
}

TEST(EnsembleSelection, RegressionAveragesValues) {
  const Tensor targets({2, 1}, {1.0f, -1.0f});
  const Tensor high({2, 1}, {2.0f, 0.0f}), low({2, 1}, {0.0f, -2.0f});  // each off by 1, the mean exact
  const auto loss = make_loss("mse");
  EnsembleSelectionConfig config;
  config.rounds = 4;
  config.metric = "mae";
  config.maximize = false;
  const auto s = select_ensemble({high, low}, targets, *loss, config);
  EXPECT_DOUBLE_EQ(s.score, 0.0);
  EXPECT_EQ(s.kept_rounds, 2);
  EXPECT_EQ(s.weights, (std::vector<double>{0.5, 0.5}));
}

TEST(EnsembleSelection, BadInputIsRefused) {
  ThreeCandidates t;
  const auto loss = make_loss("categorical_crossentropy");
  EnsembleSelectionConfig config;
  EXPECT_ERROR_CONTAINS(select_ensemble({}, t.targets, *loss, config), "no candidate models");
  EXPECT_ERROR_CONTAINS(select_ensemble({t.a, Tensor({4, 3})}, t.targets, *loss, config), "candidate 1 predicts (4, 3)",
                        "candidate 0 predicts (4, 2)");
  config.metric = "rmse";
  EXPECT_ERROR_CONTAINS(select_ensemble({t.a}, t.targets, *loss, config), "unknown metric 'rmse'", "accuracy", "loss");
  config.metric = "accuracy";
  config.rounds = 0;
  EXPECT_ERROR_CONTAINS(select_ensemble({t.a}, t.targets, *loss, config), "rounds must be >= 1");
}

}  // namespace
}  // namespace nntune
