// Image layers: conv2d, max_pool2d, avg_pool2d, global_avg_pool2d and per-channel batch_norm.
// Images are (height, width, channels) per sample; a conv2d weight is stored
// [group][ky][kx][channel in group][filter in group].
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "gradcheck.hpp"
#include "network_check.hpp"
#include "nn/gemm.hpp"
#include "nntune/layer.hpp"
#include "nntune/model.hpp"
#include "nntune/network.hpp"
#include "nntune/spec.hpp"
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

// Values 0.1 apart in a shuffled order: max pooling has no near-ties, whose kinks a finite
// difference of step 1e-3 would straddle.
Tensor distinct_tensor(const Shape& shape, uint64_t seed) {
  Tensor t(shape);
  std::vector<int64_t> order(static_cast<size_t>(t.size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  Rng rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = 0.1f * static_cast<float>(order[static_cast<size_t>(i)] - t.size() / 2);
  return t;
}

using testing::run_forward;

// ---------------------------------------------------------------- a naive convolution

// One convolution, the geometry given explicitly (worked out by hand in each case below),
// so the layer's own padding arithmetic is checked too.
struct ConvCase {
  std::string name;
  json config;
  int64_t h, w, c;                // input image
  int64_t out_h, out_w;           // expected output size
  int64_t pad_top, pad_left;      // zeros before the first row / column
};

Tensor naive_conv(const Tensor& in, const float* weight, const float* bias, const ConvCase& k, int64_t filters,
                  int64_t groups, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw) {
  const int64_t n = in.batch(), cg = k.c / groups, fg = filters / groups;
  Tensor out({n, k.out_h, k.out_w, filters});
  for (int64_t s = 0; s < n; ++s)
    for (int64_t oy = 0; oy < k.out_h; ++oy)
      for (int64_t ox = 0; ox < k.out_w; ++ox)
        for (int64_t f = 0; f < filters; ++f) {
          const int64_t g = f / fg, fi = f % fg;
          double sum = bias ? bias[f] : 0.0;
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx)
              for (int64_t ci = 0; ci < cg; ++ci) {
                const int64_t iy = oy * sh - k.pad_top + ky * dh, ix = ox * sw - k.pad_left + kx * dw;
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                const float x = in[((s * k.h + iy) * k.w + ix) * k.c + g * cg + ci];
                const float wv = weight[(((g * kh + ky) * kw + kx) * cg + ci) * fg + fi];
                sum += static_cast<double>(x) * wv;
              }
          out[((s * k.out_h + oy) * k.out_w + ox) * filters + f] = static_cast<float>(sum);
        }
  return out;
}

std::vector<ConvCase> conv_cases() {
  return {
      {"same3x3", {{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}}, 5, 6, 2, 5, 6, 1, 1},
      {"valid_stride2_odd",
       {{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"stride", 2}},
       7, 5, 3, 3, 2, 0, 0},
      // same with stride 2 on 7x6: out 4x3; total padding 2 (rows: 3*2+3-7) and 1 (cols: 2*2+3-6),
      // the odd pixel at the bottom/right.
      {"same_stride2",
       {{"type", "conv2d"}, {"filters", 2}, {"kernel", 3}, {"stride", 2}, {"padding", "same"}},
       7, 6, 2, 4, 3, 1, 0},
      {"rect_kernel_padding_dilation",
       {{"type", "conv2d"}, {"filters", 3}, {"kernel", json::array({2, 3})}, {"padding", json::array({1, 2})},
        {"dilation", json::array({2, 1})}},
       5, 4, 2, 5, 6, 1, 2},
      {"groups2",
       {{"type", "conv2d"}, {"filters", 6}, {"kernel", 3}, {"groups", 2}, {"padding", 1}},
       4, 5, 4, 4, 5, 1, 1},
      {"depthwise",
       {{"type", "conv2d"}, {"filters", 6}, {"kernel", 3}, {"groups", 3}, {"stride", json::array({1, 2})}},
       5, 7, 3, 3, 3, 0, 0},
      {"pointwise", {{"type", "conv2d"}, {"filters", 5}, {"kernel", 1}}, 3, 4, 3, 3, 4, 0, 0},
      {"pointwise_stride2", {{"type", "conv2d"}, {"filters", 2}, {"kernel", 1}, {"stride", 2}}, 5, 4, 3, 3, 2, 0, 0},
      {"same_dilation2",
       {{"type", "conv2d"}, {"filters", 2}, {"kernel", 3}, {"dilation", 2}, {"padding", "same"}},
       6, 5, 1, 6, 5, 2, 2},
  };
}

class ConvCases : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvCases, ForwardMatchesANaiveConvolution) {
  const ConvCase& k = GetParam();
  json config = k.config;
  config["bias_init"] = {{"name", "normal"}, {"scale", 0.5}};
  BoundLayer conv(make_layer(config), {k.h, k.w, k.c});
  const int64_t filters = config["filters"];
  ASSERT_EQ(conv.output_sample_shape, (Shape{k.out_h, k.out_w, filters}));
  const json c = conv->config();
  const Tensor in = random_tensor({3, k.h, k.w, k.c}, 21);
  const Tensor out = run_forward(*conv.layer, in);
  const Tensor expected = naive_conv(in, conv->params()[0].value, conv->params()[1].value, k, filters, c["groups"],
                                     c["kernel"][0], c["kernel"][1], c["stride"][0], c["stride"][1], c["dilation"][0],
                                     c["dilation"][1]);
  ASSERT_EQ(out.shape(), expected.shape());
  for (int64_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-4) << k.name << " element " << i;
}

TEST_P(ConvCases, FusedReluIsReluOfTheLinearOutput) {
  const ConvCase& k = GetParam();
  json linear = k.config, relu = k.config;
  relu["activation"] = "relu";
  linear["kernel_init"] = relu["kernel_init"] = "he_normal";
  BoundLayer a(make_layer(linear), {k.h, k.w, k.c}), b(make_layer(relu), {k.h, k.w, k.c});
  b.values = a.values;
  const Tensor in = random_tensor({2, k.h, k.w, k.c}, 22);
  const Tensor ya = run_forward(*a.layer, in), yb = run_forward(*b.layer, in);
  for (int64_t i = 0; i < ya.size(); ++i) ASSERT_EQ(yb[i], std::max(ya[i], 0.0f)) << k.name;
}

