// Batch normalisation over the features of each (flattened) sample:
//   y = gamma * (x - mean) / sqrt(var + epsilon) + beta
// Images, samples of shape (height, width, channels), are normalised per channel as PyTorch's
// BatchNorm2d: one mean, variance, gamma and beta per channel, over the batch and every pixel.
// With channels last (NHWC) that is the same computation over batch * height * width rows of
// `channels` features, so both cases share one code path. Other ranks are per feature.
// Training uses the batch statistics and updates the running ones; evaluation uses the running
// statistics. Conventions follow Keras: running = momentum * running + (1 - momentum) * batch,
// defaults momentum 0.99 and epsilon 1e-3, and the running variance is updated with the biased
// batch variance (divide by n), the same one used to normalise the batch. (PyTorch would use
// the unbiased n-1 variance for the running estimate.)
#include <Eigen/Core>
#include <cmath>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

class BatchNorm final : public Layer {
 public:
  BatchNorm(double momentum, double epsilon) : momentum_(momentum), epsilon_(epsilon) {}

  std::string kind() const override { return "batch_norm"; }

  Shape build(const Shape& input_sample_shape) override {
    const bool image = input_sample_shape.size() == 3;
    features_ = image ? input_sample_shape[2] : shape_size(input_sample_shape);
    rows_per_sample_ = image ? input_sample_shape[0] * input_sample_shape[1] : 1;
    params_.clear();
    params_.push_back({"gamma", features_, false});
    params_.push_back({"beta", features_, false});
    running_mean_.assign(static_cast<size_t>(features_), 0.0f);
    running_var_.assign(static_cast<size_t>(features_), 1.0f);
    mean_.setZero(features_);
    inv_std_.setZero(features_);
    scale_.setZero(features_);
    shift_.setZero(features_);
    sum_.setZero(features_);
    return input_sample_shape;
  }

  void init_params(Rng& rng) override {
    ArrayMap(params_[0].value, features_).setOnes();
    ArrayMap(params_[1].value, features_).setZero();
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    const int64_t n = in.batch() * rows_per_sample_;  // rows of `features_` values
    out.resize(in.shape());
    ConstArrayMap gamma(params_[0].value, features_), beta(params_[1].value, features_);
    ArrayMap running_mean(running_mean_.data(), features_), running_var(running_var_.data(), features_);
    used_batch_stats_ = ctx.training;
    if (ctx.training) {
      if (n == 0) throw Error("batch_norm layer: cannot normalise an empty batch");
      // Two passes (mean, then centred squares) for a variance that does not cancel.
      mean_.setZero();
      for (int64_t r = 0; r < n; ++r) mean_ += row(in, r);
      mean_ /= static_cast<float>(n);
      sum_.setZero();  // sum of squared deviations
      for (int64_t r = 0; r < n; ++r) sum_ += (row(in, r) - mean_).square();
      sum_ /= static_cast<float>(n);
      const Eigen::ArrayXf& batch_var = sum_;
      inv_std_ = (batch_var + static_cast<float>(epsilon_)).rsqrt();
      const float m = static_cast<float>(momentum_);
      running_mean = m * running_mean + (1.0f - m) * mean_;
      running_var = m * running_var + (1.0f - m) * batch_var;
      scale_ = gamma * inv_std_;
      shift_ = beta - mean_ * scale_;
    } else {
      mean_ = running_mean;
      inv_std_ = (running_var + static_cast<float>(epsilon_)).rsqrt();
      scale_ = gamma * inv_std_;
      shift_ = beta - mean_ * scale_;
    }
    for (int64_t r = 0; r < n; ++r) ArrayMap(out.data() + r * features_, features_) = row(in, r) * scale_ + shift_;
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    const int64_t n = in.batch() * rows_per_sample_;
    ArrayMap dgamma(params_[0].grad, features_), dbeta(params_[1].grad, features_);
    // dbeta = sum g, dgamma = sum g * xhat with xhat = (x - mean) * inv_std
    dbeta.setZero();
    dgamma.setZero();
    for (int64_t r = 0; r < n; ++r) {
      dbeta += row(grad_out, r);
      dgamma += row(grad_out, r) * (row(in, r) - mean_) * inv_std_;
    }
    if (!grad_in) return;
    grad_in->resize(in.shape());
    if (!used_batch_stats_) {
      // Statistics were constants: y is affine in x.
      for (int64_t r = 0; r < n; ++r) ArrayMap(grad_in->data() + r * features_, features_) = row(grad_out, r) * scale_;
      return;
    }
    // dx = gamma * inv_std / n * (n g - sum g - xhat * sum(g xhat))
    const float inv_n = 1.0f / static_cast<float>(n);
    for (int64_t r = 0; r < n; ++r) {
      ArrayMap(grad_in->data() + r * features_, features_) =
          scale_ * (row(grad_out, r) - dbeta * inv_n - (row(in, r) - mean_) * inv_std_ * dgamma * inv_n);
    }
  }

  nlohmann::json config() const override {
    return {{"type", "batch_norm"}, {"momentum", momentum_}, {"epsilon", epsilon_}};
  }

  std::vector<float> state() const override {
    std::vector<float> s = running_mean_;
    s.insert(s.end(), running_var_.begin(), running_var_.end());
    return s;
  }

  void set_state(const std::vector<float>& state) override {
    if (state.size() != 2 * static_cast<size_t>(features_))
      throw Error("batch_norm layer: saved state has " + std::to_string(state.size()) + " values, expected " +
                  std::to_string(2 * features_) + " (running mean and variance of " + std::to_string(features_) +
                  " features)");
    running_mean_.assign(state.begin(), state.begin() + features_);
    running_var_.assign(state.begin() + features_, state.end());
  }

 private:
  ConstArrayMap row(const Tensor& t, int64_t r) const { return ConstArrayMap(t.data() + r * features_, features_); }

  double momentum_, epsilon_;
  int64_t features_ = 0;         // normalised features: channels of an image, else the whole sample
  int64_t rows_per_sample_ = 1;  // pixels of an image, else 1
  std::vector<float> running_mean_, running_var_;
  // Per-feature statistics of the last forward pass (reused by backward) and scratch.
  Eigen::ArrayXf mean_, inv_std_, scale_, shift_, sum_;
  bool used_batch_stats_ = false;
};


const std::vector<schema::Field>& batch_norm_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      opt("momentum", real(0.0, false, 1.0, false), 0.99,
          "weight of the old running statistics in each update (Keras' convention; PyTorch's is 1 - this)"),
      opt("epsilon", real(0.0, true), 1e-3, "added to the variance before its square root"),
  };
  return keys;
}

std::unique_ptr<Layer> make_batch_norm(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "batch_norm", batch_norm_keys());
  return std::make_unique<BatchNorm>(reader.number("momentum"), reader.number("epsilon"));
}

}  // namespace
}  // namespace nntune::layers

nlohmann::json nntune::layer_configs::batch_norm() { return {{"type", "batch_norm"}}; }

NNTUNE_REGISTER_COMPONENTS(layer_batch_norm) {
  nntune::layer_registry().add({.name = "batch_norm",
                                .help = "normalises each feature over the batch, then scales and shifts it (learned)",
                                .keys = nntune::layers::batch_norm_keys(),
                                .order = 3},
                               nntune::layers::make_batch_norm);
}
