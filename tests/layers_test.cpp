#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "gradcheck.hpp"
#include "network_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/layer.hpp"
#include "nntune/network.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::BoundLayer;
using testing::check_layer_gradients;
using testing::expect_gradients_ok;
using testing::GradCheckOptions;
using testing::random_tensor;
using testing::run_forward;

// ---------------------------------------------------------------- gradient checks

class DenseGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseGradient, FusedActivationMatchesFiniteDifferences) {
  BoundLayer dense(make_layer({{"type", "dense"}, {"units", 5}, {"activation", GetParam()}}), {6});
  expect_gradients_ok(*dense.layer, random_tensor({4, 6}, 7));
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, DenseGradient, ::testing::ValuesIn(activation_names()));

TEST(DenseGradientNoBias, MatchesFiniteDifferences) {
  BoundLayer dense(make_layer({{"type", "dense"}, {"units", 3}, {"use_bias", false}}), {4});
  ASSERT_EQ(dense->params().size(), 1u);
  expect_gradients_ok(*dense.layer, random_tensor({5, 4}, 8));
}

class ActivationGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationGradient, MatchesFiniteDifferencesOnRank3Input) {
  // Rank-3 samples: softmax must normalise over the last dimension only.
  BoundLayer act(make_layer({{"type", "activation"}, {"name", GetParam()}}), {2, 4});
  expect_gradients_ok(*act.layer, random_tensor({3, 2, 4}, 9));
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, ActivationGradient, ::testing::ValuesIn(activation_names()));

TEST(ActivationGradientParameters, NegativeSlopeAndAlphaUseThePreActivation) {
  BoundLayer leaky(make_layer({{"type", "leaky_relu"}, {"slope", -0.3}}), {6});
  expect_gradients_ok(*leaky.layer, random_tensor({4, 6}, 10));
  BoundLayer elu(make_layer({{"type", "elu"}, {"alpha", -0.5}}), {6});
  expect_gradients_ok(*elu.layer, random_tensor({4, 6}, 11));
  BoundLayer elu2(make_layer({{"type", "elu"}, {"alpha", 2.0}}), {6});
  expect_gradients_ok(*elu2.layer, random_tensor({4, 6}, 12));
}

TEST(DropoutGradient, MatchesFiniteDifferencesWithAFixedMask) {
  BoundLayer dropout(make_layer({{"type", "dropout"}, {"rate", 0.4}}), {10});
  expect_gradients_ok(*dropout.layer, random_tensor({4, 10}, 13));
}

TEST(BatchNormGradient, TrainingModeMatchesFiniteDifferences) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}}), {5});
  // Non-trivial gamma/beta so their gradients and the scale path are exercised.
  for (size_t i = 0; i < bn.values.size(); ++i) bn.values[i] = 0.5f + 0.1f * static_cast<float>(i);
  expect_gradients_ok(*bn.layer, random_tensor({6, 5}, 14));
}

TEST(BatchNormGradient, Rank3SamplesAndEvaluationMode) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"epsilon", 0.01}}), {2, 3});
  expect_gradients_ok(*bn.layer, random_tensor({4, 2, 3}, 15));
  bn->set_state({0.1f, -0.2f, 0.3f, 0.0f, 0.5f, -0.5f, 1.0f, 2.0f, 0.5f, 1.5f, 3.0f, 0.25f});
  GradCheckOptions eval;
  eval.training = false;
  expect_gradients_ok(*bn.layer, random_tensor({4, 2, 3}, 16), eval);
}

TEST(FlattenGradient, MatchesFiniteDifferences) {
  BoundLayer flatten(make_layer({{"type", "flatten"}}), {3, 4});
  EXPECT_EQ(flatten.output_sample_shape, (Shape{12}));
  expect_gradients_ok(*flatten.layer, random_tensor({2, 3, 4}, 17));
}