TEST_P(ConvCases, GradientsMatchFiniteDifferences) {
  const ConvCase& k = GetParam();
  json config = k.config;
  config["bias_init"] = {{"name", "normal"}, {"scale", 0.3}};
  BoundLayer conv(make_layer(config), {k.h, k.w, k.c});
  expect_gradients_ok(*conv.layer, random_tensor({2, k.h, k.w, k.c}, 23));
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvCases, ::testing::ValuesIn(conv_cases()),
                         [](const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name; });

TEST(Conv2dGradient, FusedActivationsAndNoBias) {
  for (const char* activation : {"relu", "tanh", "gelu", "elu"}) {
    BoundLayer conv(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"padding", "same"},
                                {"activation", activation}, {"bias_init", {{"name", "normal"}, {"scale", 0.3}}}}),
                    {4, 5, 2});
    expect_gradients_ok(*conv.layer, random_tensor({2, 4, 5, 2}, 24));
  }
  BoundLayer no_bias(make_layer({{"type", "conv2d"}, {"filters", 2}, {"kernel", 2}, {"use_bias", false}}), {3, 3, 2});
  ASSERT_EQ(no_bias->params().size(), 1u);
  expect_gradients_ok(*no_bias.layer, random_tensor({2, 3, 3, 2}, 25));
}

TEST(Conv2d, ChunkedBatchesGiveTheSameResultsAsOneSampleAtATime) {
  // 48x48x8 with a 3x3 kernel: one sample's im2col is 2304 x 72 floats, more than one chunk
  // holds, so a batch of 3 runs as 3 chunks and the weight gradient sums over them.
  BoundLayer conv(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"},
                              {"activation", "relu"}, {"bias_init", {{"name", "normal"}, {"scale", 0.1}}}}),
                  {48, 48, 8});
  const Tensor batch = random_tensor({3, 48, 48, 8}, 26);
  const Tensor grad_out = random_tensor({3, 48, 48, 4}, 27);
  const Tensor out = run_forward(*conv.layer, batch);
  Tensor grad_in;
  conv->backward(batch, out, grad_out, &grad_in);
  const std::vector<float> batch_weight_grad(conv.grads.begin(), conv.grads.end());
  std::vector<double> summed(conv.grads.size(), 0.0);
  for (int64_t s = 0; s < 3; ++s) {
    const Tensor one = batch.rows(s, s + 1), one_grad = grad_out.rows(s, s + 1);
    const Tensor one_out = run_forward(*conv.layer, one);
    for (int64_t i = 0; i < one_out.size(); ++i) ASSERT_FLOAT_EQ(one_out[i], out[s * one_out.size() + i]);
    Tensor one_grad_in;
    conv->backward(one, one_out, one_grad, &one_grad_in);
    for (int64_t i = 0; i < one_grad_in.size(); ++i)
      ASSERT_NEAR(one_grad_in[i], grad_in[s * one_grad_in.size() + i], 1e-5);
    for (size_t i = 0; i < summed.size(); ++i) summed[i] += conv.grads[i];
  }
  for (size_t i = 0; i < summed.size(); ++i)
    ASSERT_NEAR(batch_weight_grad[i], summed[i], 1e-3 * (1.0 + std::fabs(summed[i]))) << i;
}

// A shallow convolution (kh * kw * channels <= 32) runs direct kernels on AVX-512 CPUs
// (nn/conv_direct.hpp) and im2col + GEMM elsewhere, or with another GEMM backend. Both must
// agree, forward and backward, on what the direct kernels split: filters past one block of 64
// and not a multiple of 16, more taps than one weight-gradient block (27 with 2 vectors:
// blocks of 12), strides, dilation, padding, several chunks, and every fused activation.
TEST(Conv2d, ShallowDirectKernelsMatchTheGemmPath) {
  struct Case {
    json config;
    Shape image;
    int64_t batch;
  };
  const std::vector<Case> cases = {
      {{{"filters", 37}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}, {9, 7, 3}, 130},
      {{{"filters", 70}, {"kernel", 5}, {"stride", 2}, {"padding", 2}, {"activation", "gelu"}}, {11, 8, 1}, 3},
      {{{"filters", 16}, {"kernel", json::array({3, 2})}, {"dilation", 2}, {"padding", "same"}}, {6, 9, 2}, 4},
      {{{"filters", 5}, {"kernel", 1}, {"stride", 2}, {"activation", "tanh"}}, {5, 6, 3}, 2},
      {{{"filters", 130}, {"kernel", 2}, {"stride", json::array({2, 1})}, {"activation", "elu"}}, {7, 5, 4}, 2},
  };
  if (!gemm_backend_available(GemmBackend::Avx512)) GTEST_SKIP() << "no AVX-512 on this CPU: only the GEMM path runs";
  const GemmBackend original = gemm_backend();
  for (const Case& c : cases) {
    json config = c.config;
    config["type"] = "conv2d";
    config["bias_init"] = {{"name", "normal"}, {"scale", 0.3}};
    Shape batch_shape = c.image;
    batch_shape.insert(batch_shape.begin(), c.batch);
    const Tensor in = random_tensor(batch_shape, 31);
    struct Result {
      Tensor out, grad_in;
      std::vector<float> grads;
    };
    auto run = [&](GemmBackend backend) {
      set_gemm_backend(backend);
      BoundLayer conv(make_layer(config), c.image);
      Result r;
      reset_gemm_usage();
      r.out = run_forward(*conv.layer, in);
      // Either path counts its multiply-adds as fp32 products (what `precision_used` reports).
      const json kernel = conv->config()["kernel"];
      EXPECT_EQ(gemm_usage().fp32_flop, 2.0 * static_cast<double>(r.out.size()) * kernel[0].get<double>() *
                                            kernel[1].get<double>() * static_cast<double>(c.image[2]));
      const Tensor grad_out = random_tensor(r.out.shape(), 32);
      conv->backward(in, r.out, grad_out, &r.grad_in);
      r.grads = conv.grads;
      return r;
    };
    const Result gemm_path = run(GemmBackend::Eigen);
    const Result direct = run(GemmBackend::Avx512);
    set_gemm_backend(original);
    const std::string what = config.dump();
    ASSERT_EQ(direct.out.shape(), gemm_path.out.shape()) << what;
    for (int64_t i = 0; i < direct.out.size(); ++i)
      ASSERT_NEAR(direct.out[i], gemm_path.out[i], 1e-5 * (1.0 + std::fabs(gemm_path.out[i]))) << what << " out " << i;
    for (int64_t i = 0; i < direct.grad_in.size(); ++i)
      ASSERT_NEAR(direct.grad_in[i], gemm_path.grad_in[i], 1e-4 * (1.0 + std::fabs(gemm_path.grad_in[i])))
          << what << " grad_in " << i;
    ASSERT_EQ(direct.grads.size(), gemm_path.grads.size());
    for (size_t i = 0; i < direct.grads.size(); ++i)
      ASSERT_NEAR(direct.grads[i], gemm_path.grads[i], 1e-4 * (1.0 + std::fabs(gemm_path.grads[i])))
          << what << " parameter gradient " << i;
  }
}

