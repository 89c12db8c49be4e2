// Simple (Elman 1990) recurrent layer, as PyTorch's nn.RNN and Keras' SimpleRNN:
//   h_t = f(x_t W + h_{t-1} U + b),  f = tanh or relu
// Backward: da_t = dh_t f'(a_t), read from h_t (1 - h^2 for tanh, [h > 0] for relu).
// The step loop, the products and BPTT are shared (recurrent.cpp).
#include <Eigen/Core>

#include "nn/layers/layer_registry.hpp"
#include "nn/layers/recurrent.hpp"

namespace nntune::layers {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

class SimpleRnn final : public Recurrent {
 public:
  SimpleRnn(RecurrentOptions options, bool relu) : Recurrent("rnn", 1, std::move(options), false), relu_(relu) {}

  nlohmann::json config() const override {
    nlohmann::json c = recurrent_config("rnn", options());
    c["activation"] = relu_ ? "relu" : "tanh";
    return c;
  }

 protected:
  std::unique_ptr<Recurrent> make_twin() const override {
    return std::make_unique<SimpleRnn>(one_direction(), relu_);
  }
  void step_forward(int64_t, int64_t n, float* z, float*, const float*, float* h_out) override {
    const int64_t units_ = units();
    ConstArrayMap b(bias_values(), units_);
    for (int64_t row = 0; row < n; ++row) {
      ConstArrayMap a(z + row * units_, units_);
      ArrayMap h(h_out + row * units_, units_);
      if (relu_) h = (a + b).max(0.0f);
      else h = (a + b).tanh();
    }
  }

  bool step_backward(int64_t, int64_t n, const float*, const float*, const float*, const float* h_in, float* dh,
                     float* dz, float*, float*) override {
    ConstArrayMap h(h_in, n * units()), g(dh, n * units());
    ArrayMap da(dz, n * units());
    if (relu_) da = (h > 0.0f).select(g, 0.0f);
    else da = g * (1.0f - h.square());
    return false;
  }

 private:
  bool relu_;
};

std::vector<schema::Field> rnn_keys() {
  std::vector<schema::Field> keys = recurrent_keys();
  keys.push_back(schema::opt("activation", schema::one_of_names("activation", {"tanh", "relu"}), "tanh",
                             "the function of the new state"));
  return keys;
}

std::unique_ptr<Layer> make_rnn(const nlohmann::json& config, const std::string& type) {
  static const std::vector<schema::Field> keys = rnn_keys();
  ConfigReader reader(config, "rnn", keys);
  if (std::unique_ptr<Layer> stack = stacked_recurrent(config, reader, "rnn")) return stack;
  return std::make_unique<SimpleRnn>(read_recurrent_options(reader), reader.choice("activation") == "relu");
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_rnn) {
  nntune::layer_registry().add({.name = "rnn",
                                .help = "simple (Elman) recurrent layer over sequences (steps, features): "
                                        "h_t = tanh or relu(x_t W + h_{t-1} U + b)",
                                .keys = nntune::layers::rnn_keys(),
                                .order = 22,
                                .example = {{"units", 64}}},
                               nntune::layers::make_rnn);
}
