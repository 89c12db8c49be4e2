#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.hpp"
#include "nntune/loss.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::check_loss_gradient;
using testing::random_tensor;

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.size()); }

void expect_gradient_ok(const std::string& loss_name, const Tensor& output, const Tensor& target) {
  auto loss = make_loss(loss_name);
  const testing::GradCheckReport report = check_loss_gradient(*loss, output, target);
  EXPECT_TRUE(report.passed()) << loss_name << "\n" << report.summary();
  std::cout << loss_name << " " << shape_string(target.shape()) << " targets\n" << report.summary();
}

// ---------------------------------------------------------------- gradient checks

TEST(LossGradient, MeanSquaredError) {
  expect_gradient_ok("mse", random_tensor({4, 3}, 1), random_tensor({4, 3}, 2));
}

// Errors on both sides of Huber's delta (scale 2: about a third beyond 1); no error is near 0,
// where mae's gradient jumps (random normal values make an exact tie unlikely).
TEST(LossGradient, MeanAbsoluteErrorAndHuber) {
  expect_gradient_ok("mae", random_tensor({4, 3}, 3), random_tensor({4, 3}, 4));
  expect_gradient_ok("huber", random_tensor({5, 3}, 5, 2.0), random_tensor({5, 3}, 6));
}

TEST(MeanAbsoluteErrorAndHuber, HandComputed) {
  const Tensor output({2, 2}, {0.5f, -1.0f, 3.0f, 2.0f}), target({2, 2}, {0.0f, 1.0f, 0.0f, 2.0f});
  // Errors 0.5, -2, 3, 0.
  Tensor grad;
  EXPECT_NEAR(make_loss("mae")->forward_backward(output, target, &grad), (0.5 + 2 + 3 + 0) / 4.0, 1e-7);
  EXPECT_EQ(values(grad), (std::vector<float>{0.25f, -0.25f, 0.25f, 0.0f}));
  // Huber, delta 1: 0.5 * 0.25, 2 - 0.5, 3 - 0.5, 0.
  EXPECT_NEAR(make_loss("huber")->forward_backward(output, target, &grad), (0.125 + 1.5 + 2.5 + 0) / 4.0, 1e-7);
  EXPECT_EQ(values(grad), (std::vector<float>{0.125f, -0.25f, 0.25f, 0.0f}));
  EXPECT_EQ(make_loss("mean_absolute_error")->name(), "mae");
  EXPECT_EQ(make_loss("sparse_categorical_crossentropy")->name(), "categorical_crossentropy");
}

TEST(LossGradient, BinaryCrossEntropyHardAndSoftTargets) {
  Tensor hard({4, 3}, {1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0});
  expect_gradient_ok("binary_crossentropy", random_tensor({4, 3}, 3, 2.0), hard);
  Tensor soft({2, 2}, {0.2f, 0.9f, 0.5f, 0.0f});
  expect_gradient_ok("binary_crossentropy", random_tensor({2, 2}, 4), soft);
}

TEST(LossGradient, CategoricalCrossEntropyIndicesAndOneHot) {
  expect_gradient_ok("categorical_crossentropy", random_tensor({5, 4}, 5, 2.0), Tensor({5, 1}, {0, 3, 1, 2, 3}));
  Tensor one_hot({3, 4}, {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1});
  expect_gradient_ok("categorical_crossentropy", random_tensor({3, 4}, 6), one_hot);
  Tensor soft({2, 3}, {0.2f, 0.3f, 0.5f, 0.0f, 1.0f, 0.0f});
  expect_gradient_ok("categorical_crossentropy", random_tensor({2, 3}, 7), soft);
}

TEST(LossGradient, CheckerCatchesAWrongLossGradient) {
  class HalfGradient final : public Loss {
   public:
    std::string name() const override { return "half"; }
    double forward_backward(const Tensor& out, const Tensor&, Tensor* grad) const override {
      double total = 0.0;
      for (int64_t i = 0; i < out.size(); ++i) total += static_cast<double>(out[i]) * out[i];
      if (grad) {
        grad->resize(out.shape());
        for (int64_t i = 0; i < out.size(); ++i) (*grad)[i] = out[i];  // should be 2 * out
      }
      return total;
    }
  } wrong;
  EXPECT_FALSE(check_loss_gradient(wrong, random_tensor({2, 2}, 8), Tensor({2, 2})).passed());
}

