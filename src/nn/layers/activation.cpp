// A stand-alone activation layer: {"type": "activation", "name": "relu"} or {"type": "relu"}.
#include <cstring>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(Activation activation) : activation_(activation) {}

  std::string kind() const override { return "activation"; }
  // Per value (per step): padded steps do not change the real ones, so a step mask passes through.
  bool takes_mask() const override { return true; }
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

  std::string output_activation() const override { return activation_name(activation_.kind); }

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

// Keys: {type: activation, name: ..., slope/alpha} or a shorthand type ({type: leaky_relu, slope}).
schema::Field slope_key() {
  return schema::opt("slope", schema::real(), 0.01, "leaky_relu: the slope for negative inputs");
}
schema::Field alpha_key() {
  return schema::opt("alpha", schema::real(), 1.0, "elu: alpha * (exp(x) - 1) for negative inputs");
}

const std::vector<schema::Field>& generic_keys() {
  static const std::vector<schema::Field> keys = {
      schema::req("name", schema::one_of_names("activation", activation_kind_names()), "the function"),
      slope_key(), alpha_key()};
  return keys;
}

// The keys of one function used as a layer type of its own.
const std::vector<schema::Field>& shorthand_keys(ActivationKind kind) {
  static const std::vector<schema::Field> none, slope = {slope_key()}, alpha = {alpha_key()};
  if (kind == ActivationKind::LeakyRelu) return slope;
  if (kind == ActivationKind::Elu) return alpha;
  return none;
}

std::unique_ptr<Layer> make_activation(const nlohmann::json& config, const std::string& layer_type) {
  std::string name = layer_type;
  if (layer_type == "activation") {
    if (!config.contains("name") || !config.at("name").is_string())
      throw Error("activation layer: 'name' is required, one of " + join_names(activation_kind_names()));
    name = config.at("name").get<std::string>();
  }
  Activation activation;
  if (!parse_activation_kind(name, activation.kind))
    throw Error("activation layer: 'name' must be one of " + join_names(activation_kind_names()) + "; got \"" + name +
                "\"");
  // Only the function's own parameter is a key (slope for leaky_relu, alpha for elu).
  std::vector<schema::Field> keys;
  if (layer_type == "activation") keys.push_back(generic_keys()[0]);
  for (const schema::Field& f : shorthand_keys(activation.kind)) keys.push_back(f);
  ConfigReader reader(config, layer_type, keys);
  if (activation.kind == ActivationKind::LeakyRelu) activation.slope = static_cast<float>(reader.number("slope"));
  if (activation.kind == ActivationKind::Elu) activation.alpha = static_cast<float>(reader.number("alpha"));
  return std::make_unique<ActivationLayer>(activation);
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_activation) {
  using namespace nntune::layers;
  nntune::layer_registry().add({.name = "activation",
                                .help = "applies a function element-wise (softmax: over the last dimension)",
                                .keys = generic_keys(),
                                .order = 1,
                                .example = {{"name", "relu"}}},
                               make_activation);
  // Each function is also a layer type of its own: {type: relu}.
  int position = 50;
  for (const std::string& name : activation_kind_names()) {
    ActivationKind kind;
    parse_activation_kind(name, kind);
    nntune::layer_registry().add(
        {.name = name, .help = "the " + name + " activation as a layer", .keys = shorthand_keys(kind), .order = position++},
        make_activation);
  }
}
