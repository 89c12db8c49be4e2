// The training loop, evaluation, callbacks and cross-validation on tiny problems.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "nntune/error.hpp"
#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"
#include "nn/gemm.hpp"
#include "train/train_internal.hpp"

namespace nntune {
namespace {

using testing::kUnderSanitizer;
Network make_network(const std::vector<nlohmann::json>& layers, const Shape& input, uint64_t seed) {
  Network net;
  for (const auto& config : layers) net.add(make_layer(config));
  Rng rng(seed);
  net.build(input, rng);
  return net;
}

// XOR, each corner repeated `copies` times, classes as indices.
Dataset xor_data(int copies) {
  const float corners[4][3] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}};
  std::vector<float> x, y;
  for (int c = 0; c < copies; ++c)
    for (const auto& p : corners) {
      x.push_back(p[0]);
      x.push_back(p[1]);
      y.push_back(p[2]);
    }
  const int64_t n = 4 * copies;
  Dataset d;
  d.x = Tensor({n, 2}, x);
  d.y = Tensor({n, 1}, y);
  d.task = Task::Classification;
  d.num_classes = 2;
  return d;
}

// y = slope x + 1 for x evenly spread over [-1, 1].
Dataset line_data(int64_t n, double slope = 2.0) {
  std::vector<float> x, y;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1);
    x.push_back(static_cast<float>(xi));
    y.push_back(static_cast<float>(slope * xi + 1.0));
  }
  Dataset d;
  d.x = Tensor({n, 1}, x);
  d.y = Tensor({n, 1}, y);
  d.task = Task::Regression;
  return d;
}

// Two Gaussian-free, linearly separable blobs: class = (x0 + x1 > 0), with a margin.
Dataset separable_data(int64_t per_class) {
  std::vector<float> x, y;
  Rng rng(7);
  std::uniform_real_distribution<float> u(0.2f, 1.0f);
  for (int64_t i = 0; i < per_class; ++i)
    for (int label = 0; label < 2; ++label) {
      const float sign = label ? 1.0f : -1.0f;
      x.push_back(sign * u(rng));
      x.push_back(sign * u(rng));
      y.push_back(static_cast<float>(label));
    }
  Dataset d;
  d.x = Tensor({2 * per_class, 2}, x);
  d.y = Tensor({2 * per_class, 1}, y);
  d.task = Task::Classification;
  d.num_classes = 2;
  return d;
}

// Records parameters, layer state and lr after every epoch, and counts batches.
class Recorder : public Callback {
 public:
  bool on_batch_end(TrainState& state, int64_t epoch, int64_t batch, double loss) override {
    ++batches;
    batch_losses.push_back(loss);
    last_batch_params = state.network.parameters();
    return false;
  }
  bool on_epoch_end(TrainState& state, const EpochLog& log) override {
    params.push_back(state.network.parameters());
    layer_state.push_back(state.network.state());
    lr.push_back(log.lr);
    return false;
  }
  int64_t batches = 0;
  std::vector<double> batch_losses, lr;
  std::vector<float> last_batch_params;
  std::vector<std::vector<float>> params, layer_state;
};

TrainConfig adam_config(const std::string& loss, double lr, int64_t epochs, int64_t batch_size) {
  TrainConfig c;
  c.loss = loss;
  c.optimizer.name = "adam";
  c.optimizer.lr = lr;
  c.epochs = epochs;
  c.batch_size = batch_size;
  c.seed = 42;
  return c;
}

TEST(TrainerTest, LearnsXor) {
  Network net = make_network({{{"type", "dense"}, {"units", 8}}, {{"type", "tanh"}}, {{"type", "dense"}, {"units", 2}}},
                             {2}, 1);
  const Dataset data = xor_data(8);
  const History h = fit(net, data, nullptr, adam_config("categorical_crossentropy", 0.05, 150, 8));
  ASSERT_EQ(h.epochs.size(), 150u);
  EXPECT_TRUE(h.stop_reason.empty());
  EXPECT_EQ(h.epochs.back().metrics.at("accuracy"), 1.0);
  EXPECT_LT(h.epochs.back().metrics.at("loss"), h.epochs.front().metrics.at("loss"));
  auto loss = make_loss("categorical_crossentropy");
  const Metrics m = evaluate(net, *loss, data);
  EXPECT_EQ(m.at("accuracy"), 1.0);
  EXPECT_LT(m.at("loss"), 0.1);
  EXPECT_EQ(m.count("mae"), 0u);
}