TEST(NetworkGradient, StackOfEveryLayerKindThroughALoss) {
  // The layers composed by Network (flat buffers, ping-pong gradient buffers, first layer
  // without an input gradient) give the gradient of the loss w.r.t. every parameter.
  Network net;
  net.add(make_layer({{"type", "flatten"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 6}, {"activation", "tanh"}}));
  net.add(make_layer({{"type", "batch_norm"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 5}, {"activation", "gelu"}}));
  net.add(make_layer({{"type", "dropout"}, {"rate", 0.3}}));
  net.add(make_layer({{"type", "elu"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Rng init(3);
  net.build({2, 2}, init);
  const Tensor x = random_tensor({5, 2, 2}, 21);
  const testing::BlockCheck check =
      testing::check_network_gradients(net, x, Tensor({5, 1}, {0, 2, 1, 1, 0}), "categorical_crossentropy");
  EXPECT_EQ(check.failed, 0) << check.first_failure;
  EXPECT_LE(check.skipped, check.checked / 20);
  std::cout << "network: " << check.checked << " checked, " << check.skipped << " kinks skipped, max rel err "
            << check.max_rel_error << "\n";
}

TEST(GradCheck, CatchesAWrongGradient) {
  // The checker itself must be able to fail: a layer whose backward is off by a factor.
  class WrongScale final : public Layer {
   public:
    std::string kind() const override { return "wrong"; }
    Shape build(const Shape& s) override { return s; }
    void forward(const Tensor& in, Tensor& out, const ForwardContext&) override {
      out.resize(in.shape());
      for (int64_t i = 0; i < in.size(); ++i) out[i] = 3.0f * in[i];
    }
    void backward(const Tensor& in, const Tensor&, const Tensor& g, Tensor* gi) override {
      if (!gi) return;
      gi->resize(in.shape());
      for (int64_t i = 0; i < in.size(); ++i) gi->operator[](i) = 2.9f * g[i];
    }
    json config() const override { return {}; }
  } wrong;
  EXPECT_FALSE(check_layer_gradients(wrong, random_tensor({2, 3}, 1)).passed());
}

TEST(GradCheck, SkipsKinksAndCountsThem) {
  // relu at exactly 0 has no derivative: the checker must skip that element, not fail on it.
  BoundLayer relu(make_layer({{"type", "relu"}}), {10});
  const testing::GradCheckReport report =
      check_layer_gradients(*relu.layer, Tensor({1, 10}, {0, 1, -1, 2, -2, 0.5f, -0.5f, 3, -3, 1.5f}));
  ASSERT_EQ(report.blocks.size(), 1u);
  EXPECT_EQ(report.blocks[0].skipped, 1);
  EXPECT_EQ(report.blocks[0].checked, 9);
  EXPECT_TRUE(report.passed()) << report.summary();
  GradCheckOptions strict;
  strict.max_skipped_fraction = 0.0;
  EXPECT_FALSE(report.passed(strict));
}

TEST(NetworkBackward, StopsAtTheFirstTrainableLayer) {
  // Layers before the first one with parameters learn nothing: backward must not reach them,
  // so the first dense layer skips dLoss/dIn (for flatten -> dense, a batch x 784 x units GEMM).
  struct Calls {
    int backward = 0, with_grad_in = 0;
  };
  class Recorder final : public Layer {
   public:
    explicit Recorder(Calls* calls) : calls_(calls) {}
    std::string kind() const override { return "recorder"; }
    Shape build(const Shape& s) override { return s; }
    void forward(const Tensor& in, Tensor& out, const ForwardContext&) override { out = in; }
    void backward(const Tensor&, const Tensor&, const Tensor& g, Tensor* gi) override {
      ++calls_->backward;
      if (gi) ++calls_->with_grad_in, *gi = g;
    }
    json config() const override { return {}; }

   private:
    Calls* calls_;
  };
  Calls front, middle;
  Network net;
  net.add(std::make_unique<Recorder>(&front));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  net.add(std::make_unique<Recorder>(&middle));
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng rng(0);
  net.build({4}, rng);
  net.forward(random_tensor({5, 4}, 1), ForwardContext{true, &rng});
  net.backward(random_tensor({5, 2}, 2));
  EXPECT_EQ(front.backward, 0);
  EXPECT_EQ(middle.backward, 1);
  EXPECT_EQ(middle.with_grad_in, 1);
}

// ---------------------------------------------------------------- forward values

TEST(Activation, HandComputedValues) {
  auto apply = [](const json& config, std::vector<float> values) {
    BoundLayer layer(make_layer(config), {static_cast<int64_t>(values.size())});
    Tensor in({1, static_cast<int64_t>(values.size())}, values);
    Tensor out = run_forward(*layer.layer, in, false);
    return std::vector<float>(out.data(), out.data() + out.size());
  };
  const auto softmax = apply({{"type", "softmax"}}, {1, 2, 3});
  EXPECT_NEAR(softmax[0], 0.09003057f, 1e-6);
  EXPECT_NEAR(softmax[1], 0.24472847f, 1e-6);
  EXPECT_NEAR(softmax[2], 0.66524096f, 1e-6);
  const auto big = apply({{"type", "softmax"}}, {1000, 0, -1000});
  EXPECT_FLOAT_EQ(big[0], 1.0f);
  EXPECT_FLOAT_EQ(big[1], 0.0f);
  EXPECT_EQ(apply({{"type", "relu"}}, {-2, 0, 3}), (std::vector<float>{0, 0, 3}));
  EXPECT_EQ(apply({{"type", "leaky_relu"}}, {-2, 3}), (std::vector<float>{-0.02f, 3}));
  EXPECT_EQ(apply({{"type", "leaky_relu"}, {"slope", 0.5}}, {-2}), (std::vector<float>{-1.0f}));
  const auto elu = apply({{"type", "elu"}, {"alpha", 2.0}}, {-1, 2});
  EXPECT_NEAR(elu[0], 2.0f * (std::exp(-1.0f) - 1.0f), 1e-6);
  EXPECT_EQ(elu[1], 2.0f);
  const auto sigmoid = apply({{"type", "sigmoid"}}, {0, 100, -100});
  EXPECT_FLOAT_EQ(sigmoid[0], 0.5f);
  EXPECT_FLOAT_EQ(sigmoid[1], 1.0f);
  EXPECT_FLOAT_EQ(sigmoid[2], 0.0f);
  const auto tanh = apply({{"type", "tanh"}}, {0.5f});
  EXPECT_NEAR(tanh[0], 0.46211716f, 1e-6);
  // Exact (erf) GELU: x * Phi(x). Phi(1) = 0.8413447, so gelu(1) = 0.8413447, gelu(-1) = -0.1586553.
  const auto gelu = apply({{"type", "gelu"}}, {1, -1, 0});
  EXPECT_NEAR(gelu[0], 0.8413447f, 1e-6);
  EXPECT_NEAR(gelu[1], -0.1586553f, 1e-6);
  EXPECT_EQ(gelu[2], 0.0f);
  EXPECT_EQ(apply({{"type", "linear"}}, {-1.5f, 2}), (std::vector<float>{-1.5f, 2}));
}

TEST(Activation, SoftmaxNormalisesTheLastDimension) {
  BoundLayer layer(make_layer({{"type", "softmax"}}), {2, 3});
  Tensor out = run_forward(*layer.layer, random_tensor({2, 2, 3}, 3), false);
  for (int64_t row = 0; row < 4; ++row)
    EXPECT_NEAR(out[3 * row] + out[3 * row + 1] + out[3 * row + 2], 1.0f, 1e-6);
}

TEST(Dense, ForwardIsInputTimesWeightPlusBiasThenActivation) {
  BoundLayer dense(make_layer({{"type", "dense"}, {"units", 3}, {"activation", "relu"}}), {2});
  // weight (2 x 3) row-major, then bias (3)
  const std::vector<float> params = {1, 2, 3, 4, 5, 6, 0.5f, -20, 0};
  std::copy(params.begin(), params.end(), dense.values.begin());
  Tensor out = run_forward(*dense.layer, Tensor({2, 2}, {1, 2, -1, 0}), true);
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + 6), (std::vector<float>{9.5f, 0, 15, 0, 0, 0}));
  // Backward by hand: dz = g masked by relu; dW = in^T dz; db = column sums; dIn = dz W^T.
  Tensor grad_in;
  dense->backward(Tensor({2, 2}, {1, 2, -1, 0}), out, Tensor({2, 3}, {1, 1, 1, 1, 1, 1}), &grad_in);
  EXPECT_EQ(dense.grads, (std::vector<float>{1, 0, 1, 2, 0, 2, 1, 0, 1}));
  EXPECT_EQ(std::vector<float>(grad_in.data(), grad_in.data() + 4), (std::vector<float>{4, 10, 0, 0}));
}

TEST(Dense, WeightIsPenalisedBiasIsNot) {
  BoundLayer dense(make_layer({{"type", "dense"}, {"units", 3}}), {2});
  ASSERT_EQ(dense->params().size(), 2u);
  EXPECT_EQ(dense->params()[0].name, "weight");
  EXPECT_TRUE(dense->params()[0].is_weight);
  EXPECT_EQ(dense->params()[0].size, 6);
  EXPECT_EQ(dense->params()[1].name, "bias");
  EXPECT_FALSE(dense->params()[1].is_weight);
}

TEST(Dense, DefaultKernelInitDependsOnActivation) {
  for (const char* name : {"relu", "leaky_relu", "elu", "gelu"})
    EXPECT_EQ(make_layer({{"type", "dense"}, {"units", 2}, {"activation", name}})->config()["kernel_init"]["name"],
              "he_normal");
  for (const char* name : {"linear", "tanh", "sigmoid", "softmax"})
    EXPECT_EQ(make_layer({{"type", "dense"}, {"units", 2}, {"activation", name}})->config()["kernel_init"]["name"],
              "xavier_uniform");
  EXPECT_EQ(make_layer({{"type", "dense"}, {"units", 2}})->config()["bias_init"]["name"], "zeros");
}

// Rank-2 samples are sequences, which dense takes per step (tests/sequence_loss_test.cpp); the
// spec still asks for a flatten when the targets are one per sample (tests/spec_test.cpp).
TEST(Dense, ImageSamplesNeedAFlattenLayer) {
  auto dense = make_layer({{"type", "dense"}, {"units", 2}});
  EXPECT_ERROR_CONTAINS(dense->build({3, 4, 2}), "dense", "(3, 4, 2)", "flatten");
  EXPECT_EQ(dense->build({3, 4}), (Shape{3, 2}));
}

TEST(Dropout, IdentityAtEvaluationAndWithoutRate) {
  BoundLayer dropout(make_layer({{"type", "dropout"}, {"rate", 0.5}}), {8});
  Tensor in = random_tensor({3, 8}, 4);
  Tensor out = run_forward(*dropout.layer, in, false);
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + out.size()), std::vector<float>(in.data(), in.data() + in.size()));
  BoundLayer none(make_layer({{"type", "dropout"}, {"rate", 0.0}}), {8});
  out = run_forward(*none.layer, in, true);
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + out.size()), std::vector<float>(in.data(), in.data() + in.size()));
}

