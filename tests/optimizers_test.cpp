// Each update rule against the published formulas, evaluated in double in the test body for
// a few steps of small vectors (independent of the float implementation).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nntune/optimizer.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

// Gradients for three consecutive steps (fixed, not a function of w, so the expected values
// need no model).
const std::vector<std::vector<double>> kGrads = {{0.5, -1.0, 2.0}, {0.1, 0.3, -0.4}, {-0.2, 0.0, 1.5}};
const std::vector<double> kStart = {1.0, -2.0, 0.5};

std::vector<float> run(const OptimizerConfig& config, int steps, double lr) {
  auto opt = make_optimizer(config);
  std::vector<float> w(kStart.begin(), kStart.end());
  for (int t = 0; t < steps; ++t) {
    std::vector<float> g(kGrads[t].begin(), kGrads[t].end());
    opt->step(w.data(), g.data(), static_cast<int64_t>(w.size()), lr);
  }
  return w;
}

void expect_near_all(const std::vector<float>& actual, const std::vector<double>& expected, double tol = 1e-6) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0, std::fabs(expected[i]))) << "element " << i;
}

TEST(OptimizerTest, PlainSgdIsGradientStep) {
  OptimizerConfig c;
  c.name = "sgd";
  const double lr = 0.1;
  std::vector<double> w = kStart;
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) w[i] -= lr * kGrads[t][i];
  // Step 1 by hand: 1 - 0.1*0.5 = 0.95, -2 + 0.1 = -1.9, 0.5 - 0.2 = 0.3.
  expect_near_all(run(c, 1, lr), {0.95, -1.9, 0.3});
  expect_near_all(run(c, 3, lr), w);
}

TEST(OptimizerTest, SgdHeavyBallMomentumMatchesPyTorch) {
  OptimizerConfig c;
  c.name = "sgd";
  c.momentum = 0.9;
  const double lr = 0.1, mu = 0.9;
  std::vector<double> w = kStart, v(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      v[i] = mu * v[i] + kGrads[t][i];
      w[i] -= lr * v[i];
    }
  // Step 2, element 0 by hand: v1 = 0.5, v2 = 0.45 + 0.1 = 0.55; w = 1 - 0.05 - 0.055 = 0.895.
  EXPECT_NEAR(run(c, 2, lr)[0], 0.895, 1e-6);
  expect_near_all(run(c, 3, lr), w);
  // The "momentum" name is the same rule with momentum 0.9 by default.
  OptimizerConfig named;
  named.name = "momentum";
  expect_near_all(run(named, 3, lr), w);
}

TEST(OptimizerTest, NesterovUsesGradientPlusMomentumTimesVelocity) {
  OptimizerConfig c;
  c.name = "nesterov";  // momentum defaults to 0.9
  const double lr = 0.05, mu = 0.9;
  std::vector<double> w = kStart, v(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      v[i] = mu * v[i] + kGrads[t][i];
      w[i] -= lr * (kGrads[t][i] + mu * v[i]);
    }
  // Step 1, element 0: v = 0.5; w = 1 - 0.05 * (0.5 + 0.45) = 0.9525.
  EXPECT_NEAR(run(c, 1, lr)[0], 0.9525, 1e-6);
  expect_near_all(run(c, 3, lr), w);

  OptimizerConfig sgd;
  sgd.name = "sgd";
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  expect_near_all(run(sgd, 3, lr), w);
}

TEST(OptimizerTest, AdagradAccumulatesSquares) {
  OptimizerConfig c;
  c.name = "adagrad";
  c.initial_accumulator = 0.1;
  c.epsilon = 1e-10;
  const double lr = 0.5;
  std::vector<double> w = kStart, s(3, 0.1);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      s[i] += kGrads[t][i] * kGrads[t][i];
      w[i] -= lr * kGrads[t][i] / (std::sqrt(s[i]) + 1e-10);
    }
  // Step 1, element 0: s = 0.35; w = 1 - 0.5 * 0.5 / sqrt(0.35) = 0.577350...
  EXPECT_NEAR(run(c, 1, lr)[0], 1.0 - 0.25 / std::sqrt(0.35), 1e-6);
  expect_near_all(run(c, 3, lr), w);
}

