// layer_norm: its gradient, its values against the formula, its keys and its spec entry.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.hpp"
#include "nntune/layer.hpp"
#include "nntune/spec.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::BoundLayer;
using testing::expect_gradients_ok;
using testing::random_tensor;

TEST(LayerNorm, GradientMatchesFiniteDifferences) {
  BoundLayer norm(make_layer({{"type", "layer_norm"}}), {6});
  // Non-trivial gamma/beta so their gradients and the scale path are exercised.
  for (size_t i = 0; i < norm.values.size(); ++i) norm.values[i] = 0.5f + 0.1f * static_cast<float>(i);
  expect_gradients_ok(*norm.layer, random_tensor({4, 6}, 31));
}

TEST(LayerNorm, GradientOnRank3SamplesNormalisesTheLastDimension) {
  BoundLayer norm(make_layer({{"type", "layer_norm"}, {"epsilon", 1e-3}}), {3, 5});
  EXPECT_EQ(norm.output_sample_shape, (Shape{3, 5}));
  ASSERT_EQ(norm->params().size(), 2u);
  EXPECT_EQ(norm->params()[0].size, 5);  // one gamma per feature of the last dimension
  for (size_t i = 0; i < norm.values.size(); ++i) norm.values[i] = 1.0f - 0.07f * static_cast<float>(i);
  expect_gradients_ok(*norm.layer, random_tensor({2, 3, 5}, 32));
}

TEST(LayerNorm, WithoutScaleOrShift) {
  BoundLayer plain(make_layer({{"type", "layer_norm"}, {"scale", false}, {"center", false}}), {4});
  EXPECT_TRUE(plain->params().empty());
  expect_gradients_ok(*plain.layer, random_tensor({3, 4}, 33));
  BoundLayer shift_only(make_layer({{"type", "layer_norm"}, {"scale", false}}), {4});
  ASSERT_EQ(shift_only->params().size(), 1u);
  EXPECT_EQ(shift_only->params()[0].name, "beta");
  expect_gradients_ok(*shift_only.layer, random_tensor({3, 4}, 34));
}

TEST(LayerNorm, ForwardIsTheFormulaAndTheSameInEvaluation) {
  BoundLayer norm(make_layer({{"type", "layer_norm"}, {"epsilon", 0.01}}), {4});
  // gamma = [1, 2, 3, 4], beta = [0.5, 0, 0, -1]
  const std::vector<float> gamma = {1, 2, 3, 4}, beta = {0.5f, 0, 0, -1};
  for (int i = 0; i < 4; ++i) {
    norm.values[static_cast<size_t>(i)] = gamma[static_cast<size_t>(i)];
    norm.values[static_cast<size_t>(4 + i)] = beta[static_cast<size_t>(i)];
  }
  const Tensor x({2, 4}, {1, 2, 3, 4, -2, 0, 0, 6});
  for (bool training : {true, false}) {
    Rng rng(1);
    Tensor y;
    norm->forward(x, y, ForwardContext{training, &rng});
    for (int r = 0; r < 2; ++r) {
      double mean = 0, var = 0;
      for (int c = 0; c < 4; ++c) mean += x[r * 4 + c] / 4.0;
      for (int c = 0; c < 4; ++c) var += (x[r * 4 + c] - mean) * (x[r * 4 + c] - mean) / 4.0;
      for (int c = 0; c < 4; ++c) {
        const double expected = gamma[static_cast<size_t>(c)] * (x[r * 4 + c] - mean) / std::sqrt(var + 0.01) +
                                beta[static_cast<size_t>(c)];
        EXPECT_NEAR(y[r * 4 + c], expected, 1e-5) << "row " << r << " column " << c;
      }
    }
  }
}

TEST(LayerNorm, ConfigRoundTripsAndBadKeysAreNamed) {
  auto layer = make_layer({{"type", "layer_norm"}, {"epsilon", 0.002}, {"center", false}});
  EXPECT_EQ(make_layer(layer->config())->config(), layer->config());
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "layer_norm"}, {"epsilon", 0}}), "layer_norm layer", "'epsilon'", "> 0");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "layer_norm"}, {"axis", 1}}), "layer_norm layer", "unknown key 'axis'",
                        "epsilon, scale, center");
}

TEST(LayerNorm, TheSpecKnowsItFromItsDeclaration) {
  const std::string yaml =
      "data: {train: {csv: {path: a.csv, label: y}}}\n"
      "model:\n"
      "  layers:\n"
      "    - {type: dense, units: 8}\n"
      "    - {type: layer_norm, epsilon: 0.001}\n"
      "    - {type: dense, units: 3}\n";
  const TrainingSpec spec = parse_spec(yaml, "s.yaml");
  check_model_shapes(spec, {5}, 3);
  EXPECT_ERROR_CONTAINS(parse_spec(yaml + "    - {type: layer_norm, scale: maybe}\n", "s.yaml"),
                        "s.yaml:7:33: model.layers[3].scale: expected true or false");
}

}  // namespace
}  // namespace nntune