TEST(Conv2d, InitialisersUseTheKernelFanInAndFanOut) {
  // he_uniform: limit sqrt(6 / fan_in), fan_in = channels / groups * kh * kw = 4 / 2 * 3 * 5 = 30.
  BoundLayer he(make_layer({{"type", "conv2d"}, {"filters", 64}, {"kernel", json::array({3, 5})}, {"groups", 2},
                            {"kernel_init", "he_uniform"}}),
                {8, 8, 4});
  ASSERT_EQ(he->params()[0].size, 3 * 5 * 2 * 64);
  double max_abs = 0;
  for (int64_t i = 0; i < he->params()[0].size; ++i) max_abs = std::max(max_abs, std::fabs(double(he.values[i])));
  EXPECT_LE(max_abs, std::sqrt(6.0 / 30));
  EXPECT_GT(max_abs, 0.95 * std::sqrt(6.0 / 30));
  // xavier_uniform: limit sqrt(6 / (fan_in + fan_out)), fan_out = filters / groups * kh * kw = 32 * 15 = 480.
  BoundLayer xavier(make_layer({{"type", "conv2d"}, {"filters", 64}, {"kernel", json::array({3, 5})}, {"groups", 2}}),
                    {8, 8, 4});
  max_abs = 0;
  for (int64_t i = 0; i < xavier->params()[0].size; ++i)
    max_abs = std::max(max_abs, std::fabs(double(xavier.values[i])));
  EXPECT_LE(max_abs, std::sqrt(6.0 / 510));
  EXPECT_GT(max_abs, 0.95 * std::sqrt(6.0 / 510));
  // Bias starts at zero; a relu conv defaults to he_normal as dense does.
  EXPECT_EQ(he.values.back(), 0.0f);
  EXPECT_EQ(make_layer({{"type", "conv2d"}, {"filters", 1}, {"kernel", 1}, {"activation", "relu"}})
                ->config()["kernel_init"]["name"],
            "he_normal");
}

// ---------------------------------------------------------------- pooling

TEST(MaxPool2d, HandComputedValuesAndGradientRouting) {
  // One 3x4 image, 2 channels (channel 1 = -channel 0), kernel 2, stride 2, "same": out 2x2,
  // total padding 1 row at the bottom, none on the columns.
  BoundLayer pool(make_layer({{"type", "max_pool2d"}, {"kernel", 2}, {"padding", "same"}}), {3, 4, 2});
  ASSERT_EQ(pool.output_sample_shape, (Shape{2, 2, 2}));
  const float v[12] = {1, 5, 2, 0, 3, 4, 7, 6, 9, 8, -1, 10};
  Tensor in({1, 3, 4, 2});
  for (int i = 0; i < 12; ++i) in[2 * i] = v[i], in[2 * i + 1] = -v[i];
  const Tensor out = run_forward(*pool.layer, in);
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + 8), (std::vector<float>{5, -1, 7, 0, 9, -8, 10, 1}));
  Tensor grad_out({1, 2, 2, 2});
  for (int i = 0; i < 8; ++i) grad_out[i] = static_cast<float>(i + 1);
  Tensor grad_in;
  pool->backward(in, out, grad_out, &grad_in);
  Tensor expected({1, 3, 4, 2});
  expected[2 * 1] = 1, expected[2 * 0 + 1] = 2;   // 5 at (0,1); -1 at (0,0)
  expected[2 * 6] = 3, expected[2 * 3 + 1] = 4;   // 7 at (1,2); 0 at (0,3)
  expected[2 * 8] = 5, expected[2 * 9 + 1] = 6;   // 9 at (2,0); -8 at (2,1)
  expected[2 * 11] = 7, expected[2 * 10 + 1] = 8; // 10 at (2,3); -(-1) at (2,2)
  EXPECT_EQ(std::vector<float>(grad_in.data(), grad_in.data() + 24), std::vector<float>(expected.data(), expected.data() + 24));
}

TEST(AvgPool2d, PaddingIsNotCounted) {
  // 2x2 image, one channel, kernel 3 stride 1 padding 1: every window sees all 4 pixels.
  BoundLayer pool(make_layer({{"type", "avg_pool2d"}, {"kernel", 3}, {"stride", 1}, {"padding", 1}}), {2, 2, 1});
  ASSERT_EQ(pool.output_sample_shape, (Shape{2, 2, 1}));
  const Tensor out = run_forward(*pool.layer, Tensor({1, 2, 2, 1}, {1, 2, 3, 6}));
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[i], 3.0f);
  BoundLayer plain(make_layer({{"type", "avg_pool2d"}, {"kernel", json::array({1, 2})}}), {2, 2, 1});
  const Tensor halves = run_forward(*plain.layer, Tensor({1, 2, 2, 1}, {1, 2, 3, 6}));
  EXPECT_EQ(std::vector<float>(halves.data(), halves.data() + 2), (std::vector<float>{1.5f, 4.5f}));
}

