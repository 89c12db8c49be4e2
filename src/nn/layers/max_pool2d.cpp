// 2-D max pooling over images of shape (height, width, channels), each channel on its own.
// Padding adds no candidates (as PyTorch's -inf padding): a window takes the max of its real
// pixels, and the padding rule (at most half the kernel) leaves every window at least one.
// Forward records, per output value, where its maximum came from, so backward routes the
// gradient there (ties go to the first pixel in the window, row by row, as PyTorch).
#include <algorithm>
#include <cstring>
#include <vector>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/window2d.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class MaxPool2d final : public Layer {
 public:
  explicit MaxPool2d(Window2d window) : window_(window) {}

  std::string kind() const override { return "max_pool2d"; }

  Shape build(const Shape& input_sample_shape) override {
    plan_ = plan_window("max_pool2d", window_, input_sample_shape, true);
    channels_ = input_sample_shape[2];
    // Windows that tile the image exactly (2x2 stride 2 on 28x28) cover every input pixel
    // once, so backward can write each input gradient directly instead of zeroing and adding.
    tiles_ = window_.stride.h == window_.kernel.h && window_.stride.w == window_.kernel.w && plan_.pad_top == 0 &&
             plan_.pad_left == 0 && plan_.out_h * window_.kernel.h == plan_.in_h &&
             plan_.out_w * window_.kernel.w == plan_.in_w;
    batch_shape_ = {0, plan_.out_h, plan_.out_w, channels_};
    return {plan_.out_h, plan_.out_w, channels_};
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    const int64_t n = in.batch(), c = channels_, in_w = plan_.in_w, in_h = plan_.in_h;
    batch_shape_[0] = n;
    out.resize(batch_shape_);
    const int64_t out_sample = plan_.out_h * plan_.out_w * c, in_sample = in_h * in_w * c;
    argmax_.resize(static_cast<size_t>(n * out_sample));
    for (int64_t s = 0; s < n; ++s) {
      const float* image = in.data() + s * in_sample;
      float* o = out.data() + s * out_sample;
      int32_t* a = argmax_.data() + s * out_sample;
      for (int64_t oy = 0; oy < plan_.out_h; ++oy) {
        const int64_t y0 = oy * window_.stride.h - plan_.pad_top;
        const int64_t y_begin = std::max<int64_t>(y0, 0), y_end = std::min(y0 + window_.kernel.h, in_h);
        for (int64_t ox = 0; ox < plan_.out_w; ++ox, o += c, a += c) {
          const int64_t x0 = ox * window_.stride.w - plan_.pad_left;
          const int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + window_.kernel.w, in_w);
          bool first = true;
          for (int64_t iy = y_begin; iy < y_end; ++iy) {
            for (int64_t ix = x_begin; ix < x_end; ++ix) {
              const int32_t offset = static_cast<int32_t>((iy * in_w + ix) * c);
              const float* p = image + offset;
              if (first) {
                std::memcpy(o, p, sizeof(float) * static_cast<size_t>(c));
                for (int64_t j = 0; j < c; ++j) a[j] = offset + static_cast<int32_t>(j);
                first = false;
                continue;
              }
              for (int64_t j = 0; j < c; ++j) {
                // Branch-free, so the compiler vectorises the channel loop.
                const bool greater = p[j] > o[j];
                o[j] = greater ? p[j] : o[j];
                a[j] = greater ? offset + static_cast<int32_t>(j) : a[j];
              }
            }
          }
        }
      }
    }
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;
    const int64_t n = in.batch(), in_sample = in.features(), out_sample = grad_out.features();
    grad_in->resize(in.shape());
    if (tiles_) {
      backward_tiled(grad_out, *grad_in, n);
      return;
    }
    grad_in->set_zero();
    for (int64_t s = 0; s < n; ++s) {
      float* gin = grad_in->data() + s * in_sample;
      const float* g = grad_out.data() + s * out_sample;
      const int32_t* a = argmax_.data() + s * out_sample;
      for (int64_t i = 0; i < out_sample; ++i) gin[a[i]] += g[i];
    }
  }

  nlohmann::json config() const override { return pool_config("max_pool2d", window_); }

 private:
  void backward_tiled(const Tensor& grad_out, Tensor& grad_in, int64_t n) const {
    const int64_t c = channels_, in_w = plan_.in_w, out_sample = plan_.out_h * plan_.out_w * c;
    for (int64_t s = 0; s < n; ++s) {
      float* gin = grad_in.data() + s * plan_.in_h * in_w * c;
      const float* g = grad_out.data() + s * out_sample;
      const int32_t* a = argmax_.data() + s * out_sample;
      for (int64_t oy = 0; oy < plan_.out_h; ++oy) {
        for (int64_t ox = 0; ox < plan_.out_w; ++ox, g += c, a += c) {
          for (int64_t iy = oy * window_.kernel.h; iy < (oy + 1) * window_.kernel.h; ++iy) {
            for (int64_t ix = ox * window_.kernel.w; ix < (ox + 1) * window_.kernel.w; ++ix) {
              const int32_t offset = static_cast<int32_t>((iy * in_w + ix) * c);
              float* d = gin + offset;
              for (int64_t j = 0; j < c; ++j) d[j] = a[j] == offset + static_cast<int32_t>(j) ? g[j] : 0.0f;
            }
          }
        }
      }
    }
  }

  Window2d window_;
  WindowPlan plan_;
  int64_t channels_ = 0;
  bool tiles_ = false;
  Shape batch_shape_;
  std::vector<int32_t> argmax_;  // per output value: its source's offset within the input sample
};


std::unique_ptr<Layer> make_max_pool2d(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "max_pool2d", pool_keys());
  return std::make_unique<MaxPool2d>(read_pool_window(config, reader));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_max_pool2d) {
  nntune::layer_registry().add({.name = "max_pool2d",
                                .help = "the largest value of each window, per channel, of (height, width, channels) images",
                                .keys = nntune::layers::pool_keys(),
                                .order = 11,
                                .example = {{"kernel", 2}}},
                               nntune::layers::make_max_pool2d);
}
