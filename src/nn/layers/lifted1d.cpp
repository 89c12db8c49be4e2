#include "nn/layers/lifted1d.hpp"

#include <cstring>

#include "nn/layers/config_check.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

const std::vector<std::pair<std::string, std::string>>& twins() {
  static const std::vector<std::pair<std::string, std::string>> names = {{"conv1d", "conv2d"},
                                                                         {"max_pool1d", "max_pool2d"},
                                                                         {"avg_pool1d", "avg_pool2d"},
                                                                         {"global_avg_pool1d", "global_avg_pool2d"}};
  return names;
}

std::string twin_of(const std::string& type, bool to_2d) {
  for (const auto& [one, two] : twins())
    if ((to_2d ? one : two) == type) return to_2d ? two : one;
  throw Error("no 1-D/2-D twin for layer type '" + type + "' (a bug)");
}

void copy_into(const Tensor& from, Tensor& to, const Shape& shape) {
  to.resize(shape);
  std::memcpy(to.data(), from.data(), sizeof(float) * static_cast<size_t>(from.size()));
}

class Lifted1d final : public Layer {
 public:
  Lifted1d(std::string type, std::unique_ptr<Layer> inner) : type_(std::move(type)), inner_(std::move(inner)) {}

  std::string kind() const override { return type_; }
  bool reads_sequences() const override { return true; }
  std::string output_activation() const override { return inner_->output_activation(); }
  // conv1d takes a following activation as its 2-D twin does.
  bool absorb_activation(const nlohmann::json& activation_config) override {
    return inner_->absorb_activation(activation_config);
  }

  Shape build(const Shape& s) override {
    if (s.size() != 2)
      throw Error(type_ + " layer: input samples have shape " + shape_string(s) + " but " + type_ +
                  " needs sequences of shape (steps, channels); give a sequence of single values a channel axis "
                  "with {type: reshape, shape: [-1, 1]}");
    Shape out;
    try {
      out = inner_->build({1, s[0], s[1]});
    } catch (const Error& e) {
      // The 2-D twin words its errors for images; say which 1-D layer it is running for.
      throw Error(type_ + " layer over sequences of shape " + shape_string(s) + " (run as the image (1, " +
                  std::to_string(s[0]) + ", " + std::to_string(s[1]) + ")): " + e.what());
    }
    params_ = inner_->params();
    return out.size() == 3 ? Shape{out[1], out[2]} : out;
  }

  void init_params(Rng& rng) override {
    bind();
    inner_->init_params(rng);
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    bind();
    copy_into(in, in2d_, {in.batch(), 1, in.shape()[1], in.shape()[2]});
    inner_->forward(in2d_, out2d_, ctx);
    Shape shape = out2d_.shape();
    if (shape.size() == 4) shape = {shape[0], shape[2], shape[3]};
    copy_into(out2d_, out, shape);
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    bind();
    copy_into(grad_out, grad_out2d_, out2d_.shape());
    inner_->backward(in2d_, out2d_, grad_out2d_, grad_in ? &grad_in2d_ : nullptr);
    if (grad_in) copy_into(grad_in2d_, *grad_in, in.shape());
  }

  nlohmann::json config() const override { return lower_config(inner_->config()); }

  const Layer& inner() const {
    // The network may bind (or rebind, on load) this layer's blocks at any time.
    for (size_t k = 0; k < params_.size(); ++k) {
      inner_->params()[k].value = params_[k].value;
      inner_->params()[k].grad = params_[k].grad;
    }
    return *inner_;
  }

 private:
  void bind() { inner(); }

  std::string type_;
  std::unique_ptr<Layer> inner_;
  Tensor in2d_, out2d_, grad_out2d_, grad_in2d_;
};

}  // namespace

schema::Field kernel1d_key() { return schema::req("kernel", schema::integer(1.0), "window length in steps"); }
schema::Field stride1d_key(const std::string& help) { return schema::opt("stride", schema::integer(1.0), nullptr, help); }
schema::Field dilation1d_key() {
  return schema::opt("dilation", schema::integer(1.0), 1, "spacing between the kernel's taps, in steps");
}
schema::Field padding1d_key() {
  return schema::opt("padding",
                     schema::any_of({schema::one_of_names("padding", {"valid", "same"}), schema::integer(0.0)}),
                     "valid",
                     "valid (none), same (output steps = input steps / stride, the odd step at the end), or zero "
                     "steps added at each end");
}

void check_padding1d(const nlohmann::json& config, const ConfigReader& reader) {
  if (!reader.has("padding")) return;
  const nlohmann::json& p = config.at("padding");
  if (p.is_string() ? (p != "valid" && p != "same") : !(p.is_number_integer() && p.get<int64_t>() >= 0))
    reader.fail("padding", "is " + p.dump() + "; use valid, same, or a number of steps >= 0");
}

nlohmann::json lift_config(const nlohmann::json& c) {
  nlohmann::json out = c;
  out["type"] = twin_of(c.at("type").get<std::string>(), true);
  for (const char* key : {"kernel", "stride", "dilation"})
    if (c.contains(key)) out[key] = nlohmann::json::array({1, c.at(key)});
  if (c.contains("padding") && !c.at("padding").is_string()) out["padding"] = nlohmann::json::array({0, c.at("padding")});
  return out;
}

nlohmann::json lower_config(const nlohmann::json& c) {
  nlohmann::json out = c;
  out["type"] = twin_of(c.at("type").get<std::string>(), false);
  for (const char* key : {"kernel", "stride", "dilation"})
    if (c.contains(key)) out[key] = c.at(key).at(1);
  if (c.contains("padding") && !c.at("padding").is_string()) out["padding"] = c.at("padding").at(1);
  return out;
}

std::unique_ptr<Layer> make_lifted1d(const nlohmann::json& config1d) {
  return std::make_unique<Lifted1d>(config1d.at("type").get<std::string>(), make_layer(lift_config(config1d)));
}

const Layer* lifted_inner(const Layer& layer) {
  const auto* lifted = dynamic_cast<const Lifted1d*>(&layer);
  return lifted ? &lifted->inner() : nullptr;
}

}  // namespace nntune::layers
