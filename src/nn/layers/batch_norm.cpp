// Batch normalisation over the features of each (flattened) sample:
//   y = f(gamma * (x - mean) / sqrt(var + epsilon) + beta)
// where f is the identity, or an element-wise activation layer that follows and that the layer
// takes over (Network::build's fusion: Layer::absorb_activation), so that conv -> batch_norm ->
// relu passes over its largest tensors once less each way; and a max_pool2d after that, which
// it applies to each sample as soon as the sample is normalised (Layer::absorb_max_pool).
// Images, samples of shape (height, width, channels), are normalised per channel as PyTorch's
// BatchNorm2d: one mean, variance, gamma and beta per channel, over the batch and every pixel.
// With channels last (NHWC) that is the same computation over batch * height * width rows of
// `channels` features, so both cases share one code path. Other ranks are per feature.
// Training uses the batch statistics and updates the running ones; evaluation uses the running
// statistics. Conventions follow Keras: running = momentum * running + (1 - momentum) * batch,
// defaults momentum 0.99 and epsilon 1e-3, and the running variance is updated with the biased
// batch variance (divide by n), the same one used to normalise the batch. (PyTorch would use
// the unbiased n-1 variance for the running estimate.)
// The kernels are plain loops over rows of `features` values: with a few dozen channels and
// ~10^5 rows per batch a per-row Eigen expression costs more than its arithmetic.
#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/max_pool2d_kernels.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

// Rows per chunk: a chunk of every tensor a pass reads stays in the first-level cache, where
// the activation's pass and the sums over the chunk find it.
int64_t chunk_rows(int64_t features) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, features)); }

// sum_a[c] += sum_r (a[r][c] - center_a[c]) and sum_ab[c] += sum_r (a[r][c] - center_a[c]) *
// (b[r][c] - center_b[c]) over `rows` rows, in float within the chunk and in double across
// chunks (10^5 rows would lose digits in float).
void add_column_sums(const float* a, const float* center_a, const float* b, const float* center_b, int64_t rows,
                     int64_t features, std::vector<float>& partial_a, std::vector<float>& partial_ab,
                     std::vector<double>& sum_a, std::vector<double>& sum_ab) {
  std::fill(partial_a.begin(), partial_a.end(), 0.0f);
  std::fill(partial_ab.begin(), partial_ab.end(), 0.0f);
  float* __restrict pa = partial_a.data();
  float* __restrict pab = partial_ab.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * features;
    const float* br = b + r * features;
    for (int64_t c = 0; c < features; ++c) {
      const float da = ar[c] - center_a[c];
      pa[c] += da;
      pab[c] += da * (br[c] - center_b[c]);
    }
  }
  for (int64_t c = 0; c < features; ++c) {
    sum_a[static_cast<size_t>(c)] += pa[c];
    sum_ab[static_cast<size_t>(c)] += pab[c];
  }
}

// y[r][c] = x[r][c] * scale[c] + shift[c]: the one place z is computed, forward and (where the
// activation's derivative needs z) backward, so both see the same bits.
void scale_shift_rows(const float* x, const float* __restrict scale, const float* __restrict shift, float* y, int64_t rows,
                      int64_t features) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * features;
    float* __restrict yr = y + r * features;
    for (int64_t c = 0; c < features; ++c) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

class BatchNorm final : public Layer {
 public:
  BatchNorm(double momentum, double epsilon) : momentum_(momentum), epsilon_(epsilon) {}

  std::string kind() const override { return "batch_norm"; }

  // Takes over an element-wise activation layer that follows (its config stays in the network's).
  bool absorb_activation(const nlohmann::json& activation_config) override {
    return absorb_elementwise_activation(activation_config, activation_);
  }

  // Takes over a max_pool2d after it (or after its absorbed activation) on images, as conv2d
  // does: each sample is pooled as soon as its rows are normalised, while they are in cache.
  // Backward routes the pooled gradient into grad_in first and works there in place.
  bool absorb_max_pool(const nlohmann::json& pool_config) override {
    if (pooled_ || image_shape_.size() != 3) return false;
    ConfigReader reader(pool_config, "max_pool2d", pool_keys());
    pool_ = max_pool_geometry(read_pool_window(pool_config, reader), image_shape_);
    pooled_ = true;
    pooled_shape_ = {0, pool_.plan.out_h, pool_.plan.out_w, features_};
    return true;
  }

  Shape build(const Shape& input_sample_shape) override {
    pooled_ = false;  // a rebuilt network offers the pooling again
    image_shape_ = input_sample_shape;
    const bool image = input_sample_shape.size() == 3;
    features_ = image ? input_sample_shape[2] : shape_size(input_sample_shape);
    rows_per_sample_ = image ? input_sample_shape[0] * input_sample_shape[1] : 1;
    params_.clear();
    params_.push_back({"gamma", features_, false});
    params_.push_back({"beta", features_, false});
    const size_t f = static_cast<size_t>(features_);
    running_mean_.assign(f, 0.0f);
    running_var_.assign(f, 1.0f);
    for (std::vector<float>* v : {&mean_, &inv_std_, &scale_, &shift_, &partial_a_, &partial_ab_, &zeros_}) v->assign(f, 0.0f);
    for (std::vector<double>* v : {&sum_a_, &sum_ab_}) v->assign(f, 0.0);
    return input_sample_shape;
  }