struct PoolCase {
  std::string name;
  json config;
  Shape input;
};

class PoolCases : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolCases, GradientsMatchFiniteDifferences) {
  BoundLayer pool(make_layer(GetParam().config), GetParam().input);
  Shape batch = GetParam().input;
  batch.insert(batch.begin(), 2);
  expect_gradients_ok(*pool.layer, distinct_tensor(batch, 28));
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, PoolCases,
    ::testing::Values(
        PoolCase{"max2x2", {{"type", "max_pool2d"}, {"kernel", 2}}, {4, 6, 3}},
        PoolCase{"max2x2_last_row_and_column_uncovered", {{"type", "max_pool2d"}, {"kernel", 2}}, {5, 7, 2}},
        PoolCase{"max3x3_stride2_pad1_odd", {{"type", "max_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}}, {5, 7, 2}},
        PoolCase{"max_rect_overlap", {{"type", "max_pool2d"}, {"kernel", json::array({2, 3})}, {"stride", json::array({1, 2})}}, {4, 5, 2}},
        PoolCase{"max_same_odd", {{"type", "max_pool2d"}, {"kernel", 2}, {"padding", "same"}}, {5, 3, 2}},
        PoolCase{"avg2x2", {{"type", "avg_pool2d"}, {"kernel", 2}}, {4, 6, 3}},
        PoolCase{"avg3x3_stride2_pad1_odd", {{"type", "avg_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}}, {5, 7, 2}},
        PoolCase{"avg_same_odd", {{"type", "avg_pool2d"}, {"kernel", 2}, {"padding", "same"}}, {5, 3, 2}},
        PoolCase{"global_avg", {{"type", "global_avg_pool2d"}}, {3, 5, 4}}),
    [](const ::testing::TestParamInfo<PoolCase>& info) { return info.param.name; });

TEST(GlobalAvgPool2d, MeanOfEachChannel) {
  BoundLayer pool(make_layer({{"type", "global_avg_pool2d"}}), {1, 3, 2});
  ASSERT_EQ(pool.output_sample_shape, (Shape{2}));
  const Tensor out = run_forward(*pool.layer, Tensor({1, 1, 3, 2}, {1, 10, 2, 20, 6, 60}));
  EXPECT_FLOAT_EQ(out[0], 3.0f);
  EXPECT_FLOAT_EQ(out[1], 30.0f);
}

// ---------------------------------------------------------------- batch norm over channels

TEST(BatchNormImages, StatisticsArePerChannelOverBatchAndPixels) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"momentum", 0.0}, {"epsilon", 1e-6}}), {3, 4, 2});
  ASSERT_EQ(bn->params()[0].size, 2);  // one gamma per channel
  Tensor in = random_tensor({5, 3, 4, 2}, 29);
  for (int64_t i = 0; i < in.size(); i += 2) in[i] = 3.0f + 2.0f * in[i];  // channel 0: mean ~3, std ~2
  // Reference statistics, per channel over 5 * 3 * 4 values.
  double mean[2] = {0, 0}, var[2] = {0, 0};
  for (int64_t i = 0; i < in.size(); ++i) mean[i % 2] += in[i] / 60.0;
  for (int64_t i = 0; i < in.size(); ++i) var[i % 2] += (in[i] - mean[i % 2]) * (in[i] - mean[i % 2]) / 60.0;
  const Tensor out = run_forward(*bn.layer, in);
  for (int64_t i = 0; i < in.size(); ++i)
    ASSERT_NEAR(out[i], (in[i] - mean[i % 2]) / std::sqrt(var[i % 2] + 1e-6), 1e-4);
  const std::vector<float> state = bn->state();  // momentum 0: the running values are the batch's
  ASSERT_EQ(state.size(), 4u);
  EXPECT_NEAR(state[0], mean[0], 1e-5);
  EXPECT_NEAR(state[1], mean[1], 1e-5);
  EXPECT_NEAR(state[2], var[0], 1e-4);
  EXPECT_NEAR(state[3], var[1], 1e-4);
}

TEST(BatchNormImages, GradientsInTrainingAndEvaluation) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"epsilon", 0.01}}), {3, 2, 3});
  for (size_t i = 0; i < bn.values.size(); ++i) bn.values[i] = 0.5f + 0.2f * static_cast<float>(i);
  expect_gradients_ok(*bn.layer, random_tensor({4, 3, 2, 3}, 30));
  bn->set_state({0.1f, -0.2f, 0.3f, 0.5f, 1.5f, 0.25f});
  GradCheckOptions eval;
  eval.training = false;
  expect_gradients_ok(*bn.layer, random_tensor({4, 3, 2, 3}, 31), eval);
}

// ---------------------------------------------------------------- configs and networks