// ---------------------------------------------------------------- values

TEST(MeanSquaredError, HandComputed) {
  auto mse = make_loss("mse");
  Tensor grad;
  // mean over all elements of (y - t)^2 = (1 + 4) / 2; gradient 2 (y - t) / 2
  EXPECT_DOUBLE_EQ(mse->forward_backward(Tensor({2, 1}, {1, 2}), Tensor({2, 1}, {0, 0}), &grad), 2.5);
  EXPECT_EQ(values(grad), (std::vector<float>{1, 2}));
  EXPECT_EQ(make_loss("mean_squared_error")->name(), "mse");
  EXPECT_FALSE(mse->is_classification());
  Tensor out({1, 2}, {-3, 4});
  mse->link(out);
  EXPECT_EQ(values(out), (std::vector<float>{-3, 4}));
}

TEST(BinaryCrossEntropy, HandComputedAndStableAtLargeLogits) {
  auto bce = make_loss("binary_crossentropy");
  Tensor grad;
  EXPECT_NEAR(bce->forward_backward(Tensor({1, 1}, {0}), Tensor({1, 1}, {1}), &grad), std::log(2.0), 1e-7);
  EXPECT_FLOAT_EQ(grad[0], -0.5f);
  // z = 2, t = 0: -log(1 - sigmoid(2)) = log(1 + e^2)
  EXPECT_NEAR(bce->forward_backward(Tensor({1, 1}, {2}), Tensor({1, 1}, {0}), nullptr), std::log1p(std::exp(2.0)), 1e-6);
  // Logits of +-100 and +-1e4: right answers ~0 or ~|z|, never NaN/inf.
  Tensor logits({4, 1}, {100, -100, 1e4f, -1e4f});
  const double right = bce->forward_backward(logits, Tensor({4, 1}, {1, 0, 1, 0}), &grad);
  EXPECT_TRUE(std::isfinite(right));
  EXPECT_NEAR(right, 0.0, 1e-12);
  for (float g : values(grad)) EXPECT_TRUE(std::isfinite(g));
  const double wrong = bce->forward_backward(logits, Tensor({4, 1}, {0, 1, 0, 1}), &grad);
  EXPECT_NEAR(wrong, (100 + 100 + 1e4 + 1e4) / 4.0, 1e-2);
  EXPECT_EQ(values(grad), (std::vector<float>{0.25f, -0.25f, 0.25f, -0.25f}));
  EXPECT_TRUE(bce->is_classification());
  Tensor out({1, 3}, {0, 100, -100});
  bce->link(out);
  EXPECT_EQ(values(out), (std::vector<float>{0.5f, 1.0f, 0.0f}));
}

TEST(CategoricalCrossEntropy, HandComputedAndStableAtLargeLogits) {
  auto cce = make_loss("categorical_crossentropy");
  Tensor grad;
  // softmax([1, 2, 3]) = [0.09003057, 0.24472847, 0.66524096]; -log(0.66524096) = 0.40760596
  EXPECT_NEAR(cce->forward_backward(Tensor({1, 3}, {1, 2, 3}), Tensor({1, 1}, {2}), &grad), 0.40760596, 1e-6);
  EXPECT_NEAR(grad[0], 0.09003057f, 1e-6);
  EXPECT_NEAR(grad[1], 0.24472847f, 1e-6);
  EXPECT_NEAR(grad[2], 0.66524096f - 1.0f, 1e-6);
  const double big = cce->forward_backward(Tensor({2, 2}, {1000, 0, 1000, 0}), Tensor({2, 1}, {1, 0}), &grad);
  EXPECT_NEAR(big, 500.0, 1e-3);  // (1000 + 0) / 2
  EXPECT_EQ(values(grad), (std::vector<float>{0.5f, -0.5f, 0.0f, 0.0f}));
  EXPECT_TRUE(cce->is_classification());
  Tensor out({2, 3}, {1, 2, 3, 1000, 0, 0});
  cce->link(out);
  EXPECT_NEAR(out[0], 0.09003057f, 1e-6);
  EXPECT_NEAR(out[2], 0.66524096f, 1e-6);
  EXPECT_EQ(out[3], 1.0f);
}

