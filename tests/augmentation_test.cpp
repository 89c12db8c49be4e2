// Training-time image augmentation (src/train/augmentation.cpp): each change checked against
// its definition on images whose pixels are all different, its randomness against the stated
// probabilities, its seeding, and that fit() applies it to training batches only.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "nntune/error.hpp"
#include "nntune/layer.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"
#include "train/augmentation.hpp"

namespace nntune {
namespace {

using train_detail::augment_images;
using train_detail::augmentation_problem;

// `count` images of (h, w, c), every value distinct and nonzero.
Tensor distinct_images(int64_t count, int64_t h, int64_t w, int64_t c) {
  Tensor t({count, h, w, c});
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i + 1);
  return t;
}

// Value of image s at (y, x, ch) after a shift by (dy, dx) and an optional mirror, zero outside.
float expected(const Tensor& in, int64_t s, int64_t y, int64_t x, int64_t ch, int64_t dy, int64_t dx, bool flip) {
  const int64_t h = in.shape()[1], w = in.shape()[2], c = in.shape()[3];
  const int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
  if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0.0f;
  return in.data()[((s * h + sy) * w + sx) * c + ch];
}

// The (dy, dx, flip) that image s of `out` shows of `in`, or nothing if none matches exactly.
std::optional<std::tuple<int64_t, int64_t, bool>> find_transform(const Tensor& in, const Tensor& out, int64_t s,
                                                                   int64_t pad) {
  const int64_t h = in.shape()[1], w = in.shape()[2], c = in.shape()[3];
  for (bool flip : {false, true})
    for (int64_t dy = -pad; dy <= pad; ++dy)
      for (int64_t dx = -pad; dx <= pad; ++dx) {
        bool same = true;
        for (int64_t y = 0; y < h && same; ++y)
          for (int64_t x = 0; x < w && same; ++x)
            for (int64_t ch = 0; ch < c && same; ++ch)
              same = out.data()[((s * h + y) * w + x) * c + ch] == expected(in, s, y, x, ch, dy, dx, flip);
        if (same) return std::make_tuple(dy, dx, flip);
      }
  return std::nullopt;
}

TEST(Augmentation, CropIsAShiftWithZerosMovedInAndEveryOffsetOccurs) {
  const Tensor in = distinct_images(900, 6, 5, 2);
  Tensor out = in;
  Augmentation a;
  a.crop_padding = 2;
  Rng rng(1);
  augment_images(out, a, rng);
  std::map<std::pair<int64_t, int64_t>, int> seen;
  for (int64_t s = 0; s < in.batch(); ++s) {
    const auto t = find_transform(in, out, s, a.crop_padding);
    ASSERT_TRUE(t.has_value()) << "image " << s << " is not a shifted copy";
    EXPECT_FALSE(std::get<2>(*t)) << "flipped without flip";
    ++seen[{std::get<0>(*t), std::get<1>(*t)}];
  }
  // 25 offsets, uniform: 36 each expected; a binomial(900, 1/25) is within 15..60 with
  // probability > 0.9999.
  ASSERT_EQ(seen.size(), 25u);
  for (const auto& [offset, n] : seen) {
    EXPECT_GE(n, 15) << offset.first << "," << offset.second;
    EXPECT_LE(n, 60) << offset.first << "," << offset.second;
  }
}

TEST(Augmentation, FlipMirrorsAboutHalfTheImagesAndKeepsChannelsTogether) {
  const Tensor in = distinct_images(1000, 4, 7, 3);
  Tensor out = in;
  Augmentation a;
  a.flip_horizontal = true;
  Rng rng(2);
  augment_images(out, a, rng);
  int flipped = 0;
  for (int64_t s = 0; s < in.batch(); ++s) {
    const auto t = find_transform(in, out, s, 0);
    ASSERT_TRUE(t.has_value()) << "image " << s;
    flipped += std::get<2>(*t);
  }
  EXPECT_GT(flipped, 420);  // binomial(1000, 0.5): 500 +- 16 (one sd)
  EXPECT_LT(flipped, 580);
}

TEST(Augmentation, ChannelsFirstImagesShiftEachPlaneAlike) {
  // (c, h, w): the same image written channels-first must come out as the channels-last one does
  // under the same draws.
  const Tensor last = distinct_images(50, 5, 6, 3);
  Tensor first({50, 3, 5, 6});
  for (int64_t s = 0; s < 50; ++s)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 6; ++x)
        for (int64_t c = 0; c < 3; ++c)
          first.data()[((s * 3 + c) * 5 + y) * 6 + x] = last.data()[((s * 5 + y) * 6 + x) * 3 + c];
  Augmentation a;
  a.crop_padding = 1;
  a.flip_horizontal = true;
  a.erasing = 0.5;
  Tensor out_last = last, out_first = first;
  Rng rng1(9), rng2(9);
  augment_images(out_last, a, rng1);
  a.channels_first = true;
  augment_images(out_first, a, rng2);
  for (int64_t s = 0; s < 50; ++s)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 6; ++x)
        for (int64_t c = 0; c < 3; ++c)
          ASSERT_EQ(out_first.data()[((s * 3 + c) * 5 + y) * 6 + x], out_last.data()[((s * 5 + y) * 6 + x) * 3 + c]);
}

