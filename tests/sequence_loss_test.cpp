// Sequence outputs: a dense layer applied per step, losses and metrics per step with the step
// mask of an embedding with mask_zero (padding adds nothing to the loss, its mean, the gradient
// or the metrics), targets per step from .npy files, the spec's shape checks, and a token-tagging
// task learnt end to end (C++ API and command line: train, eval, predict).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "gradcheck.hpp"
#include "nn/step_rows.hpp"
#include "nntune/error.hpp"
#include "nntune/layer.hpp"
#include "nntune/model.hpp"
#include "nntune/network.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "nntune/tune/ensemble.hpp"
#include "nntune/metrics.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::BoundLayer;
using testing::random_tensor;
using testing::write_npy;

// ---- dense per step ----

TEST(DensePerStep, EachStepIsARowOfTheSameLayerAndItsGradientsCheck) {
  for (const std::string activation : {"linear", "tanh", "gelu"}) {
    const json config = {{"type", "dense"}, {"units", 3}, {"activation", activation}};
    BoundLayer seq(make_layer(config), {4, 5});
    EXPECT_EQ(seq.output_sample_shape, (Shape{4, 3}));
    EXPECT_TRUE(seq->takes_mask());
    const Tensor x = random_tensor({2, 4, 5}, 3);
    testing::expect_gradients_ok(*seq.layer, x);

    // The same weights on the 8 steps as 8 flat samples give the same numbers.
    BoundLayer flat(make_layer(config), {5});
    EXPECT_FALSE(flat->takes_mask());
    flat.values = seq.values;
    Tensor rows = x;
    rows.reshape({8, 5});
    Tensor out_seq, out_flat;
    seq->forward(x, out_seq, ForwardContext{});
    flat->forward(rows, out_flat, ForwardContext{});
    ASSERT_EQ(out_seq.shape(), (Shape{2, 4, 3}));
    for (int64_t i = 0; i < out_flat.size(); ++i) EXPECT_FLOAT_EQ(out_seq[i], out_flat[i]);
  }
  // Images still need a flatten (a dense layer over each pixel's channels is rarely meant).
  EXPECT_ERROR_CONTAINS(BoundLayer(make_layer({{"type", "dense"}, {"units", 3}}), {4, 4, 2}),
                        "a dense layer needs a flat (1-D) input but gets samples of shape (4, 4, 2)",
                        "add {type: flatten} before it");
}

// ---- losses per step ----

// A loss per step as the trainer computes it, as a Loss the gradient checker can take.
class StepLoss final : public Loss {
 public:
  StepLoss(const Loss& loss, const Tensor* mask) : loss_(loss), mask_(mask) {}
  std::string name() const override { return loss_.name() + " per step"; }
  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    return rows_.loss(loss_, output, target, mask_, grad);
  }

 private:
  const Loss& loss_;
  const Tensor* mask_;
  mutable StepRows rows_;
};

// Targets of (n, steps) samples for a loss with `width` outputs per step.
Tensor step_targets(const Loss& loss, int64_t n, int64_t steps, int64_t width, uint64_t seed, bool one_hot = false) {
  Rng rng(seed);
  if (!loss.is_classification()) return random_tensor({n, steps, width}, seed);
  if (width == 1) {  // binary: 0/1 per step
    Tensor t({n, steps});
    for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng() % 2);
    return t;
  }
  Tensor t = one_hot ? Tensor({n, steps, width}) : Tensor({n, steps});
  for (int64_t i = 0; i < n * steps; ++i) {
    const int64_t c = static_cast<int64_t>(rng() % static_cast<uint64_t>(width));
    if (one_hot) t[i * width + c] = 1.0f;
    else t[i] = static_cast<float>(c);
  }
  return t;
}

