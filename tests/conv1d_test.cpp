// The 1-D window layers over (steps, channels) sequences (src/nn/layers/lifted1d.*, conv1d.cpp,
// *_pool1d.cpp): values against a naive 1-D convolution / pooling written from the definitions,
// numerical gradient checks over stride, padding, dilation and groups, configs, and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "gradcheck.hpp"
#include "nntune/error.hpp"
#include "nntune/layer.hpp"
#include "nntune/network.hpp"
#include "nntune/trainer.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::BoundLayer;
using testing::expect_gradients_ok;
using testing::random_tensor;
using testing::run_forward;

struct Conv1dCase {
  json config;
  int64_t steps, channels;
  int64_t out_steps, pad_before;  // worked out by hand
};

// out[s, t, f] = b[f] + sum_{k, c in f's group} x[s, t*stride - pad + k*dilation, c] * w[g][k][c][f].
Tensor naive_conv1d(const Tensor& x, const float* w, const float* b, const Conv1dCase& k) {
  const int64_t filters = k.config["filters"], kernel = k.config["kernel"];
  const int64_t stride = k.config.value("stride", 1), dilation = k.config.value("dilation", 1);
  const int64_t groups = k.config.value("groups", 1), cg = k.channels / groups, fg = filters / groups;
  Tensor out({x.batch(), k.out_steps, filters});
  for (int64_t s = 0; s < x.batch(); ++s)
    for (int64_t t = 0; t < k.out_steps; ++t)
      for (int64_t f = 0; f < filters; ++f) {
        const int64_t g = f / fg, j = f % fg;
        double sum = b ? b[f] : 0.0;
        for (int64_t tap = 0; tap < kernel; ++tap) {
          const int64_t at = t * stride - k.pad_before + tap * dilation;
          if (at < 0 || at >= k.steps) continue;
          for (int64_t c = 0; c < cg; ++c)
            sum += static_cast<double>(x[(s * k.steps + at) * k.channels + g * cg + c]) *
                   w[((g * kernel + tap) * cg + c) * fg + j];
        }
        out[(s * k.out_steps + t) * filters + f] = static_cast<float>(sum);
      }
  return out;
}

std::vector<Conv1dCase> conv1d_cases() {
  return {
      {{{"type", "conv1d"}, {"filters", 3}, {"kernel", 3}}, 7, 2, 5, 0},
      {{{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}, {"padding", "same"}}, 6, 3, 6, 1},
      // same with stride 2 on 7 steps: 4 outputs, total padding 2 (3*2 + 3 - 7), one before.
      {{{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}, {"stride", 2}, {"padding", "same"}}, 7, 2, 4, 1},
      // kernel 2 dilation 3 spans 4 steps; padding 2 each end: (9 + 4 - 4) / 1 + 1 = 10.
      {{{"type", "conv1d"}, {"filters", 4}, {"kernel", 2}, {"dilation", 3}, {"padding", 2}}, 9, 2, 10, 2},
      {{{"type", "conv1d"}, {"filters", 6}, {"kernel", 3}, {"groups", 3}, {"padding", 1}, {"stride", 2}}, 8, 3, 4, 1},
      {{{"type", "conv1d"}, {"filters", 4}, {"kernel", 1}, {"groups", 4}, {"use_bias", false}}, 5, 4, 5, 0},
  };
}

TEST(Conv1d, MatchesANaiveConvolutionAndItsGradients) {
  for (const Conv1dCase& k : conv1d_cases()) {
    SCOPED_TRACE(k.config.dump());
    BoundLayer conv(make_layer(k.config), {k.steps, k.channels}, 5);
    ASSERT_EQ(conv.output_sample_shape, (Shape{k.out_steps, k.config["filters"].get<int64_t>()}));
    // Non-zero biases, so a bias that went to the wrong filter shows.
    if (conv->params().size() > 1)
      for (int64_t i = 0; i < conv->params()[1].size; ++i) conv->params()[1].value[i] = 0.1f * static_cast<float>(i + 1);
    const Tensor x = random_tensor({3, k.steps, k.channels}, 7);
    const Tensor got = run_forward(*conv.layer, x);
    const Tensor want =
        naive_conv1d(x, conv->params()[0].value, conv->params().size() > 1 ? conv->params()[1].value : nullptr, k);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
    expect_gradients_ok(*conv.layer, x);
  }
}

