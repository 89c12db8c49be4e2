// A stand-alone activation layer: {"type": "activation", "name": "relu"} or {"type": "relu"}.
#include <cstring>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_factories.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(Activation activation) : activation_(activation) {}

  std::string kind() const override { return "activation"; }
  Shape build(const Shape& input_sample_shape) override { return input_sample_shape; }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    out.resize(in.shape());
    int64_t rows = 0, cols = 0;
    rows_and_cols(in, rows, cols);
    activation_forward(activation_, in.data(), nullptr, out.data(), rows, cols);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;  // no parameters: nothing else to compute
    grad_in->resize(in.shape());
    int64_t rows = 0, cols = 0;
    rows_and_cols(in, rows, cols);
    activation_backward(activation_, in.data(), out.data(), grad_out.data(), grad_in->data(), nullptr, rows, cols);
  }

  nlohmann::json config() const override {
    nlohmann::json c = {{"type", "activation"}, {"name", activation_name(activation_.kind)}};
    if (activation_.kind == ActivationKind::LeakyRelu) c["slope"] = tidy(activation_.slope);
    if (activation_.kind == ActivationKind::Elu) c["alpha"] = tidy(activation_.alpha);
    return c;
  }

 private:
  // Softmax normalises over the last dimension; the element-wise kinds do not care.
  static void rows_and_cols(const Tensor& t, int64_t& rows, int64_t& cols) {
    cols = t.rank() >= 2 ? t.shape().back() : 1;
    rows = cols == 0 ? 0 : t.size() / cols;
  }

  Activation activation_;
};

}  // namespace

std::unique_ptr<Layer> make_activation(const nlohmann::json& config, const std::string& layer_type) {
  std::string name = layer_type;
  std::vector<std::string> keys = {"type"};
  if (layer_type == "activation") {
    keys.push_back("name");
    if (!config.contains("name") || !config.at("name").is_string())
      throw Error("activation layer: 'name' is required, one of " + join_names(activation_kind_names()));
    name = config.at("name").get<std::string>();
  }
  Activation activation;
  if (!parse_activation_kind(name, activation.kind))
    throw Error("activation layer: 'name' must be one of " + join_names(activation_kind_names()) + "; got \"" + name +
                "\"");
  if (activation.kind == ActivationKind::LeakyRelu) keys.push_back("slope");
  if (activation.kind == ActivationKind::Elu) keys.push_back("alpha");
  ConfigReader reader(config, layer_type, keys);
  activation.slope = static_cast<float>(reader.number("slope", 0.01));
  activation.alpha = static_cast<float>(reader.number("alpha", 1.0));
  return std::make_unique<ActivationLayer>(activation);
}

}  // namespace nntune::layers
