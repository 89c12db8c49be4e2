// rnn, lstm, gru: gradients through time, forward values against the published formulas,
// shapes and keys, the orthogonal initialiser, a task that needs memory, the spec and the
// model file.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "gradcheck.hpp"
#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/model.hpp"
#include "nntune/network.hpp"
#include "nntune/onnx.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::BoundLayer;
using testing::expect_gradients_ok;
using testing::random_tensor;

struct Cell {
  std::string name;
  nlohmann::json extra;  // keys besides units / return_sequences
};

std::vector<Cell> cells() {
  return {{"lstm", nlohmann::json::object()},
          {"gru", nlohmann::json::object()},
          {"rnn", {{"activation", "tanh"}}},
          {"rnn", {{"activation", "relu"}}}};
}

nlohmann::json config_of(const Cell& cell, int64_t units, bool return_sequences) {
  nlohmann::json c = cell.extra;
  c["type"] = cell.name;
  c["units"] = units;
  c["return_sequences"] = return_sequences;
  return c;
}

// Parameters set to N(0, 0.5^2) values, biases included (zero biases would hide their paths).
void randomise(BoundLayer& layer, uint64_t seed) {
  const Tensor v = random_tensor({static_cast<int64_t>(layer.values.size())}, seed);
  for (size_t i = 0; i < layer.values.size(); ++i) layer.values[i] = 0.5f * v[static_cast<int64_t>(i)];
}

TEST(Recurrent, GradientsThroughTimeMatchFiniteDifferences) {
  for (const Cell& cell : cells()) {
    for (int64_t steps : {1, 2, 5}) {
      for (bool sequences : {false, true}) {
        SCOPED_TRACE(cell.name + " " + cell.extra.dump() + " steps " + std::to_string(steps) +
                     (sequences ? " return_sequences" : " last step"));
        BoundLayer layer(make_layer(config_of(cell, 4, sequences)), {steps, 3});
        EXPECT_EQ(layer.output_sample_shape, sequences ? Shape({steps, 4}) : Shape({4}));
        randomise(layer, 100 + static_cast<uint64_t>(steps));
        // Smooth cells: a step of 1e-2, because the forward pass is float and with 1e-3 the
        // central difference of the smallest gradients (early steps' share, ~1e-3) is mostly
        // rounding noise; there are no kinks, and at that step curvature would look like one.
        // relu keeps the default step and its kink detection.
        testing::GradCheckOptions options;
        if (cell.extra.value("activation", "") != "relu") {
          options.step = 1e-2;
          options.kink_tolerance = 1e9;
        }
        expect_gradients_ok(*layer.layer, random_tensor({2, steps, 3}, 7 + static_cast<uint64_t>(steps)), options);
      }
    }
  }
}

