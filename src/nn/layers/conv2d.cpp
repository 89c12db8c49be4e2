// 2-D convolution (cross-correlation, as PyTorch and Keras) over images of shape
// (height, width, channels), with the bias and the activation fused in as in dense.
//
// Lowered to GEMMs through nn/gemm.hpp (fp32 on the configured backend, the bf16 kernel
// under train.precision bf16 where it is faster). For a chunk of samples, im2col writes one
// row per output pixel:
//   col[(n, oy, ox), (ky, kx, c)] = in[n, oy*sh - pad_top + ky*dh, ox*sw - pad_left + kx*dw, c]
// (zero outside the image), so with the NHWC layout the whole chunk is one product
//   out[(n, oy, ox), f] = col * W + b,   W stored (ky, kx, c) x f,
// whose rows are already the output's memory order: no transpose anywhere. Each row of col
// copies runs of `channels` contiguous floats. Backward reuses the same im2col:
//   dW = col^T * dz, dcol = dz * W^T, then col2im adds dcol back into dIn.
// Groups split channels and filters into `groups` independent convolutions: group g reads
// channels [g*Cg, (g+1)*Cg) and writes filters [g*Fg, (g+1)*Fg); its weight block is a
// contiguous (kh*kw*Cg) x Fg matrix and its product writes a column slice of the output.
//
// The batch is processed in chunks so that col stays small (it would be 29 MB for the second
// convolution of the Fashion-MNIST net at batch 128); backward recomputes im2col rather than
// keeping the forward's copy, which costs one cheap pass and saves the memory.
// A 1x1 convolution with stride 1 and one group needs no im2col at all: the input is col.
// A shallow convolution (kh * kw * channels <= 32, as an image net's first on 1-3 channels)
// is computed directly on AVX-512 CPUs, forward and weight gradient (nn/conv_direct.hpp):
// lowered, its products are only ~9 deep and run at a quarter of the GEMM's speed.
// A max_pool2d right after the layer (or its absorbed activation) is applied per chunk too
// (absorb_max_pool), while the chunk's output is in cache.
#include <algorithm>
#include <cstring>
#include <vector>

#include "nn/conv_direct.hpp"
#include "nn/gemm.hpp"
#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/max_pool2d_kernels.hpp"
#include "nn/layers/window2d.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

// Floats of col per chunk: about 1 MiB, the size of one core's L2 on Zen 4, so the im2col
// copy is still in cache when the GEMM reads it (measured in docs/benchmarks.md).
constexpr int64_t kColFloats = int64_t{1} << 18;

// A short copy inline: im2col copies runs of a few floats (3 for a 3x3 kernel on one channel),
// where a memcpy call would cost more than the copy.
inline void copy_floats(const float* src, float* dst, int64_t count) {
  if (count >= 64) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(count));
    return;
  }
  for (int64_t j = 0; j < count; ++j) dst[j] = src[j];
}

class Conv2d final : public Layer {
 public:
  Conv2d(int64_t filters, Window2d window, int64_t groups, Activation activation, Initializer kernel_init,
         Initializer bias_init, bool use_bias)
      : filters_(filters),
        window_(window),
        groups_(groups),
        declared_(activation),
        activation_(activation),
        kernel_init_(std::move(kernel_init)),
        bias_init_(std::move(bias_init)),
        use_bias_(use_bias) {}

  std::string kind() const override { return "conv2d"; }
  std::string output_activation() const override { return declared_output_activation(declared_); }

  // Without an activation of its own, the layer applies the next layer's (Network::build's fusion).
  bool absorb_activation(const nlohmann::json& activation_config) override {
    return absorb_elementwise_activation(activation_config, activation_);
  }

  // Takes over a max_pool2d after it (Network::build): each chunk is pooled right after its
  // bias and activation, while it is in cache, instead of in a pass of its own over the whole
  // batch's output; backward routes the pooled gradient back per chunk, into the same buffer
  // the activation's derivative is applied in. forward then writes the pooled tensor, and its
  // own output (which backward needs) is kept in unpooled_.
  bool absorb_max_pool(const nlohmann::json& pool_config) override {
    if (pooled_) return false;
    ConfigReader reader(pool_config, "max_pool2d", pool_keys());
    pool_ = max_pool_geometry(read_pool_window(pool_config, reader), {plan_.out_h, plan_.out_w, filters_});
    pooled_ = true;
    pooled_shape_ = {0, pool_.plan.out_h, pool_.plan.out_w, filters_};
    return true;
  }

