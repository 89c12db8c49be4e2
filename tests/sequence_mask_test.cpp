// Token sequences: the embedding layer, step masks (mask_zero) and the recurrent layers that
// honour them: a padded sequence gives what its real steps give alone, wherever the padding is;
// gradients with a mask; the network refuses a mask that reaches a layer that cannot take it
// (it may reach the output: the losses take it).
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.hpp"
#include "nntune/error.hpp"
#include "nntune/layer.hpp"
#include "nntune/network.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::BoundLayer;
using testing::expect_gradients_ok;
using testing::random_tensor;

void randomise(BoundLayer& layer, uint64_t seed, float scale = 0.5f) {
  const Tensor v = random_tensor({static_cast<int64_t>(layer.values.size())}, seed);
  for (size_t i = 0; i < layer.values.size(); ++i) layer.values[i] = scale * v[static_cast<int64_t>(i)];
}

TEST(Embedding, RowsOfTheTableTheirGradientAndBadIds) {
  BoundLayer emb(make_layer({{"type", "embedding"}, {"vocabulary", 5}, {"dim", 3}}), {4});
  ASSERT_EQ(emb.output_sample_shape, (Shape{4, 3}));
  randomise(emb, 1);
  const Tensor ids({2, 4}, {0, 4, 4, 2, 1, 3, 0, 0});
  Tensor out;
  emb->forward(ids, out, ForwardContext{});
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(out[k * 3 + j], emb.values[static_cast<size_t>(ids[k]) * 3 + j]);
  // The table's gradient by finite differences (ids themselves are not differentiable).
  testing::GradCheckOptions options;
  options.check_input = false;
  expect_gradients_ok(*emb.layer, ids, options);
  for (float bad : {5.0f, -1.0f, 1.5f, std::nanf("")}) {
    Tensor wrong = ids;
    wrong[6] = bad;
    EXPECT_ERROR_CONTAINS(emb->forward(wrong, out, ForwardContext{}), "embedding layer: token id",
                          "(sample 2, step 3)", "is not an integer in [0, 5)", "vocabulary");
  }
  EXPECT_ERROR_CONTAINS(BoundLayer(make_layer({{"type", "embedding"}, {"vocabulary", 5}, {"dim", 3}}), {4, 2}),
                        "embedding layer", "samples of shape (steps)", "(4, 2)");
  const json c = make_layer({{"type", "embedding"}, {"vocabulary", 7}, {"dim", 2}, {"mask_zero", true}})->config();
  EXPECT_EQ(make_layer(c)->config(), c);
}

TEST(Embedding, MaskZeroMarksPaddingSteps) {
  BoundLayer emb(make_layer({{"type", "embedding"}, {"vocabulary", 5}, {"dim", 2}, {"mask_zero", true}}), {4});
  EXPECT_TRUE(emb->makes_mask());
  Tensor out;
  emb->forward(Tensor({2, 4}, {3, 0, 4, 0, 0, 0, 1, 2}), out, ForwardContext{});
  const Tensor* mask = emb->output_mask();
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(std::vector<float>(mask->data(), mask->data() + 8), (std::vector<float>{1, 0, 1, 0, 0, 0, 1, 1}));
}

std::vector<json> masked_variants() {
  std::vector<json> v;
  for (const std::string cell : {"lstm", "gru", "rnn"})
    for (bool sequences : {false, true})
      for (int direction : {0, 1, 2}) {  // forward, bidirectional concat, bidirectional sum
        json c = {{"type", cell}, {"units", 3}, {"return_sequences", sequences}};
        if (direction > 0) {
          c["bidirectional"] = true;
          c["merge"] = direction == 1 ? "concat" : "sum";
        }
        v.push_back(c);
      }
  return v;
}