TEST(StepLosses, EveryLossPerStepHasTheRightGradientWithAndWithoutAMask) {
  const int64_t n = 3, steps = 4;
  const Tensor mask({n, steps}, {1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1});
  for (const std::string& name : loss_names()) {
    const auto loss = make_loss(name);
    const int64_t width = loss->output_width(3, 3);
    for (const bool one_hot : {false, true}) {
      if (one_hot && (!loss->is_classification() || width == 1)) continue;
      const Tensor target = step_targets(*loss, n, steps, width, 7, one_hot);
      Tensor output = random_tensor({n, steps, width}, 11);
      // Huber and mae have kinks at 0 and +-1 error: keep the errors away from them.
      for (int64_t i = 0; i < output.size() && !loss->is_classification(); ++i)
        output[i] = target[i] + (output[i] > 0 ? 0.3f : -0.3f) + 0.4f * output[i];
      for (const Tensor* m : {static_cast<const Tensor*>(nullptr), &mask}) {
        SCOPED_TRACE(name + (one_hot ? " one-hot" : "") + (m ? " masked" : ""));
        StepLoss step_loss(*loss, m);
        const auto report = testing::check_loss_gradient(step_loss, output, target);
        EXPECT_TRUE(report.passed()) << report.summary();

        // The value is the loss over the real steps as rows: their mean, padding left out.
        Tensor rows_out, rows_target;
        std::vector<int64_t> kept;
        for (int64_t i = 0; i < n * steps; ++i)
          if (!m || (*m)[i] != 0.0f) kept.push_back(i);
        const int64_t target_width = target.features() / steps;
        rows_out = Tensor({static_cast<int64_t>(kept.size()), width});
        rows_target = Tensor({static_cast<int64_t>(kept.size()), target_width});
        for (size_t r = 0; r < kept.size(); ++r) {
          for (int64_t k = 0; k < width; ++k) rows_out[static_cast<int64_t>(r) * width + k] = output[kept[r] * width + k];
          for (int64_t k = 0; k < target_width; ++k)
            rows_target[static_cast<int64_t>(r) * target_width + k] = target[kept[r] * target_width + k];
        }
        Tensor grad;
        const double value = step_loss.forward_backward(output, target, &grad);
        EXPECT_NEAR(value, loss->forward_backward(rows_out, rows_target, nullptr), 1e-9);
        ASSERT_EQ(grad.shape(), output.shape());
        for (int64_t i = 0; m && i < n * steps; ++i) {
          if ((*m)[i] != 0.0f) continue;
          for (int64_t k = 0; k < width; ++k) EXPECT_EQ(grad[i * width + k], 0.0f) << "padding step " << i;
        }
      }
    }
  }
}

TEST(StepLosses, TargetsThatDoNotFitTheStepsAreRefusedWithBothShapes) {
  const auto loss = make_loss("categorical_crossentropy");
  StepRows rows;
  const Tensor output({2, 5, 3});
  EXPECT_ERROR_CONTAINS(rows.loss(*loss, output, Tensor({2, 1}), nullptr, nullptr), "targets have samples of shape (1,)",
                        "sequences of shape (5, 3)", "(2, 5)", "(2, 5, 3)", "without return_sequences");
  EXPECT_ERROR_CONTAINS(rows.loss(*loss, output, Tensor({2, 4}), nullptr, nullptr), "(4,)", "(5, 3)");
  // Only padding: nothing to learn, no NaN.
  Tensor grad;
  const Tensor only_padding({2, 5});
  EXPECT_EQ(rows.loss(*loss, output, Tensor({2, 5}), &only_padding, &grad), 0.0);
  EXPECT_EQ(grad.shape(), output.shape());
}

// ---- a padded batch gives what its sequences give alone ----

std::vector<json> tagger_layers(int64_t vocabulary, int64_t units, int64_t classes) {
  return {{{"type", "embedding"}, {"vocabulary", vocabulary}, {"dim", 4}, {"mask_zero", true}},
          {{"type", "lstm"}, {"units", units}, {"return_sequences", true}},
          {{"type", "dense"}, {"units", classes}}};
}

Network tagger(int64_t steps, uint64_t seed) {
  Network net;
  for (const json& c : tagger_layers(9, 5, 3)) net.add(make_layer(c));
  Rng rng(seed);
  net.build({steps}, rng);
  return net;
}