  void init_params(Rng& rng) override {
    std::fill(params_[0].value, params_[0].value + features_, 1.0f);
    std::fill(params_[1].value, params_[1].value + features_, 0.0f);
  }

  void forward(const Tensor& in, Tensor& pooled_or_out, const ForwardContext& ctx) override {
    const int64_t n = in.batch() * rows_per_sample_;  // rows of `features_` values
    const size_t f = static_cast<size_t>(features_);
    const int64_t chunk = chunk_rows(features_);
    Tensor& out = pooled_ ? unpooled_ : pooled_or_out;  // the normalised (and activated) input
    out.resize(in.shape());
    if (pooled_) {
      pooled_shape_[0] = in.batch();
      pooled_or_out.resize(pooled_shape_);
      pool_argmax_.resize(static_cast<size_t>(in.batch() * pool_.out_sample()));
    }
    int64_t pooled_samples = 0;
    const float* gamma = params_[0].value;
    const float* beta = params_[1].value;
    used_batch_stats_ = ctx.training;
    if (ctx.training) {
      if (n == 0) throw Error("batch_norm layer: cannot normalise an empty batch");
      // One pass over data shifted by a sample of it (the first row): with the shift near the
      // mean, E[(x-k)^2] - E[x-k]^2 does not cancel as E[x^2] - E[x]^2 can (Chan, Golub and
      // LeVeque's shifted data), and x is read once instead of twice.
      const std::vector<float> first(in.data(), in.data() + f);
      std::fill(sum_a_.begin(), sum_a_.end(), 0.0);
      std::fill(sum_ab_.begin(), sum_ab_.end(), 0.0);
      for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const float* x = in.data() + r0 * features_;
        add_column_sums(x, first.data(), x, first.data(), std::min(chunk, n - r0), features_, partial_a_, partial_ab_,
                        sum_a_, sum_ab_);
      }
      const float m = static_cast<float>(momentum_);
      for (size_t c = 0; c < f; ++c) {
        const double mean_shifted = sum_a_[c] / static_cast<double>(n);
        const float batch_var = static_cast<float>(std::max(0.0, sum_ab_[c] / static_cast<double>(n) - mean_shifted * mean_shifted));
        mean_[c] = static_cast<float>(first[c] + mean_shifted);
        inv_std_[c] = 1.0f / std::sqrt(batch_var + static_cast<float>(epsilon_));
        running_mean_[c] = m * running_mean_[c] + (1.0f - m) * mean_[c];
        running_var_[c] = m * running_var_[c] + (1.0f - m) * batch_var;
      }
    } else {
      for (size_t c = 0; c < f; ++c) {
        mean_[c] = running_mean_[c];
        inv_std_[c] = 1.0f / std::sqrt(running_var_[c] + static_cast<float>(epsilon_));
      }
    }
    for (size_t c = 0; c < f; ++c) {
      scale_[c] = gamma[c] * inv_std_[c];
      shift_[c] = beta[c] - mean_[c] * scale_[c];
    }
    const bool linear = activation_.kind == ActivationKind::Linear;
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
      const int64_t rows = std::min(chunk, n - r0);
      float* y = out.data() + r0 * features_;
      scale_shift_rows(in.data() + r0 * features_, scale_.data(), shift_.data(), y, rows, features_);
      // While the chunk is in cache; element-wise, so the chunk is one long row.
      if (!linear) activation_forward(activation_, y, nullptr, y, 1, rows * features_);
      // Each sample whose rows are now all done, while they are in cache.
      for (; pooled_ && pooled_samples < (r0 + rows) / rows_per_sample_; ++pooled_samples)
        max_pool_forward(pool_, out.data() + pooled_samples * pool_.in_sample(), 1,
                         pooled_or_out.data() + pooled_samples * pool_.out_sample(),
                         pool_argmax_.data() + pooled_samples * pool_.out_sample());
    }
  }

  void backward(const Tensor& in, const Tensor& pooled_or_out, const Tensor& pooled_or_grad_out,
                Tensor* grad_in) override {
    const int64_t n = in.batch() * rows_per_sample_;
    const size_t f = static_cast<size_t>(features_);
    const bool linear = activation_.kind == ActivationKind::Linear;
    const bool needs_z = !linear && !derivative_from_output(activation_);
    if (grad_in) grad_in->resize(in.shape());
    const Tensor& out = pooled_ ? unpooled_ : pooled_or_out;
    // dLoss/dOut before pooling: routed into grad_in (each pass below may work in place there),
    // or into a buffer of its own when no input gradient is wanted.
    const float* grad_out = pooled_or_grad_out.data();
    if (pooled_) {
      float* routed = grad_in ? grad_in->data() : (pool_grad_.resize(in.shape()), pool_grad_.data());
      max_pool_backward(pool_, pooled_or_grad_out.data(), pool_argmax_.data(), in.batch(), routed);
      grad_out = routed;
    }
    const int64_t chunk = chunk_rows(features_);
    if (!linear && !grad_in) dz_scratch_.resize(std::min(n, chunk) * features_);
    if (needs_z) z_scratch_.resize(std::min(n, chunk) * features_);
    // Pass 1: dz = dLoss/d(pre-activation) (written where dx will go, so pass 2 finds it),
    // dbeta = sum dz, dgamma = sum dz * xhat with xhat = (x - mean) * inv_std.
    std::fill(sum_a_.begin(), sum_a_.end(), 0.0);
    std::fill(sum_ab_.begin(), sum_ab_.end(), 0.0);
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
      const int64_t rows = std::min(chunk, n - r0), first = r0 * features_;
      const float* dz = grad_out + first;
      if (!linear) {
        float* into = grad_in ? grad_in->data() + first : dz_scratch_.data();
        const float* z = nullptr;
        if (needs_z) {
          scale_shift_rows(in.data() + first, scale_.data(), shift_.data(), z_scratch_.data(), rows, features_);
          z = z_scratch_.data();
        }
        activation_backward(activation_, z, out.data() + first, grad_out + first, into, nullptr, 1,
                            rows * features_);  // element-wise: the chunk is one long row
        dz = into;
      }
      add_column_sums(dz, zeros_.data(), in.data() + first, mean_.data(), rows, features_, partial_a_, partial_ab_,
                      sum_a_, sum_ab_);
    }
    float* dgamma = params_[0].grad;
    float* dbeta = params_[1].grad;
    for (size_t c = 0; c < f; ++c) {
      dbeta[c] = static_cast<float>(sum_a_[c]);
      dgamma[c] = static_cast<float>(sum_ab_[c]) * inv_std_[c];
    }
    if (!grad_in) return;
    // Pass 2. With batch statistics dx = scale * (dz - dbeta / n - xhat * dgamma / n), which is
    // scale * dz + x_coef * x + constant per feature; with running statistics (constants) y is
    // affine in x and dx = scale * dz.
    std::vector<float>& x_coef = partial_a_;
    std::vector<float>& constant = partial_ab_;
    const float inv_n = 1.0f / static_cast<float>(n);
    for (size_t c = 0; c < f; ++c) {
      x_coef[c] = used_batch_stats_ ? -scale_[c] * inv_std_[c] * dgamma[c] * inv_n : 0.0f;
      constant[c] = used_batch_stats_ ? -scale_[c] * dbeta[c] * inv_n - x_coef[c] * mean_[c] : 0.0f;
    }
    const float* dz_all = linear ? grad_out : grad_in->data();
    const float* __restrict scale = scale_.data();
    const float* __restrict a = x_coef.data();
    const float* __restrict b = constant.data();
    for (int64_t r = 0; r < n; ++r) {
      const float* dz = dz_all + r * features_;
      const float* __restrict x = in.data() + r * features_;
      float* dx = grad_in->data() + r * features_;  // may be dz itself
      for (int64_t c = 0; c < features_; ++c) dx[c] = scale[c] * dz[c] + (a[c] * x[c] + b[c]);
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
  double momentum_, epsilon_;
  Activation activation_;        // linear, or the activation layer taken over
  int64_t features_ = 0;         // normalised features: channels of an image, else the whole sample
  int64_t rows_per_sample_ = 1;  // pixels of an image, else 1
  std::vector<float> running_mean_, running_var_;
  // Per-feature statistics of the last forward pass (reused by backward) and scratch.
  std::vector<float> mean_, inv_std_, scale_, shift_, partial_a_, partial_ab_, zeros_;
  std::vector<double> sum_a_, sum_ab_;
  std::vector<float> dz_scratch_, z_scratch_;  // a chunk each
  bool used_batch_stats_ = false;
  Shape image_shape_;  // one input sample
  // A max_pool2d taken over (absorb_max_pool): as in conv2d.
  bool pooled_ = false;
  MaxPoolGeometry pool_;
  Shape pooled_shape_;
  Tensor unpooled_, pool_grad_;
  std::vector<int32_t> pool_argmax_;
};


const std::vector<schema::Field>& batch_norm_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      opt("momentum", real(0.0, false, 1.0, false), 0.99,
          "weight of the old running statistics in each update (Keras' convention; PyTorch's is 1 - this, "
          "and its default 0.1 is 0.9 here: statistics that follow weights moving fast, as early in training at "
          "a high learning rate, so that validation figures are not those of stale statistics)"),
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
