// Fully connected layer with the bias and the activation fused in: forward is one GEMM plus
// one pass over the output, backward one pass (activation derivative + bias gradient) plus
// two GEMMs. Weight is stored (inputs x units) row-major, so out = in * W + b.
// On sequences (samples of shape (steps, features)) it applies to every step's features, the last
// axis (Keras' and PyTorch's Linear): the batch's steps are the GEMM's rows, so nothing changes
// but the row count. Inputs of rank 3 or more (images) still need a flatten: a dense layer over
// every pixel's channels is rarely what was meant.
#include "nn/gemm.hpp"
#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class Dense final : public Layer {
 public:
  Dense(int64_t units, Activation activation, Initializer kernel_init, Initializer bias_init, bool use_bias)
      : units_(units),
        declared_(activation),
        activation_(activation),
        kernel_init_(std::move(kernel_init)),
        bias_init_(std::move(bias_init)),
        use_bias_(use_bias) {}

  std::string kind() const override { return "dense"; }

  Shape build(const Shape& input_sample_shape) override {
    if (input_sample_shape.size() != 1 && input_sample_shape.size() != 2)
      throw Error(layer_configs::dense_flat_input_problem(input_sample_shape));
    inputs_ = input_sample_shape.back();
    steps_ = input_sample_shape.size() == 2 ? input_sample_shape[0] : 0;
    params_.clear();
    params_.push_back({"weight", inputs_ * units_, true});
    if (use_bias_) params_.push_back({"bias", units_, false});
    batch_shape_ = steps_ > 0 ? Shape{0, steps_, units_} : Shape{0, units_};
    return steps_ > 0 ? Shape{steps_, units_} : Shape{units_};
  }

  void init_params(Rng& rng) override {
    initialize(kernel_init_, params_[0].value, params_[0].size, inputs_, units_, rng);
    if (use_bias_) initialize(bias_init_, params_[1].value, params_[1].size, inputs_, units_, rng);
  }

  // Per step, each step is on its own: a step mask passes through (padding steps are computed
  // and left for the loss to skip).
  bool takes_mask() const override { return steps_ > 0; }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    batch_shape_[0] = in.batch();
    const int64_t n = rows(in);
    out.resize(batch_shape_);
    const float* bias = use_bias_ ? params_[1].value : nullptr;
    bool keep_pre_activation = false;
    float* z = pre_activation_buffer(activation_, batch_shape_, out, pre_activation_, keep_pre_activation);
    gemm(false, false, n, units_, inputs_, 1.0f, in.data(), inputs_, params_[0].value, units_, 0.0f, z, units_);
    bias_activation_forward(activation_, z, bias, out.data(), n, units_, keep_pre_activation);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    const int64_t n = rows(in);
    float* bias_grad = use_bias_ ? params_[1].grad : nullptr;
    // dLoss/dz: grad_out itself for a linear activation, else a layer-owned buffer.
    const float* dz = grad_out.data();
    if (activation_.kind != ActivationKind::Linear) {
      batch_shape_[0] = in.batch();
      grad_pre_activation_.resize(batch_shape_);
      activation_backward(activation_, pre_activation_.data(), out.data(), grad_out.data(),
                          grad_pre_activation_.data(), bias_grad, n, units_);
      dz = grad_pre_activation_.data();
    } else if (bias_grad) {
      column_sums(grad_out.data(), n, units_, bias_grad);
    }
    // dW = in^T * dz (inputs x units)
    gemm(true, false, inputs_, units_, n, 1.0f, in.data(), inputs_, dz, units_, 0.0f, params_[0].grad, units_);
    if (grad_in) {
      // dIn = dz * W^T (n x inputs)
      grad_in->resize(in.shape());
      gemm(false, true, n, inputs_, units_, 1.0f, dz, units_, params_[0].value, units_, 0.0f, grad_in->data(), inputs_);
    }
  }

  std::string output_activation() const override { return declared_output_activation(declared_); }

  // Without an activation of its own, the layer applies the next layer's (Network::build's fusion).
  bool absorb_activation(const nlohmann::json& activation_config) override {
    return absorb_elementwise_activation(activation_config, activation_);
  }

  nlohmann::json config() const override {
    return {{"type", "dense"},
            {"units", units_},
            {"activation", activation_name(declared_.kind)},
            {"kernel_init", initializer_config(kernel_init_)},
            {"bias_init", initializer_config(bias_init_)},
            {"use_bias", use_bias_}};
  }

 private:
  int64_t units_;
  // The GEMM's rows: samples, or samples x steps.
  int64_t rows(const Tensor& in) const { return steps_ > 0 ? in.batch() * steps_ : in.batch(); }

  int64_t inputs_ = 0;
  int64_t steps_ = 0;  // > 0: applied per step of (steps, inputs) samples
  Activation declared_;    // as configured: what config() saves
  Activation activation_;  // as applied: declared_, or the activation fused in after it
  Initializer kernel_init_, bias_init_;
  bool use_bias_;
  Shape batch_shape_;           // (batch, units) or (batch, steps, units); a member so resizing never allocates
  Tensor pre_activation_;       // kept only when f' cannot be read from the output (gelu, ...)
  Tensor grad_pre_activation_;  // dLoss/dz, reused across batches
};

}  // namespace

namespace {

const std::vector<schema::Field>& dense_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      req("units", integer(1.0), "number of outputs"),
      opt("activation", one_of_names("activation", activation_kind_names()), "linear",
          "fused activation applied to the outputs (leaky_relu slope 0.01, elu alpha 1.0)"),
      opt("kernel_init", initializer_node(), nullptr,
          "weight initialiser; default he_normal after relu, leaky_relu, elu, gelu, else xavier_uniform"),
      opt("bias_init", initializer_node(), "zeros", "bias initialiser"),
      opt("use_bias", boolean(), true, "add a learned bias to each output"),
  };
  return keys;
}

std::unique_ptr<Layer> make_dense(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "dense", dense_keys());
  const int64_t units = reader.integer("units");
  // A fused leaky_relu / elu uses the default slope 0.01 / alpha 1.0; for other values put an
  // activation layer after a linear dense layer.
  Activation activation;
  parse_activation_kind(reader.choice("activation"), activation.kind);
  const Initializer kernel_init = reader.initializer("kernel_init", Initializer{default_kernel_initializer_name(activation.kind)});
  const Initializer bias_init = reader.initializer("bias_init", Initializer{});
  const bool use_bias = reader.boolean("use_bias");
  return std::make_unique<Dense>(units, activation, kernel_init, bias_init, use_bias);
}

}  // namespace
}  // namespace nntune::layers

nlohmann::json nntune::layer_configs::dense(int64_t units, const std::string& activation, const std::string& kernel_init) {
  return {{"type", "dense"}, {"units", units}, {"activation", activation}, {"kernel_init", kernel_init}};
}

std::string nntune::layer_configs::dense_flat_input_problem(const std::vector<int64_t>& input_sample_shape) {
  return "a dense layer needs a flat (1-D) input but gets samples of shape " + shape_string(input_sample_shape) +
         "; add {type: flatten} before it";
}

NNTUNE_REGISTER_COMPONENTS(layer_dense) {
  nntune::layer_registry().add({.name = "dense",
                                .help = "fully connected: out = activation(in * W + b) over a flat (1-D) input, or over each step of a sequence (steps, features)",
                                .keys = nntune::layers::dense_keys(),
                                .order = 0,
                                .example = {{"units", 10}}},
                               nntune::layers::make_dense);
}