TEST(StepLosses, APaddedBatchGivesTheLossAndGradientsOfItsSequencesAlone) {
  const auto loss = make_loss("categorical_crossentropy");
  // Two sequences of 3 and 5 real tokens in 6 steps: padding after the first, before the second.
  const std::vector<float> a = {3, 1, 4}, b = {1, 5, 2, 6, 8};
  const std::vector<float> la = {0, 2, 1}, lb = {2, 2, 0, 1, 1};
  Network padded = tagger(6, 1);
  const Tensor x({2, 6}, {3, 1, 4, 0, 0, 0, 0, 1, 5, 2, 6, 8});
  const Tensor y({2, 6}, {0, 2, 1, 0, 0, 0, 0, 2, 2, 0, 1, 1});  // labels at padding: whatever
  StepRows rows;
  ForwardContext ctx;
  const Tensor& out = padded.forward(x, ctx);
  ASSERT_NE(padded.output_mask(), nullptr);
  Tensor grad;
  const double value = rows.loss(*loss, out, y, padded.output_mask(), &grad);
  padded.backward(grad);
  const std::vector<float> padded_grads = padded.gradients();

  auto alone = [&](const std::vector<float>& tokens, const std::vector<float>& labels, std::vector<float>& grads) {
    Network net = tagger(static_cast<int64_t>(tokens.size()), 1);
    net.parameters() = padded.parameters();
    const int64_t len = static_cast<int64_t>(tokens.size());
    const Tensor& o = net.forward(Tensor({1, len}, tokens), ctx);
    Tensor g;
    StepRows r;
    const double v = r.loss(*loss, o, Tensor({1, len}, labels), net.output_mask(), &g);
    net.backward(g);
    grads = net.gradients();
    return v;
  };
  std::vector<float> ga, gb;
  const double va = alone(a, la, ga), vb = alone(b, lb, gb);
  // The mean over the 8 real steps of the batch.
  EXPECT_NEAR(value, (3 * va + 5 * vb) / 8, 1e-6);
  ASSERT_EQ(padded_grads.size(), ga.size());
  double worst = 0.0;
  for (size_t i = 0; i < ga.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(padded_grads[i]) - (3.0 * ga[i] + 5.0 * gb[i]) / 8));
  EXPECT_LT(worst, 1e-6);
  // Changing the labels at padding changes nothing.
  Tensor y2 = y;
  y2[3] = y2[4] = y2[5] = y2[6] = 2;
  EXPECT_EQ(rows.loss(*loss, padded.forward(x, ctx), y2, padded.output_mask(), nullptr), value);
}

// ---- a token-tagging task learnt end to end ----

// Tokens 1..9 in sequences of 3..8 real steps, padded with 0 at the end to 8 steps; each token
// is tagged 1 when it is larger than the one before it (the first: 0). Padding is tagged 0.
Dataset tagging_data(int64_t n, uint64_t seed) {
  const int64_t steps = 8;
  Dataset data;
  data.x = Tensor({n, steps});
  data.y = Tensor({n, steps});
  data.num_classes = 2;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 3 + static_cast<int64_t>(rng() % 6);
    for (int64_t t = 0; t < len; ++t) {
      const float token = static_cast<float>(1 + rng() % 9);
      data.x[i * steps + t] = token;
      data.y[i * steps + t] = t > 0 && token > data.x[i * steps + t - 1] ? 1.0f : 0.0f;
    }
  }
  return data;
}