TEST(CategoricalCrossEntropy, IndicesAndOneHotAgree) {
  auto cce = make_loss("categorical_crossentropy");
  Tensor logits = random_tensor({3, 4}, 9);
  Tensor by_index, by_one_hot;
  const double a = cce->forward_backward(logits, Tensor({3, 1}, {2, 0, 3}), &by_index);
  const double b = cce->forward_backward(logits, Tensor({3, 4}, {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}), &by_one_hot);
  EXPECT_NEAR(a, b, 1e-6);
  for (int64_t i = 0; i < 12; ++i) EXPECT_NEAR(by_index[i], by_one_hot[i], 1e-7);
  EXPECT_NEAR(cce->forward_backward(logits, Tensor({3, 1}, {2, 0, 3}), nullptr), a, 1e-12);
}

TEST(Losses, BadTargetsNameTheProblem) {
  auto cce = make_loss("categorical_crossentropy");
  Tensor logits({3, 3});
  EXPECT_ERROR_CONTAINS(cce->forward_backward(logits, Tensor({3, 1}, {0, 5, 1}), nullptr), "categorical_crossentropy",
                        "row 1", "class 5", "[0, 2]");
  EXPECT_ERROR_CONTAINS(cce->forward_backward(logits, Tensor({3, 1}, {0, 1, -1}), nullptr), "row 2", "class -1");
  EXPECT_ERROR_CONTAINS(cce->forward_backward(logits, Tensor({3, 1}, {1.5f, 1, 1}), nullptr), "row 0", "class 1.5",
                        "whole numbers");
  EXPECT_ERROR_CONTAINS(cce->forward_backward(logits, Tensor({3, 2}), nullptr), "targets have shape (3, 2)",
                        "(3, 3)", "class indices (3, 1)", "one-hot rows (3, 3)");
  EXPECT_ERROR_CONTAINS(make_loss("mse")->forward_backward(logits, Tensor({2, 3}), nullptr), "mse",
                        "targets have shape (2, 3)", "outputs (3, 3)");
  EXPECT_ERROR_CONTAINS(make_loss("binary_crossentropy")->forward_backward(Tensor({0, 1}), Tensor({0, 1}), nullptr),
                        "binary_crossentropy", "empty");
}

TEST(Losses, NamesAndUnknownLoss) {
  EXPECT_EQ(loss_names(), (std::vector<std::string>{"mse", "binary_crossentropy", "categorical_crossentropy", "mae", "huber"}));
  for (const std::string& name : loss_names()) EXPECT_EQ(make_loss(name)->name(), name);
  EXPECT_ERROR_CONTAINS(make_loss("hinge"), "unknown loss \"hinge\"", "mse (alias mean_squared_error)",
                        "binary_crossentropy, categorical_crossentropy");
}

// What the spec, the metrics and the exporters ask of a loss instead of its name.
TEST(Losses, DeclareTheirOutputsClassesAndLink) {
  const auto mse = make_loss("mse"), binary = make_loss("binary_crossentropy"),
             categorical = make_loss("categorical_crossentropy");
  EXPECT_EQ(mse->output_width(0, 3), 3);
  EXPECT_EQ(binary->output_width(2, 1), 1);
  EXPECT_EQ(categorical->output_width(7, 1), 7);
  EXPECT_EQ(mse->required_classes(), 0);
  EXPECT_EQ(binary->required_classes(), 2);
  EXPECT_EQ(categorical->required_classes(), 0);
  EXPECT_EQ(mse->link_name(), "");
  EXPECT_EQ(binary->link_name(), "sigmoid");
  EXPECT_EQ(categorical->link_name(), "softmax");
  EXPECT_EQ(default_loss_name(true), "categorical_crossentropy");
  EXPECT_EQ(default_loss_name(false), "mse");
  EXPECT_EQ(loss_names_for(true), (std::vector<std::string>{"binary_crossentropy", "categorical_crossentropy"}));
  EXPECT_EQ(loss_names_for(false), (std::vector<std::string>{"mse", "mae", "huber"}));
}

