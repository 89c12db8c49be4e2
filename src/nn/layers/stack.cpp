#include "nn/layers/stack.hpp"

#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class Stack final : public Layer {
 public:
  Stack(std::string kind, nlohmann::json config, std::vector<std::unique_ptr<Layer>> children)
      : kind_(std::move(kind)), config_(std::move(config)), children_(std::move(children)) {
    if (children_.empty()) throw Error("a stack of no layers (a bug)");
  }

  std::string kind() const override { return kind_; }
  std::string output_activation() const override { return children_.back()->output_activation(); }
  nlohmann::json config() const override { return config_; }
  bool reads_sequences() const override { return children_.front()->reads_sequences(); }
  bool takes_mask() const override { return children_.front()->takes_mask(); }
  bool keeps_mask() const override {
    for (const auto& child : children_)
      if (!child->keeps_mask()) return false;
    return true;
  }

  Shape build(const Shape& input_sample_shape) override {
    Shape shape = input_sample_shape;
    params_.clear();
    for (size_t i = 0; i < children_.size(); ++i) {
      try {
        shape = children_[i]->build(shape);
      } catch (const Error& e) {
        throw Error("stacked layer " + std::to_string(i + 1) + " of " + std::to_string(children_.size()) + ": " + e.what());
      }
      for (const ParamBlock& b : children_[i]->params())
        params_.push_back({"layer" + std::to_string(i) + "_" + b.name, b.size, b.is_weight});
    }
    outputs_.assign(children_.size() - 1, Tensor());
    return shape;
  }

  void init_params(Rng& rng) override {
    bind();
    for (auto& child : children_) child->init_params(rng);
  }

  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override {
    bind();
    const Tensor* x = &in;
    ForwardContext c = ctx;  // the step mask goes on while the stacked layers keep it
    for (size_t i = 0; i < children_.size(); ++i) {
      Tensor& y = i + 1 == children_.size() ? out : outputs_[i];
      children_[i]->forward(*x, y, c);
      if (!children_[i]->keeps_mask()) c.mask = nullptr;
      x = &y;
    }
  }

  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override {
    bind();
    const Tensor* g = &grad_out;
    for (size_t k = children_.size(); k-- > 0;) {
      const Tensor& x = k == 0 ? in : outputs_[k - 1];
      const Tensor& y = k + 1 == children_.size() ? out : outputs_[k];
      // Two buffers in turn: child k reads one and writes the other.
      Tensor* dx = k == 0 ? grad_in : &grads_[k % 2];
      children_[k]->backward(x, y, *g, dx);
      g = dx;
    }
  }

  std::vector<float> state() const override {
    std::vector<float> all;
    for (const auto& child : children_) {
      const std::vector<float> s = child->state();
      all.insert(all.end(), s.begin(), s.end());
    }
    return all;
  }

  void set_state(const std::vector<float>& state) override {
    size_t offset = 0;
    for (auto& child : children_) {
      const size_t n = child->state().size();
      if (offset + n > state.size()) throw Error(kind_ + " layer: the saved state is too short for its stacked layers");
      child->set_state(std::vector<float>(state.begin() + static_cast<std::ptrdiff_t>(offset),
                                          state.begin() + static_cast<std::ptrdiff_t>(offset + n)));
      offset += n;
    }
  }

  std::vector<const Layer*> children() const {
    bind();
    std::vector<const Layer*> out;
    for (const auto& child : children_) out.push_back(child.get());
    return out;
  }

 private:
  // Points the children's blocks at this layer's (which the network binds, and may rebind).
  void bind() const {
    size_t k = 0;
    for (const auto& child : children_)
      for (ParamBlock& b : child->params()) {
        b.value = params_[k].value;
        b.grad = params_[k].grad;
        ++k;
      }
  }

  std::string kind_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<Layer>> children_;
  std::vector<Tensor> outputs_;  // outputs_[i] = output of child i (the last writes `out`)
  Tensor grads_[2];
};

}  // namespace

std::unique_ptr<Layer> make_stack(std::string kind, nlohmann::json config, std::vector<std::unique_ptr<Layer>> children) {
  return std::make_unique<Stack>(std::move(kind), std::move(config), std::move(children));
}

std::vector<const Layer*> stacked_children(const Layer& layer) {
  const auto* stack = dynamic_cast<const Stack*>(&layer);
  return stack ? stack->children() : std::vector<const Layer*>{};
}

}  // namespace nntune::layers