  Shape build(const Shape& input_sample_shape) override {
    pooled_ = false;  // a rebuilt network offers the pooling again
    plan_ = plan_window("conv2d", window_, input_sample_shape, false);
    channels_ = input_sample_shape[2];
    if (channels_ % groups_ != 0)
      throw Error("conv2d layer: 'groups' " + std::to_string(groups_) + " does not divide the " +
                  std::to_string(channels_) + " input channels (input " + shape_string(input_sample_shape) +
                  "); use a number of groups that divides both the channels and 'filters' " +
                  std::to_string(filters_));
    group_channels_ = channels_ / groups_;
    group_filters_ = filters_ / groups_;
    group_k_ = window_.kernel.h * window_.kernel.w * group_channels_;
    pixels_ = plan_.out_h * plan_.out_w;
    pointwise_ = window_.kernel.h == 1 && window_.kernel.w == 1 && window_.stride.h == 1 && window_.stride.w == 1 &&
                 plan_.pad_top == 0 && plan_.pad_left == 0 && groups_ == 1;
    direct_shape_ = groups_ == 1 && !pointwise_ && group_k_ <= detail::kDirectConvMaxTaps &&
                    detail::direct_conv_available();
    direct_geometry_ = {plan_.in_h, plan_.in_w, channels_, plan_.out_h, plan_.out_w, filters_,
                        window_.kernel.h, window_.kernel.w, window_.stride.h, window_.stride.w,
                        window_.dilation.h, window_.dilation.w, plan_.pad_top, plan_.pad_left};
    // col, dcol and dz of a chunk each stay near kColFloats.
    chunk_samples_ = std::max<int64_t>(1, kColFloats / std::max<int64_t>(1, pixels_ * std::max(group_k_, filters_)));
    params_.clear();
    params_.push_back({"weight", groups_ * group_k_ * group_filters_, true});
    if (use_bias_) params_.push_back({"bias", filters_, false});
    batch_shape_ = {0, plan_.out_h, plan_.out_w, filters_};
    return {plan_.out_h, plan_.out_w, filters_};
  }

  void init_params(Rng& rng) override {
    // A kernel weight sees Cg * kh * kw inputs and feeds F/G * kh * kw outputs (PyTorch's and
    // Keras's fan-in / fan-out of a convolution).
    const int64_t area = window_.kernel.h * window_.kernel.w;
    const int64_t fan_in = group_channels_ * area, fan_out = group_filters_ * area;
    initialize(kernel_init_, params_[0].value, params_[0].size, fan_in, fan_out, rng);
    if (use_bias_) initialize(bias_init_, params_[1].value, params_[1].size, fan_in, fan_out, rng);
  }

  void forward(const Tensor& in, Tensor& pooled_or_out, const ForwardContext& ctx) override {
    const int64_t n = in.batch();
    batch_shape_[0] = n;
    Tensor& out = pooled_ ? unpooled_ : pooled_or_out;  // the convolution's own output
    out.resize(batch_shape_);
    if (pooled_) {
      pooled_shape_[0] = n;
      pooled_or_out.resize(pooled_shape_);
      pool_argmax_.resize(static_cast<size_t>(n * pool_.out_sample()));
    }
    const float* bias = use_bias_ ? params_[1].value : nullptr;
    bool keep_pre_activation = false;
    float* z = pre_activation_buffer(activation_, batch_shape_, out, pre_activation_, keep_pre_activation);
    const float* weight = params_[0].value;
    const bool direct = use_direct();
    // ReLU goes into the direct kernel's stores when z is the output itself.
    const bool relu_in_kernel = direct && !keep_pre_activation && activation_.kind == ActivationKind::Relu;
    for (int64_t n0 = 0; n0 < n; n0 += chunk_samples_) {
      const int64_t count = std::min(chunk_samples_, n - n0), rows = count * pixels_;
      float* z_chunk = z + n0 * pixels_ * filters_;
      float* out_chunk = out.data() + n0 * pixels_ * filters_;
      if (direct) {
        detail::direct_conv_forward(direct_geometry_, in.data() + n0 * in.features(), count, weight, bias,
                                    relu_in_kernel, z_chunk, direct_scratch_);
        count_fp32_product(2.0 * static_cast<double>(rows * filters_ * group_k_));
        if (!relu_in_kernel)
          bias_activation_forward(activation_, z_chunk, nullptr, out_chunk, rows, filters_, keep_pre_activation);
      } else {
        for (int64_t g = 0; g < groups_; ++g) {
          const float* col = lowered(in, n0, count, g);
          gemm(false, false, rows, group_filters_, group_k_, 1.0f, col, group_k_,
               weight + g * group_k_ * group_filters_, group_filters_, 0.0f, z_chunk + g * group_filters_, filters_);
        }
        // Bias and activation while the chunk's output is still in cache.
        bias_activation_forward(activation_, z_chunk, bias, out_chunk, rows, filters_, keep_pre_activation);
      }
      if (pooled_)
        max_pool_forward(pool_, out_chunk, count, pooled_or_out.data() + n0 * pool_.out_sample(),
                         pool_argmax_.data() + n0 * pool_.out_sample());
    }
  }