TEST(Dropout, TrainingDropsTheRateAndPreservesTheMean) {
  BoundLayer dropout(make_layer({{"type", "dropout"}, {"rate", 0.3}}), {100000});
  Tensor in({1, 100000});
  std::fill(in.data(), in.data() + in.size(), 1.0f);
  Tensor out = run_forward(*dropout.layer, in, true, 99);
  int64_t zeros = 0;
  double sum = 0.0;
  for (int64_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0.0f) ++zeros;
    else EXPECT_FLOAT_EQ(out[i], 1.0f / 0.7f);
    sum += out[i];
  }
  EXPECT_NEAR(static_cast<double>(zeros) / 100000.0, 0.3, 0.005);
  EXPECT_NEAR(sum / 100000.0, 1.0, 0.01);
  // Same seed, same mask; another seed, another mask.
  Tensor again = run_forward(*dropout.layer, in, true, 99);
  Tensor other = run_forward(*dropout.layer, in, true, 100);
  EXPECT_TRUE(std::equal(out.data(), out.data() + out.size(), again.data()));
  EXPECT_FALSE(std::equal(out.data(), out.data() + out.size(), other.data()));
}

TEST(Dropout, MaskValuesAreIndependentOfTheirNeighboursAndOfThePreviousPass) {
  // The mask is a hash of each value's position under a key drawn per pass: neighbouring values
  // and successive passes must still be dropped independently (both dropped: rate^2 of pairs).
  const int64_t n = 200000;
  const double rate = 0.3;
  BoundLayer dropout(make_layer({{"type", "dropout"}, {"rate", rate}}), {n});
  Tensor in({1, n});
  std::fill(in.data(), in.data() + in.size(), 1.0f);
  Rng rng(5);
  Tensor first, second;
  dropout->forward(in, first, ForwardContext{true, &rng});
  dropout->forward(in, second, ForwardContext{true, &rng});
  int64_t neighbours = 0, across = 0, second_dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool a = first[i] == 0.0f, b = second[i] == 0.0f;
    if (i + 1 < n && a && first[i + 1] == 0.0f) ++neighbours;
    if (a && b) ++across;
    second_dropped += b;
  }
  // Binomial standard deviation of a count near n * 0.09: about 128; allow 5 of them.
  EXPECT_NEAR(static_cast<double>(neighbours), rate * rate * (n - 1), 650.0);
  EXPECT_NEAR(static_cast<double>(across), rate * rate * n, 650.0);
  EXPECT_NEAR(static_cast<double>(second_dropped) / n, rate, 0.005);
  // Backward drops the forward pass's values, scaled alike.
  Tensor grad_out = random_tensor({1, n}, 6), grad_in;
  dropout->backward(in, second, grad_out, &grad_in);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(grad_in[i], second[i] == 0.0f ? 0.0f : grad_out[i] * second[i]) << i;
}