TEST(StepLosses, AnLstmTaggerLearnsPerStepLabelsAndTheMetricsSkipPadding) {
  const Dataset train = tagging_data(600, 1), test = tagging_data(200, 2);
  Network net;
  for (const json& c : tagger_layers(10, 16, 2)) net.add(make_layer(c));
  Rng rng(3);
  net.build({8}, rng);
  TrainConfig config;
  config.epochs = 12;
  config.batch_size = 32;
  config.optimizer.lr = 0.01;
  config.metrics = {"f1", "top_2_accuracy"};
  const History history = fit(net, train, &test, config);
  const Metrics& last = history.epochs.back().metrics;
  EXPECT_GT(last.at("val_accuracy"), 0.95);
  EXPECT_GT(last.at("val_f1"), 0.9);
  EXPECT_DOUBLE_EQ(last.at("val_top_2_accuracy"), 1.0);
  const auto loss = make_loss(config.loss);
  const Metrics scored = evaluate(net, *loss, test);
  EXPECT_GT(scored.at("accuracy"), 0.95);
  // Labels at padding do not count: flipping them all changes neither loss nor accuracy.
  Dataset flipped = test;
  for (int64_t i = 0; i < flipped.y.size(); ++i)
    if (flipped.x[i] == 0.0f) flipped.y[i] = 1.0f;
  const Metrics same = evaluate(net, *loss, flipped);
  EXPECT_DOUBLE_EQ(same.at("accuracy"), scored.at("accuracy"));
  EXPECT_DOUBLE_EQ(same.at("loss"), scored.at("loss"));
}

TEST(StepLosses, RegressionPerStepReportsMaeRmseAndR2OverRealSteps) {
  // A masked sequence regression: the value of each step is its token / 10.
  Dataset data = tagging_data(300, 4);
  data.task = Task::Regression;
  data.num_classes = 0;
  data.y = Tensor({300, 8, 1});
  for (int64_t i = 0; i < data.x.size(); ++i) data.y[i] = data.x[i] / 10.0f;
  Network net;
  for (const json& c : tagger_layers(10, 8, 1)) net.add(make_layer(c));
  Rng rng(5);
  net.build({8}, rng);
  TrainConfig config;
  config.loss = "mse";
  config.epochs = 8;
  config.optimizer.lr = 0.01;
  config.metrics = {"r2", "mse"};
  fit(net, data, nullptr, config);
  const Metrics m = evaluate(net, *make_loss("mse"), data, 64, {"r2", "mse"});
  EXPECT_NEAR(m.at("mse"), m.at("loss"), 1e-6);  // both over the real steps
  EXPECT_NEAR(m.at("rmse"), std::sqrt(m.at("mse")), 1e-9);
  EXPECT_GT(m.at("r2"), 0.9);
  EXPECT_LT(m.at("mae"), 0.1);
}

// ---- .npy targets per step through a spec and the command line ----


std::vector<float> values_of(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.size()); }

constexpr const char* kTaggerLayers =
    "model:\n  layers:\n    - {type: embedding, vocabulary: 10, dim: 8, mask_zero: true}\n"
    "    - {type: lstm, units: 16, return_sequences: RS}\n    - {type: dense, units: 2}\n";

std::string tagger_spec(const testing::TempDir& dir, const std::string& y, bool return_sequences = true,
                        const std::string& test_y = "yt.npy") {
  std::string layers = kTaggerLayers;
  layers.replace(layers.find("RS"), 2, return_sequences ? "true" : "false");
  return "data:\n  train: {npy: {x: " + dir.file("x.npy") + ", y: " + dir.file(y) + "}}\n" +
         "  test: {npy: {x: " + dir.file("xt.npy") + ", y: " + dir.file(test_y) + "}}\n" + layers +
         "train: {epochs: 12, batch_size: 32, optimizer: {name: adam, lr: 0.01}}\n";
}