  void backward(const Tensor& in, const Tensor& pooled_or_out, const Tensor& pooled_or_grad_out,
                Tensor* grad_in) override {
    const int64_t n = in.batch();
    const Tensor& out = pooled_ ? unpooled_ : pooled_or_out;
    float* bias_grad = use_bias_ ? params_[1].grad : nullptr;
    if (bias_grad) std::fill(bias_grad, bias_grad + filters_, 0.0f);
    const bool linear = activation_.kind == ActivationKind::Linear;
    if (!linear) bias_chunk_.resize(static_cast<size_t>(filters_));
    if (grad_in) grad_in->resize(in.shape());
    const float* weight = params_[0].value;
    float* weight_grad = params_[0].grad;
    const int64_t in_sample = in.features();
    const bool direct = use_direct();
    for (int64_t n0 = 0; n0 < n; n0 += chunk_samples_) {
      const int64_t count = std::min(chunk_samples_, n - n0), rows = count * pixels_;
      // dLoss/dz of the chunk: grad_out itself for a linear activation, else computed here
      // into a chunk-sized buffer that the products below read while it is in cache.
      const int64_t first = n0 * pixels_ * filters_;
      const float* grad_chunk = pooled_or_grad_out.data() + first;  // dLoss/dOut of the chunk
      if (pooled_) {
        pool_grad_.resize({rows, filters_});
        max_pool_backward(pool_, pooled_or_grad_out.data() + n0 * pool_.out_sample(),
                          pool_argmax_.data() + n0 * pool_.out_sample(), count, pool_grad_.data());
        grad_chunk = pool_grad_.data();
      }
      const float* dz_chunk = grad_chunk;
      if (!linear) {
        dz_.resize({rows, filters_});
        activation_backward(activation_, keeps_pre_activation() ? pre_activation_.data() + first : nullptr,
                            out.data() + first, grad_chunk, dz_.data(),
                            bias_grad ? bias_chunk_.data() : nullptr, rows, filters_);
        if (bias_grad)
          for (int64_t f = 0; f < filters_; ++f) bias_grad[f] += bias_chunk_[static_cast<size_t>(f)];
        dz_chunk = dz_.data();
      } else if (bias_grad) {
        column_sums(dz_chunk, rows, filters_, bias_chunk_sums(filters_));
        for (int64_t f = 0; f < filters_; ++f) bias_grad[f] += bias_chunk_[static_cast<size_t>(f)];
      }
      if (grad_in && !pointwise_)
        std::fill(grad_in->data() + n0 * in_sample, grad_in->data() + (n0 + count) * in_sample, 0.0f);
      for (int64_t g = 0; g < groups_; ++g) {
        const float* w_g = weight + g * group_k_ * group_filters_;
        // dW_g = col^T * dz_g, summed over the chunks.
        if (direct) {
          detail::direct_conv_weight_grad(direct_geometry_, in.data() + n0 * in_sample, count, dz_chunk, n0 != 0,
                                          weight_grad, direct_scratch_);
          count_fp32_product(2.0 * static_cast<double>(rows * filters_ * group_k_));
        } else {
          gemm(true, false, group_k_, group_filters_, rows, 1.0f, lowered(in, n0, count, g), group_k_,
               dz_chunk + g * group_filters_, filters_, n0 == 0 ? 0.0f : 1.0f,
               weight_grad + g * group_k_ * group_filters_, group_filters_);
        }
        if (!grad_in) continue;
        if (pointwise_) {
          gemm(false, true, rows, group_k_, group_filters_, 1.0f, dz_chunk, filters_, w_g, group_filters_, 0.0f,
               grad_in->data() + n0 * in_sample, group_k_);
        } else {
          dcol_.resize({rows, group_k_});
          gemm(false, true, rows, group_k_, group_filters_, 1.0f, dz_chunk + g * group_filters_, filters_, w_g,
               group_filters_, 0.0f, dcol_.data(), group_k_);
          col2im(dcol_.data(), n0, count, g, grad_in->data());
        }
      }
    }
    if (n == 0) std::fill(weight_grad, weight_grad + params_[0].size, 0.0f);
  }

