// Gives each sample another shape of the same size: {type: reshape, shape: [28, 28, 1]}. One
// dimension may be -1 (inferred). Storage is row-major and contiguous, so the data is copied
// once each way (a memcpy), as flatten does.
#include "nn/layers/config_check.hpp"
#include "nn/layers/copy_layer.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class Reshape final : public Layer {
 public:
  explicit Reshape(Shape target) : target_(std::move(target)) {}

  std::string kind() const override { return "reshape"; }

  Shape build(const Shape& input_sample_shape) override {
    const int64_t size = shape_size(input_sample_shape);
    Shape out = target_;
    int64_t known = 1;
    int64_t inferred = -1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == -1)
        inferred = static_cast<int64_t>(i);
      else
        known *= out[i];
    }
    if (inferred >= 0) {
      if (known == 0 || size % known != 0)
        throw Error("reshape layer: samples of shape " + shape_string(input_sample_shape) + " (" + std::to_string(size) +
                    " values) cannot take the shape " + shape_text() + ": " + std::to_string(size) +
                    " is not a multiple of " + std::to_string(known));
      out[static_cast<size_t>(inferred)] = size / known;
    } else if (known != size) {
      throw Error("reshape layer: samples of shape " + shape_string(input_sample_shape) + " have " + std::to_string(size) +
                  " values, but the shape " + shape_text() + " holds " + std::to_string(known) +
                  "; the product of 'shape' must equal the input's size (or use -1 for one dimension)");
    }
    batch_shape_ = out;
    batch_shape_.insert(batch_shape_.begin(), 0);
    return out;
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    copy_with_shape(in, out, batch_shape_);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    copy_gradient_back(in, grad_out, grad_in);
  }

  nlohmann::json config() const override { return {{"type", "reshape"}, {"shape", target_}}; }

 private:
  std::string shape_text() const { return nlohmann::json(target_).dump(); }

  Shape target_;       // as configured, -1 included
  Shape batch_shape_;  // (batch, output sample shape...); a member so resizing never allocates
};

const std::vector<schema::Field>& reshape_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      req("shape", list_of(integer(-1.0)), "the shape of one output sample, e.g. [28, 28, 1]; one dimension may be -1"),
  };
  return keys;
}

std::unique_ptr<Layer> make_reshape(const nlohmann::json& config, const std::string& type) {
  ConfigReader reader(config, "reshape", reshape_keys());
  if (!reader.has("shape")) reader.fail("shape", "is required (a list of dimensions, e.g. [28, 28, 1])");
  const nlohmann::json& value = config.at("shape");
  if (!value.is_array() || value.empty())
    reader.fail("shape", "must be a non-empty list of dimensions, e.g. [28, 28, 1]; got " + value.dump());
  Shape target;
  int inferred = 0;
  for (const nlohmann::json& d : value) {
    if (!d.is_number_integer() || d.get<int64_t>() == 0 || d.get<int64_t>() < -1 || d.get<int64_t>() > 1000000000)
      reader.fail("shape", "must list positive dimensions (or -1 for one inferred dimension); got " + value.dump());
    if (d.get<int64_t>() == -1) ++inferred;
    target.push_back(d.get<int64_t>());
  }
  if (inferred > 1) reader.fail("shape", "may infer at most one dimension (-1); got " + value.dump());
  return std::make_unique<Reshape>(std::move(target));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_reshape) {
  nntune::layer_registry().add({.name = "reshape",
                                .help = "gives each sample another shape with the same number of values",
                                .keys = nntune::layers::reshape_keys(),
                                .order = 6,
                                .example = {{"shape", {-1}}}},
                               nntune::layers::make_reshape);
}