// unlink undoes link: the loss of linked-then-unlinked outputs is the loss of the outputs.
TEST(Losses, UnlinkInvertsTheLink) {
  for (const std::string& name : loss_names()) {
    const auto loss = make_loss(name);
    const Tensor output = random_tensor({6, name == "binary_crossentropy" ? 1 : 4}, 11, 2.0);
    Tensor target(output.shape());
    for (int64_t i = 0; i < target.size(); ++i) target[i] = name == "mse" ? output[i] * 0.5f : 0.0f;
    if (name == "categorical_crossentropy")
      for (int64_t r = 0; r < 6; ++r) target[r * 4 + r % 4] = 1.0f;
    if (name == "binary_crossentropy")
      for (int64_t r = 0; r < 6; ++r) target[r] = static_cast<float>(r % 2);
    Tensor round_trip = output;
    loss->link(round_trip);
    loss->unlink(round_trip);
    EXPECT_NEAR(loss->forward_backward(round_trip, target, nullptr), loss->forward_backward(output, target, nullptr), 1e-5)
        << name;
    if (name == "binary_crossentropy")  // the logit itself comes back
      for (int64_t i = 0; i < output.size(); ++i) EXPECT_NEAR(round_trip[i], output[i], 1e-4) << i;
  }
}


// ---------------------------------------------------------------- class weights, label smoothing

void expect_gradient_ok(const std::string& loss_name, const LossOptions& options, const Tensor& output,
                        const Tensor& target) {
  auto loss = make_loss(loss_name, options);
  const testing::GradCheckReport report = check_loss_gradient(*loss, output, target);
  EXPECT_TRUE(report.passed()) << loss_name << " weighted/smoothed\n" << report.summary();
}

TEST(LossGradient, CrossEntropiesWithClassWeightsAndLabelSmoothing) {
  const LossOptions weighted{{0.5, 2.0, 1.0, 3.0}, 0.0}, smoothed{{}, 0.1}, both{{0.5, 2.0, 1.0, 3.0}, 0.2};
  const Tensor indices({5, 1}, {0, 3, 1, 2, 3});
  const Tensor one_hot({3, 4}, {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1});
  for (const LossOptions& o : {weighted, smoothed, both}) {
    expect_gradient_ok("categorical_crossentropy", o, random_tensor({5, 4}, 11, 2.0), indices);
    expect_gradient_ok("categorical_crossentropy", o, random_tensor({3, 4}, 12), one_hot);
  }
  const LossOptions binary_weighted{{0.3, 4.0}, 0.0}, binary_both{{0.3, 4.0}, 0.1};
  const Tensor labels({6, 1}, {1, 0, 0, 1, 1, 0});
  for (const LossOptions& o : {binary_weighted, LossOptions{{}, 0.1}, binary_both})
    expect_gradient_ok("binary_crossentropy", o, random_tensor({6, 1}, 13, 2.0), labels);
}