  nlohmann::json config() const override {
    return {{"type", "conv2d"},
            {"filters", filters_},
            {"kernel", pair_config(window_.kernel)},
            {"stride", pair_config(window_.stride)},
            {"padding", padding_config(window_)},
            {"dilation", pair_config(window_.dilation)},
            {"groups", groups_},
            {"activation", activation_name(declared_.kind)},
            {"kernel_init", initializer_config(kernel_init_)},
            {"bias_init", initializer_config(bias_init_)},
            {"use_bias", use_bias_}};
  }

 private:
  // The im2col matrix of `count` samples from n0 for group g: rows (n, oy, ox), columns
  // (ky, kx, c). A pointwise convolution returns the input itself.
  const float* lowered(const Tensor& in, int64_t n0, int64_t count, int64_t g) {
    const int64_t in_h = plan_.in_h, in_w = plan_.in_w, c = channels_, cg = group_channels_;
    if (pointwise_) return in.data() + n0 * in_h * in_w * c;
    col_.resize({count * pixels_, group_k_});
    float* dst = col_.data();
    const float* src = in.data() + g * cg;
    const int64_t kw = window_.kernel.w, row_floats = kw * cg;
    // With one group and no dilation, a kernel row inside the image is one contiguous run of
    // kw * channels floats (3 x 32 for the second layer of the Fashion-MNIST net).
    const bool contiguous_rows = window_.dilation.w == 1 && cg == c;
    for (int64_t s = n0; s < n0 + count; ++s) {
      const float* image = src + s * in_h * in_w * c;
      for (int64_t oy = 0; oy < plan_.out_h; ++oy) {
        for (int64_t ox = 0; ox < plan_.out_w; ++ox) {
          const int64_t ix0 = ox * window_.stride.w - plan_.pad_left;
          const bool row_inside = contiguous_rows && ix0 >= 0 && ix0 + kw <= in_w;
          for (int64_t ky = 0; ky < window_.kernel.h; ++ky, dst += row_floats) {
            const int64_t iy = oy * window_.stride.h - plan_.pad_top + ky * window_.dilation.h;
            if (iy < 0 || iy >= in_h) {
              std::fill(dst, dst + row_floats, 0.0f);
            } else if (row_inside) {
              copy_floats(image + (iy * in_w + ix0) * c, dst, row_floats);
            } else {
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = ix0 + kx * window_.dilation.w;
                if (ix < 0 || ix >= in_w) {
                  std::fill(dst + kx * cg, dst + (kx + 1) * cg, 0.0f);
                } else {
                  copy_floats(image + (iy * in_w + ix) * c, dst + kx * cg, cg);
                }
              }
            }
          }
        }
      }
    }
    return col_.data();
  }

  // Adds each row of dcol back onto the input pixels it was copied from (the transpose of
  // im2col); grad_in of these samples starts at zero.
  void col2im(const float* dcol, int64_t n0, int64_t count, int64_t g, float* grad_in) const {
    const int64_t in_h = plan_.in_h, in_w = plan_.in_w, c = channels_, cg = group_channels_;
    const float* src = dcol;
    for (int64_t s = n0; s < n0 + count; ++s) {
      float* image = grad_in + s * in_h * in_w * c + g * cg;
      for (int64_t oy = 0; oy < plan_.out_h; ++oy) {
        for (int64_t ox = 0; ox < plan_.out_w; ++ox) {
          for (int64_t ky = 0; ky < window_.kernel.h; ++ky) {
            const int64_t iy = oy * window_.stride.h - plan_.pad_top + ky * window_.dilation.h;
            if (iy < 0 || iy >= in_h) {
              src += window_.kernel.w * cg;
              continue;
            }
            for (int64_t kx = 0; kx < window_.kernel.w; ++kx, src += cg) {
              const int64_t ix = ox * window_.stride.w - plan_.pad_left + kx * window_.dilation.w;
              if (ix < 0 || ix >= in_w) continue;
              float* d = image + (iy * in_w + ix) * c;
              for (int64_t j = 0; j < cg; ++j) d[j] += src[j];
            }
          }
        }
      }
    }
  }

  bool keeps_pre_activation() const { return !derivative_from_output(activation_); }
  // The direct kernels are nntune's own AVX-512 code: they go with that GEMM backend, so that
  // choosing another backend (a test, a comparison) gives the plain im2col + GEMM path.
  bool use_direct() const { return direct_shape_ && gemm_backend() == GemmBackend::Avx512; }
  float* bias_chunk_sums(int64_t size) {
    bias_chunk_.resize(static_cast<size_t>(size));
    return bias_chunk_.data();
  }

  int64_t filters_;
  Window2d window_;
  int64_t groups_;
  Activation declared_;    // as configured: what config() saves
  Activation activation_;  // as applied: declared_, or the activation fused in after it
  Initializer kernel_init_, bias_init_;
  bool use_bias_;
  WindowPlan plan_;
  int64_t channels_ = 0, group_channels_ = 0, group_filters_ = 0, group_k_ = 0, pixels_ = 0, chunk_samples_ = 1;
  bool pointwise_ = false;
  bool direct_shape_ = false;  // shallow enough for the direct kernels (see the top of this file)
  detail::DirectConvGeometry direct_geometry_;
  detail::DirectConvScratch direct_scratch_;
  Shape batch_shape_;           // (batch, out_h, out_w, filters); a member so resizing never allocates
  Tensor col_, dcol_, dz_;  // im2col of one chunk, its gradient and dLoss/dz, reused across batches
  Tensor pre_activation_;   // kept only when f' cannot be read from the output (gelu, ...)
  // A max_pool2d taken over (absorb_max_pool): its geometry, the output before pooling, where
  // each pooled value came from, and one chunk's gradient routed back through the pooling.
  bool pooled_ = false;
  MaxPoolGeometry pool_;
  Shape pooled_shape_;
  Tensor unpooled_, pool_grad_;
  std::vector<int32_t> pool_argmax_;
  std::vector<float> bias_chunk_;  // one chunk's bias gradient
};