TEST(Dropout, TrainingWithoutAGeneratorIsAnError) {
  BoundLayer dropout(make_layer({{"type", "dropout"}, {"rate", 0.3}}), {4});
  Tensor out;
  EXPECT_ERROR_CONTAINS(dropout->forward(Tensor({1, 4}), out, ForwardContext{true, nullptr}), "dropout", "rng");
}

TEST(BatchNorm, TrainingNormalisesAndUpdatesRunningStatistics) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"momentum", 0.9}, {"epsilon", 1e-5}}), {2});
  EXPECT_EQ(bn->state(), (std::vector<float>{0, 0, 1, 1}));  // running mean 0, var 1
  // Feature 0: {1, 3} -> mean 2, biased var 1. Feature 1: {10, 10} -> mean 10, var 0.
  Tensor out = run_forward(*bn.layer, Tensor({2, 2}, {1, 10, 3, 10}), true);
  EXPECT_NEAR(out[0], -1.0f / std::sqrt(1.0f + 1e-5f), 1e-5);
  EXPECT_NEAR(out[2], 1.0f / std::sqrt(1.0f + 1e-5f), 1e-5);
  EXPECT_EQ(out[1], 0.0f);
  const std::vector<float> state = bn->state();
  EXPECT_NEAR(state[0], 0.1f * 2.0f, 1e-6);   // 0.9 * 0 + 0.1 * 2
  EXPECT_NEAR(state[1], 0.1f * 10.0f, 1e-5);
  EXPECT_NEAR(state[2], 0.9f + 0.1f * 1.0f, 1e-6);  // biased batch variance (Keras)
  EXPECT_NEAR(state[3], 0.9f, 1e-6);
}