TEST(StepTargets, NpyLabelsPerStepTrainEvaluateAndPredictFromTheCommandLine) {
  testing::TempDir dir;
  const Dataset train = tagging_data(600, 1), test = tagging_data(100, 2);
  write_npy(dir.file("x.npy"), {600, 8}, values_of(train.x));
  write_npy(dir.file("y.npy"), {600, 8}, values_of(train.y));
  write_npy(dir.file("xt.npy"), {100, 8}, values_of(test.x));
  write_npy(dir.file("yt.npy"), {100, 8}, values_of(test.y));
  auto alternating = [](int n) {
    std::vector<float> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(i % 2));
    return v;
  };
  write_npy(dir.file("y1.npy"), {600}, alternating(600));
  write_npy(dir.file("yt1.npy"), {100}, alternating(100));
  write_npy(dir.file("bad.npy"), {600, 8}, [&] {
    std::vector<float> v = values_of(train.y);
    v[8 * 5 + 2] = 0.5f;
    return v;
  }());

  // The loader names the row and step of a bad label.
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("bad.npy"), Task::Classification), "bad.npy",
                        "of row 5, step 2", "not a non-negative integer class index");
  // Labels per sample for a per-step output, and per step for a per-sample output: refused
  // before training, at the spec's layer, with both shapes.
  testing::write_file(dir.file("one.yaml"), tagger_spec(dir, "y1.npy", true, "yt1.npy"));
  EXPECT_ERROR_CONTAINS(run_training(load_spec(dir.file("one.yaml"))), "one.yaml", "model.layers[2]",
                        "gets samples of shape (8, 16)", "without return_sequences", "targets per step", "(n, 8)");
  testing::write_file(dir.file("flat.yaml"), tagger_spec(dir, "y.npy", false));
  EXPECT_ERROR_CONTAINS(run_training(load_spec(dir.file("flat.yaml"))), "flat.yaml", "model.layers[2]",
                        "targets are per step (8 steps", "(8, 2)", "gives (2,)", "return_sequences: true");

  testing::write_file(dir.file("tag.yaml"), tagger_spec(dir, "y.npy"));
  const testing::CliRun trained = testing::run_nntune(dir, "train tag.yaml -o run");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const testing::CliRun json_eval =
      testing::run_nntune(dir, "eval run/model.nnt xt.npy --labels yt.npy --format json");
  ASSERT_EQ(json_eval.exit_code, 0) << json_eval.err;
  const json scored = json::parse(json_eval.out);
  EXPECT_GT(scored.at("metrics").at("accuracy").get<double>(), 0.95) << json_eval.out;
  const testing::CliRun text_eval = testing::run_nntune(dir, "eval run/model.nnt xt.npy --labels yt.npy");
  ASSERT_EQ(text_eval.exit_code, 0) << text_eval.err;
  EXPECT_NE(text_eval.out.find("accuracy"), std::string::npos) << text_eval.out;

  const testing::CliRun predicted = testing::run_nntune(dir, "predict run/model.nnt xt.npy -o tags.csv");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_NE(predicted.err.find("100 sequences (8 steps each"), std::string::npos) << predicted.err;
  std::istringstream csv(testing::read_file(dir.file("tags.csv")));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "sample,step,class,p0,p1");
  // One row per real step, in order, each naming its sample and step; padding steps left out.
  std::vector<int64_t> real_steps;
  for (int64_t i = 0; i < test.x.size(); ++i)
    if (test.x[i] != 0.0f) real_steps.push_back(i);
  ASSERT_LT(real_steps.size(), 800u);  // the data has padding
  size_t rows = 0;
  int64_t correct = 0;
  while (std::getline(csv, line)) {
    int64_t sample = 0, step = 0, cls = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%ld,%ld,%ld,", &sample, &step, &cls), 3) << line;
    ASSERT_LT(rows, real_steps.size()) << line;
    EXPECT_EQ(sample * 8 + step, real_steps[rows]) << line;
    correct += static_cast<float>(cls) == test.y[sample * 8 + step] ? 1 : 0;
    ++rows;
  }
  EXPECT_EQ(rows, real_steps.size());
  EXPECT_NE(predicted.err.find("one row per real step: " + std::to_string(real_steps.size()) + " rows"), std::string::npos)
      << predicted.err;
  EXPECT_GT(static_cast<double>(correct) / static_cast<double>(rows), 0.95);
}

// ---- saved models, ensembles and class weights under the step mask ----

// A masked per-step model as a saved Model would hold it (no scaling), randomly initialised.
Model tagger_model(uint64_t seed, int64_t outputs, const std::string& loss, Task task) {
  Model model;
  for (const json& c : tagger_layers(10, 6, outputs)) model.network.add(make_layer(c));
  Rng rng(seed);
  model.network.build({8}, rng);
  model.loss = loss;
  model.task = task;
  model.num_classes = task == Task::Classification ? outputs : 0;
  return model;
}