TEST(Augmentation, ErasingZeroesOneRectangleOfTheStatedSize) {
  const int64_t h = 20, w = 24;
  const Tensor in = distinct_images(400, h, w, 1);
  Tensor out = in;
  Augmentation a;
  a.erasing = 1.0;
  Rng rng(3);
  augment_images(out, a, rng);
  int erased = 0;
  for (int64_t s = 0; s < in.batch(); ++s) {
    int64_t y0 = h, y1 = -1, x0 = w, x1 = -1, zeros = 0;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const int64_t i = (s * h + y) * w + x;
        if (out.data()[i] == 0.0f) {
          ++zeros;
          y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
        } else {
          ASSERT_EQ(out.data()[i], in.data()[i]) << "a pixel outside the erased rectangle changed";
        }
      }
    if (zeros == 0) continue;  // all 10 draws missed (rare for these sizes)
    ++erased;
    const int64_t rh = y1 - y0 + 1, rw = x1 - x0 + 1;
    EXPECT_EQ(zeros, rh * rw) << "the zeros are not one filled rectangle";
    // Area 2-33% of 480 pixels with rounding of each side: within [0.5 * 0.02, 0.33 * 1.3].
    const double fraction = static_cast<double>(zeros) / (h * w);
    EXPECT_GE(fraction, 0.01);
    EXPECT_LE(fraction, 0.43);
    EXPECT_LE(static_cast<double>(rh) / rw, 3.3 * 1.5);
    EXPECT_GE(static_cast<double>(rh) / rw, 0.3 / 1.5);
  }
  EXPECT_GT(erased, 380);
}

TEST(Augmentation, ProbabilityOfErasingIsHonoured) {
  const Tensor in = distinct_images(1000, 10, 10, 1);
  Tensor out = in;
  Augmentation a;
  a.erasing = 0.25;
  Rng rng(4);
  augment_images(out, a, rng);
  int changed = 0;
  for (int64_t s = 0; s < in.batch(); ++s)
    changed += !std::equal(in.data() + s * 100, in.data() + (s + 1) * 100, out.data() + s * 100);
  EXPECT_GT(changed, 180);  // binomial(1000, 0.25 * P(a draw fits)): about 240
  EXPECT_LT(changed, 265);
}