TEST(Recurrent, BidirectionalGradientsAndOutputs) {
  for (const Cell& cell : cells()) {
    for (int64_t steps : {1, 2, 5}) {
      for (bool sequences : {false, true}) {
        for (const std::string merge : {"concat", "sum"}) {
          SCOPED_TRACE(cell.name + " " + cell.extra.dump() + " steps " + std::to_string(steps) + " " + merge +
                       (sequences ? " return_sequences" : " last step"));
          nlohmann::json config = config_of(cell, 3, sequences);
          config["bidirectional"] = true;
          config["merge"] = merge;
          BoundLayer layer(make_layer(config), {steps, 2});
          const int64_t width = merge == "sum" ? 3 : 6;
          EXPECT_EQ(layer.output_sample_shape, sequences ? Shape({steps, width}) : Shape({width}));
          ASSERT_EQ(layer->params().size(), cell.name == "gru" ? 8u : 6u);
          EXPECT_EQ(layer->params().back().name, cell.name == "gru" ? "reverse_recurrent_bias" : "reverse_bias");
          randomise(layer, 200 + static_cast<uint64_t>(steps));
          testing::GradCheckOptions options;
          if (cell.extra.value("activation", "") != "relu") {
            options.step = 1e-2;
            options.kink_tolerance = 1e9;
          } else {
            options.max_skipped_fraction = 0.25;  // blocks of 6 values here: one relu kink is 17%
          }
          expect_gradients_ok(*layer.layer, random_tensor({2, steps, 2}, 17 + static_cast<uint64_t>(steps)), options);
          if (merge == "sum") continue;
          // The forward half is this layer's own blocks on the input; the reverse half is the
          // same kind of layer with the reverse_ blocks on the input read backwards.
          BoundLayer forward_only(make_layer(config_of(cell, 3, sequences)), {steps, 2});
          BoundLayer reverse_only(make_layer(config_of(cell, 3, sequences)), {steps, 2});
          const size_t half = forward_only.values.size();
          std::copy(layer.values.begin(), layer.values.begin() + static_cast<std::ptrdiff_t>(half),
                    forward_only.values.begin());
          std::copy(layer.values.begin() + static_cast<std::ptrdiff_t>(half), layer.values.end(),
                    reverse_only.values.begin());
          const Tensor x = random_tensor({2, steps, 2}, 3);
          Tensor reversed({2, steps, 2});
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t t = 0; t < steps; ++t)
              for (int64_t f = 0; f < 2; ++f) reversed[(i * steps + t) * 2 + f] = x[(i * steps + steps - 1 - t) * 2 + f];
          Rng rng(1);
          Tensor both, fwd, rev;
          layer->forward(x, both, ForwardContext{false, &rng});
          forward_only->forward(x, fwd, ForwardContext{false, &rng});
          reverse_only->forward(reversed, rev, ForwardContext{false, &rng});
          const int64_t rows = sequences ? steps : 1;
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t t = 0; t < rows; ++t)
              for (int64_t j = 0; j < 3; ++j) {
                EXPECT_FLOAT_EQ(both[((i * rows + t) * 6) + j], fwd[(i * rows + t) * 3 + j]);
                const int64_t rt = sequences ? steps - 1 - t : 0;
                EXPECT_FLOAT_EQ(both[((i * rows + t) * 6) + 3 + j], rev[(i * rows + rt) * 3 + j]);
              }
        }
      }
    }
  }
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "gru"}, {"units", 2}, {"merge", "sum"}}), "gru layer", "'merge'",
                        "bidirectional: true");
  auto bi = make_layer({{"type", "lstm"}, {"units", 2}, {"bidirectional", true}, {"merge", "sum"}});
  EXPECT_EQ(make_layer(bi->config())->config(), bi->config());
}

// ---- reference forward passes, straight from the formulas (double, one sample at a time) ----

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The parameter blocks in the documented layout: W (F x G*H), U (H x G*H), b, c (gru) (G*H).
struct Params {
  const float *w, *u, *b, *c;
};
Params params_of(BoundLayer& layer) {
  auto& p = layer->params();
  return {p[0].value, p[1].value, p[2].value, p.size() > 3 ? p[3].value : nullptr};
}

// a[j] = sum_f x[f] W[f][j] + bias[j] for j in [0, width)
std::vector<double> affine(const float* x, int64_t in, const float* w, int64_t width, const float* bias) {
  std::vector<double> a(static_cast<size_t>(width));
  for (int64_t j = 0; j < width; ++j) {
    double s = bias ? bias[j] : 0.0;
    for (int64_t f = 0; f < in; ++f) s += static_cast<double>(x[f]) * w[f * width + j];
    a[static_cast<size_t>(j)] = s;
  }
  return a;
}