TEST(ImageLayerConfig, EveryConfigRoundTrips) {
  const std::vector<json> configs = {
      {{"type", "conv2d"}, {"filters", 8}, {"kernel", 3}},
      {{"type", "conv2d"}, {"filters", 6}, {"kernel", json::array({3, 5})}, {"stride", json::array({2, 1})},
       {"padding", json::array({1, 2})}, {"dilation", 2}, {"groups", 3}, {"activation", "relu"},
       {"use_bias", false}, {"kernel_init", "he_uniform"}},
      {{"type", "conv2d"}, {"filters", 4}, {"kernel", 1}, {"padding", "same"}, {"bias_init", {{"name", "constant"}, {"value", 0.1}}}},
      {{"type", "max_pool2d"}, {"kernel", 2}},
      {{"type", "max_pool2d"}, {"kernel", json::array({3, 2})}, {"stride", 1}, {"padding", "same"}},
      {{"type", "avg_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}},
      {{"type", "global_avg_pool2d"}},
  };
  for (const json& config : configs) {
    const json first = make_layer(config)->config();
    const json second = make_layer(first)->config();
    EXPECT_EQ(first, second) << config.dump();
  }
  const json c = make_layer({{"type", "max_pool2d"}, {"kernel", 3}})->config();
  EXPECT_EQ(c["stride"], json::array({3, 3}));  // the stride defaults to the kernel
  EXPECT_EQ(c["padding"], "valid");
}

TEST(ImageLayerConfig, RebuiltConvNetComputesTheSameOutputs) {
  Network net;
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}));
  net.add(make_layer({{"type", "batch_norm"}}));
  net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"groups", 2}}));
  net.add(make_layer({{"type", "avg_pool2d"}, {"kernel", 2}, {"padding", "same"}}));
  net.add(make_layer({{"type", "global_avg_pool2d"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Rng rng(5);
  net.build({8, 8, 1}, rng);
  const Tensor x = random_tensor({3, 8, 8, 1}, 32);
  net.forward(x, ForwardContext{true, &rng});  // moves the batch-norm running statistics
  testing::expect_rebuilt_network_computes_the_same(net, x);
}

TEST(ImageLayerConfig, BadConfigsAndShapesNameTheLayerKeyAndShapes) {
  auto build = [](const json& config, const Shape& input) {
    auto layer = make_layer(config);
    layer->build(input);
  };
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"kernel", 3}}), "conv2d layer", "'filters' is required");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}}), "conv2d layer", "'kernel' is required");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"stride", 0}}), "conv2d layer",
                        "'stride'", "positive integer", "0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", json::array({3, 3, 3})}}),
                        "'kernel'", "[height, width]", "[3,3,3]");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"padding", "full"}}),
                        "conv2d layer", "'padding'", "\"valid\", \"same\"", "\"full\"");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"padding", -1}}), "'padding'",
                        "integer >= 0", "-1");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"groups", 2}}), "conv2d layer",
                        "'groups' 2 does not divide 'filters' 3");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "conv2d"}, {"filters", 3}, {"kernel", 3}, {"strides", 2}}),
                        "unknown key 'strides'", "stride", "dilation", "groups");
  EXPECT_ERROR_CONTAINS(build({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"groups", 2}}, {8, 8, 3}),
                        "conv2d layer", "'groups' 2 does not divide the 3 input channels", "(8, 8, 3)");
  EXPECT_ERROR_CONTAINS(build({{"type", "conv2d"}, {"filters", 4}, {"kernel", 5}}, {3, 8, 1}), "conv2d layer",
                        "'kernel' spans 5 pixels on the height axis", "padded input has only 3", "(3, 8, 1)",
                        "padding \"valid\"");
  EXPECT_ERROR_CONTAINS(build({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"dilation", 3}, {"padding", 0}},
                              {6, 6, 1}),
                        "'kernel' spans 7 pixels", "padded input has only 6", "dilation [3, 3]", "padding [0, 0]");
  EXPECT_ERROR_CONTAINS(build({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}}, {28, 28}), "conv2d layer",
                        "(28, 28)", "(height, width, channels)", "(28, 28, 1)");
  EXPECT_ERROR_CONTAINS(build({{"type", "max_pool2d"}, {"kernel", 4}}, {3, 8, 2}), "max_pool2d layer",
                        "padded input has only 3", "(3, 8, 2)");
  EXPECT_ERROR_CONTAINS(build({{"type", "avg_pool2d"}, {"kernel", 2}, {"padding", 2}}, {8, 8, 2}), "avg_pool2d layer",
                        "'padding' 2", "more than half the kernel", "(8, 8, 2)");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "max_pool2d"}, {"kernel", 2}, {"stride", 0}}), "max_pool2d layer",
                        "'stride'", "positive integer");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "max_pool2d"}}), "max_pool2d layer", "'kernel' is required");
  EXPECT_ERROR_CONTAINS(build({{"type", "global_avg_pool2d"}}, {10}), "global_avg_pool2d layer", "(10,)",
                        "(height, width, channels)");
  // Through a network, the error also names the layer's position.
  Network net;
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}}));
  net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}}));
  Rng rng(1);
  EXPECT_ERROR_CONTAINS(net.build({6, 6, 1}, rng), "layer 3 (conv2d)", "padded input has only 2", "(2, 2, 4)");
}