TEST(TrainerTest, BinaryCrossentropyWithOneOutputOnSeparableData) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {2}, 3);
  const Dataset data = separable_data(20);
  TrainConfig c = adam_config("binary_crossentropy", 0.1, 30, 8);
  const History h = fit(net, data, &data, c);
  EXPECT_EQ(h.epochs.back().metrics.at("val_accuracy"), 1.0);
  EXPECT_EQ(h.epochs.back().metrics.count("val_loss"), 1u);
}

TEST(TrainerTest, RegressionFitsALine) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  const Dataset data = line_data(64);
  TrainConfig c;
  c.loss = "mse";
  c.optimizer.name = "sgd";
  c.optimizer.lr = 0.1;
  c.epochs = 60;
  c.batch_size = 16;
  const History h = fit(net, data, &data, c);
  const Metrics& last = h.epochs.back().metrics;
  EXPECT_LT(last.at("val_loss"), 1e-6);
  EXPECT_LT(last.at("val_mae"), 1e-3);
  EXPECT_NEAR(last.at("val_rmse"), std::sqrt(last.at("val_loss")), 1e-6);
  EXPECT_EQ(last.count("accuracy"), 0u);
  EXPECT_NEAR(net.parameters()[0], 2.0f, 1e-3);  // weight
  EXPECT_NEAR(net.parameters()[1], 1.0f, 1e-3);  // bias
}

#if defined(__x86_64__) || defined(__i386__)
// Training flushes subnormals on its thread (not only in nntune's GEMM kernel): a subnormal
// weight whose gradient is 0 reads as 0 in the optimiser's update (denormals-are-zero), where it
// would otherwise stay as it is, and every later operation on it took a microcode assist. The
// caller's MXCSR is back after fit.
TEST(TrainerTest, TrainingFlushesSubnormalParametersAndRestoresTheCallersMxcsr) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {2}, 5);
  Dataset data = line_data(64);
  std::vector<float> x;
  for (int64_t i = 0; i < data.size(); ++i) x.insert(x.end(), {data.x.data()[i], 0.0f});  // feature 1 always 0
  data.x = Tensor({data.size(), 2}, x);
  const float subnormal = 1.0e-39f;
  ASSERT_EQ(std::fpclassify(subnormal), FP_SUBNORMAL);
  net.parameters()[1] = subnormal;  // the weight of feature 1: its gradient is exactly 0
  TrainConfig c;
  c.loss = "mse";
  c.optimizer.name = "sgd";
  c.optimizer.lr = 0.1;
  c.epochs = 1;
  c.batch_size = 16;
  const unsigned mxcsr_before = _mm_getcsr();
  fit(net, data, nullptr, c);
  EXPECT_EQ(_mm_getcsr(), mxcsr_before);
  EXPECT_EQ(net.parameters()[1], 0.0f);
  EXPECT_GT(std::abs(net.parameters()[0]), 0.1f);  // the other weight learned
}
#endif