// Every step's hidden state (steps x H) of one sample.
std::vector<std::vector<double>> reference(const std::string& type, bool relu, Params p, const float* x, int64_t steps,
                                           int64_t features, int64_t h) {
  std::vector<double> hidden(static_cast<size_t>(h), 0.0), cell(static_cast<size_t>(h), 0.0);
  std::vector<std::vector<double>> out;
  const int64_t gates = type == "lstm" ? 4 : type == "gru" ? 3 : 1;
  for (int64_t t = 0; t < steps; ++t) {
    const std::vector<double> xa = affine(x + t * features, features, p.w, gates * h, p.b);
    std::vector<float> hf(hidden.begin(), hidden.end());
    const std::vector<double> ha = affine(hf.data(), h, p.u, gates * h, p.c);
    std::vector<double> next(static_cast<size_t>(h));
    for (int64_t j = 0; j < h; ++j) {
      auto at = [&](const std::vector<double>& v, int64_t gate) { return v[static_cast<size_t>(gate * h + j)]; };
      const size_t k = static_cast<size_t>(j);
      if (type == "lstm") {  // i, f, g, o
        const double i = sigmoid(at(xa, 0) + at(ha, 0)), f = sigmoid(at(xa, 1) + at(ha, 1));
        const double g = std::tanh(at(xa, 2) + at(ha, 2)), o = sigmoid(at(xa, 3) + at(ha, 3));
        cell[k] = f * cell[k] + i * g;
        next[k] = o * std::tanh(cell[k]);
      } else if (type == "gru") {  // r, z, n; the reset gate multiplies (h U_n + c_n)
        const double r = sigmoid(at(xa, 0) + at(ha, 0)), z = sigmoid(at(xa, 1) + at(ha, 1));
        const double n = std::tanh(at(xa, 2) + r * at(ha, 2));
        next[k] = (1 - z) * n + z * hidden[k];
      } else {
        const double a = at(xa, 0) + at(ha, 0);
        next[k] = relu ? std::max(a, 0.0) : std::tanh(a);
      }
    }
    hidden = next;
    out.push_back(hidden);
  }
  return out;
}

TEST(Recurrent, ForwardIsThePublishedFormula) {
  const int64_t steps = 4, features = 3, h = 5, n = 3;
  for (const Cell& cell : cells()) {
    SCOPED_TRACE(cell.name + " " + cell.extra.dump());
    for (bool sequences : {false, true}) {
      BoundLayer layer(make_layer(config_of(cell, h, sequences)), {steps, features});
      randomise(layer, 5);
      const Tensor x = random_tensor({n, steps, features}, 6);
      Rng rng(1);
      Tensor y;
      layer->forward(x, y, ForwardContext{false, &rng});
      ASSERT_EQ(y.shape(), sequences ? Shape({n, steps, h}) : Shape({n, h}));
      for (int64_t s = 0; s < n; ++s) {
        const auto expected = reference(cell.name, cell.extra.value("activation", "") == "relu", params_of(layer),
                                        x.data() + s * steps * features, steps, features, h);
        for (int64_t t = sequences ? 0 : steps - 1; t < steps; ++t)
          for (int64_t j = 0; j < h; ++j) {
            const int64_t at = sequences ? (s * steps + t) * h + j : s * h + j;
            EXPECT_NEAR(y[at], expected[static_cast<size_t>(t)][static_cast<size_t>(j)], 1e-5)
                << "sample " << s << " step " << t << " unit " << j;
          }
      }
    }
  }
}