const std::vector<schema::Field>& conv2d_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      req("filters", integer(1.0), "output channels"),
      kernel_key(),
      stride_key("step of the window: an integer or [height, width]; default 1"),
      padding_key("valid"),
      dilation_key(),
      opt("groups", integer(1.0), 1, "channel groups (depthwise: groups = input channels); must divide both"),
      opt("activation", one_of_names("activation", activation_kind_names()), "linear", "fused activation"),
      opt("kernel_init", initializer_node(), nullptr,
          "kernel initialiser (fan-in = channels/groups * kh * kw); default he_normal after relu-like, else xavier_uniform"),
      opt("bias_init", initializer_node(), "zeros", "bias initialiser"),
      opt("use_bias", boolean(), true, "add a learned bias per filter"),
  };
  return keys;
}

std::unique_ptr<Layer> make_conv2d(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "conv2d", conv2d_keys());
  const int64_t filters = reader.integer("filters");
  if (!reader.has("kernel")) reader.fail("kernel", "is required (a positive integer or [height, width])");
  Window2d window;
  window.kernel = read_pair(config, reader, "kernel", {});
  window.stride = read_pair(config, reader, "stride", {1, 1});
  window.dilation = read_pair(config, reader, "dilation", {1, 1});
  read_padding(config, reader, window);
  const int64_t groups = reader.integer("groups");
  if (filters % groups != 0)
    reader.fail("groups", std::to_string(groups) + " does not divide 'filters' " + std::to_string(filters) +
                              "; each group needs the same number of filters");
  Activation activation;
  parse_activation_kind(reader.choice("activation"), activation.kind);
  const Initializer kernel_init =
      reader.initializer("kernel_init", Initializer{default_kernel_initializer_name(activation.kind)});
  const Initializer bias_init = reader.initializer("bias_init", Initializer{});
  const bool use_bias = reader.boolean("use_bias");
  return std::make_unique<Conv2d>(filters, window, groups, activation, kernel_init, bias_init, use_bias);
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_conv2d) {
  nntune::layer_registry().add({.name = "conv2d",
                                .help = "2-D convolution over (height, width, channels) images (NHWC), bias and activation fused",
                                .keys = nntune::layers::conv2d_keys(),
                                .order = 10,
                                .example = {{"filters", 8}, {"kernel", 3}}},
                               nntune::layers::make_conv2d);
}