TEST(TrainerTest, EvaluateOnHandComputedValues) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 0);
  net.parameters() = {2.0f, 0.5f};  // same size: the layer's pointers stay valid
  Dataset d;
  d.x = Tensor({3, 1}, {0.0f, 1.0f, -1.0f});  // outputs 0.5, 2.5, -1.5
  d.y = Tensor({3, 1}, {1.0f, 2.0f, 0.5f});   // errors -0.5, 0.5, -2
  d.task = Task::Regression;
  auto mse = make_loss("mse");
  const Metrics m = evaluate(net, *mse, d, 2);  // two batches: 2 + 1 samples
  EXPECT_NEAR(m.at("loss"), (0.25 + 0.25 + 4.0) / 3.0, 1e-6);
  EXPECT_NEAR(m.at("mae"), 3.0 / 3.0, 1e-6);
  EXPECT_NEAR(m.at("rmse"), std::sqrt(4.5 / 3.0), 1e-6);

  // Binary classification with one output: predicted positive when the logit is > 0.
  Dataset b = d;
  b.task = Task::Classification;
  b.y = Tensor({3, 1}, {1.0f, 1.0f, 1.0f});  // logits 0.5, 2.5, -1.5 -> 2 of 3 right
  auto bce = make_loss("binary_crossentropy");
  EXPECT_NEAR(evaluate(net, *bce, b).at("accuracy"), 2.0 / 3.0, 1e-12);

  // Categorical: argmax against class indices and against one-hot rows.
  Network two = make_network({{{"type", "dense"}, {"units", 2}}}, {1}, 0);
  two.parameters() = {1.0f, -1.0f, 0.0f, 0.0f};  // logits (x, -x): class 0 when x > 0
  Dataset c;
  c.x = Tensor({4, 1}, {1.0f, 2.0f, -1.0f, -3.0f});
  c.y = Tensor({4, 1}, {0.0f, 1.0f, 1.0f, 1.0f});  // 3 of 4 right
  auto cce = make_loss("categorical_crossentropy");
  EXPECT_NEAR(evaluate(two, *cce, c).at("accuracy"), 0.75, 1e-12);
  c.y = Tensor({4, 2}, {1, 0, 0, 1, 0, 1, 0, 1});
  EXPECT_NEAR(evaluate(two, *cce, c).at("accuracy"), 0.75, 1e-12);
}

TEST(TrainerTest, EarlyStoppingStopsAndRestoresBestWeightsAndState) {
  // Validation targets follow another line, so fitting the training line makes val_loss worse
  // after a while; batch_norm adds layer state that must be restored too.
  Network net = make_network({{{"type", "batch_norm"}}, {{"type", "dense"}, {"units", 1}}}, {1}, 11);
  const Dataset train = line_data(32, 2.0);
  const Dataset validation = line_data(16, -1.0);
  TrainConfig c = adam_config("mse", 0.05, 200, 8);
  EarlyStoppingConfig es;
  es.monitor = "val_loss";
  es.patience = 3;
  es.min_delta = 1e-4;
  auto stopper = make_early_stopping(es);
  Recorder recorder;
  const History h = fit(net, train, &validation, c, {&recorder, stopper.get()});

  ASSERT_LT(h.epochs.size(), 200u) << "early stopping never triggered";
  EXPECT_NE(h.stop_reason.find("early stopping"), std::string::npos) << h.stop_reason;
  ASSERT_GE(h.best_epoch, 1);
  // Stopped exactly `patience` epochs after the best one.
  EXPECT_EQ(static_cast<int64_t>(h.epochs.size()), h.best_epoch + es.patience);
  // The best epoch has the lowest val_loss of the run.
  double lowest = 1e300;
  for (const EpochLog& e : h.epochs) lowest = std::min(lowest, e.metrics.at("val_loss"));
  EXPECT_EQ(h.epochs[static_cast<size_t>(h.best_epoch - 1)].metrics.at("val_loss"), lowest);
  // Parameters and batch-norm running statistics are those of the best epoch, not the last.
  EXPECT_EQ(net.parameters(), recorder.params[static_cast<size_t>(h.best_epoch - 1)]);
  EXPECT_NE(net.parameters(), recorder.params.back());
  EXPECT_EQ(net.state(), recorder.layer_state[static_cast<size_t>(h.best_epoch - 1)]);
  EXPECT_NE(net.state(), recorder.layer_state.back());
}

TEST(TrainerTest, EarlyStoppingInMaxModeOnAccuracy) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {2}, 3);
  const Dataset data = separable_data(10);
  EarlyStoppingConfig es;
  es.monitor = "val_accuracy";  // auto mode: maximise
  es.patience = 2;
  auto stopper = make_early_stopping(es);
  const History h = fit(net, data, &data, adam_config("binary_crossentropy", 0.1, 100, 4), {stopper.get()});
  // Accuracy reaches 1.0 and cannot improve further, so training stops two epochs later.
  EXPECT_LT(h.epochs.size(), 100u);
  EXPECT_EQ(h.epochs[static_cast<size_t>(h.best_epoch - 1)].metrics.at("val_accuracy"), 1.0);
}