TEST(Recurrent, ParameterBlocksAndInitialisers) {
  BoundLayer lstm(make_layer({{"type", "lstm"}, {"units", 6}}), {7, 3});
  ASSERT_EQ(lstm->params().size(), 3u);
  EXPECT_EQ(lstm->params()[0].size, 3 * 24);
  EXPECT_EQ(lstm->params()[1].size, 6 * 24);
  EXPECT_EQ(lstm->params()[2].size, 24);
  EXPECT_TRUE(lstm->params()[0].is_weight);
  EXPECT_TRUE(lstm->params()[1].is_weight);
  EXPECT_FALSE(lstm->params()[2].is_weight);
  // unit_forget_bias: the forget block (the second of i, f, g, o) starts at 1, the rest at 0.
  const float* bias = lstm->params()[2].value;
  for (int j = 0; j < 24; ++j) EXPECT_EQ(bias[j], j >= 6 && j < 12 ? 1.0f : 0.0f) << j;
  BoundLayer plain(make_layer({{"type", "lstm"}, {"units", 6}, {"unit_forget_bias", false}}), {7, 3});
  for (int j = 0; j < 24; ++j) EXPECT_EQ(plain->params()[2].value[j], 0.0f);
  // The recurrent kernel (6 x 24) is orthogonal by default: its rows are orthonormal.
  const float* u = lstm->params()[1].value;
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b) {
      double dot = 0;
      for (int j = 0; j < 24; ++j) dot += static_cast<double>(u[a * 24 + j]) * u[b * 24 + j];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5) << a << "," << b;
    }
  BoundLayer gru(make_layer({{"type", "gru"}, {"units", 2}}), {1, 1});
  ASSERT_EQ(gru->params().size(), 4u);
  EXPECT_EQ(gru->params()[3].name, "recurrent_bias");
  BoundLayer rnn(make_layer({{"type", "rnn"}, {"units", 2}}), {1, 1});
  EXPECT_EQ(rnn->params()[1].size, 4);
}

TEST(Initializers, OrthogonalRowsOrColumns) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4, 12}, {12, 4}, {5, 5}}) {
    std::vector<float> m(static_cast<size_t>(rows * cols));
    Rng rng(3);
    initialize({"orthogonal"}, m.data(), rows * cols, rows, cols, rng);
    const bool by_rows = rows <= cols;
    const int64_t count = by_rows ? rows : cols, length = by_rows ? cols : rows;
    for (int64_t a = 0; a < count; ++a)
      for (int64_t b = 0; b < count; ++b) {
        double dot = 0;
        for (int64_t j = 0; j < length; ++j) {
          const size_t ia = static_cast<size_t>(by_rows ? a * cols + j : j * cols + a);
          const size_t ib = static_cast<size_t>(by_rows ? b * cols + j : j * cols + b);
          dot += static_cast<double>(m[ia]) * m[ib];
        }
        EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5) << rows << "x" << cols << " " << a << "," << b;
      }
  }
}

TEST(Recurrent, ShapesKeysAndConfigs) {
  for (const Cell& cell : cells()) {
    auto layer = make_layer(config_of(cell, 8, true));
    EXPECT_EQ(make_layer(layer->config())->config(), layer->config()) << cell.name;
    EXPECT_ERROR_CONTAINS(layer->build({784}), cell.name + " layer", "(steps, features)", "(784,)", "reshape");
    EXPECT_ERROR_CONTAINS(layer->build({28, 28, 1}), cell.name + " layer", "(28, 28, 1)");
    EXPECT_ERROR_CONTAINS(make_layer({{"type", cell.name}}), cell.name + " layer", "'units' is required");
    EXPECT_ERROR_CONTAINS(make_layer({{"type", cell.name}, {"units", 0}}), "'units'", "positive integer");
    EXPECT_ERROR_CONTAINS(make_layer({{"type", cell.name}, {"units", 4}, {"directions", 2}}),
                          "unknown key 'directions'", "return_sequences", "bidirectional");
  }
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "rnn"}, {"units", 4}, {"activation", "sigmoid"}}), "rnn layer",
                        "'activation'", "tanh, relu");
  EXPECT_EQ(make_layer({{"type", "lstm"}, {"units", 3}})->config()["unit_forget_bias"], true);
  EXPECT_EQ(make_layer({{"type", "lstm"}, {"units", 3}})->config()["recurrent_init"]["name"], "orthogonal");
  // A stack: the second layer reads the first one's sequence.
  Network net;
  net.add(make_layer({{"type", "gru"}, {"units", 5}, {"return_sequences", true}}));
  net.add(make_layer({{"type", "lstm"}, {"units", 4}}));
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng rng(1);
  net.build({6, 3}, rng);
  EXPECT_EQ(net.output_shape(), Shape({2}));
}

// ---- a task that needs memory ----

