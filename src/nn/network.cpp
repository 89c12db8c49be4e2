#include "nntune/network.hpp"

#include <algorithm>
#include <cmath>

#include "nntune/error.hpp"

namespace nntune {

void Network::add(std::unique_ptr<Layer> layer) {
  if (built_) throw Error("cannot add a layer to a network that is already built");
  layers_.push_back(std::move(layer));
}

void Network::build(const Shape& input_sample_shape, Rng& rng) {
  if (layers_.empty()) throw Error("the network has no layers: add at least one layer (e.g. dense)");
  input_shape_ = input_sample_shape;
  Shape shape = input_sample_shape;
  int64_t total = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      shape = layers_[i]->build(shape);
    } catch (const Error& e) {
      throw Error("layer " + std::to_string(i + 1) + " (" + layers_[i]->kind() + "): " + e.what());
    }
    for (const ParamBlock& block : layers_[i]->params()) total += block.size;
  }
  // A step mask (an embedding with mask_zero) must only reach layers that honour it. It may reach
  // the output: losses and metrics then score the real steps only (StepRows, src/nn/step_rows.hpp).
  int64_t masked_by = -1;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = *layers_[i];
    if (masked_by >= 0 && !layer.takes_mask())
      throw Error("layer " + std::to_string(i + 1) + " (" + layer.kind() + ") cannot honour the step mask of layer " +
                  std::to_string(masked_by + 1) + " (" + layers_[static_cast<size_t>(masked_by)]->kind() +
                  " with mask_zero: true); put a recurrent layer (rnn, lstm, gru) between them, or set mask_zero: false");
    if (layer.makes_mask())
      masked_by = static_cast<int64_t>(i);
    else if (!layer.keeps_mask())
      masked_by = -1;
  }
  output_masked_by_ = masked_by;
  output_shape_ = shape;
  params_.assign(static_cast<size_t>(total), 0.0f);
  grads_.assign(static_cast<size_t>(total), 0.0f);
  int64_t offset = 0;
  for (auto& layer : layers_) {
    for (ParamBlock& block : layer->params()) {
      block.value = params_.data() + offset;
      block.grad = grads_.data() + offset;
      offset += block.size;
    }
    layer->init_params(rng);
  }
  fused_.assign(layers_.size(), false);
  for (size_t i = 1; i < layers_.size(); ++i)
    if (!fused_[i - 1] && layers_[i]->kind() == "activation") fused_[i] = layers_[i - 1]->absorb_activation(layers_[i]->config());
  for (size_t i = 1; i < layers_.size(); ++i) {
    if (layers_[i]->kind() != "max_pool2d") continue;
    size_t owner = i - 1;
    while (fused_[owner]) --owner;  // past an activation the layer before it applies
    fused_[i] = layers_[owner]->absorb_max_pool(layers_[i]->config());
  }
  activations_.assign(layers_.size(), Tensor());
  grad_buffers_.assign(2, Tensor());
  built_ = true;
}

const Tensor& Network::forward(const Tensor& x, const ForwardContext& ctx) {
  if (!built_) throw Error("network used before build()");
  // Compared in place: sample_shape() would build a vector (a heap allocation every batch).
  const Shape& shape = x.shape();
  if (shape.size() != input_shape_.size() + 1 || !std::equal(input_shape_.begin(), input_shape_.end(), shape.begin() + 1))
    throw Error("input samples have shape " + shape_string(x.sample_shape()) + " but the network expects " +
                shape_string(input_shape_));
  last_input_ = &x;
  return run_layers(x, ctx, layers_.size());
}

const Tensor& Network::run_layers(const Tensor& x, const ForwardContext& ctx, size_t count) {
  const Tensor* in = &x;
  const Tensor* mask = nullptr;  // the step mask of `in`, if an embedding made one
  for (size_t i = 0; i < count; ++i) {
    if (fused_[i]) continue;  // layer i-1 applied it; an element-wise layer keeps the mask
    Layer& layer = *layers_[i];
    if (mask) {
      ForwardContext masked = ctx;
      masked.mask = mask;
      layer.forward(*in, activations_[i], masked);
    } else {
      layer.forward(*in, activations_[i], ctx);
    }
    mask = layer.makes_mask() ? layer.output_mask() : mask && layer.keeps_mask() ? mask : nullptr;
    in = &activations_[i];
  }
  output_mask_ = mask;
  return *in;
}

