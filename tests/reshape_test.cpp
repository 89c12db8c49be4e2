// reshape: shapes, the inferred dimension, its gradient, bad configs and its spec entry.
#include <gtest/gtest.h>

#include "gradcheck.hpp"
#include "nntune/layer.hpp"
#include "nntune/network.hpp"
#include "nntune/spec.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::BoundLayer;
using testing::expect_gradients_ok;
using testing::random_tensor;

TEST(Reshape, GivesTheDeclaredShapeAndInfersOneDimension) {
  BoundLayer to_image(make_layer({{"type", "reshape"}, {"shape", {28, 28, 1}}}), {784});
  EXPECT_EQ(to_image.output_sample_shape, (Shape{28, 28, 1}));
  BoundLayer inferred(make_layer({{"type", "reshape"}, {"shape", {-1, 4}}}), {3, 8});
  EXPECT_EQ(inferred.output_sample_shape, (Shape{6, 4}));
}

TEST(Reshape, KeepsTheValuesInOrderAndPassesGradientsBack) {
  BoundLayer reshape(make_layer({{"type", "reshape"}, {"shape", {2, 3}}}), {6});
  const Tensor x = random_tensor({4, 6}, 41);
  Rng rng(1);
  Tensor y;
  reshape->forward(x, y, ForwardContext{false, &rng});
  EXPECT_EQ(y.shape(), (Shape{4, 2, 3}));
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
  expect_gradients_ok(*reshape.layer, random_tensor({4, 6}, 42));
}

TEST(Reshape, ImpossibleShapesAndBadConfigsAreNamed) {
  auto layer = make_layer({{"type", "reshape"}, {"shape", {5, 5}}});
  EXPECT_ERROR_CONTAINS(layer->build({24}), "reshape layer", "(24,)", "24 values", "[5,5]", "25");
  auto inferred = make_layer({{"type", "reshape"}, {"shape", {-1, 5}}});
  EXPECT_ERROR_CONTAINS(inferred->build({24}), "reshape layer", "not a multiple of 5");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "reshape"}}), "reshape layer", "'shape' is required");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "reshape"}, {"shape", {0, 4}}}), "reshape layer", "'shape'",
                        "positive dimensions");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "reshape"}, {"shape", {-1, -1}}}), "reshape layer", "at most one");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "reshape"}, {"shape", nlohmann::json::array()}}), "reshape layer", "non-empty");
  EXPECT_EQ(make_layer(layer->config())->config(), layer->config());
}

TEST(Reshape, TheSpecChecksShapesThroughTheLayersOwnBuild) {
  const std::string head =
      "data: {train: {csv: {path: a.csv, label: y}}}\n"
      "model:\n"
      "  layers:\n";
  const TrainingSpec fits = parse_spec(head +
                                           "    - {type: reshape, shape: [2, 3]}\n"
                                           "    - {type: flatten}\n"
                                           "    - {type: dense, units: 3}\n",
                                       "s.yaml");
  check_model_shapes(fits, {6}, 3);
  const TrainingSpec wrong = parse_spec(head +
                                            "    - {type: reshape, shape: [4, 4]}\n"
                                            "    - {type: flatten}\n"
                                            "    - {type: dense, units: 3}\n",
                                        "s.yaml");
  EXPECT_ERROR_CONTAINS(check_model_shapes(wrong, {6}, 3), "s.yaml:4:7: model.layers[0]: reshape layer",
                        "6 values", "16");
  // Without the flatten, dense refuses the 2-D samples at the layer that cannot take them.
  const TrainingSpec unflattened = parse_spec(head +
                                                  "    - {type: reshape, shape: [2, 3]}\n"
                                                  "    - {type: dense, units: 3}\n",
                                              "s.yaml");
  EXPECT_ERROR_CONTAINS(check_model_shapes(unflattened, {6}, 3), "model.layers[1]", "(2, 3)", "flatten");
}

}  // namespace
}  // namespace nntune
