// 2-D average pooling over images of shape (height, width, channels), each channel on its own.
// A window averages its real pixels only: padding is not counted (Keras's rule, PyTorch's
// count_include_pad=False), so border outputs are not pulled towards zero.
#include <algorithm>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/window2d.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class AvgPool2d final : public Layer {
 public:
  explicit AvgPool2d(Window2d window) : window_(window) {}

  std::string kind() const override { return "avg_pool2d"; }

  Shape build(const Shape& input_sample_shape) override {
    plan_ = plan_window("avg_pool2d", window_, input_sample_shape, true);
    channels_ = input_sample_shape[2];
    batch_shape_ = {0, plan_.out_h, plan_.out_w, channels_};
    return {plan_.out_h, plan_.out_w, channels_};
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    batch_shape_[0] = in.batch();
    out.resize(batch_shape_);
    out.set_zero();
    for_each_window(in.batch(), [&](int64_t s, int64_t in_offset, int64_t out_offset, float inv_count) {
      const float* p = in.data() + s * in_sample() + in_offset;
      float* o = out.data() + out_offset;
      for (int64_t j = 0; j < channels_; ++j) o[j] += p[j] * inv_count;
    });
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;
    grad_in->resize(in.shape());
    grad_in->set_zero();
    for_each_window(in.batch(), [&](int64_t s, int64_t in_offset, int64_t out_offset, float inv_count) {
      float* gi = grad_in->data() + s * in_sample() + in_offset;
      const float* g = grad_out.data() + out_offset;
      for (int64_t j = 0; j < channels_; ++j) gi[j] += g[j] * inv_count;
    });
  }

  nlohmann::json config() const override { return pool_config("avg_pool2d", window_); }

 private:
  int64_t in_sample() const { return plan_.in_h * plan_.in_w * channels_; }

  // Calls body(sample, input pixel offset, output pixel offset, 1 / real pixels in the
  // window) for every (output pixel, input pixel in its window).
  template <typename Body>
  void for_each_window(int64_t n, Body&& body) const {
    const int64_t c = channels_, out_sample = plan_.out_h * plan_.out_w * c;
    for (int64_t s = 0; s < n; ++s) {
      for (int64_t oy = 0; oy < plan_.out_h; ++oy) {
        const int64_t y0 = oy * window_.stride.h - plan_.pad_top;
        const int64_t y_begin = std::max<int64_t>(y0, 0), y_end = std::min(y0 + window_.kernel.h, plan_.in_h);
        for (int64_t ox = 0; ox < plan_.out_w; ++ox) {
          const int64_t x0 = ox * window_.stride.w - plan_.pad_left;
          const int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + window_.kernel.w, plan_.in_w);
          const float inv_count = 1.0f / static_cast<float>((y_end - y_begin) * (x_end - x_begin));
          const int64_t out_offset = s * out_sample + (oy * plan_.out_w + ox) * c;
          for (int64_t iy = y_begin; iy < y_end; ++iy)
            for (int64_t ix = x_begin; ix < x_end; ++ix) body(s, (iy * plan_.in_w + ix) * c, out_offset, inv_count);
        }
      }
    }
  }

  Window2d window_;
  WindowPlan plan_;
  int64_t channels_ = 0;
  Shape batch_shape_;
};


std::unique_ptr<Layer> make_avg_pool2d(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "avg_pool2d", pool_keys());
  return std::make_unique<AvgPool2d>(read_pool_window(config, reader));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_avg_pool2d) {
  nntune::layer_registry().add(
      {.name = "avg_pool2d",
       .help = "the mean of each window (padding not counted), per channel, of (height, width, channels) images",
       .keys = nntune::layers::pool_keys(),
       .order = 12,
       .example = {{"kernel", 2}}},
      nntune::layers::make_avg_pool2d);
}
