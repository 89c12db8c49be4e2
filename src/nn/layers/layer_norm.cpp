// Layer normalisation (Ba, Kiros & Hinton 2016; PyTorch's LayerNorm over the last dimension,
// Keras' LayerNormalization(axis=-1)): each sample's values along the last dimension are
// normalised by their own mean and variance, then scaled and shifted by learned gamma/beta.
// No batch statistics, so training and evaluation compute the same thing.
//   y = gamma * xhat + beta,  xhat = (x - mean) / sqrt(var + eps)  (biased variance)
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
#include <Eigen/Core>
#include <cmath>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

class LayerNorm final : public Layer {
 public:
  LayerNorm(double epsilon, bool scale, bool center) : epsilon_(epsilon), scale_(scale), center_(center) {}

  std::string kind() const override { return "layer_norm"; }
  // Per value (per step): padded steps do not change the real ones, so a step mask passes through.
  bool takes_mask() const override { return true; }

  Shape build(const Shape& input_sample_shape) override {
    if (input_sample_shape.empty() || input_sample_shape.back() < 1)
      throw Error("layer_norm layer: input samples have shape " + shape_string(input_sample_shape) +
                  "; it needs at least one dimension to normalise over (the last)");
    width_ = input_sample_shape.back();
    params_.clear();
    if (scale_) params_.push_back({"gamma", width_, false});
    if (center_) params_.push_back({"beta", width_, false});
    return input_sample_shape;
  }

  void init_params(Rng& rng) override {
    if (scale_) ArrayMap(params_[0].value, width_).setOnes();
    if (center_) ArrayMap(params_[scale_ ? 1 : 0].value, width_).setZero();
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    out.resize(in.shape());
    const int64_t rows = in.size() / width_;
    xhat_.resize({rows, width_});
    rstd_.resize(rows);
    for (int64_t r = 0; r < rows; ++r) {
      ConstArrayMap x(in.data() + r * width_, width_);
      const float mean = x.mean();
      const float var = (x - mean).square().mean();
      const float rstd = 1.0f / std::sqrt(var + static_cast<float>(epsilon_));
      rstd_[r] = rstd;
      ArrayMap xhat(xhat_.data() + r * width_, width_);
      xhat = (x - mean) * rstd;
      ArrayMap y(out.data() + r * width_, width_);
      y = xhat;
      if (scale_) y *= ConstArrayMap(params_[0].value, width_);
      if (center_) y += ConstArrayMap(beta().value, width_);
    }
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    const int64_t rows = in.size() / width_;
    if (scale_) ArrayMap(params_[0].grad, width_).setZero();
    if (center_) ArrayMap(beta().grad, width_).setZero();
    if (grad_in) grad_in->resize(in.shape());
    Eigen::ArrayXf dxhat(width_);
    for (int64_t r = 0; r < rows; ++r) {
      ConstArrayMap dy(grad_out.data() + r * width_, width_);
      ConstArrayMap xhat(xhat_.data() + r * width_, width_);
      if (scale_) ArrayMap(params_[0].grad, width_) += dy * xhat;
      if (center_) ArrayMap(beta().grad, width_) += dy;
      if (!grad_in) continue;
      dxhat = scale_ ? (dy * ConstArrayMap(params_[0].value, width_)).eval() : dy.eval();
      const float mean_dxhat = dxhat.mean();
      const float mean_dxhat_xhat = (dxhat * xhat).mean();
      ArrayMap(grad_in->data() + r * width_, width_) = rstd_[r] * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  }

  nlohmann::json config() const override {
    return {{"type", "layer_norm"}, {"epsilon", epsilon_}, {"scale", scale_}, {"center", center_}};
  }

 private:
  ParamBlock& beta() { return params_[scale_ ? 1 : 0]; }

  double epsilon_;
  bool scale_, center_;
  int64_t width_ = 0;
  Tensor xhat_;                // normalised inputs of the last forward pass (rows x width)
  std::vector<float> rstd_;    // 1 / sqrt(var + eps) per row
};

const std::vector<schema::Field>& layer_norm_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      opt("epsilon", real(0.0, true), 1e-5, "added to the variance before its square root"),
      opt("scale", boolean(), true, "learn a per-feature scale (gamma)"),
      opt("center", boolean(), true, "learn a per-feature shift (beta)"),
  };
  return keys;
}

std::unique_ptr<Layer> make_layer_norm(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "layer_norm", layer_norm_keys());
  return std::make_unique<LayerNorm>(reader.number("epsilon"), reader.boolean("scale"), reader.boolean("center"));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_layer_norm) {
  nntune::layer_registry().add({.name = "layer_norm",
                                .help = "normalises each sample over its last dimension, then scales and shifts it",
                                .keys = nntune::layers::layer_norm_keys(),
                                .order = 5},
                               nntune::layers::make_layer_norm);
}
