// Inverted dropout: in training each value is zeroed with probability `rate` and the rest are
// scaled by 1/(1-rate), so evaluation is the identity and the expected activation is unchanged.
#include <cstring>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class Dropout final : public Layer {
 public:
  explicit Dropout(double rate) : rate_(rate) {
    // rate < 1 (the schema's bound), so drop_below < 2^32.
    key_.drop_below = static_cast<uint32_t>(rate * 4294967296.0);
    key_.keep_scale = static_cast<float>(1.0 / (1.0 - rate));
  }

  std::string kind() const override { return "dropout"; }
  // Per value (per step): padded steps do not change the real ones, so a step mask passes through.
  bool takes_mask() const override { return true; }
  Shape build(const Shape& input_sample_shape) override { return input_sample_shape; }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    out.resize(in.shape());
    masked_ = ctx.training && rate_ > 0.0;
    if (!masked_) {
      std::memcpy(out.data(), in.data(), sizeof(float) * static_cast<size_t>(in.size()));
      return;
    }
    if (!ctx.rng) throw Error("dropout layer: a training forward pass needs a random generator (ForwardContext::rng)");
    key_.seed = (*ctx.rng)();
    dropout_apply(in.data(), out.data(), in.size(), key_);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;
    grad_in->resize(in.shape());
    if (!masked_) {
      std::memcpy(grad_in->data(), grad_out.data(), sizeof(float) * static_cast<size_t>(grad_out.size()));
      return;
    }
    dropout_apply(grad_out.data(), grad_in->data(), grad_out.size(), key_);  // the forward pass's mask again
  }

  nlohmann::json config() const override { return {{"type", "dropout"}, {"rate", rate_}}; }

 private:
  double rate_;
  bool masked_ = false;  // whether the last forward pass applied the mask
  DropoutKey key_;       // the last forward pass's mask (seed, threshold, scale)
};


const std::vector<schema::Field>& dropout_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      opt("rate", real(0.0, false, 1.0, true), 0.5, "probability of zeroing each value in training"),
  };
  return keys;
}

std::unique_ptr<Layer> make_dropout(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "dropout", dropout_keys());
  return std::make_unique<Dropout>(reader.number("rate"));
}

}  // namespace
}  // namespace nntune::layers

nlohmann::json nntune::layer_configs::dropout(double rate) { return {{"type", "dropout"}, {"rate", rate}}; }

NNTUNE_REGISTER_COMPONENTS(layer_dropout) {
  nntune::layer_registry().add({.name = "dropout",
                                .help = "inverted dropout: zeroes values at random in training, identity in evaluation",
                                .keys = nntune::layers::dropout_keys(),
                                .order = 2},
                               nntune::layers::make_dropout);
}