TEST(Conv1d, FusedActivationAndFanIn) {
  BoundLayer conv(make_layer({{"type", "conv1d"}, {"filters", 4}, {"kernel", 3}, {"activation", "tanh"}}), {6, 2});
  expect_gradients_ok(*conv.layer, random_tensor({2, 6, 2}, 3));
  // he_normal after relu: std sqrt(2 / fan_in), fan_in = channels * kernel = 40 * 5.
  BoundLayer wide(make_layer({{"type", "conv1d"}, {"filters", 50}, {"kernel", 5}, {"activation", "relu"}}), {9, 40});
  const ParamBlock& w = wide->params()[0];
  double sum_sq = 0.0;
  for (int64_t i = 0; i < w.size; ++i) sum_sq += static_cast<double>(w.value[i]) * w.value[i];
  EXPECT_NEAR(std::sqrt(sum_sq / static_cast<double>(w.size)), std::sqrt(2.0 / 200.0), 0.01);
}

TEST(Conv1d, TakesAFollowingActivationLayerAsItsTwinDoes) {
  // Network::build fuses {type: relu} into the conv1d before it: the same outputs and gradients as
  // the activation declared on the layer.
  const json he = {{"name", "he_normal"}};
  Network fused, declared;
  fused.add(make_layer({{"type", "conv1d"}, {"filters", 3}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he}}));
  fused.add(make_layer({{"type", "relu"}}));
  declared.add(make_layer(
      {{"type", "conv1d"}, {"filters", 3}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he}, {"activation", "relu"}}));
  Rng a(4), b(4);
  fused.build({7, 2}, a);
  declared.build({7, 2}, b);
  EXPECT_TRUE(fused.fused_into_previous(1));
  const Tensor x = random_tensor({2, 7, 2}, 5);
  const Tensor& ya = fused.forward(x, ForwardContext{true, &a});
  const Tensor& yb = declared.forward(x, ForwardContext{true, &b});
  ASSERT_EQ(std::vector<float>(ya.data(), ya.data() + ya.size()), std::vector<float>(yb.data(), yb.data() + yb.size()));
  const Tensor grad = random_tensor({2, 7, 3}, 6);
  fused.backward(grad);
  declared.backward(grad);
  EXPECT_EQ(fused.gradients(), declared.gradients());
}

TEST(Pool1d, ValuesAndGradients) {
  const Tensor x({1, 5, 2}, {1, -1, 4, 2, 3, -5, 0, 8, 2, 7});
  BoundLayer max_pool(make_layer({{"type", "max_pool1d"}, {"kernel", 2}}), {5, 2});
  ASSERT_EQ(max_pool.output_sample_shape, (Shape{2, 2}));  // stride defaults to the kernel
  const Tensor m = run_forward(*max_pool.layer, x);
  EXPECT_EQ(std::vector<float>(m.data(), m.data() + 4), (std::vector<float>{4, 2, 3, 8}));
  // Padding 1 and stride 1, kernel 3: windows of the real steps only are averaged.
  BoundLayer avg_pool(make_layer({{"type", "avg_pool1d"}, {"kernel", 3}, {"stride", 1}, {"padding", 1}}), {5, 2});
  const Tensor a = run_forward(*avg_pool.layer, x);
  ASSERT_EQ(a.shape(), (Shape{1, 5, 2}));
  EXPECT_FLOAT_EQ(a[0], (1 + 4) / 2.0f);
  EXPECT_FLOAT_EQ(a[2], (1 + 4 + 3) / 3.0f);
  EXPECT_FLOAT_EQ(a[9], (8 + 7) / 2.0f);
  BoundLayer global(make_layer({{"type", "global_avg_pool1d"}}), {5, 2});
  ASSERT_EQ(global.output_sample_shape, (Shape{2}));
  const Tensor g = run_forward(*global.layer, x);
  EXPECT_FLOAT_EQ(g[0], 2.0f);
  EXPECT_FLOAT_EQ(g[1], 2.2f);
  // Values 0.1 apart: no near-ties for max pooling's finite differences.
  Tensor distinct({2, 7, 3});
  for (int64_t i = 0; i < distinct.size(); ++i) distinct[i] = 0.1f * static_cast<float>((i * 17) % 42 - 21);
  for (const json& config : {json{{"type", "max_pool1d"}, {"kernel", 3}, {"stride", 2}, {"padding", "same"}},
                             json{{"type", "avg_pool1d"}, {"kernel", 2}, {"stride", 1}, {"padding", 1}},
                             json{{"type", "global_avg_pool1d"}}}) {
    SCOPED_TRACE(config.dump());
    BoundLayer pool(make_layer(config), {7, 3});
    expect_gradients_ok(*pool.layer, distinct);
  }
}

