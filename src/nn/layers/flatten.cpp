// (n, a, b, ...) -> (n, a*b*...). Storage is already row-major and contiguous, so this is a
// shape change; the layer interface gives every layer its own output tensor, so the data is
// copied once (a memcpy, no arithmetic) each way.
#include "nn/layers/config_check.hpp"
#include "nn/layers/copy_layer.hpp"
#include "nn/layers/layer_configs.hpp"
#include "nn/layers/layer_registry.hpp"

namespace nntune::layers {
namespace {

class Flatten final : public Layer {
 public:
  std::string kind() const override { return "flatten"; }

  Shape build(const Shape& input_sample_shape) override {
    features_ = shape_size(input_sample_shape);
    batch_shape_ = {0, features_};
    return {features_};
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    copy_with_shape(in, out, batch_shape_);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    copy_gradient_back(in, grad_out, grad_in);
  }

  nlohmann::json config() const override { return {{"type", "flatten"}}; }

 private:
  int64_t features_ = 0;
  Shape batch_shape_;  // (batch, features); a member so resizing never allocates
};


std::unique_ptr<Layer> make_flatten(const nlohmann::json& config, const std::string& type) {
  static const std::vector<schema::Field> no_keys;
  ConfigReader reader(config, "flatten", no_keys);
  return std::make_unique<Flatten>();
}

}  // namespace
}  // namespace nntune::layers

nlohmann::json nntune::layer_configs::flatten() { return {{"type", "flatten"}}; }

NNTUNE_REGISTER_COMPONENTS(layer_flatten) {
  nntune::layer_registry().add(
      {.name = "flatten", .help = "reshapes each sample to one dimension (before dense layers)", .order = 4},
      nntune::layers::make_flatten);
}