TEST(OptimizerTest, RmsPropUsesRunningMeanOfSquares) {
  OptimizerConfig c;
  c.name = "rmsprop";
  c.rho = 0.9;
  c.epsilon = 1e-8;
  const double lr = 0.01;
  std::vector<double> w = kStart, v(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      v[i] = 0.9 * v[i] + 0.1 * kGrads[t][i] * kGrads[t][i];
      w[i] -= lr * kGrads[t][i] / (std::sqrt(v[i]) + 1e-8);
    }
  // Step 1: v = 0.1 g^2, so the step is lr * sign(g) / sqrt(0.1) = 0.0316228 for every element.
  expect_near_all(run(c, 1, lr), {1.0 - 0.01 / std::sqrt(0.1), -2.0 + 0.01 / std::sqrt(0.1),
                                  0.5 - 0.01 / std::sqrt(0.1)});
  expect_near_all(run(c, 3, lr), w);
}

TEST(OptimizerTest, RmsPropWithMomentumBuffersTheScaledGradient) {
  OptimizerConfig c;
  c.name = "rmsprop";
  c.momentum = 0.5;
  const double lr = 0.01;
  std::vector<double> w = kStart, v(3, 0.0), b(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      v[i] = 0.9 * v[i] + 0.1 * kGrads[t][i] * kGrads[t][i];
      b[i] = 0.5 * b[i] + kGrads[t][i] / (std::sqrt(v[i]) + 1e-8);
      w[i] -= lr * b[i];
    }
  expect_near_all(run(c, 3, lr), w);
}