TEST(Conv1d, ConfigsRoundTripInTheirOneDimensionalForm) {
  for (const json& config : {json{{"type", "conv1d"}, {"filters", 4}, {"kernel", 3}, {"stride", 2}, {"padding", 1},
                                  {"dilation", 2}, {"groups", 2}, {"activation", "relu"}, {"use_bias", false}},
                             json{{"type", "max_pool1d"}, {"kernel", 3}, {"padding", "same"}},
                             json{{"type", "avg_pool1d"}, {"kernel", 2}, {"stride", 1}},
                             json{{"type", "global_avg_pool1d"}}}) {
    const json first = make_layer(config)->config();
    EXPECT_EQ(first["type"], config["type"]);
    for (const char* key : {"kernel", "stride", "dilation"})
      if (first.contains(key)) EXPECT_TRUE(first[key].is_number_integer()) << key << " in " << first.dump();
    EXPECT_EQ(make_layer(first)->config(), first);
  }
  EXPECT_EQ(make_layer({{"type", "max_pool1d"}, {"kernel", 3}})->config()["stride"], 3);
  EXPECT_EQ(make_layer({{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}, {"padding", 2}})->config()["padding"], 2);
}

TEST(Conv1d, ANetworkOfThemLearnsAToyTaskAndRebuildsFromItsConfig) {
  // Class 1 when a bump (three rising steps) appears anywhere in channel 0: a local pattern at
  // any position, what a convolution with global pooling finds.
  Dataset data;
  const int64_t n = 256, steps = 12;
  data.x = Tensor({n, steps, 2});
  data.y = Tensor({n});
  data.num_classes = 2;
  Rng rng(11);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t i = 0; i < steps * 2; ++i) data.x[s * steps * 2 + i] = noise(rng);
    data.y[s] = static_cast<float>(s % 2);
    if (s % 2) {
      const int64_t at = static_cast<int64_t>(rng() % (steps - 3));
      for (int64_t k = 0; k < 3; ++k) data.x[(s * steps + at + k) * 2] += 1.0f + static_cast<float>(k);
    }
  }
  Network net;
  for (const json& c : {json{{"type", "conv1d"}, {"filters", 6}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}},
                        json{{"type", "max_pool1d"}, {"kernel", 2}},
                        json{{"type", "conv1d"}, {"filters", 4}, {"kernel", 2}, {"activation", "relu"}},
                        json{{"type", "global_avg_pool1d"}}, json{{"type", "dense"}, {"units", 2}}})
    net.add(make_layer(c));
  Rng init(3);
  net.build({steps, 2}, init);
  TrainConfig config;
  config.epochs = 30;
  config.batch_size = 32;
  config.optimizer.lr = 0.01;
  fit(net, data, nullptr, config);
  const Metrics metrics = evaluate(net, *make_loss(config.loss), data);
  EXPECT_GT(metrics.at("accuracy"), 0.9);

  Rng other(4);
  Network rebuilt = Network::from_config(net.config(), other);
  std::copy(net.parameters().begin(), net.parameters().end(), rebuilt.parameters().begin());
  const Tensor first = net.forward(data.x, ForwardContext{});
  const Tensor second = rebuilt.forward(data.x, ForwardContext{});
  ASSERT_EQ(first.shape(), second.shape());
  for (int64_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i], second[i]);
}

TEST(Conv1d, BadConfigsAndShapesNameTheLayerAndTheShapes) {
  EXPECT_ERROR_CONTAINS(BoundLayer(make_layer({{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}}), {4, 4, 1}),
                        "conv1d layer: input samples have shape (4, 4, 1)", "sequences of shape (steps, channels)");
  EXPECT_ERROR_CONTAINS(BoundLayer(make_layer({{"type", "conv1d"}, {"filters", 2}, {"kernel", 6}}), {5, 2}),
                        "conv1d layer over sequences of shape (5, 2)");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}, {"padding", "full"}}), "conv1d",
                        "padding", "\"full\"");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv1d"}, {"filters", 3}, {"kernel", 3}, {"groups", 2}}), "conv1d",
                        "groups", "does not divide 'filters' 3");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv1d"}, {"filters", 3}, {"kernel", json::array({1, 3})}}), "conv1d",
                        "kernel");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "max_pool1d"}}), "max_pool1d", "kernel", "is required");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "avg_pool1d"}, {"kernel", 2}, {"padding", -1}}), "avg_pool1d", "padding");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "global_avg_pool1d"}, {"kernel", 2}}), "global_avg_pool1d", "kernel");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv1d"}, {"filters", 2}, {"kernel", 3}, {"activation", "swish"}}),
                        "conv1d", "activation", "swish");
}

}  // namespace
}  // namespace nntune