TEST(Augmentation, SameSeedSameImagesOtherSeedOthers) {
  const Tensor in = distinct_images(64, 8, 8, 1);
  Augmentation a;
  a.crop_padding = 2;
  a.flip_horizontal = true;
  a.erasing = 0.5;
  auto run = [&](uint64_t seed) {
    Tensor out = in;
    Rng rng(seed);
    augment_images(out, a, rng);
    return std::vector<float>(out.data(), out.data() + out.size());
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
  // Off: nothing changes and nothing is drawn.
  Tensor out = in;
  Rng rng(5), untouched(5);
  augment_images(out, Augmentation{}, rng);
  EXPECT_EQ(std::vector<float>(out.data(), out.data() + out.size()), std::vector<float>(in.data(), in.data() + in.size()));
  EXPECT_EQ(rng(), untouched());
}

TEST(Augmentation, RefusesWhatItCannotChange) {
  Augmentation a;
  EXPECT_EQ(augmentation_problem(a, {10}), "");  // off: anything goes
  a.flip_horizontal = true;
  EXPECT_NE(augmentation_problem(a, {10}).find("samples have shape (10,)"), std::string::npos);
  EXPECT_EQ(augmentation_problem(a, {28, 28}), "");
  a.crop_padding = 28;
  EXPECT_NE(augmentation_problem(a, {28, 28, 1}).find("crop_padding = 28 is not smaller than the images (28x28)"),
            std::string::npos);
  a.crop_padding = 0;
  a.erasing = 1.5;
  EXPECT_NE(augmentation_problem(a, {28, 28, 1}).find("erasing = 1.5"), std::string::npos);
}

// A tiny image classifier trained with and without augmentation: fit() changes the training
// batches (different weights), repeats itself under the same seed, and scores validation data
// unchanged (evaluate on them after training agrees with the history's last val_loss).
TEST(Augmentation, FitAugmentsTrainingBatchesOnly) {
  Dataset data;
  data.x = Tensor({64, 6, 6, 1});
  data.y = Tensor({64});
  Rng rng(0);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (int64_t s = 0; s < 64; ++s) {
    data.y[s] = static_cast<float>(s % 2);
    for (int64_t i = 0; i < 36; ++i) data.x.data()[s * 36 + i] = noise(rng) + (s % 2 && i % 6 < 3 ? 1.0f : 0.0f);
  }
  data.num_classes = 2;
  auto train = [&](const Augmentation& a) {
    Network net;
    net.add(make_layer({{"type", "flatten"}}));
    net.add(make_layer({{"type", "dense"}, {"units", 2}}));
    Rng init(1);
    net.build({6, 6, 1}, init);
    TrainConfig config;
    config.epochs = 3;
    config.batch_size = 16;
    config.seed = 7;
    config.augment = a;
    const History history = fit(net, data, &data, config);
    const double val_loss = history.epochs.back().metrics.at("val_loss");
    EXPECT_NEAR(evaluate(net, *make_loss(config.loss), data).at("loss"), val_loss, 1e-5);
    return std::vector<float>(net.parameters());
  };
  Augmentation a;
  a.crop_padding = 1;
  a.flip_horizontal = true;
  EXPECT_NE(train(a), train(Augmentation{}));
  EXPECT_EQ(train(a), train(a));
  Dataset tabular;
  tabular.x = Tensor({4, 3});
  tabular.y = Tensor({4});
  tabular.num_classes = 2;
  Network net;
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng init(1);
  net.build({3}, init);
  TrainConfig config;
  config.augment = a;
  EXPECT_ERROR_CONTAINS(fit(net, tabular, nullptr, config), "training: augment: augmentation changes images",
                        "shape (3,)");
}

TEST(Augmentation, SpecKeysAndTheirErrors) {
  testing::TempDir dir;
  testing::write_file(dir.file("t.csv"), testing::two_class_csv(20));
  const std::string base = "data: {train: {csv: {path: " + dir.file("t.csv") + "}}}\nmodel: {hidden: [4]}\n";
  const TrainingSpec spec =
      parse_spec(base + "train: {augment: {crop_padding: 3, flip: horizontal, erasing: 0.25}}\n", "s.yaml");
  EXPECT_EQ(spec.train.augment.crop_padding, 3);
  EXPECT_TRUE(spec.train.augment.flip_horizontal);
  EXPECT_DOUBLE_EQ(spec.train.augment.erasing, 0.25);
  EXPECT_FALSE(parse_spec(base, "s.yaml").train.augment.enabled());
  // Tabular data: refused when the data are loaded, naming the key and the shape.
  EXPECT_ERROR_CONTAINS(load_spec_data(spec), "train.augment", "samples have shape (2,)");
  EXPECT_ERROR_CONTAINS(parse_spec(base + "train: {augment: {flip: vertical}}\n", "s.yaml"), "s.yaml:3",
                        "train.augment.flip");
  EXPECT_ERROR_CONTAINS(parse_spec(base + "train: {augment: {erasing: 2}}\n", "s.yaml"), "train.augment.erasing");
}

}  // namespace
}  // namespace nntune