// The class is the sign of the first step's value; every later step is noise. Only a layer
// that carries the first step to the end can tell; the last step alone is chance.
Dataset first_sign_task(int64_t n, int64_t steps, uint64_t seed) {
  Dataset d;
  d.x = random_tensor({n, steps, 1}, seed);
  d.y = Tensor({n, 1});
  for (int64_t i = 0; i < n; ++i) d.y[i] = d.x[i * steps] > 0 ? 1.0f : 0.0f;
  d.num_classes = 2;
  return d;
}

double train_and_test(Network& net, const Dataset& train, const Dataset& test, int64_t epochs) {
  TrainConfig config;
  config.optimizer.name = "adam";
  config.optimizer.lr = 0.01;
  config.batch_size = 32;
  config.epochs = epochs;
  config.clip_norm = 1.0;
  fit(net, train, nullptr, config);
  auto loss = make_loss("categorical_crossentropy");
  return evaluate(net, *loss, test).at("accuracy");
}

TEST(Recurrent, RemembersTheFirstStepWhereTheLastStepAloneIsChance) {
  const int64_t steps = 8;
  const Dataset train = first_sign_task(1024, steps, 11), test = first_sign_task(512, steps, 12);
  for (const std::string type : {"lstm", "gru"}) {
    Network net;
    net.add(make_layer({{"type", type}, {"units", 12}}));
    net.add(make_layer({{"type", "dense"}, {"units", 2}}));
    Rng rng(2);
    net.build({steps, 1}, rng);
    const double accuracy = train_and_test(net, train, test, 20);
    EXPECT_GT(accuracy, 0.95) << type;
  }
  // A dense network given only what the recurrent layers see last: the last step.
  auto last_step = [&](const Dataset& d) {
    Dataset out = d;
    out.x = Tensor({d.size(), 1});
    for (int64_t i = 0; i < d.size(); ++i) out.x[i] = d.x[i * steps + steps - 1];
    return out;
  };
  Network dense;
  dense.add(make_layer({{"type", "dense"}, {"units", 12}, {"activation", "tanh"}}));
  dense.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng rng(2);
  dense.build({1}, rng);
  const double chance = train_and_test(dense, last_step(train), last_step(test), 20);
  EXPECT_LT(chance, 0.6);
}

// ---- the spec, the CLI and the model file ----

TEST(Recurrent, ASpecWithAnLstmTrainsThroughTheCliAndItsModelPredictsTheSameAfterLoading) {
  testing::TempDir dir;
  const int64_t n = 400, steps = 6;
  const Dataset d = first_sign_task(n, steps, 21);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int64_t>(d.y[i]);
  // (N, T, F) arrays load as sequences: samples of shape (T, F).
  const std::string x_values = testing::raw_bytes(d.x.data(), static_cast<size_t>(d.x.size()));
  testing::write_file(dir.file("x.npy"), testing::npy_bytes("<f4", "(400, 6, 1)", x_values));
  testing::write_file(dir.file("y.npy"), testing::npy_bytes("<i8", "(400,)", testing::raw_bytes(labels)));
  const Dataset loaded = load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification);
  EXPECT_EQ(loaded.x.shape(), Shape({400, 6, 1}));
  testing::write_file(dir.file("spec.yaml"),
                      "data:\n"
                      "  train: {npy: {x: x.npy, y: y.npy}}\n"
                      "  validation: {split: 0.2}\n"
                      "model:\n"
                      "  layers:\n"
                      "    - {type: lstm, units: 8, return_sequences: true, bidirectional: true}\n"
                      "    - {type: gru, units: 8}\n"
                      "    - {type: dense, units: 2}\n"
                      "train: {epochs: 3, batch_size: 32, optimizer: {name: adam, lr: 0.01}, clip_norm: 1.0}\n");
  const testing::CliRun run = testing::run_nntune(dir, "train spec.yaml --output out");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("epoch 3/3"), std::string::npos) << run.out;

  Model model = load_model(dir.file("out/model.nnt"));
  EXPECT_EQ(model.input_shape(), Shape({steps, 1}));
  EXPECT_EQ(model.network.layers()[0]->kind(), "lstm");
  const Tensor before = predict(model, d.x, 64);
  save_model(model, dir.file("again.nnt"));
  Model again = load_model(dir.file("again.nnt"));
  const Tensor after = predict(again, d.x, 64);
  ASSERT_EQ(after.shape(), Shape({n, 2}));
  EXPECT_EQ(std::memcmp(before.data(), after.data(), sizeof(float) * static_cast<size_t>(before.size())), 0);
  EXPECT_EQ(again.network.config(), model.network.config());
  // Exportable (tests/onnx_export_test.py checks the numbers of the ONNX graph).
  EXPECT_NE(export_onnx_bytes(model).find("LSTM"), std::string::npos);
}