TEST(TrainerTest, MonitoringAMissingMetricNamesItAndTheAvailableOnes) {
  Network net = make_network({{{"type", "dense"}, {"units", 2}}}, {2}, 1);
  auto stopper = make_early_stopping({});  // monitors val_loss
  EXPECT_ERROR_CONTAINS(fit(net, xor_data(1), nullptr, adam_config("categorical_crossentropy", 0.01, 3, 4),
                            {stopper.get()}),
                        "early stopping", "'val_loss'", "loss, accuracy", "validation data");
  ReduceOnPlateauConfig rp;
  rp.monitor = "val_mae";
  auto reducer = make_reduce_on_plateau(rp);
  const Dataset validation = xor_data(1);
  EXPECT_ERROR_CONTAINS(fit(net, xor_data(1), &validation, adam_config("categorical_crossentropy", 0.01, 3, 4),
                            {reducer.get()}),
                        "reduce-on-plateau", "'val_mae'", "val_accuracy");
}

TEST(TrainerTest, ReduceOnPlateauLowersTheLearningRate) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  const Dataset data = line_data(16);
  TrainConfig c = adam_config("mse", 1e-6, 6, 16);  // the loss barely moves: a plateau
  ReduceOnPlateauConfig rp;
  rp.monitor = "loss";
  rp.factor = 0.5;
  rp.patience = 1;
  rp.min_delta = 10.0;  // nothing counts as an improvement after the first epoch
  rp.min_lr = 0.2e-6;
  auto reducer = make_reduce_on_plateau(rp);
  Recorder recorder;
  fit(net, data, nullptr, c, {reducer.get(), &recorder});
  // Epoch 1 sets the best; each later epoch fails to improve (patience 1) and halves the rate
  // for the following epoch, down to min_lr.
  const std::vector<double> expected = {1e-6, 1e-6, 0.5e-6, 0.25e-6, 0.2e-6, 0.2e-6};
  ASSERT_EQ(recorder.lr.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(recorder.lr[i], expected[i], 1e-18) << "epoch " << i + 1;

  // With cooldown 2 the epoch after a reduction is skipped.
  rp.min_lr = 0.0;
  rp.cooldown = 2;
  auto cooled = make_reduce_on_plateau(rp);
  Recorder second;
  fit(net, data, nullptr, c, {cooled.get(), &second});
  const std::vector<double> with_cooldown = {1e-6, 1e-6, 0.5e-6, 0.5e-6, 0.25e-6, 0.25e-6};
  ASSERT_EQ(second.lr.size(), with_cooldown.size());
  for (size_t i = 0; i < with_cooldown.size(); ++i)
    EXPECT_NEAR(second.lr[i], with_cooldown[i], 1e-18) << "epoch " << i + 1;
}

TEST(TrainerTest, DivergenceThrowsAndLeavesParametersAsBeforeTheStep) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  Dataset data = line_data(16);
  for (int64_t i = 0; i < data.size(); ++i) data.x[i] *= 10.0f;  // large inputs: the output overflows first
  TrainConfig c;
  c.loss = "mse";
  c.optimizer.name = "sgd";
  c.optimizer.lr = 1e4;
  c.epochs = 50;
  c.batch_size = 4;
  Recorder recorder;
  try {
    fit(net, data, nullptr, c, {&recorder});
    FAIL() << "expected DivergenceError";
  } catch (const DivergenceError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("diverged at epoch"), std::string::npos) << message;
    EXPECT_NE(message.find("step"), std::string::npos) << message;
    EXPECT_NE(message.find("try lr <= 1000"), std::string::npos) << message;
  }
  ASSERT_GT(recorder.batches, 0);
  for (float p : net.parameters()) EXPECT_TRUE(std::isfinite(p));
  EXPECT_EQ(net.parameters(), recorder.last_batch_params);  // the failing step changed nothing
}

