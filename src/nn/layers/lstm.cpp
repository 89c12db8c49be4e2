// Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
// 2000), the formulation of PyTorch's nn.LSTM and Keras' LSTM, gates in PyTorch's order i, f, g, o:
//   i = sigmoid(x W_i + h U_i + b_i)    f = sigmoid(x W_f + h U_f + b_f)
//   g = tanh(x W_g + h U_g + b_g)       o = sigmoid(x W_o + h U_o + b_o)
//   c_t = f * c_{t-1} + i * g           h_t = o * tanh(c_t)
// Backward, with dc carried from step t+1:
//   do = dh tanh(c_t);  dc += dh o (1 - tanh^2 c_t);  di = dc g;  dg = dc i;  df = dc c_{t-1};
//   dc_{t-1} = dc f; then each gate's pre-activation gradient through its own derivative.
// The step loop, the products and BPTT are shared (recurrent.cpp).
#include <Eigen/Core>
#include <algorithm>

#include "nn/layers/layer_registry.hpp"
#include "nn/layers/recurrent.hpp"

namespace nntune::layers {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

class Lstm final : public Recurrent {
 public:
  Lstm(RecurrentOptions options, bool unit_forget_bias)
      : Recurrent("lstm", 4, std::move(options), false), unit_forget_bias_(unit_forget_bias) {}

  void init_params(Rng& rng) override {
    Recurrent::init_params(rng);
    // Jozefowicz et al. 2015: a forget-gate bias of 1 lets gradients through time at the start.
    if (unit_forget_bias_) std::fill(bias_values() + units(), bias_values() + 2 * units(), 1.0f);
  }

  nlohmann::json config() const override {
    nlohmann::json c = recurrent_config("lstm", options());
    c["unit_forget_bias"] = unit_forget_bias_;
    return c;
  }

 protected:
  std::unique_ptr<Recurrent> make_twin() const override {
    return std::make_unique<Lstm>(one_direction(), unit_forget_bias_);
  }
  void prepare(int64_t steps, int64_t n) override {
    const int64_t h = units();
    steps_ = steps;
    cs_.resize({(steps + 1) * n, h});
    std::fill(cs_.data(), cs_.data() + n * h, 0.0f);  // c_{-1} = 0
    tanh_c_.resize({steps * n, h});
  }

  void step_forward(int64_t t, int64_t n, float* z, float*, const float*, float*) override;
  bool step_backward(int64_t t, int64_t n, const float* z, const float*, const float*, const float*, float* dh,
                     float* dz, float*, float*) override;

 private:
  bool unit_forget_bias_;
  int64_t steps_ = 0;
  Tensor cs_;      // cell states, time-major, block 0 the zero initial state
  Tensor tanh_c_;  // tanh(c_t) per step
  Tensor dc_;      // dLoss/dc_t carried back from step t+1
};

void Lstm::step_forward(int64_t t, int64_t n, float* z, float*, const float*, float* h_out) {
  const int64_t h = units();
  const float* b = bias_values();
  ConstArrayMap bi(b, h), bf(b + h, h), bg(b + 2 * h, h), bo(b + 3 * h, h);
  for (int64_t row = 0; row < n; ++row) {
    float* zr = z + row * 4 * h;
    ArrayMap i(zr, h), f(zr + h, h), g(zr + 2 * h, h), o(zr + 3 * h, h);
    i = (i + bi).logistic();
    f = (f + bf).logistic();
    g = (g + bg).tanh();
    o = (o + bo).logistic();
    ConstArrayMap c_prev(cs_.data() + (t * n + row) * h, h);
    ArrayMap c(cs_.data() + ((t + 1) * n + row) * h, h), tc(tanh_c_.data() + (t * n + row) * h, h);
    c = f * c_prev + i * g;
    tc = c.tanh();
    ArrayMap(h_out + row * h, h) = o * tc;
  }
}

bool Lstm::step_backward(int64_t t, int64_t n, const float* z, const float*, const float*, const float*, float* dh,
                         float* dz, float*, float*) {
  const int64_t h = units();
  if (t == steps_ - 1) {  // the last step: nothing carried yet
    dc_.resize({n, h});
    dc_.set_zero();
  }
  for (int64_t row = 0; row < n; ++row) {
    const float* zr = z + row * 4 * h;
    ConstArrayMap i(zr, h), f(zr + h, h), g(zr + 2 * h, h), o(zr + 3 * h, h);
    ConstArrayMap c_prev(cs_.data() + (t * n + row) * h, h), tc(tanh_c_.data() + (t * n + row) * h, h);
    ConstArrayMap dhr(dh + row * h, h);
    ArrayMap dc(dc_.data() + row * h, h);
    float* dzr = dz + row * 4 * h;
    dc += dhr * o * (1.0f - tc.square());
    ArrayMap(dzr, h) = dc * g * i * (1.0f - i);
    ArrayMap(dzr + h, h) = dc * c_prev * f * (1.0f - f);
    ArrayMap(dzr + 2 * h, h) = dc * i * (1.0f - g.square());
    ArrayMap(dzr + 3 * h, h) = dhr * tc * o * (1.0f - o);
    dc *= f;
  }
  return false;
}

std::vector<schema::Field> lstm_keys() {
  std::vector<schema::Field> keys = recurrent_keys();
  keys.push_back(schema::opt("unit_forget_bias", schema::boolean(), true,
                             "start the forget gate's bias at 1 (added after bias_init), as Keras does"));
  return keys;
}

std::unique_ptr<Layer> make_lstm(const nlohmann::json& config, const std::string& type) {
  static const std::vector<schema::Field> keys = lstm_keys();
  ConfigReader reader(config, "lstm", keys);
  if (std::unique_ptr<Layer> stack = stacked_recurrent(config, reader, "lstm")) return stack;
  return std::make_unique<Lstm>(read_recurrent_options(reader), reader.boolean("unit_forget_bias"));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_lstm) {
  nntune::layer_registry().add(
      {.name = "lstm",
       .help = "long short-term memory over sequences (steps, features); gates i, f, g, o as PyTorch",
       .keys = nntune::layers::lstm_keys(),
       .order = 20,
       .example = {{"units", 64}}},
      nntune::layers::make_lstm);
}