TEST(CategoricalCrossEntropy, WeightsAndSmoothingHandComputed) {
  // One row z = [1, 2, 3], class 2, weights [1, 1, 2], eps = 0.3 (K = 3):
  // t' = [0.1, 0.1, 0.8]; -log softmax(z) = [2.40760596, 1.40760596, 0.40760596];
  // loss = 2 * (0.1 * 2.40760596 + 0.1 * 1.40760596 + 0.8 * 0.40760596) = 1.41521192
  // gradient = 2 * (softmax(z) - t') = 2 * ([0.09003057, 0.24472847, 0.66524096] - t').
  auto cce = make_loss("categorical_crossentropy", LossOptions{{1.0, 1.0, 2.0}, 0.3});
  Tensor grad;
  EXPECT_NEAR(cce->forward_backward(Tensor({1, 3}, {1, 2, 3}), Tensor({1, 1}, {2}), &grad), 1.41521192, 1e-6);
  EXPECT_NEAR(grad[0], 2 * (0.09003057 - 0.1), 1e-6);
  EXPECT_NEAR(grad[1], 2 * (0.24472847 - 0.1), 1e-6);
  EXPECT_NEAR(grad[2], 2 * (0.66524096 - 0.8), 1e-6);
  // The batch value stays the mean over samples (Keras), not over the weights (PyTorch): two
  // rows of weights 2 and 1 give (2 l_a + 1 l_b) / 2.
  auto weighted = make_loss("categorical_crossentropy", LossOptions{{2.0, 1.0}, 0.0});
  auto plain = make_loss("categorical_crossentropy");
  const Tensor z({2, 2}, {0.3f, -0.2f, 1.0f, 0.5f}), y({2, 1}, {0, 1});
  const double la = plain->forward_backward(Tensor({1, 2}, {0.3f, -0.2f}), Tensor({1, 1}, {0}), nullptr);
  const double lb = plain->forward_backward(Tensor({1, 2}, {1.0f, 0.5f}), Tensor({1, 1}, {1}), nullptr);
  EXPECT_NEAR(weighted->forward_backward(z, y, nullptr), (2 * la + lb) / 2, 1e-7);
  // All weights 1 and no smoothing: the plain loss.
  auto ones = make_loss("categorical_crossentropy", LossOptions{{1.0, 1.0}, 0.0});
  EXPECT_NEAR(ones->forward_backward(z, y, nullptr), plain->forward_backward(z, y, nullptr), 1e-7);
}

TEST(BinaryCrossEntropy, WeightsAndSmoothingHandComputed) {
  // z = 0, t = 1, weights (0.5, 3), eps = 0.2: t' = 0.9, loss = 3 * log 2 (at z = 0 the loss is
  // log 2 whatever t'), gradient = 3 * (0.5 - 0.9) = -1.2.
  auto bce = make_loss("binary_crossentropy", LossOptions{{0.5, 3.0}, 0.2});
  Tensor grad;
  EXPECT_NEAR(bce->forward_backward(Tensor({1, 1}, {0}), Tensor({1, 1}, {1}), &grad), 3 * std::log(2.0), 1e-6);
  EXPECT_NEAR(grad[0], -1.2f, 1e-6);
  // z = 2, t = 0: t' = 0.1, loss = 0.5 * (2 - 0.2 + log(1 + e^-2)).
  EXPECT_NEAR(bce->forward_backward(Tensor({1, 1}, {2}), Tensor({1, 1}, {0}), nullptr),
              0.5 * (2 - 0.2 + std::log1p(std::exp(-2.0))), 1e-6);
}

TEST(Losses, OptionsTheLossCannotUseAreRefused) {
  EXPECT_ERROR_CONTAINS(make_loss("mse", LossOptions{{1.0, 2.0}, 0.0}), "mse takes no class weights");
  EXPECT_ERROR_CONTAINS(make_loss("huber", LossOptions{{}, 0.1}), "huber takes no label smoothing");
  EXPECT_ERROR_CONTAINS(make_loss("categorical_crossentropy", LossOptions{{}, 1.0}), "label_smoothing = 1", "[0, 1)");
  EXPECT_ERROR_CONTAINS(make_loss("categorical_crossentropy", LossOptions{{1.0, -1.0}, 0.0}), "class 1", ">= 0");
  EXPECT_ERROR_CONTAINS(make_loss("binary_crossentropy", LossOptions{{1.0, 2.0, 3.0}, 0.0}), "3 class weights",
                        "give two");
  auto cce = make_loss("categorical_crossentropy", LossOptions{{1.0, 2.0}, 0.0});
  EXPECT_ERROR_CONTAINS(cce->forward_backward(Tensor({1, 3}), Tensor({1, 1}, {0}), nullptr),
                        "2 class weights for 3 outputs");
}

}  // namespace
}  // namespace nntune