// The same data with other targets at every padding step.
Dataset other_padding_targets(const Dataset& data, float value) {
  Dataset other = data;
  const int64_t width = data.y.size() / data.x.size();
  for (int64_t i = 0; i < data.x.size(); ++i)
    if (data.x[i] == 0.0f)
      for (int64_t k = 0; k < width; ++k) other.y[i * width + k] = value;
  return other;
}

TEST(StepMaskedModels, PredictGivesTheStepMaskOfTheInputs) {
  Model model = tagger_model(1, 3, "categorical_crossentropy", Task::Classification);
  const Dataset data = tagging_data(20, 6);
  Tensor mask;
  const Tensor out = predict(model, data.x, 7, &mask);  // several batches
  ASSERT_EQ(out.shape(), (Shape{20, 8, 3}));
  ASSERT_EQ(mask.shape(), (Shape{20, 8}));
  for (int64_t i = 0; i < mask.size(); ++i) EXPECT_EQ(mask[i], data.x[i] != 0.0f ? 1.0f : 0.0f) << i;
  // Without mask_zero: no mask.
  Model plain;
  json layers = tagger_layers(10, 6, 3);
  layers[0]["mask_zero"] = false;
  for (const json& c : layers) plain.network.add(make_layer(c));
  Rng rng(1);
  plain.network.build({8}, rng);
  plain.loss = "categorical_crossentropy";
  predict(plain, data.x, 1024, &mask);
  EXPECT_EQ(mask.size(), 0);
}

TEST(StepMaskedModels, TheRegressionTableOfEvalCountsRealStepsOnly) {
  // Two outputs per step: the per-output table is printed (text) and written (json).
  Dataset data = tagging_data(40, 7);
  data.task = Task::Regression;
  data.num_classes = 0;
  data.y = Tensor({40, 8, 2});
  for (int64_t i = 0; i < data.x.size(); ++i) {
    data.y[2 * i] = data.x[i] / 10.0f;
    data.y[2 * i + 1] = -data.x[i] / 5.0f;
  }
  Model model = tagger_model(2, 2, "mse", Task::Regression);
  const EvaluationReport report = evaluate_model_report(model, data);
  const EvaluationReport other = evaluate_model_report(model, other_padding_targets(data, 50.0f));
  ASSERT_EQ(report.regression.outputs, 2);
  int64_t real = 0;
  for (int64_t i = 0; i < data.x.size(); ++i) real += data.x[i] != 0.0f ? 1 : 0;
  EXPECT_EQ(report.regression.samples, real);
  for (size_t o = 0; o < 2; ++o) {
    EXPECT_DOUBLE_EQ(other.regression.mae_per_output[o], report.regression.mae_per_output[o]);
    EXPECT_DOUBLE_EQ(other.regression.rmse_per_output[o], report.regression.rmse_per_output[o]);
    EXPECT_DOUBLE_EQ(other.regression.r2_per_output[o], report.regression.r2_per_output[o]);
  }
  // The table agrees with the scalars (both over the real steps).
  EXPECT_NEAR(report.regression.mae, report.metrics.at("mae"), 1e-9);
  EXPECT_NEAR(report.regression.rmse, report.metrics.at("rmse"), 1e-9);
  EXPECT_NEAR(report.regression.r2, report.metrics.at("r2"), 1e-9);
  // The per-output figures by hand over the real steps: the model's predictions there.
  const Tensor out = predict(model, data.x);
  for (int64_t o = 0; o < 2; ++o) {
    double abs = 0.0;
    for (int64_t i = 0; i < data.x.size(); ++i)
      if (data.x[i] != 0.0f) abs += std::fabs(static_cast<double>(out[2 * i + o]) - data.y[2 * i + o]);
    EXPECT_NEAR(report.regression.mae_per_output[static_cast<size_t>(o)], abs / static_cast<double>(real), 1e-6);
  }
}