// Each padded sequence against its real steps run alone through a layer with the same weights.
TEST(RecurrentMask, PaddedSequencesGiveWhatTheirRealStepsGiveAlone) {
  const int64_t steps = 6, features = 2;
  // Padding after, before, in the middle, none, and all of it.
  const std::vector<std::vector<float>> masks = {
      {1, 1, 1, 0, 0, 0}, {0, 0, 1, 1, 1, 1}, {1, 0, 1, 0, 0, 1}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}};
  const int64_t n = static_cast<int64_t>(masks.size());
  Tensor mask({n, steps});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < steps; ++t) mask[i * steps + t] = masks[static_cast<size_t>(i)][static_cast<size_t>(t)];
  const Tensor x = random_tensor({n, steps, features}, 3);
  for (const json& config : masked_variants()) {
    SCOPED_TRACE(config.dump());
    BoundLayer layer(make_layer(config), {steps, features});
    randomise(layer, 9);
    Tensor out;
    ForwardContext ctx;
    ctx.mask = &mask;
    layer->forward(x, out, ctx);
    const bool sequences = config["return_sequences"];
    const int64_t width = layer.output_sample_shape.back();
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int64_t> real;
      for (int64_t t = 0; t < steps; ++t)
        if (mask[i * steps + t] != 0.0f) real.push_back(t);
      const int64_t len = static_cast<int64_t>(real.size());
      std::vector<float> expected_rows(static_cast<size_t>((sequences ? steps : 1) * width), 0.0f);
      if (len > 0) {
        BoundLayer alone(make_layer(config), {len, features});
        std::copy(layer.values.begin(), layer.values.end(), alone.values.begin());
        Tensor xi({1, len, features});
        for (int64_t k = 0; k < len; ++k)
          for (int64_t j = 0; j < features; ++j) xi[k * features + j] = x[(i * steps + real[k]) * features + j];
        Tensor yi;
        alone->forward(xi, yi, ForwardContext{});
        for (int64_t k = 0; k < (sequences ? len : 1); ++k)
          for (int64_t j = 0; j < width; ++j)
            expected_rows[static_cast<size_t>((sequences ? real[k] : 0) * width + j)] = yi[k * width + j];
      }
      for (size_t j = 0; j < expected_rows.size(); ++j)
        EXPECT_NEAR(out[i * static_cast<int64_t>(expected_rows.size()) + static_cast<int64_t>(j)], expected_rows[j], 1e-6)
            << "sequence " << i << " value " << j;
    }
  }
}

TEST(RecurrentMask, GradientsWithAMask) {
  const int64_t steps = 5;
  Tensor mask({3, steps}, {1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0});
  for (const json& config : masked_variants()) {
    SCOPED_TRACE(config.dump());
    BoundLayer layer(make_layer(config), {steps, 2});
    randomise(layer, 21);
    testing::GradCheckOptions options;
    options.mask = &mask;
    options.step = 1e-2;  // smooth cells (tanh rnn): see tests/recurrent_test.cpp
    options.kink_tolerance = 1e9;
    expect_gradients_ok(*layer.layer, random_tensor({3, steps, 2}, 23), options);
  }
}

TEST(RecurrentMask, TheNetworkPassesTheMaskOnAndRefusesItWhereItCannotBeHonoured) {
  auto build = [](const std::vector<json>& layers) {
    Network net;
    for (const json& c : layers) net.add(make_layer(c));
    Rng rng(1);
    net.build({6}, rng);
    return net;
  };
  const json emb = {{"type", "embedding"}, {"vocabulary", 9}, {"dim", 4}, {"mask_zero", true}};
  EXPECT_ERROR_CONTAINS(build({emb, {{"type", "flatten"}}, {{"type", "dense"}, {"units", 2}}}),
                        "layer 2 (flatten) cannot honour the step mask of layer 1 (embedding with mask_zero: true)");
  // A masked sequence may reach the output (the losses score its real steps only: StepRows, see
  // tests/sequence_loss_test.cpp), also through a dense layer applied per step.
  build({emb, {{"type", "lstm"}, {"units", 3}, {"return_sequences", true}}});
  build({emb, {{"type", "lstm"}, {"units", 3}, {"return_sequences", true}}, {{"type", "dense"}, {"units", 2}}});
  EXPECT_ERROR_CONTAINS(build({emb, {{"type", "lstm"}, {"units", 3}, {"return_sequences", true}},
                               {{"type", "conv1d"}, {"filters", 2}, {"kernel", 2}}, {{"type", "global_avg_pool1d"}}}),
                        "layer 3 (conv1d) cannot honour the step mask");
  // Through dropout, layer norm and a stack to the last recurrent layer: the padded batch gives
  // what its unpadded twin gives.
  Network net = build({emb, {{"type", "dropout"}, {"rate", 0.5}}, {{"type", "layer_norm"}},
                       {{"type", "gru"}, {"units", 3}, {"layers", 2}, {"return_sequences", true}},
                       {{"type", "lstm"}, {"units", 2}}, {{"type", "dense"}, {"units", 2}}});
  const Tensor padded({2, 6}, {0, 0, 5, 3, 8, 1, 7, 0, 2, 0, 0, 4});
  Network unmasked;
  for (const auto& layer : net.layers()) {
    json c = layer->config();
    if (c["type"] == "embedding") c["mask_zero"] = false;
    unmasked.add(make_layer(c));
  }
  Rng rng(2);
  unmasked.build({4}, rng);
  std::copy(net.parameters().begin(), net.parameters().end(), unmasked.parameters().begin());
  const Tensor out = net.forward(padded, ForwardContext{});
  const Tensor first = unmasked.forward(Tensor({1, 4}, {5, 3, 8, 1}), ForwardContext{});
  for (int64_t j = 0; j < 2; ++j) EXPECT_NEAR(out[j], first[j], 1e-6);
  // Sequence 2 has three real steps: build a 3-step twin for it.
  Network three;
  for (const auto& layer : unmasked.layers()) three.add(make_layer(layer->config()));
  Rng rng3(3);
  three.build({3}, rng3);
  std::copy(net.parameters().begin(), net.parameters().end(), three.parameters().begin());
  const Tensor third = three.forward(Tensor({1, 3}, {7, 2, 4}), ForwardContext{});
  for (int64_t j = 0; j < 2; ++j) EXPECT_NEAR(out[2 + j], third[j], 1e-6);
}