TEST(Recurrent, TheFashionMnistLstmExampleFitsTheImagesAndOverridesToGru) {
  const std::string path = std::string(NNTUNE_SOURCE_DIR) + "/examples/fashion_mnist_lstm.yaml";
  check_model_shapes(load_spec(path), {28, 28}, 10);
  const TrainingSpec gru = load_spec(path, {"model.layers[0].type=gru", "model.layers[0].units=32"});
  check_model_shapes(gru, {28, 28}, 10);
}

TEST(Recurrent, TheSpecRefusesSequenceLayersOnFlatDataWithThePath) {
  const std::string head =
      "data: {train: {csv: {path: a.csv, label: y}}}\n"
      "model:\n"
      "  layers:\n";
  const TrainingSpec flat = parse_spec(head +
                                           "    - {type: lstm, units: 8}\n"
                                           "    - {type: dense, units: 3}\n",
                                       "s.yaml");
  EXPECT_ERROR_CONTAINS(check_model_shapes(flat, {12}, 3), "s.yaml:4:7: model.layers[0]", "lstm layer", "(12,)",
                        "reshape");
  const TrainingSpec reshaped = parse_spec(head +
                                               "    - {type: reshape, shape: [4, 3]}\n"
                                               "    - {type: rnn, units: 8, activation: relu}\n"
                                               "    - {type: dense, units: 3}\n",
                                           "s.yaml");
  check_model_shapes(reshaped, {12}, 3);
  // IDX images load as (N, height, width) (data_test), i.e. height steps of width features: an
  // lstm takes Fashion-MNIST's (28, 28) samples as they are, as the PyTorch anchor reads them.
  check_model_shapes(flat, {28, 28}, 3);
  // A sequence given to dense: refused at the dense layer, which names flatten.
  const TrainingSpec unflattened = parse_spec(head +
                                                  "    - {type: gru, units: 8, return_sequences: true}\n"
                                                  "    - {type: dense, units: 3}\n",
                                              "s.yaml");
  EXPECT_ERROR_CONTAINS(check_model_shapes(unflattened, {5, 2}, 3), "model.layers[1]", "(5, 8)", "flatten");
  EXPECT_ERROR_CONTAINS(parse_spec(head + "    - {type: lstm, units: 8, return_sequence: true}\n", "s.yaml"),
                        "s.yaml:4:", "return_sequence", "return_sequences");
}

}  // namespace
}  // namespace nntune