TEST(TrainerTest, ClipNormBoundsTheUpdate) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  const std::vector<float> before = net.parameters();
  TrainConfig c;
  c.loss = "mse";
  c.optimizer.name = "sgd";
  c.optimizer.lr = 1.0;
  c.epochs = 1;
  c.batch_size = 1000;  // one full-batch step
  c.clip_norm = 0.5;    // the bias gradient alone is about -2 here, so clipping applies
  fit(net, line_data(16), nullptr, c);
  const double dw = net.parameters()[0] - before[0], db = net.parameters()[1] - before[1];
  EXPECT_NEAR(std::sqrt(dw * dw + db * db), 0.5, 1e-5);
}

TEST(TrainerTest, NonFiniteInputsAreReportedWithTheirPosition) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  Dataset data = line_data(8);
  data.x[5] = std::nanf("");
  TrainConfig c = adam_config("mse", 0.01, 1, 4);
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "training data", "sample 5", "nan");
}

TEST(TrainerTest, FullBatchWhenBatchSizeCoversTheData) {
  const Dataset data = xor_data(3);  // 12 samples
  TrainConfig c = adam_config("categorical_crossentropy", 0.01, 4, 1000);
  Network a = make_network({{{"type", "dense"}, {"units", 2}}}, {2}, 9);
  Recorder ra;
  fit(a, data, nullptr, c, {&ra});
  EXPECT_EQ(ra.batches, 4);  // one step per epoch
  c.batch_size = 12;
  Network b = make_network({{{"type", "dense"}, {"units", 2}}}, {2}, 9);
  fit(b, data, nullptr, c);
  EXPECT_EQ(a.parameters(), b.parameters());
  // A partial last batch is included: 12 samples in batches of 5 are 3 steps.
  c.batch_size = 5;
  Recorder rc;
  fit(b, data, nullptr, c, {&rc});
  EXPECT_EQ(rc.batches, 12);
}

// A small training run whose result is compared bit for bit.
std::vector<float> train_small_network(const Dataset& data, uint64_t seed) {
  Network net = make_network({{{"type", "dense"}, {"units", 8}},
                              {{"type", "relu"}},
                              {{"type", "dropout"}, {"rate", 0.3}},
                              {{"type", "dense"}, {"units", 2}}},
                             {2}, 4);
  TrainConfig c = adam_config("categorical_crossentropy", 0.01, 5, 6);
  c.seed = seed;
  c.schedule.name = "cosine";
  fit(net, data, &data, c);
  return net.parameters();
}

// Under ASan, the Eigen and OpenBLAS GEMM backends gave other bits in some repeated runs
// (measured: 10 and 3 of 20) for a reason not found (not the GEMM operands' alignment: staging
// them at 64 bytes changed nothing); nntune's own AVX-512 kernel, the default where the CPU has
// AVX-512, gave none. See docs/testing.md.
bool repeat_runs_differ_here() { return kUnderSanitizer && gemm_backend() != GemmBackend::Avx512; }

TEST(TrainerTest, SameSeedGivesBitIdenticalParameters) {
  if (repeat_runs_differ_here()) GTEST_SKIP() << "under ASan only the AVX-512 GEMM backend repeats bit for bit";
  const Dataset data = separable_data(16);
  const std::vector<float> first = train_small_network(data, 1);
  EXPECT_EQ(first, train_small_network(data, 1));
  EXPECT_NE(first, train_small_network(data, 2));
}

TEST(TrainerTest, SameSeedGivesBitIdenticalParametersWhereverTheBuffersLand) {
  // The parameters, gradients and optimizer state are std::vector buffers, whose alignment
  // changes from one allocation to the next. Eigen runs a buffer's unaligned head in scalar code:
  // when that code and the vector code rounded differently (a*b + c*d contracted into an FMA in
  // one and not the other), 13 of 20 repeated runs in one process ended with other bits. Blocks
  // of other sizes are kept between runs so that the buffers land elsewhere each time.
  if (repeat_runs_differ_here()) GTEST_SKIP() << "under ASan only the AVX-512 GEMM backend repeats bit for bit";
  const Dataset data = separable_data(16);
  const std::vector<float> first = train_small_network(data, 1);
  std::vector<std::vector<char>> displaced;
  for (size_t run = 1; run <= 20; ++run) {
    displaced.emplace_back(8 * run);
    EXPECT_EQ(first, train_small_network(data, 1)) << "run " << run;
  }
}