TEST(BatchNorm, EvaluationUsesRunningStatistics) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"epsilon", 0.0001}}), {2});
  bn->set_state({1, -2, 4, 9});
  bn.values = {2, 1, 0.5f, 0};  // gamma, beta
  Tensor out = run_forward(*bn.layer, Tensor({1, 2}, {3, 1}), false);
  EXPECT_NEAR(out[0], 2.0f * (3 - 1) / std::sqrt(4.0001f) + 0.5f, 1e-5);
  EXPECT_NEAR(out[1], 1.0f * (1 + 2) / std::sqrt(9.0001f), 1e-5);
  EXPECT_EQ(bn->state(), (std::vector<float>{1, -2, 4, 9}));  // evaluation leaves it alone
  EXPECT_ERROR_CONTAINS(bn->set_state({1, 2, 3}), "batch_norm", "3 values", "expected 4");
}

TEST(BatchNorm, GammaAndBetaAreNotPenalised) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}}), {3});
  ASSERT_EQ(bn->params().size(), 2u);
  EXPECT_EQ(bn->params()[0].name, "gamma");
  EXPECT_EQ(bn->params()[1].name, "beta");
  EXPECT_FALSE(bn->params()[0].is_weight);
  EXPECT_FALSE(bn->params()[1].is_weight);
  EXPECT_EQ(bn.values, (std::vector<float>{1, 1, 1, 0, 0, 0}));
}