bool Network::output_step_mask(const Tensor& x, Tensor& mask) {
  if (!built_) throw Error("network used before build()");
  if (output_masked_by_ < 0) return false;
  const Shape& shape = x.shape();
  if (shape.size() != input_shape_.size() + 1 || !std::equal(input_shape_.begin(), input_shape_.end(), shape.begin() + 1))
    throw Error("input samples have shape " + shape_string(x.sample_shape()) + " but the network expects " +
                shape_string(input_shape_));
  run_layers(x, ForwardContext{false, nullptr}, static_cast<size_t>(output_masked_by_) + 1);
  mask = *output_mask_;
  return true;
}

void Network::backward(const Tensor& grad_output) {
  if (!last_input_) throw Error("backward() called before forward()");
  // Layers before the first one with parameters learn nothing, so no gradient needs to reach
  // them: the first trainable layer skips dLoss/dIn (flatten -> dense 784-256 would otherwise
  // pay a batch x 784 x 256 product per step for a gradient nobody reads).
  size_t first_trainable = 0;
  while (first_trainable < layers_.size() && layers_[first_trainable]->params().empty()) ++first_trainable;
  const Tensor* grad = &grad_output;
  size_t buffer = 0;  // alternates, so a layer never writes the gradient it reads
  for (size_t i = layers_.size(); i-- > first_trainable;) {
    if (fused_[i]) continue;  // layer i-1's backward applies its derivative
    const Tensor& in = i == 0 ? *last_input_ : output_of(i - 1);
    Tensor* grad_in = i == first_trainable ? nullptr : &grad_buffers_[buffer];
    buffer ^= 1;
    layers_[i]->backward(in, activations_[i], *grad, grad_in);
    grad = grad_in;
  }
}

const Tensor& Network::output_of(size_t i) const {
  while (fused_[i]) --i;  // fused_[0] is never set: layer 0 has nothing before it
  return activations_[i];
}

double Network::apply_regularization() {
  double penalty = 0.0;
  for (auto& layer : layers_) {
    const Regularizer& reg = layer->regularizer;
    if (!reg.active()) continue;
    for (ParamBlock& block : layer->params()) {
      if (!block.is_weight) continue;
      double l1 = 0.0, l2 = 0.0;
      for (int64_t j = 0; j < block.size; ++j) {
        const float w = block.value[j];
        l1 += std::fabs(w);
        l2 += static_cast<double>(w) * w;
        // d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w  (Keras convention: l2 * sum w^2)
        block.grad[j] += reg.l1 * static_cast<float>((w > 0) - (w < 0)) + 2.0f * reg.l2 * w;
      }
      penalty += reg.l1 * l1 + reg.l2 * l2;
    }
  }
  return penalty;
}

nlohmann::json Network::config() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& layer : layers_) {
    nlohmann::json c = layer->config();
    if (layer->regularizer.l1 != 0.0f) c["l1"] = layer->regularizer.l1;
    if (layer->regularizer.l2 != 0.0f) c["l2"] = layer->regularizer.l2;
    layers.push_back(std::move(c));
  }
  return {{"input_shape", input_shape_}, {"layers", layers}};
}

Network Network::from_config(const nlohmann::json& config, Rng& rng) {
  Network net;
  for (const auto& c : config.at("layers")) {
    nlohmann::json layer_config = c;
    Regularizer reg;
    if (layer_config.contains("l1")) { reg.l1 = layer_config["l1"].get<float>(); layer_config.erase("l1"); }
    if (layer_config.contains("l2")) { reg.l2 = layer_config["l2"].get<float>(); layer_config.erase("l2"); }
    auto layer = make_layer(layer_config);
    layer->regularizer = reg;
    net.add(std::move(layer));
  }
  net.build(config.at("input_shape").get<Shape>(), rng);
  return net;
}

std::vector<float> Network::state() const {
  std::vector<float> all;
  for (const auto& layer : layers_) {
    std::vector<float> s = layer->state();
    all.insert(all.end(), s.begin(), s.end());
  }
  return all;
}

void Network::set_state(const std::vector<float>& state) {
  size_t offset = 0;
  for (auto& layer : layers_) {
    const size_t n = layer->state().size();
    if (offset + n > state.size()) throw Error("saved layer state is shorter than the network needs");
    layer->set_state(std::vector<float>(state.begin() + static_cast<std::ptrdiff_t>(offset),
                                        state.begin() + static_cast<std::ptrdiff_t>(offset + n)));
    offset += n;
  }
  if (offset != state.size()) throw Error("saved layer state is longer than the network needs");
}

}  // namespace nntune
