#pragma once
// A sequential network: layers chosen at run time over one flat parameter buffer.
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "nntune/layer.hpp"
#include "nntune/tensor.hpp"

namespace nntune {

class Network {
 public:
  Network() = default;
  Network(Network&&) = default;
  Network& operator=(Network&&) = default;

  void add(std::unique_ptr<Layer> layer);
  // Shapes every layer for one input sample, allocates the flat buffers, binds the blocks
  // and initialises the parameters. Throws Error (naming the layer) on impossible shapes.
  // An activation layer right after a layer that can apply it itself (dense, conv2d without an
  // activation) is fused into that layer: one pass over the output instead of two.
  void build(const Shape& input_sample_shape, Rng& rng);
  bool built() const { return built_; }

  // Runs every layer; the returned tensor is owned by the network until the next forward.
  const Tensor& forward(const Tensor& x, const ForwardContext& ctx);
  // The step mask of the last forward()'s output ((batch, steps), 1 = real step), or null: the
  // output is a sequence masked by an embedding with mask_zero upstream. Losses and metrics
  // score only its real steps.
  const Tensor* output_mask() const { return output_mask_; }
  // The step mask forward(x) would give its output, without the whole forward: only the layers up
  // to the one that makes it run (an embedding with mask_zero, usually the first), in evaluation
  // mode. False (mask untouched) when the output is not masked. Overwrites those layers' outputs:
  // not for use between a forward(training) and its backward.
  bool output_step_mask(const Tensor& x, Tensor& mask);
  // After forward(training): fills gradients() from dLoss/dOutput.
  void backward(const Tensor& grad_output);

  std::vector<float>& parameters() { return params_; }
  const std::vector<float>& parameters() const { return params_; }
  std::vector<float>& gradients() { return grads_; }
  int64_t num_params() const { return static_cast<int64_t>(params_.size()); }

  // Adds the L1/L2 penalty gradients of every layer to gradients(); returns the penalty.
  double apply_regularization();

  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // Whether layer i (an activation or max_pool2d layer) is applied by a layer before it (see
  // build()).
  bool fused_into_previous(size_t i) const { return i < fused_.size() && fused_[i]; }
  const Shape& input_shape() const { return input_shape_; }    // one sample
  const Shape& output_shape() const { return output_shape_; }  // one sample

  // Architecture only (layer configs + input shape); weights travel separately.
  nlohmann::json config() const;
  static Network from_config(const nlohmann::json& config, Rng& rng);
  // Non-trainable state of all layers, concatenated in layer order, and back.
  std::vector<float> state() const;
  void set_state(const std::vector<float>& state);

 private:
  // The first `count` layers on x (output_mask_ set to their output's mask); forward() runs all.
  const Tensor& run_layers(const Tensor& x, const ForwardContext& ctx, size_t count);

  std::vector<std::unique_ptr<Layer>> layers_;
  // The tensor that holds layer i's output: its own, or that of the layer it was fused into.
  const Tensor& output_of(size_t i) const;

  std::vector<Tensor> activations_;  // activations_[i] = output of layer i (empty when fused)
  // fused_[i]: layer i (an activation, or a max_pool2d) is applied by the last unfused layer
  // before it (Layer::absorb_activation, absorb_max_pool), so forward and backward skip it.
  std::vector<bool> fused_;
  std::vector<Tensor> grad_buffers_;  // two ping-pong buffers for dLoss/dActivation
  const Tensor* last_input_ = nullptr;
  const Tensor* output_mask_ = nullptr;
  int64_t output_masked_by_ = -1;  // the layer whose step mask reaches the output, or -1
  std::vector<float> params_, grads_;
  Shape input_shape_, output_shape_;
  bool built_ = false;
};

}  // namespace nntune