TEST(ConvNetwork, TrainsOnAToyImageTask) {
  // Bright pixel in the top half vs. the bottom half: a conv net must learn it quickly.
  const int64_t n = 64;
  Tensor x({n, 6, 6, 1}), y({n, 2});
  Rng rng(3);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t label = s % 2, row = label ? 3 + rng() % 3 : rng() % 3, col = rng() % 6;
    x[s * 36 + row * 6 + col] = 1.0f;
    y[s * 2 + label] = 1.0f;
  }
  Network net;
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}));
  net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 3}}));
  net.add(make_layer({{"type", "flatten"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  net.build({6, 6, 1}, rng);
  auto loss_of = [&]() {
    const Tensor& out = net.forward(x, ForwardContext{false, nullptr});
    double loss = 0;
    for (int64_t s = 0; s < n; ++s) {
      const float* o = out.data() + 2 * s;
      const double m = std::max(o[0], o[1]);
      const double lse = m + std::log(std::exp(o[0] - m) + std::exp(o[1] - m));
      loss += lse - (y[2 * s] > 0 ? o[0] : o[1]);
    }
    return loss / n;
  };
  const double before = loss_of();
  Tensor grad({n, 2});
  for (int step = 0; step < 200; ++step) {
    const Tensor& out = net.forward(x, ForwardContext{true, &rng});
    for (int64_t s = 0; s < n; ++s) {
      const float* o = out.data() + 2 * s;
      const double m = std::max(o[0], o[1]), e0 = std::exp(o[0] - m), e1 = std::exp(o[1] - m);
      grad[2 * s] = static_cast<float>((e0 / (e0 + e1) - y[2 * s]) / n);
      grad[2 * s + 1] = static_cast<float>((e1 / (e0 + e1) - y[2 * s + 1]) / n);
    }
    net.backward(grad);
    for (int64_t i = 0; i < net.num_params(); ++i) net.parameters()[i] -= 0.5f * net.gradients()[i];
  }
  EXPECT_LT(loss_of(), 0.2 * before);
}

// Network::build fuses an activation layer into the conv2d or dense layer before it (one pass over
// the output instead of two). The fused network must compute exactly what the same layers with
// the activation declared on them compute, keep its config (the model file lists both layers),
// and pass a numerical gradient check.
TEST(LayerFusion, AnActivationLayerAfterConvOrDenseIsAppliedByIt) {
  const json he = {{"name", "he_normal"}};
  Network fused;
  fused.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he}}));
  fused.add(make_layer({{"type", "relu"}}));
  fused.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
  fused.add(make_layer({{"type", "flatten"}}));
  fused.add(make_layer({{"type", "dense"}, {"units", 6}, {"kernel_init", he}}));
  fused.add(make_layer({{"type", "elu"}}));
  fused.add(make_layer({{"type", "dropout"}, {"rate", 0.25}}));
  fused.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Network declared;
  declared.add(make_layer(
      {{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he}, {"activation", "relu"}}));
  declared.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
  declared.add(make_layer({{"type", "flatten"}}));
  declared.add(make_layer({{"type", "dense"}, {"units", 6}, {"kernel_init", he}, {"activation", "elu"}}));
  declared.add(make_layer({{"type", "dropout"}, {"rate", 0.25}}));
  declared.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Rng init_a(5), init_b(5);
  fused.build({6, 6, 2}, init_a);
  declared.build({6, 6, 2}, init_b);
  ASSERT_EQ(fused.parameters(), declared.parameters());
  for (size_t i = 0; i < fused.layers().size(); ++i)
    EXPECT_EQ(fused.fused_into_previous(i), i == 1 || i == 2 || i == 5) << "layer " << i;  // 2: the pooling

  // The config is the one written: conv2d linear, then its own relu layer.
  const json config = fused.config();
  EXPECT_EQ(config["layers"][0]["activation"], "linear");
  EXPECT_EQ(config["layers"][1]["type"], "activation");
  EXPECT_EQ(config["layers"][1]["name"], "relu");
  EXPECT_EQ(config["layers"][4]["activation"], "linear");

  const Tensor x = random_tensor({3, 6, 6, 2}, 31);
  Rng mask_a(9), mask_b(9);
  const Tensor& out_a = fused.forward(x, ForwardContext{true, &mask_a});
  const Tensor& out_b = declared.forward(x, ForwardContext{true, &mask_b});
  ASSERT_EQ(std::vector<float>(out_a.data(), out_a.data() + out_a.size()),
            std::vector<float>(out_b.data(), out_b.data() + out_b.size()));
  const Tensor grad = random_tensor({3, 3}, 32);
  fused.backward(grad);
  declared.backward(grad);
  EXPECT_EQ(fused.gradients(), declared.gradients());
  testing::expect_rebuilt_network_computes_the_same(fused, x);

  // Numerically: the loss through the fused network against finite differences.
  const testing::BlockCheck check =
      testing::check_network_gradients(fused, x, Tensor({3, 1}, {0, 2, 1}), "categorical_crossentropy");
  EXPECT_EQ(check.failed, 0) << check.first_failure;
  EXPECT_GT(check.checked, fused.num_params() / 2);
}

// conv2d takes over a max_pool2d after it (or after its absorbed activation), pooling each chunk
// of its output in cache. The same net with a no-op reshape before each pooling (which keeps the
// pooling a layer of its own) must compute exactly the same outputs and gradients: tiling 2x2
// windows, overlapping padded ones (3x3 stride 2: gradients added), the direct (shallow) and the
// GEMM paths, a kept pre-activation (gelu), several chunks, and a conv2d that already pooled.
TEST(LayerFusion, Conv2dPoolsTheMaxPoolAfterIt) {
  const json he = {{"name", "he_normal"}};
  const json bias = {{"name", "normal"}, {"scale", 0.2}};
  auto build = [&](bool fusable, Network& net) {
    auto pool_input = [&](int64_t h, int64_t w, int64_t c) {
      if (!fusable) net.add(make_layer({{"type", "reshape"}, {"shape", {h, w, c}}}));
    };
    net.add(make_layer({{"type", "conv2d"}, {"filters", 20}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he},
                        {"bias_init", bias}, {"activation", "relu"}}));
    pool_input(26, 26, 20);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));                   // 13x13x20
    pool_input(13, 13, 20);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}}));  // 7x7x20
    net.add(make_layer({{"type", "conv2d"}, {"filters", 24}, {"kernel", 3}, {"padding", 1}, {"kernel_init", he},
                        {"bias_init", bias}}));
    net.add(make_layer({{"type", "gelu"}}));
    pool_input(7, 7, 24);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}}));  // 4x4x24
    net.add(make_layer({{"type", "flatten"}}));
    net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  };
  Network fused, separate;
  build(true, fused);
  build(false, separate);
  Rng init_a(7), init_b(7);
  fused.build({26, 26, 2}, init_a);
  separate.build({26, 26, 2}, init_b);
  ASSERT_EQ(fused.parameters(), separate.parameters());
  // Pooled by the convolutions: the first pooling after each (the second one after conv 0 stays
  // a layer: a conv2d takes over one pooling).
  for (size_t i = 0; i < fused.layers().size(); ++i)
    EXPECT_EQ(fused.fused_into_previous(i), i == 1 || i == 4 || i == 5) << "layer " << i;
  for (size_t i = 0; i < separate.layers().size(); ++i)
    EXPECT_EQ(separate.fused_into_previous(i), separate.layers()[i]->kind() == "activation") << "layer " << i;
  EXPECT_EQ(fused.config()["layers"].size(), 8u);  // the config still lists every layer

  const Tensor x = random_tensor({40, 26, 26, 2}, 33);  // conv 0 runs this batch in several chunks
  const Tensor& out_a = fused.forward(x, ForwardContext{true, nullptr});
  const Tensor& out_b = separate.forward(x, ForwardContext{true, nullptr});
  ASSERT_EQ(out_a.shape(), out_b.shape());
  ASSERT_EQ(std::vector<float>(out_a.data(), out_a.data() + out_a.size()),
            std::vector<float>(out_b.data(), out_b.data() + out_b.size()));
  const Tensor grad = random_tensor({40, 3}, 34);
  fused.backward(grad);
  separate.backward(grad);
  EXPECT_EQ(fused.gradients(), separate.gradients());
  testing::expect_rebuilt_network_computes_the_same(fused, x);
  // (Finite differences through a fused conv2d + relu + max_pool2d: the test above.)
}