namespace nntune {
namespace {

// layers: N is N layers of the kind, all but the last returning sequences, dropout between.
TEST(RecurrentStack, IsTheLayersChainedWithTheirOwnWeights) {
  for (const Cell& cell : cells()) {
    for (bool sequences : {false, true}) {
      SCOPED_TRACE(cell.name + " " + cell.extra.dump() + (sequences ? " return_sequences" : " last step"));
      nlohmann::json config = config_of(cell, 3, sequences);
      config["layers"] = 3;
      BoundLayer stack(make_layer(config), {4, 2});
      EXPECT_EQ(stack.output_sample_shape, sequences ? Shape({4, 3}) : Shape({3}));
      randomise(stack, 31);
      // The same numbers by three separate layers, each given its slice of the stack's blocks.
      std::vector<std::unique_ptr<BoundLayer>> chain;
      size_t block = 0;
      Shape shape = {4, 2};
      for (int i = 0; i < 3; ++i) {
        nlohmann::json one = config_of(cell, 3, i < 2 || sequences);
        chain.push_back(std::make_unique<BoundLayer>(make_layer(one), shape));
        for (ParamBlock& b : chain.back()->layer->params()) {
          const ParamBlock& from = stack->params()[block++];
          EXPECT_EQ(from.name, "layer" + std::to_string(i) + "_" + b.name);
          std::copy(from.value, from.value + from.size, b.value);
        }
        shape = chain.back()->output_sample_shape;
      }
      EXPECT_EQ(block, stack->params().size());
      const Tensor x = random_tensor({2, 4, 2}, 5);
      Tensor y, a = x, b;
      Rng rng(1);
      stack->forward(x, y, ForwardContext{false, &rng});
      for (auto& layer : chain) {
        layer->layer->forward(a, b, ForwardContext{false, &rng});
        a = b;
      }
      ASSERT_EQ(y.shape(), a.shape());
      for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], a[i]);
    }
  }
}

// Smooth cells only: the stack's backward is the same chaining for every cell (relu's own
// gradients are checked above, one layer), and two stacked relu layers have so many kinks that a
// finite difference straddles one for 4 of 10 input seeds.
TEST(RecurrentStack, GradientsWithAndWithoutDropoutBetween) {
  for (const Cell& cell : cells()) {
    if (cell.extra.value("activation", "") == "relu") continue;
    for (double dropout : {0.0, 0.4}) {
      SCOPED_TRACE(cell.name + " " + cell.extra.dump() + " dropout " + std::to_string(dropout));
      nlohmann::json config = config_of(cell, 3, true);
      config["layers"] = 2;
      config["dropout"] = dropout;
      config["bidirectional"] = cell.name == "gru";
      BoundLayer stack(make_layer(config), {3, 2});
      randomise(stack, 41);
      testing::GradCheckOptions options;  // the same seed every pass: the same dropout mask
      options.step = 1e-2;
      options.kink_tolerance = 1e9;
      for (uint64_t seed = 43; seed < 46; ++seed) expect_gradients_ok(*stack.layer, random_tensor({2, 3, 2}, seed), options);
    }
  }
}

TEST(RecurrentStack, ConfigRoundTripsAndRefusals) {
  const nlohmann::json config = {{"type", "lstm"}, {"units", 4}, {"layers", 2}, {"dropout", 0.25}};
  const nlohmann::json first = make_layer(config)->config();
  EXPECT_EQ(first["layers"], 2);
  EXPECT_EQ(first["dropout"], 0.25);
  EXPECT_EQ(first["return_sequences"], false);
  EXPECT_EQ(make_layer(first)->config(), first);
  // A network of it saves and rebuilds (as the model file does) to the same outputs.
  Network net;
  net.add(make_layer(config));
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng rng(2);
  net.build({5, 3}, rng);
  Rng other(3);
  Network rebuilt = Network::from_config(net.config(), other);
  std::copy(net.parameters().begin(), net.parameters().end(), rebuilt.parameters().begin());
  const Tensor x = random_tensor({3, 5, 3}, 8);
  const Tensor a = net.forward(x, ForwardContext{}), b = rebuilt.forward(x, ForwardContext{});
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]);
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "gru"}, {"units", 4}, {"dropout", 0.2}}), "gru", "dropout",
                        "layers: 1");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "rnn"}, {"units", 4}, {"layers", 0}}), "rnn", "layers");
  EXPECT_ERROR_CONTAINS(make_layer({{"type", "lstm"}, {"units", 4}, {"layers", 2}, {"dropout", 1.0}}), "lstm",
                        "dropout");
  EXPECT_ERROR_CONTAINS(BoundLayer(make_layer(config), {5}), "stacked layer 1 of 3", "shape (5,)");
}

}  // namespace
}  // namespace nntune