// ---------------------------------------------------------------- configs

TEST(LayerConfig, EveryConfigRoundTrips) {
  const std::vector<json> configs = {
      {{"type", "dense"}, {"units", 7}},
      {{"type", "dense"}, {"units", 3}, {"activation", "gelu"}, {"use_bias", false}},
      {{"type", "dense"},
       {"units", 4},
       {"kernel_init", {{"name", "normal"}, {"scale", 0.2}}},
       {"bias_init", {{"name", "constant"}, {"value", 0.1}}}},
      {{"type", "dense"}, {"units", 2}, {"kernel_init", "lecun_normal"}},
      {{"type", "relu"}},
      {{"type", "activation"}, {"name", "softmax"}},
      {{"type", "leaky_relu"}, {"slope", 0.2}},
      {{"type", "elu"}, {"alpha", 0.5}},
      {{"type", "dropout"}, {"rate", 0.25}},
      {{"type", "batch_norm"}, {"momentum", 0.9}, {"epsilon", 1e-5}},
      {{"type", "flatten"}},
  };
  for (const json& config : configs) {
    const json first = make_layer(config)->config();
    const json second = make_layer(first)->config();
    EXPECT_EQ(first, second) << config.dump();
  }
  EXPECT_EQ(make_layer({{"type", "leaky_relu"}, {"slope", 0.2}})->config()["slope"], 0.2);  // not 0.200000003
  EXPECT_EQ(make_layer({{"type", "dropout"}, {"rate", 0.25}})->config()["rate"], 0.25);
  EXPECT_EQ(make_layer({{"type", "dense"}, {"units", 2}, {"kernel_init", {{"name", "normal"}, {"scale", 0.5}}}})
                ->config()["kernel_init"]["scale"],
            0.5);
}

TEST(LayerConfig, RebuiltNetworkComputesTheSameOutputs) {
  Network net;
  net.add(make_layer({{"type", "flatten"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 6}, {"activation", "tanh"}}));
  net.add(make_layer({{"type", "batch_norm"}}));
  net.add(make_layer({{"type", "dropout"}, {"rate", 0.2}}));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Rng rng(5);
  net.build({2, 3}, rng);
  Tensor x = random_tensor({4, 2, 3}, 6);
  net.forward(x, ForwardContext{true, &rng});  // moves the batch-norm running statistics
  testing::expect_rebuilt_network_computes_the_same(net, x);
}

TEST(LayerConfig, NetworkRejectsInputsOfAnotherShape) {
  // Network::forward compares shapes without allocating; the check must still bite.
  Network net;
  net.add(make_layer({{"type", "flatten"}}));
  Rng rng(1);
  net.build({2, 3}, rng);
  EXPECT_ERROR_CONTAINS(net.forward(Tensor({4, 3, 2}), ForwardContext{}), "(3, 2)", "expects (2, 3)");
  EXPECT_ERROR_CONTAINS(net.forward(Tensor({4, 6}), ForwardContext{}), "(6,)", "expects (2, 3)");
  EXPECT_NO_THROW(net.forward(Tensor({4, 2, 3}), ForwardContext{}));
}