// batch_norm takes over a max_pool2d after it (or after its absorbed activation) on images, as
// conv2d does. Exactly the same numbers as with the pooling a layer of its own (a no-op reshape
// before it), in training and in evaluation: with an activation that needs z (gelu), without an
// activation and overlapping windows, and as the first trainable layer (no input gradient).
TEST(LayerFusion, BatchNormPoolsTheMaxPoolAfterIt) {
  const json he = {{"name", "he_normal"}};
  auto build = [&](bool fusable, Network& net) {
    auto pool_input = [&](int64_t h, int64_t w, int64_t c) {
      if (!fusable) net.add(make_layer({{"type", "reshape"}, {"shape", {h, w, c}}}));
    };
    net.add(make_layer({{"type", "batch_norm"}}));  // first: no input gradient
    net.add(make_layer({{"type", "relu"}}));
    pool_input(12, 10, 3);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));  // 6x5x3
    net.add(make_layer({{"type", "conv2d"}, {"filters", 40}, {"kernel", 3}, {"padding", "same"}, {"kernel_init", he}}));
    net.add(make_layer({{"type", "batch_norm"}}));
    net.add(make_layer({{"type", "gelu"}}));
    pool_input(6, 5, 40);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}, {"padding", "same"}}));  // 3x3x40
    net.add(make_layer({{"type", "batch_norm"}}));
    pool_input(3, 3, 40);
    net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 3}, {"stride", 2}, {"padding", 1}}));  // 2x2x40
    net.add(make_layer({{"type", "flatten"}}));
    net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  };
  Network fused, separate;
  build(true, fused);
  build(false, separate);
  Rng init_a(8), init_b(8);
  fused.build({12, 10, 3}, init_a);
  separate.build({12, 10, 3}, init_b);
  ASSERT_EQ(fused.parameters(), separate.parameters());
  for (size_t i = 0; i < fused.layers().size(); ++i)
    EXPECT_EQ(fused.fused_into_previous(i), i == 1 || i == 2 || i == 5 || i == 6 || i == 8) << "layer " << i;

  const Tensor x = random_tensor({5, 12, 10, 3}, 35);
  for (bool training : {true, false}) {
    const Tensor& out_a = fused.forward(x, ForwardContext{training, nullptr});
    const Tensor& out_b = separate.forward(x, ForwardContext{training, nullptr});
    ASSERT_EQ(out_a.shape(), out_b.shape());
    ASSERT_EQ(std::vector<float>(out_a.data(), out_a.data() + out_a.size()),
              std::vector<float>(out_b.data(), out_b.data() + out_b.size()))
        << (training ? "training" : "evaluation");
    const Tensor grad = random_tensor({5, 3}, 36);
    fused.backward(grad);
    separate.backward(grad);
    EXPECT_EQ(fused.gradients(), separate.gradients()) << (training ? "training" : "evaluation");
  }
  testing::expect_rebuilt_network_computes_the_same(fused, x);
}

TEST(LayerFusion, OnlyAnElementWiseActivationAfterALayerWithoutOneIsFused) {
  Network net;
  net.add(make_layer({{"type", "conv2d"}, {"filters", 2}, {"kernel", 1}, {"activation", "tanh"}}));
  net.add(make_layer({{"type", "relu"}}));  // conv2d has an activation already
  net.add(make_layer({{"type", "batch_norm"}}));
  net.add(make_layer({{"type", "relu"}}));  // batch norm takes it
  net.add(make_layer({{"type", "flatten"}}));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  net.add(make_layer({{"type", "softmax"}}));  // normalises a row: not element-wise
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  net.add(make_layer({{"type", "sigmoid"}}));  // fused, at the end of the network too
  Rng rng(1);
  net.build({3, 3, 1}, rng);
  for (size_t i = 0; i < net.layers().size(); ++i)
    EXPECT_EQ(net.fused_into_previous(i), i == 3 || i == 8) << "layer " << i;
  EXPECT_EQ(net.layers().back()->output_activation(), "sigmoid");
}

// Equal to the bit, or (where an activation's vector and scalar code round differently, and the
// two sides split the values into rows differently) to float rounding.
void expect_same_values(const std::vector<float>& a, const std::vector<float>& b, bool bitwise) {
  if (bitwise) {
    EXPECT_EQ(a, b);
    return;
  }
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1.0 + std::abs(b[i]))) << "value " << i;
}

std::vector<float> values_of(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.size()); }

// batch_norm with the activation that follows taken over computes what batch_norm and then the
// activation layer compute (relu: to the bit): outputs, input and parameter gradients, with
// batch statistics and with running ones. gelu's derivative needs the pre-activation
// (recomputed in backward); the others' are read from the output.
TEST(LayerFusion, BatchNormAppliesTheActivationAfterIt) {
  for (const std::string activation : {"relu", "elu", "gelu", "sigmoid"}) {
    for (const bool training : {true, false}) {
      SCOPED_TRACE(activation + (training ? " training" : " evaluation"));
      const Shape sample = {3, 4, 5};  // 12 pixels of 5 channels
      BoundLayer fused(make_layer({{"type", "batch_norm"}}), sample), alone(make_layer({{"type", "batch_norm"}}), sample);
      BoundLayer act(make_layer({{"type", activation}}), sample);
      ASSERT_TRUE(fused->absorb_activation(act->config()));
      ASSERT_FALSE(fused->absorb_activation(act->config()));  // it has one now
      for (size_t i = 0; i < fused.values.size(); ++i)
        fused.values[i] = alone.values[i] = 0.3f + 0.1f * static_cast<float>(i % 7) - (i >= 5 ? 0.4f : 0.0f);
      if (!training) {
        const std::vector<float> running = {0.1f, -0.2f, 0.3f, 0.0f, 0.2f, 0.5f, 1.5f, 0.25f, 1.0f, 2.0f};
        fused->set_state(running);
        alone->set_state(running);
      }
      const Tensor x = random_tensor({6, 3, 4, 5}, 40);
      const ForwardContext ctx{training, nullptr};
      Tensor y_fused, y_alone, y;
      fused->forward(x, y_fused, ctx);
      alone->forward(x, y_alone, ctx);
      act->forward(y_alone, y, ctx);
      const bool bitwise = activation == "relu";
      expect_same_values(values_of(y_fused), values_of(y), bitwise);
      const Tensor dy = random_tensor(x.shape(), 41);
      Tensor dx_fused, dz, dx_alone;
      fused->backward(x, y_fused, dy, &dx_fused);
      act->backward(y_alone, y, dy, &dz);
      alone->backward(x, y_alone, dz, &dx_alone);
      expect_same_values(values_of(dx_fused), values_of(dx_alone), bitwise);
      expect_same_values(fused.grads, alone.grads, bitwise);
      // Without an input gradient (the network's first layer) the parameter gradients are the same.
      const std::vector<float> with_input = fused.grads;
      std::fill(fused.grads.begin(), fused.grads.end(), 0.0f);
      fused->backward(x, y_fused, dy, nullptr);
      EXPECT_EQ(fused.grads, with_input);
      GradCheckOptions options;
      options.training = training;
      expect_gradients_ok(*fused.layer, x, options);
    }
  }
}