TEST(TrainerTest, ScheduleAndLrFactorReachTheOptimizer) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  TrainConfig c = adam_config("mse", 0.1, 4, 8);  // 16 samples: 2 steps per epoch
  c.schedule.name = "step";
  c.schedule.every = 1;
  c.schedule.factor = 0.5;
  Recorder recorder;
  const History h = fit(net, line_data(16), nullptr, c, {&recorder});
  ASSERT_EQ(h.epochs.size(), 4u);
  EXPECT_DOUBLE_EQ(h.epochs[0].lr, 0.1);
  EXPECT_DOUBLE_EQ(h.epochs[1].lr, 0.05);
  EXPECT_DOUBLE_EQ(h.epochs[3].lr, 0.0125);
  EXPECT_GE(h.epochs[0].seconds, 0.0);
}

class StopAfterBatches : public Callback {
 public:
  explicit StopAfterBatches(int64_t n) : left_(n) {}
  bool on_batch_end(TrainState& state, int64_t, int64_t, double) override {
    if (--left_ > 0) return false;
    state.stop_reason = "test asked to stop";
    return true;
  }

 private:
  int64_t left_;
};

TEST(TrainerTest, CallbackCanStopTraining) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  StopAfterBatches stop(3);
  Recorder recorder;
  const History h = fit(net, line_data(16), nullptr, adam_config("mse", 0.01, 10, 4), {&stop, &recorder});
  EXPECT_EQ(h.stop_reason, "test asked to stop");
  EXPECT_EQ(recorder.batches, 3);
  ASSERT_EQ(h.epochs.size(), 1u);  // the partial epoch is logged
  EXPECT_NEAR(h.epochs[0].metrics.at("loss"),
              (recorder.batch_losses[0] + recorder.batch_losses[1] + recorder.batch_losses[2]) / 3.0, 1e-12);
}

TEST(TrainerTest, EpochLossIncludesTheRegularizationPenalty) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  net.layers()[0]->regularizer.l2 = 0.5f;
  Recorder recorder;
  const History h = fit(net, line_data(8), nullptr, adam_config("mse", 1e-9, 1, 8), {&recorder});
  // One full-batch step with a negligible lr: the epoch loss is data loss + 0.5 * w^2.
  const float w = net.parameters()[0], b = net.parameters()[1];
  const Dataset data = line_data(8);
  double data_loss = 0.0;
  for (int64_t i = 0; i < 8; ++i) data_loss += std::pow(w * data.x[i] + b - data.y[i], 2) / 8.0;
  EXPECT_NEAR(h.epochs[0].metrics.at("loss"), data_loss + 0.5 * w * w, 1e-5);
}

TEST(TrainerTest, BadConfigsAreRejectedWithMessages) {
  Network net = make_network({{{"type", "dense"}, {"units", 1}}}, {1}, 5);
  const Dataset data = line_data(8);
  TrainConfig c = adam_config("mse", 0.01, 0, 4);
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "epochs = 0", ">= 1");
  c = adam_config("mse", 0.01, 1, 0);
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "batch_size = 0", ">= 1");
  c = adam_config("mse", 0.01, 1, 4);
  c.clip_norm = -1;
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "clip_norm", ">= 0");
  c = adam_config("mse", -0.01, 1, 4);
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "lr", "> 0");
  c = adam_config("mse", 0.01, 1, 4);
  c.schedule.name = "linear";
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "unknown schedule 'linear'");
  c = adam_config("nope", 0.01, 1, 4);
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, c), "nope");
  Dataset wrong = data;
  wrong.x = Tensor({8, 2});
  EXPECT_ERROR_CONTAINS(fit(net, wrong, nullptr, adam_config("mse", 0.01, 1, 4)), "(2,)", "(1,)");
  Network unbuilt;
  EXPECT_ERROR_CONTAINS(fit(unbuilt, data, nullptr, adam_config("mse", 0.01, 1, 4)), "not built");
  EXPECT_ERROR_CONTAINS(make_early_stopping({"val_loss", "upward", 5, 0.0, true}), "mode 'upward'", "min, max, auto");
  ReduceOnPlateauConfig rp;
  rp.factor = 1.0;
  EXPECT_ERROR_CONTAINS(make_reduce_on_plateau(rp), "factor = 1", "(0, 1)");
}

