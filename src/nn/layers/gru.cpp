// Gated recurrent unit (Cho et al. 2014) in PyTorch's formulation (nn.GRU; Keras' GRU with
// reset_after=True, its default; ONNX GRU with linear_before_reset=1), gates in PyTorch's order
// r, z, n. The reset gate multiplies the recurrent product *after* it is taken, bias included:
//   r = sigmoid(x W_r + b_r + h U_r + c_r)    z = sigmoid(x W_z + b_z + h U_z + c_z)
//   n = tanh(x W_n + b_n + r * (h U_n + c_n)) h_t = (1 - z) * n + z * h_{t-1}
// (b: bias, c: recurrent_bias). The original paper and Keras' reset_after=False apply r before
// the product, U_n (r * h); that variant is not offered. Backward:
//   dn = dh (1 - z);  dz = dh (h_{t-1} - n);  dh_{t-1} = dh z + [dr_r, dr_z, dr_n] U^T, with
//   da_n = dn (1 - n^2) the input side of n, dr_n = da_n r its recurrent side,
//   dr = da_n (h U_n + c_n), and r's and z's pre-activations shared by both sides.
#include <Eigen/Core>

#include "nn/layers/layer_registry.hpp"
#include "nn/layers/recurrent.hpp"

namespace nntune::layers {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

class Gru final : public Recurrent {
 public:
  explicit Gru(RecurrentOptions options) : Recurrent("gru", 3, std::move(options), true) {}

  nlohmann::json config() const override { return recurrent_config("gru", options()); }

 protected:
  std::unique_ptr<Recurrent> make_twin() const override { return std::make_unique<Gru>(one_direction()); }
  // z becomes the activated gates r, z, n; r's n block becomes h U_n + c_n (needed backward).
  void step_forward(int64_t t, int64_t n, float* z, float* r, const float* h_prev, float* h_out) override {
    const int64_t h = units();
    const float *b = bias_values(), *c = recurrent_bias_values();
    for (int64_t row = 0; row < n; ++row) {
      float* zr = z + row * 3 * h;
      float* rr = r + row * 3 * h;
      ArrayMap reset(zr, h), update(zr + h, h), cand(zr + 2 * h, h), recurrent_n(rr + 2 * h, h);
      reset = (reset + ConstArrayMap(b, h) + ConstArrayMap(rr, h) + ConstArrayMap(c, h)).logistic();
      update = (update + ConstArrayMap(b + h, h) + ConstArrayMap(rr + h, h) + ConstArrayMap(c + h, h)).logistic();
      recurrent_n += ConstArrayMap(c + 2 * h, h);  // kept for backward: h U_n + c_n
      cand = (cand + ConstArrayMap(b + 2 * h, h) + reset * recurrent_n).tanh();
      ArrayMap(h_out + row * h, h) = (1.0f - update) * cand + update * ConstArrayMap(h_prev + row * h, h);
    }
  }

  bool step_backward(int64_t t, int64_t n, const float* z, const float* r, const float* h_prev, const float*,
                     float* dh, float* dz, float* dr, float* dh_prev) override {
    const int64_t h = units();
    for (int64_t row = 0; row < n; ++row) {
      const float* zr = z + row * 3 * h;
      ConstArrayMap reset(zr, h), update(zr + h, h), cand(zr + 2 * h, h);
      ConstArrayMap recurrent_n(r + row * 3 * h + 2 * h, h), hp(h_prev + row * h, h), dhr(dh + row * h, h);
      float* dzr = dz + row * 3 * h;
      float* drr = dr + row * 3 * h;
      ArrayMap da_n(dzr + 2 * h, h);
      da_n = dhr * (1.0f - update) * (1.0f - cand.square());
      ArrayMap(drr + 2 * h, h) = da_n * reset;
      ArrayMap(dzr, h) = da_n * recurrent_n * reset * (1.0f - reset);
      ArrayMap(dzr + h, h) = dhr * (hp - cand) * update * (1.0f - update);
      ArrayMap(drr, h) = ArrayMap(dzr, h);
      ArrayMap(drr + h, h) = ArrayMap(dzr + h, h);
      ArrayMap(dh_prev + row * h, h) = dhr * update;
    }
    return true;
  }
};

std::unique_ptr<Layer> make_gru(const nlohmann::json& config, const std::string& type) {
  static const std::vector<schema::Field> keys = recurrent_keys();
  ConfigReader reader(config, "gru", keys);
  if (std::unique_ptr<Layer> stack = stacked_recurrent(config, reader, "gru")) return stack;
  return std::make_unique<Gru>(read_recurrent_options(reader));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_gru) {
  nntune::layer_registry().add(
      {.name = "gru",
       .help = "gated recurrent unit over sequences (steps, features); PyTorch's formulation: the reset gate "
               "multiplies (h U_n + recurrent_bias_n)",
       .keys = nntune::layers::recurrent_keys(),
       .order = 21,
       .example = {{"units", 64}}},
      nntune::layers::make_gru);
}