TEST(StepMaskedModels, AnEnsembleScoresRealStepsOnly) {
  const Dataset data = tagging_data(60, 8);
  // An ensemble of two copies of one model predicts what the model predicts, and scores the
  // same: the real steps only (the model's own evaluation uses its step mask).
  Model single = tagger_model(3, 2, "categorical_crossentropy", Task::Classification);
  std::vector<Model> members;
  members.push_back(tagger_model(3, 2, "categorical_crossentropy", Task::Classification));
  members.push_back(tagger_model(3, 2, "categorical_crossentropy", Task::Classification));
  Model ensemble = make_ensemble(std::move(members), {1.0, 1.0});
  const Metrics alone = evaluate_model(single, data), mixed = evaluate_model(ensemble, data);
  EXPECT_NEAR(mixed.at("loss"), alone.at("loss"), 1e-6);
  EXPECT_DOUBLE_EQ(mixed.at("accuracy"), alone.at("accuracy"));
  const Metrics flipped = evaluate_model(ensemble, other_padding_targets(data, 1.0f));
  EXPECT_DOUBLE_EQ(flipped.at("accuracy"), mixed.at("accuracy"));
  EXPECT_DOUBLE_EQ(flipped.at("loss"), mixed.at("loss"));
  // The classification table of eval too.
  const EvaluationReport a = evaluate_model_report(ensemble, data), b = evaluate_model_report(single, data);
  EXPECT_EQ(a.classification.confusion, b.classification.confusion);
}

TEST(StepMaskedModels, EnsembleSelectionScoresRealStepsOnly) {
  const Dataset data = tagging_data(50, 9);
  Model a = tagger_model(4, 2, "categorical_crossentropy", Task::Classification),
        b = tagger_model(5, 2, "categorical_crossentropy", Task::Classification);
  Tensor mask_a, mask_b;
  const std::vector<Tensor> predictions = {predict(a, data.x, 1024, &mask_a), predict(b, data.x, 1024, &mask_b)};
  Tensor mask;
  combine_step_masks(mask, mask_a);
  combine_step_masks(mask, mask_b);
  ASSERT_EQ(mask.shape(), (Shape{50, 8}));
  const auto loss = make_loss("categorical_crossentropy");
  tune::EnsembleSelectionConfig config;
  config.rounds = 3;
  config.metric = "loss";
  config.maximize = false;
  const tune::EnsembleSelection s = tune::select_ensemble(predictions, data.y, *loss, config, &mask);
  const tune::EnsembleSelection flipped =
      tune::select_ensemble(predictions, other_padding_targets(data, 1.0f).y, *loss, config, &mask);
  EXPECT_EQ(flipped.score_per_round, s.score_per_round);
  // The kept ensemble's loss is the masked loss of its mix.
  Tensor mix(predictions[0].shape());
  for (int64_t k = 0; k < mix.size(); ++k)
    mix[k] = static_cast<float>(s.weights[0] * predictions[0][k] + s.weights[1] * predictions[1][k]);
  EXPECT_NEAR(s.score, evaluate_predictions(*loss, mix, data.y, {}, &mask).at("loss"), 1e-5);
  // Masks of other lengths do not combine.
  EXPECT_ERROR_CONTAINS(combine_step_masks(mask, Tensor({50, 7})), "(50, 8)", "(50, 7)", "different lengths");
}

