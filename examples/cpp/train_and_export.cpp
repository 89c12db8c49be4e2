// Training with the C++ API, then the model out: saved as model.nnt and exported as ONNX (the
// scaler, the layers and the softmax in one graph that takes the raw features).
//
//   train_and_export [OUTPUT_DIR]
//
// The data are two noisy rings (a class each) drawn in the program, so the example runs
// anywhere in a second; load_csv / load_npy read files the same way (nntune/data.hpp).
#include <cmath>
#include <iostream>
#include <random>
#include <string>

#include "nntune/error.hpp"
#include "nntune/model.hpp"
#include "nntune/onnx.hpp"
#include "nntune/trainer.hpp"

namespace {

nntune::Dataset rings(int64_t n, uint64_t seed) {
  nntune::Rng rng(seed);
  std::uniform_real_distribution<float> angle(0.0f, 6.2831853f);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  nntune::Dataset data;
  data.x = nntune::Tensor({n, 2});
  data.y = nntune::Tensor({n, 1});
  data.num_classes = 2;
  for (int64_t i = 0; i < n; ++i) {
    const float radius = (i % 2 ? 2.0f : 1.0f) + noise(rng), a = angle(rng);
    data.x[2 * i] = 10.0f + radius * std::cos(a);  // raw features far from zero: the scaler matters
    data.x[2 * i + 1] = -5.0f + radius * std::sin(a);
    data.y[i] = static_cast<float>(i % 2);
  }
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  try {
    nntune::Dataset train = rings(400, 1), test = rings(200, 2);
    nntune::Model model;
    model.loss = "categorical_crossentropy";
    model.num_classes = 2;
    model.scaler.kind = "standard";
    model.scaler.fit(train.x);  // fitted on the training data only, saved with the model
    model.scaler.apply(train.x);
    nntune::Rng rng(7);
    model.network = nntune::Network::from_config(
        {{"input_shape", {2}},
         {"layers", {{{"type", "dense"}, {"units", 16}, {"activation", "tanh"}}, {{"type", "dense"}, {"units", 2}}}}},
        rng);
    nntune::TrainConfig config;
    config.optimizer.lr = 0.03;
    config.epochs = 40;
    nntune::fit(model.network, train, nullptr, config);

    const nntune::Tensor probabilities = nntune::predict(model, test.x);  // raw features in
    int64_t correct = 0;
    for (int64_t i = 0; i < test.size(); ++i)
      correct += (probabilities[2 * i + 1] > 0.5f) == (test.y[i] == 1.0f);
    std::cout << "test accuracy " << static_cast<double>(correct) / static_cast<double>(test.size()) << "\n";

    nntune::save_model(model, dir + "/model.nnt");
    nntune::export_onnx(model, dir + "/model.onnx");
    std::cout << "wrote " << dir << "/model.nnt and " << dir << "/model.onnx\n";
    return correct * 10 >= test.size() * 9 ? 0 : 1;  // the rings separate: 90% or better
  } catch (const nntune::Error& e) {
    std::cerr << "train_and_export: " << e.what() << "\n";
    return 1;
  }
}