TEST(CrossValidationTest, StratifiedFoldsKeepClassProportions) {
  // 30 / 12 / 6 samples of classes 0 / 1 / 2, interleaved; 3 folds -> 10 / 4 / 2 per fold.
  std::vector<float> y;
  for (int i = 0; i < 30; ++i) y.push_back(0);
  for (int i = 0; i < 12; ++i) y.push_back(1);
  for (int i = 0; i < 6; ++i) y.push_back(2);
  Dataset d;
  d.x = Tensor({48, 1});
  d.y = Tensor({48, 1}, y);
  d.task = Task::Classification;
  d.num_classes = 3;
  const std::vector<int64_t> fold_of = train_detail::cross_validation_folds(d, 3, 123);
  std::map<std::pair<int64_t, int>, int> counts;
  for (int64_t i = 0; i < 48; ++i) ++counts[{fold_of[static_cast<size_t>(i)], static_cast<int>(y[i])}];
  for (int64_t f = 0; f < 3; ++f) {
    EXPECT_EQ((counts[{f, 0}]), 10) << "fold " << f;
    EXPECT_EQ((counts[{f, 1}]), 4) << "fold " << f;
    EXPECT_EQ((counts[{f, 2}]), 2) << "fold " << f;
  }
  // Seeded: same seed, same folds; another seed, another assignment.
  EXPECT_EQ(fold_of, train_detail::cross_validation_folds(d, 3, 123));
  EXPECT_NE(fold_of, train_detail::cross_validation_folds(d, 3, 124));

  // Regression: plain shuffle, fold sizes within one of each other.
  const Dataset r = line_data(10);
  const std::vector<int64_t> reg = train_detail::cross_validation_folds(r, 4, 1);
  std::vector<int> sizes(4, 0);
  for (int64_t f : reg) ++sizes[static_cast<size_t>(f)];
  EXPECT_EQ(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1);
}

TEST(CrossValidationTest, RunsEveryFoldWithFreshNetworksAndSummarises) {
  const Dataset data = separable_data(15);  // 30 samples
  int64_t networks = 0, prepared = 0;
  auto factory = [&](Rng& rng) {
    ++networks;
    Network net;
    net.add(make_layer({{"type", "dense"}, {"units", 2}}));
    net.build({2}, rng);
    return net;
  };
  auto prepare = [&](Dataset& train, Dataset& validation) {
    ++prepared;
    EXPECT_EQ(train.size() + validation.size(), 30);
    EXPECT_EQ(validation.size(), 10);
  };
  const CrossValidationResult cv =
      cross_validate(factory, data, 3, adam_config("categorical_crossentropy", 0.1, 20, 4), prepare);
  EXPECT_EQ(networks, 3);
  EXPECT_EQ(prepared, 3);
  ASSERT_EQ(cv.folds.size(), 3u);
  double sum = 0.0;
  for (const Metrics& m : cv.folds) {
    EXPECT_EQ(m.count("val_loss"), 0u);  // keys without val_
    sum += m.at("loss");
  }
  const double mean = sum / 3.0;
  double squares = 0.0;
  for (const Metrics& m : cv.folds) squares += std::pow(m.at("loss") - mean, 2);
  EXPECT_NEAR(cv.mean.at("loss"), mean, 1e-12);
  EXPECT_NEAR(cv.stddev.at("loss"), std::sqrt(squares / 2.0), 1e-12);  // sample stddev
  EXPECT_EQ(cv.mean.at("accuracy"), 1.0);

  EXPECT_ERROR_CONTAINS(cross_validate(factory, data, 1, TrainConfig{}), "folds = 1", ">= 2");
  EXPECT_ERROR_CONTAINS(cross_validate(factory, data, 31, TrainConfig{}), "folds = 31", "(30)");
}

}  // namespace
}  // namespace nntune