// The batch variance from one pass over data far from zero (mean 1000, spread 0.01): a float
// E[x^2] - E[x]^2 would lose every digit; the shifted sums keep them.
TEST(BatchNormImages, VarianceOfDataFarFromZeroKeepsItsDigits) {
  BoundLayer bn(make_layer({{"type", "batch_norm"}, {"momentum", 0.0}, {"epsilon", 1e-12}}), {16, 16, 2});
  Tensor x = random_tensor({64, 16, 16, 2}, 42);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = (i % 2 ? -1000.0f : 1000.0f) + 0.01f * x[i];
  double mean[2] = {0, 0}, var[2] = {0, 0};
  const double n = static_cast<double>(x.size() / 2);
  for (int64_t i = 0; i < x.size(); ++i) mean[i % 2] += x[i] / n;
  for (int64_t i = 0; i < x.size(); ++i) var[i % 2] += (x[i] - mean[i % 2]) * (x[i] - mean[i % 2]) / n;
  run_forward(*bn.layer, x);
  const std::vector<float> state = bn->state();
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(state[static_cast<size_t>(c)], mean[c], 1e-4);
    EXPECT_NEAR(state[static_cast<size_t>(2 + c)], var[c], 1e-3 * var[c]) << "channel " << c;
  }
}

// An IDX file of unsigned bytes (MNIST's format): magic 0 0 8 ndims, big-endian dims, the bytes.
std::string idx_bytes(const std::vector<int32_t>& dims, const std::vector<unsigned char>& values) {
  std::string out(4, '\0');
  out[2] = 8;
  out[3] = static_cast<char>(dims.size());
  for (int32_t d : dims)
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>((d >> shift) & 0xff));
  out.append(values.begin(), values.end());
  return out;
}

// data.channels: 28x28 IDX images become 28x28x1 for conv2d, and the saved model evaluates and
// predicts on the images as they are stored (without the channel axis).
TEST(ConvSpec, ChannelsLastGivesIdxImagesTheAxisConv2dTakes) {
  testing::TempDir dir;
  const int32_t n = 48;
  std::vector<unsigned char> pixels(static_cast<size_t>(n * 36), 0), labels(static_cast<size_t>(n));
  Rng rng(5);
  for (int32_t s = 0; s < n; ++s) {
    labels[static_cast<size_t>(s)] = static_cast<unsigned char>(s % 2);
    const int64_t row = s % 2 ? 3 + rng() % 3 : rng() % 3, col = rng() % 6;
    pixels[static_cast<size_t>(s * 36 + row * 6 + col)] = 255;
  }
  testing::write_file(dir.file("images.idx"), idx_bytes({n, 6, 6}, pixels));
  testing::write_file(dir.file("labels.idx"), idx_bytes({n}, labels));
  const std::string spec_text =
      "data:\n"
      "  train: {idx: {images: images.idx, labels: labels.idx}}\n"
      "  validation: {split: 0.25}\n"
      "  scale: {divide: 255}\n"
      "  channels: last\n"
      "model:\n"
      "  layers:\n"
      "    - {type: conv2d, filters: 4, kernel: 3, padding: same, activation: relu}\n"
      "    - {type: max_pool2d, kernel: 3}\n"
      "    - {type: flatten}\n"
      "    - {type: dense, units: 2}\n"
      "train: {optimizer: {name: adam, lr: 0.05}, batch_size: 8, epochs: 15}\n";
  const TrainingSpec spec = parse_spec(spec_text, "cnn.yaml", {}, dir.path().string());
  TrainingOptions options;
  options.output_dir = dir.file("run");
  const TrainingResult result = run_training(spec, {}, options);
  EXPECT_GE(result.history.epochs.back().metrics.at("val_accuracy"), 0.9);

  Model model = load_model(dir.file("run/model.nnt"));
  EXPECT_EQ(model.input_shape(), (Shape{6, 6, 1}));
  const Dataset stored = load_idx(dir.file("images.idx"), dir.file("labels.idx"));
  ASSERT_EQ(stored.x.sample_shape(), (Shape{6, 6}));
  EXPECT_GE(evaluate_model(model, stored).at("accuracy"), 0.9);
  EXPECT_EQ(predict(model, stored.x).shape(), (Shape{n, 2}));

  // Only 2-D images get a channel axis.
  testing::write_file(dir.file("table.csv"), testing::two_class_csv(20));
  const TrainingSpec flat = parse_spec("data:\n  train: {csv: {path: table.csv}}\n  channels: last\nmodel: {hidden: [4]}\n",
                                       "flat.yaml", {}, dir.path().string());
  EXPECT_ERROR_CONTAINS(load_spec_data(flat), "flat.yaml:3:13: data.channels", "(2,)", "2-D images");
}

}  // namespace
}  // namespace nntune