TEST(StepClassWeights, BalancedCountsTheClassesOfRealStepsAndWeighsEachStep) {
  // Padding tagged 1 everywhere: counted, it would make class 1 look common.
  Dataset data = tagging_data(80, 10);
  data = other_padding_targets(data, 1.0f);
  Network net;  // 3 classes
  for (const json& c : tagger_layers(10, 5, 3)) net.add(make_layer(c));
  Rng rng(2);
  net.build({8}, rng);
  TrainConfig config;
  config.class_weight = "balanced";
  int64_t count[2] = {0, 0}, real = 0;
  for (int64_t i = 0; i < data.x.size(); ++i)
    if (data.x[i] != 0.0f) {
      ++count[static_cast<int>(data.y[i])];
      ++real;
    }
  // tagger() has 3 outputs: class 2 never occurs, so balanced refuses; 2 classes fit.
  EXPECT_ERROR_CONTAINS(resolve_class_weights(config, data, 3, &net), "class 2 has no training sample");
  Network two;
  for (const json& c : tagger_layers(10, 5, 2)) two.add(make_layer(c));
  two.build({8}, rng);
  const std::vector<double> w = resolve_class_weights(config, data, 2, &two);
  ASSERT_EQ(w.size(), 2u);
  for (int c = 0; c < 2; ++c) EXPECT_DOUBLE_EQ(w[static_cast<size_t>(c)], static_cast<double>(real) / (2.0 * count[c])) << c;
  // One-hot rows per step count the same.
  Dataset one_hot = data;
  one_hot.y = Tensor({80, 8, 2});
  for (int64_t i = 0; i < data.y.size(); ++i) one_hot.y[2 * i + static_cast<int64_t>(data.y[i])] = 1.0f;
  EXPECT_EQ(resolve_class_weights(config, one_hot, 2, &two), w);
  // Without a step mask every step counts.
  Network unmasked;
  json layers = tagger_layers(10, 5, 2);
  layers[0]["mask_zero"] = false;
  for (const json& c : layers) unmasked.add(make_layer(c));
  unmasked.build({8}, rng);
  int64_t all_ones = 0;
  for (int64_t i = 0; i < data.y.size(); ++i) all_ones += data.y[i] == 1.0f ? 1 : 0;
  EXPECT_DOUBLE_EQ(resolve_class_weights(config, data, 2, &unmasked)[1], 640.0 / (2.0 * static_cast<double>(all_ones)));
  // Training with it runs (the weights apply to each step's loss).
  config.epochs = 1;
  config.batch_size = 16;
  const History h = fit(two, data, nullptr, config);
  EXPECT_TRUE(std::isfinite(h.epochs.back().metrics.at("loss")));
}

TEST(StepClassWeights, TheWeightedLossPerStepUnderAMaskHasTheRightValueAndGradient) {
  const int64_t n = 3, steps = 4;
  const Tensor mask({n, steps}, {1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1});
  for (const std::string name : {"categorical_crossentropy", "binary_crossentropy"}) {
    LossOptions options;
    const auto plain = make_loss(name);
    const int64_t width = plain->output_width(3, 3);
    options.class_weights = width == 1 ? std::vector<double>{0.4, 2.5} : std::vector<double>{0.5, 3.0, 1.5};
    const auto weighted = make_loss(name, options);
    for (const bool one_hot : {false, true}) {
      if (one_hot && width == 1) continue;
      SCOPED_TRACE(name + (one_hot ? " one-hot" : ""));
      const Tensor target = step_targets(*plain, n, steps, width, 13, one_hot);
      const Tensor output = random_tensor({n, steps, width}, 17);
      StepLoss step_loss(*weighted, &mask);
      const auto report = testing::check_loss_gradient(step_loss, output, target);
      EXPECT_TRUE(report.passed()) << report.summary();
      // Keras's per-step class weighting: the mean over the real steps of w[class] * loss(step).
      double expected = 0.0;
      int64_t real = 0;
      for (int64_t i = 0; i < n * steps; ++i) {
        if (mask[i] == 0.0f) continue;
        ++real;
        const int64_t target_width = target.features() / steps;
        Tensor o({1, width}), t({1, target_width});
        for (int64_t k = 0; k < width; ++k) o[k] = output[i * width + k];
        for (int64_t k = 0; k < target_width; ++k) t[k] = target[i * target_width + k];
        const int64_t cls = one_hot ? static_cast<int64_t>(std::max_element(t.data(), t.data() + width) - t.data())
                                    : static_cast<int64_t>(t[0]);
        expected += options.class_weights[static_cast<size_t>(cls)] * plain->forward_backward(o, t, nullptr);
      }
      Tensor grad;
      EXPECT_NEAR(step_loss.forward_backward(output, target, &grad), expected / static_cast<double>(real), 1e-6);
      for (int64_t i = 0; i < n * steps; ++i)
        for (int64_t k = 0; mask[i] == 0.0f && k < width; ++k) EXPECT_EQ(grad[i * width + k], 0.0f);
    }
  }
}

}  // namespace
}  // namespace nntune