TEST(LayerConfig, KnownTypesAndActivations) {
  EXPECT_EQ(activation_names(),
            (std::vector<std::string>{"linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax"}));
  for (const std::string& type : layer_types()) {
    // The declared example gives the required keys (dense: units, activation: name, ...).
    json config = layer_registry().find(type)->info.example;
    config["type"] = type;
    EXPECT_NO_THROW(make_layer(config)) << type;
  }
}

TEST(LayerConfig, BadConfigsNameTheLayerKeyAndAllowedValues) {
  EXPECT_ERROR_CONTAINS(make_layer({{"units", 3}}), "needs a \"type\"", "dense", "batch_norm");
  EXPECT_ERROR_CONTAINS(make_layer(json::array()), "needs a \"type\"");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv3d"}}), "unknown layer type \"conv3d\"", "dense, activation, dropout");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}}), "dense layer", "'units' is required");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", -3}}), "dense layer", "'units'", "positive integer",
                        "-3");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 2.5}}), "'units'", "positive integer", "2.5");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", "ten"}}), "'units'", "\"ten\"");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 1e30}}), "'units'", "too large");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", true}}), "'units'", "positive integer", "true");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"unit", 3}}), "dense layer", "unknown key 'unit'",
                        "allowed keys: type, units, activation, kernel_init, bias_init, use_bias");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"activation", "swish"}}), "dense layer",
                        "'activation'", "\"swish\"", "linear, relu, sigmoid, tanh, leaky_relu, elu, gelu, softmax");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"kernel_init", "glorot"}}), "dense layer",
                        "'kernel_init'", "\"glorot\"", "zeros, constant, normal", "lecun_normal");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"bias_init", {{"name", "normal"}, {"std", 1}}}}),
                        "dense layer", "'bias_init'", "unknown key 'std'", "name, scale, value");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"kernel_init", {{"scale", 1}}}}), "'kernel_init'",
                        "needs a \"name\"");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"kernel_init", {{"name", "normal"}, {"scale", -1}}}}),
                        "'kernel_init'", "'scale'", ">= 0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 3}, {"use_bias", "yes"}}), "dense layer", "'use_bias'",
                        "true or false");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "activation"}}), "activation layer", "'name' is required", "relu");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "activation"}, {"name", "swish"}}), "activation layer", "'name'",
                        "\"swish\"", "leaky_relu, elu, gelu");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "relu"}, {"slope", 0.1}}), "relu layer", "unknown key 'slope'",
                        "allowed keys: type");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "activation"}, {"name", "relu"}, {"alpha", 1}}), "activation layer",
                        "unknown key 'alpha'", "allowed keys: type, name");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "leaky_relu"}, {"slope", "steep"}}), "leaky_relu layer", "'slope'",
                        "must be a number");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dropout"}, {"rate", 1.0}}), "dropout layer", "'rate'", "[0.0, 1.0)", "1.0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dropout"}, {"rate", -0.1}}), "dropout layer", "'rate'", "[0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dropout"}, {"p", 0.1}}), "dropout layer", "unknown key 'p'",
                        "allowed keys: type, rate");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "batch_norm"}, {"momentum", 1.5}}), "batch_norm layer", "'momentum'",
                        "[0.0, 1.0]");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "batch_norm"}, {"epsilon", 0}}), "batch_norm layer", "'epsilon'", "> 0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "batch_norm"}, {"eps", 0.1}}), "batch_norm layer", "unknown key 'eps'",
                        "type, momentum, epsilon");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "flatten"}, {"axis", 1}}), "flatten layer", "unknown key 'axis'",
                        "allowed keys: type");
}

// ---------------------------------------------------------------- initialisers

struct Moments {
  double mean = 0, stddev = 0, max_abs = 0;
};

Moments moments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (float x : v) {
    m.stddev += (x - m.mean) * (x - m.mean);
    m.max_abs = std::max(m.max_abs, static_cast<double>(std::fabs(x)));
  }
  m.stddev = std::sqrt(m.stddev / static_cast<double>(v.size()));
  return m;
}

