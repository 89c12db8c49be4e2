// 2-D max pooling over images of shape (height, width, channels), each channel on its own.
// Padding adds no candidates (as PyTorch's -inf padding): a window takes the max of its real
// pixels, and the padding rule (at most half the kernel) leaves every window at least one.
// Forward records, per output value, where its maximum came from, so backward routes the
// gradient there (ties go to the first pixel in the window, row by row, as PyTorch).
#include <algorithm>
#include <vector>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/max_pool2d_kernels.hpp"
#include "nn/layers/window2d.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class MaxPool2d final : public Layer {
 public:
  explicit MaxPool2d(Window2d window) : window_(window) {}

  std::string kind() const override { return "max_pool2d"; }

  Shape build(const Shape& input_sample_shape) override {
    geometry_ = max_pool_geometry(window_, input_sample_shape);
    batch_shape_ = {0, geometry_.plan.out_h, geometry_.plan.out_w, geometry_.channels};
    return {geometry_.plan.out_h, geometry_.plan.out_w, geometry_.channels};
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    const int64_t n = in.batch();
    batch_shape_[0] = n;
    out.resize(batch_shape_);
    argmax_.resize(static_cast<size_t>(n * geometry_.out_sample()));
    max_pool_forward(geometry_, in.data(), n, out.data(), argmax_.data());
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    if (!grad_in) return;
    grad_in->resize(in.shape());
    max_pool_backward(geometry_, grad_out.data(), argmax_.data(), in.batch(), grad_in->data());
  }

  nlohmann::json config() const override { return pool_config("max_pool2d", window_); }

 private:
  Window2d window_;
  MaxPoolGeometry geometry_;
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