std::vector<double> adam_reference(double lr, double b1, double b2, double eps, double wd, int steps) {
  std::vector<double> w = kStart, m(3, 0.0), v(3, 0.0);
  for (int t = 1; t <= steps; ++t)
    for (size_t i = 0; i < 3; ++i) {
      const double g = kGrads[t - 1][i];
      w[i] -= lr * wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t)), v_hat = v[i] / (1 - std::pow(b2, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  return w;
}

TEST(OptimizerTest, AdamWithBiasCorrection) {
  OptimizerConfig c;
  c.name = "adam";
  const double lr = 0.01;
  // Kingma & Ba: the first bias-corrected step is lr * sign(g) (up to eps), whatever |g| is.
  expect_near_all(run(c, 1, lr), {0.99, -1.99, 0.49});
  expect_near_all(run(c, 2, lr), adam_reference(lr, 0.9, 0.999, 1e-8, 0.0, 2));
  expect_near_all(run(c, 3, lr), adam_reference(lr, 0.9, 0.999, 1e-8, 0.0, 3));
}

TEST(OptimizerTest, AdamEpsilonIsOutsideTheSquareRoot) {
  OptimizerConfig c;
  c.name = "adam";
  c.epsilon = 0.1;  // large enough to tell eps outside sqrt from inside
  const double lr = 0.01;
  // Step 1, element 0: m_hat = 0.5, v_hat = 0.25; w = 1 - 0.01 * 0.5 / (0.5 + 0.1).
  EXPECT_NEAR(run(c, 1, lr)[0], 1.0 - 0.005 / 0.6, 1e-6);
  expect_near_all(run(c, 3, lr), adam_reference(lr, 0.9, 0.999, 0.1, 0.0, 3));
}

TEST(OptimizerTest, AdamWDecaysWeightsBeforeTheAdamStep) {
  OptimizerConfig c;
  c.name = "adamw";
  c.weight_decay = 0.1;
  c.beta1 = 0.8;
  c.beta2 = 0.99;
  const double lr = 0.05;
  // Step 1, element 0: w = 1 * (1 - 0.005) = 0.995, then - 0.05 (first Adam step).
  EXPECT_NEAR(run(c, 1, lr)[0], 0.945, 1e-6);
  expect_near_all(run(c, 3, lr), adam_reference(lr, 0.8, 0.99, 1e-8, 0.1, 3));
}

TEST(OptimizerTest, WeightDecayIsDecoupledForSgd) {
  OptimizerConfig c;
  c.name = "sgd";
  c.weight_decay = 0.5;
  const double lr = 0.1;
  // w = w (1 - lr wd) - lr g: element 0 = 0.95 - 0.05 = 0.9.
  expect_near_all(run(c, 1, lr), {0.95 - 0.05, -2.0 * 0.95 + 0.1, 0.5 * 0.95 - 0.2});
}

// PyTorch's coupled weight decay (decoupled_weight_decay: false): g <- g + wd w before the
// update, so it goes through momentum and Adam's scaling. Reference loops in double.
TEST(OptimizerTest, CoupledWeightDecayGoesThroughSgdMomentum) {
  OptimizerConfig c;
  c.name = "sgd";
  c.momentum = 0.9;
  c.weight_decay = 0.5;
  c.decoupled_weight_decay = false;
  const double lr = 0.1;
  std::vector<double> w = kStart, v(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      const double g = kGrads[t][i] + 0.5 * w[i];
      v[i] = 0.9 * v[i] + g;
      w[i] -= lr * v[i];
    }
  expect_near_all(run(c, 3, lr), w);
  // Not the decoupled result: with momentum the two forms differ.
  c.decoupled_weight_decay = true;
  EXPECT_GT(std::fabs(run(c, 3, lr)[0] - w[0]), 1e-3);
}

TEST(OptimizerTest, CoupledWeightDecayGoesThroughAdamsScaling) {
  OptimizerConfig c;
  c.name = "adam";
  c.weight_decay = 0.1;
  c.decoupled_weight_decay = false;
  const double lr = 0.01;
  std::vector<double> w = kStart, m(3, 0.0), v(3, 0.0);
  for (int t = 1; t <= 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      const double g = kGrads[t - 1][i] + 0.1 * w[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double m_hat = m[i] / (1 - std::pow(0.9, t)), v_hat = v[i] / (1 - std::pow(0.999, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + 1e-8);
    }
  expect_near_all(run(c, 3, lr), w);
  // Step 1, element 1: g = -1 + 0.1 * -2 = -1.2, still a full lr step (Adam's sign step).
  EXPECT_NEAR(run(c, 1, lr)[1], -1.99, 1e-6);
}

TEST(OptimizerTest, CoupledWeightDecayForRmsPropAndAdagrad) {
  OptimizerConfig c;
  c.weight_decay = 0.2;
  c.decoupled_weight_decay = false;
  const double lr = 0.01;
  c.name = "rmsprop";
  std::vector<double> w = kStart, s(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      const double g = kGrads[t][i] + 0.2 * w[i];
      s[i] = 0.9 * s[i] + 0.1 * g * g;
      w[i] -= lr * g / (std::sqrt(s[i]) + 1e-8);
    }
  expect_near_all(run(c, 3, lr), w);
  c.name = "adagrad";
  w = kStart;
  s.assign(3, 0.0);
  for (int t = 0; t < 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      const double g = kGrads[t][i] + 0.2 * w[i];
      s[i] += g * g;
      w[i] -= lr * g / (std::sqrt(s[i]) + 1e-8);
    }
  expect_near_all(run(c, 3, lr), w);
}

TEST(OptimizerTest, CoupledWeightDecayLeavesTheCallersGradientsAlone) {
  OptimizerConfig c;
  c.name = "adam";
  c.weight_decay = 0.1;
  c.decoupled_weight_decay = false;
  auto opt = make_optimizer(c);
  std::vector<float> w(3000, 1.0f), g(3000, 0.25f);  // more than one chunk
  opt->step(w.data(), g.data(), 3000, 0.01);
  for (float x : g) ASSERT_EQ(x, 0.25f);
  EXPECT_NEAR(w[0], 0.99, 1e-6);
  EXPECT_NEAR(w[2999], 0.99, 1e-6);
}

TEST(OptimizerTest, AdamWRefusesCoupledWeightDecay) {
  OptimizerConfig c;
  c.name = "adamw";
  c.decoupled_weight_decay = false;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "adamw", "use adam with decoupled_weight_decay: false");
}

TEST(OptimizerTest, ResetForgetsMoments) {
  OptimizerConfig c;
  c.name = "adam";
  auto opt = make_optimizer(c);
  std::vector<float> w = {1.0f}, g = {0.5f};
  opt->step(w.data(), g.data(), 1, 0.1);
  opt->step(w.data(), g.data(), 1, 0.1);
  opt->reset();
  const float before = w[0];
  g[0] = -3.0f;
  opt->step(w.data(), g.data(), 1, 0.1);
  // After reset the step is a first Adam step again: exactly lr * sign(g).
  EXPECT_NEAR(w[0], before + 0.1f, 1e-6);
}

TEST(OptimizerTest, LongBuffersMatchShortOnes) {
  // Exercises the chunked loop across chunk boundaries (sizes not a multiple of the chunk).
  OptimizerConfig c;
  c.name = "adam";
  const int64_t n = 3000;
  std::vector<float> w(n), g(n);
  for (int64_t i = 0; i < n; ++i) {
    w[i] = static_cast<float>(std::sin(0.1 * i));
    g[i] = static_cast<float>(std::cos(0.37 * i));
  }
  auto big = make_optimizer(c);
  std::vector<float> w_big = w;
  big->step(w_big.data(), g.data(), n, 0.01);
  for (int64_t i = 0; i < n; i += 499) {
    auto single = make_optimizer(c);
    float wi = w[i], gi = g[i];
    single->step(&wi, &gi, 1, 0.01);
    EXPECT_FLOAT_EQ(w_big[i], wi) << "element " << i;
  }
}

TEST(OptimizerTest, SizeChangeBetweenStepsIsAnError) {
  auto opt = make_optimizer(OptimizerConfig{});
  std::vector<float> w(4, 1.0f), g(4, 1.0f);
  opt->step(w.data(), g.data(), 4, 0.1);
  EXPECT_ERROR_CONTAINS(opt->step(w.data(), g.data(), 3, 0.1), "parameter count changed", "reset()");
}

TEST(OptimizerTest, ClipGradNormScalesToMaxNorm) {
  std::vector<float> g = {3.0f, 4.0f};  // norm 5
  EXPECT_NEAR(clip_grad_norm(g.data(), 2, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(g[0], 0.6, 1e-5);
  EXPECT_NEAR(g[1], 0.8, 1e-5);
  std::vector<float> small = {0.3f, 0.4f};  // norm 0.5 <= 1: untouched
  EXPECT_NEAR(clip_grad_norm(small.data(), 2, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small[0], 0.3f);
  EXPECT_EQ(small[1], 0.4f);
  EXPECT_ERROR_CONTAINS(clip_grad_norm(small.data(), 2, 0.0), "clip_norm", "> 0");
}

TEST(OptimizerTest, NamesListEveryOptimizer) {
  for (const std::string& name : optimizer_names()) {
    OptimizerConfig c;
    c.name = name;
    EXPECT_EQ(make_optimizer(c)->name(), name);
  }
  EXPECT_EQ(optimizer_names().size(), 7u);
}

TEST(OptimizerTest, InvalidConfigsNameFieldAndRange) {
  OptimizerConfig c;
  c.name = "adamm";
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "unknown optimizer 'adamm'", "sgd", "adamw");
  c = {};
  c.lr = 0.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "lr", "> 0");
  c = {};
  c.lr = -1.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "lr = -1", "> 0");
  c = {};
  c.name = "sgd";
  c.momentum = 1.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "momentum = 1", "[0, 1)");
  c.momentum = -0.1;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "momentum", "[0, 1)");
  c = {};
  c.beta1 = 1.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "'adam'", "beta1 = 1", "[0, 1)");
  c = {};
  c.name = "adamw";
  c.beta2 = 1.5;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "beta2", "[0, 1)");
  c = {};
  c.epsilon = 0.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "epsilon", "> 0");
  c = {};
  c.name = "rmsprop";
  c.rho = 1.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "rho", "[0, 1)");
  c = {};
  c.weight_decay = -0.01;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "weight_decay", ">= 0");
  c = {};
  c.name = "adagrad";
  c.initial_accumulator = -1.0;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "initial_accumulator", ">= 0");
  c = {};
  c.name = "sgd";
  c.nesterov = true;
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "nesterov", "momentum > 0");
  c = {};
  c.lr = std::nan("");
  EXPECT_ERROR_CONTAINS(make_optimizer(c), "lr");
}

}  // namespace
}  // namespace nntune
