// Global average pooling: images (height, width, channels) -> (channels), the mean of each
// channel over all pixels (the usual head of a convolutional net instead of flatten).
#include <algorithm>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/window2d.hpp"

namespace nntune::layers {
namespace {

class GlobalAvgPool2d final : public Layer {
 public:
  std::string kind() const override { return "global_avg_pool2d"; }

  Shape build(const Shape& input_sample_shape) override {
    const Shape s = image_shape_or_throw("global_avg_pool2d", input_sample_shape);
    pixels_ = s[0] * s[1];
    channels_ = s[2];
    batch_shape_ = {0, channels_};
    return {channels_};
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    const int64_t n = in.batch(), c = channels_;
    batch_shape_[0] = n;
    out.resize(batch_shape_);
    out.set_zero();
    const float inv = 1.0f / static_cast<float>(pixels_);
    for (int64_t s = 0; s < n; ++s) {
      float* o = out.data() + s * c;
      const float* p = in.data() + s * pixels_ * c;
      for (int64_t i = 0; i < pixels_; ++i, p += c)
        for (int64_t j = 0; j < c; ++j) o[j] += p[j];
      for (int64_t j = 0; j < c; ++j) o[j] *= inv;
    }
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;
    const int64_t n = in.batch(), c = channels_;
    grad_in->resize(in.shape());
    const float inv = 1.0f / static_cast<float>(pixels_);
    for (int64_t s = 0; s < n; ++s) {
      const float* g = grad_out.data() + s * c;
      float* gi = grad_in->data() + s * pixels_ * c;
      for (int64_t i = 0; i < pixels_; ++i, gi += c)
        for (int64_t j = 0; j < c; ++j) gi[j] = g[j] * inv;
    }
  }

  nlohmann::json config() const override { return {{"type", "global_avg_pool2d"}}; }

 private:
  int64_t pixels_ = 0, channels_ = 0;
  Shape batch_shape_;
};


std::unique_ptr<Layer> make_global_avg_pool2d(const nlohmann::json& config, const std::string& type) {
  static const std::vector<schema::Field> no_keys;
  ConfigReader reader(config, "global_avg_pool2d", no_keys);
  return std::make_unique<GlobalAvgPool2d>();
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_global_avg_pool2d) {
  nntune::layer_registry().add(
      {.name = "global_avg_pool2d", .help = "the mean of each channel over the whole image: (h, w, c) -> (c)", .order = 13},
      nntune::layers::make_global_avg_pool2d);
}