// Labels that only the last real token decides, with padding after it: a masked LSTM reads it as
// its final state and learns the task.
TEST(RecurrentMask, AMaskedLstmLearnsFromTheLastRealToken) {
  const int64_t n = 512, steps = 8, vocabulary = 10;
  Dataset data;
  data.x = Tensor({n, steps});
  data.y = Tensor({n});
  data.num_classes = 2;
  Rng rng(5);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 1 + static_cast<int64_t>(rng() % steps);
    int64_t last = 0;
    for (int64_t t = 0; t < len; ++t) data.x[i * steps + t] = static_cast<float>(last = 1 + static_cast<int64_t>(rng() % 9));
    data.y[i] = last > 5 ? 1.0f : 0.0f;
  }
  Network net;
  net.add(make_layer({{"type", "embedding"}, {"vocabulary", vocabulary}, {"dim", 8}, {"mask_zero", true}}));
  net.add(make_layer({{"type", "lstm"}, {"units", 8}}));
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng init(6);
  net.build({steps}, init);
  TrainConfig config;
  config.epochs = 15;
  config.batch_size = 32;
  config.optimizer.lr = 0.02;
  fit(net, data, nullptr, config);
  EXPECT_GT(evaluate(net, *make_loss(config.loss), data).at("accuracy"), 0.95);
}

// A spec whose network starts with an embedding: ids outside the vocabulary and scaling are
// refused before training, with the spec path and the id's place; a good one trains.
TEST(Embedding, TheSpecChecksTokenIdsBeforeTraining) {
  testing::TempDir dir;
  std::string rows = "a,b,c,label\n";
  for (int i = 0; i < 40; ++i)
    rows += std::to_string(i % 7) + "," + std::to_string((i * 3) % 7) + "," + std::to_string(i % 2 ? 0 : 5) + "," +
            std::to_string(i % 2) + "\n";
  testing::write_file(dir.file("tokens.csv"), rows);
  const std::string spec = "data: {train: {csv: {path: " + dir.file("tokens.csv") +
                           "}}, validation: {split: 0.25}}\n"
                           "model:\n  layers:\n    - {type: embedding, vocabulary: VOCAB, dim: 3, mask_zero: true}\n"
                           "    - {type: gru, units: 4}\n    - {type: dense, units: 2}\n"
                           "train: {epochs: 2}\n";
  auto with = [&](const std::string& vocabulary, const std::string& extra = "") {
    std::string text = spec;
    text.replace(text.find("VOCAB"), 5, vocabulary);
    return parse_spec(text + extra, "s.yaml");
  };
  EXPECT_ERROR_CONTAINS(load_spec_data(with("6")), "s.yaml", "model.layers[0].vocabulary", "token id 6",
                        "is not an integer in [0, 6)", "tokens.csv");
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_spec(
                            [&] {
                              std::string text = spec;
                              text.replace(text.find("VOCAB"), 5, "7");
                              return text.replace(text.find("validation"), 0, "scale: standard, ");
                            }(),
                            "s.yaml")),
                        "data.scale", "embedding", "token ids");
  const TrainingResult result = run_training(with("7"));
  EXPECT_EQ(result.history.epochs.size(), 2u);
}

}  // namespace
}  // namespace nntune