std::vector<float> sample(const Initializer& init, int64_t fan_in, int64_t fan_out, uint64_t seed = 3,
                          int64_t size = 200000) {
  std::vector<float> v(static_cast<size_t>(size));
  Rng rng(seed);
  initialize(init, v.data(), size, fan_in, fan_out, rng);
  return v;
}

TEST(Initializers, PublishedFormulas) {
  const int64_t fan_in = 300, fan_out = 100;
  struct Case {
    std::string name;
    double stddev;
    double limit;  // 0 for normals
  };
  const std::vector<Case> cases = {
      {"xavier_normal", std::sqrt(2.0 / 400), 0},        {"xavier_uniform", std::sqrt(6.0 / 400) / std::sqrt(3.0), std::sqrt(6.0 / 400)},
      {"he_normal", std::sqrt(2.0 / 300), 0},            {"he_uniform", std::sqrt(6.0 / 300) / std::sqrt(3.0), std::sqrt(6.0 / 300)},
      {"lecun_normal", std::sqrt(1.0 / 300), 0},         {"normal", 0.05, 0},
      {"uniform", 0.05 / std::sqrt(3.0), 0.05},
  };
  for (const Case& c : cases) {
    Initializer init;
    init.name = c.name;
    const Moments m = moments(sample(init, fan_in, fan_out));
    EXPECT_NEAR(m.mean, 0.0, 0.01 * c.stddev) << c.name;
    EXPECT_NEAR(m.stddev, c.stddev, 0.01 * c.stddev) << c.name;
    if (c.limit > 0) {
      EXPECT_LE(m.max_abs, c.limit) << c.name;
      EXPECT_GT(m.max_abs, 0.99 * c.limit) << c.name;
    } else {
      EXPECT_GT(m.max_abs, 3.5 * c.stddev) << c.name << ": a normal has tails (not truncated)";
    }
  }
  Initializer scaled{"normal", 0.0f, 2.0f};
  EXPECT_NEAR(moments(sample(scaled, 1, 1)).stddev, 2.0, 0.02);
}

TEST(Initializers, ZerosAndConstant) {
  EXPECT_EQ(sample({"zeros", 0, 1}, 1, 1, 3, 5), std::vector<float>(5, 0.0f));
  EXPECT_EQ(sample({"constant", 0.25f, 1}, 1, 1, 3, 5), std::vector<float>(5, 0.25f));
}

// Each initialiser declares itself in src/nn/initializers/; the layers' key schemas list these
// names while they register, so every initialiser must be registered first (their ids sort first).
TEST(Initializers, EveryOneIsRegisteredAndListedInTheLayersKeys) {
  EXPECT_EQ(initializer_names(), (std::vector<std::string>{"zeros", "constant", "normal", "uniform", "xavier_normal",
                                                           "xavier_uniform", "he_normal", "he_uniform", "lecun_normal",
                                                           "orthogonal"}));
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "dense"}, {"units", 2}, {"kernel_init", "glorot"}}), "orthogonal");
}

TEST(Initializers, SameSeedSameValues) {
  for (const std::string& name : initializer_names()) {
    Initializer init{name, 0.3f, 0.1f};
    EXPECT_EQ(sample(init, 20, 10, 11, 1001), sample(init, 20, 10, 11, 1001)) << name;
    if (name != "zeros" && name != "constant") {
      EXPECT_NE(sample(init, 20, 10, 11, 1001), sample(init, 20, 10, 12, 1001)) << name;
    }
  }
}

TEST(Initializers, ErrorsNameTheProblem) {
  std::vector<float> v(4);
  Rng rng(1);
  EXPECT_ERROR_CONTAINS(initialize({"glorot", 0, 1}, v.data(), 4, 2, 2, rng), "unknown initializer \"glorot\"",
                        "xavier_uniform, he_normal");
  EXPECT_ERROR_CONTAINS(initialize({"he_normal", 0, 1}, v.data(), 4, 0, 2, rng), "he_normal", "fan_in=0");
}

}  // namespace
}  // namespace nntune
