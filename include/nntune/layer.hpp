#pragma once
// Layers are objects chosen at run time (mlpack 4 / libtorch style), so a network can be
// built from a YAML spec or a tuning trial. A layer owns no parameter memory: the network
// hands it slices of one flat parameter buffer and one flat gradient buffer, which is the
// only thing optimisers see.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/tensor.hpp"

namespace nntune {

struct ForwardContext {
  bool training = false;  // dropout active, batch-norm uses batch statistics
  Rng* rng = nullptr;     // for dropout masks; required when training
  // Which steps of the input sequences are real (1) or padding (0), shape (batch, steps), or
  // null: every step is real. Set by the network for a layer that takes a mask (takes_mask())
  // from an embedding with mask_zero upstream.
  const Tensor* mask = nullptr;
};

// A block of parameters inside the network's flat buffers.
struct ParamBlock {
  std::string name;        // "weight", "bias", "gamma", "beta"
  int64_t size = 0;
  bool is_weight = false;  // true: L1/L2 penalties apply (weights, not biases or norms)
  float* value = nullptr;  // bound by Network::build
  float* grad = nullptr;
};

// L1/L2 penalties of one layer, added to the loss and to the gradient of its weight blocks.
struct Regularizer {
  float l1 = 0.0f;
  float l2 = 0.0f;
  bool active() const { return l1 != 0.0f || l2 != 0.0f; }
};

// How to fill a parameter block: zeros, constant, normal, uniform, xavier_normal,
// xavier_uniform, he_normal, he_uniform, lecun_normal, orthogonal (the block as a matrix of
// fan_out columns with orthonormal rows or columns; recurrent kernels).
struct Initializer {
  std::string name = "zeros";
  float value = 0.0f;   // constant
  float scale = 0.05f;  // std of normal, half-width of uniform
};
// Throws Error naming the unknown initialiser and the allowed ones.
void initialize(const Initializer& init, float* values, int64_t size, int64_t fan_in, int64_t fan_out,
                Rng& rng);
const std::vector<std::string>& initializer_names();

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;

  // Called once with the shape of one input sample. Declares the parameter blocks in params_
  // and returns the shape of one output sample; throws Error on an impossible shape.
  virtual Shape build(const Shape& input_sample_shape) = 0;
  // Fills the (bound) parameter blocks.
  virtual void init_params(Rng& rng) {}

  // out is resized by the layer; buffers are reused across batches.
  virtual void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) = 0;
  // grad_out = dLoss/dOut. Overwrites the gradient of every parameter block and, when grad_in
  // is not null, writes dLoss/dIn (the first layer passes null to skip that work).
  virtual void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) = 0;

  // Enough to rebuild the layer with make_layer(): {"type": "dense", "units": 10, ...}.
  virtual nlohmann::json config() const = 0;
  // The function the layer applies last ("softmax", "relu", ...; "" for none or not a plain
  // function): the spec refuses a softmax/sigmoid at the end when the loss applies it itself.
  virtual std::string output_activation() const { return ""; }
  // Step masks (sequences with padding): whether the layer can take the mask of its input's
  // steps (ForwardContext::mask) and honour it; whether its output's steps keep that mask
  // (element-wise layers, recurrent layers returning sequences); and, for a layer that makes
  // a mask (an embedding with mask_zero), the mask of the last forward pass's output. The
  // network refuses a mask that reaches a layer that cannot take it, when it is built.
  // Whether the layer reads its samples as sequences (steps, features): the data's scaler then
  // standardises each feature across steps (data.scale_per: auto).
  virtual bool reads_sequences() const { return false; }
  virtual bool takes_mask() const { return false; }
  virtual bool keeps_mask() const { return takes_mask(); }
  virtual bool makes_mask() const { return false; }
  virtual const Tensor* output_mask() const { return nullptr; }

  // Fusion, asked once by Network::build when the next layer is an element-wise activation
  // layer ({"type": "activation", "name": "relu"}, its config()): a layer that returns true
  // applies that function to its own output from then on, while the output is still in cache
  // (dense and conv2d without an activation of their own), and the network skips the activation
  // layer in forward and backward. config() does not change: a saved model lists both layers.
  virtual bool absorb_activation(const nlohmann::json& activation_config) { return false; }
  // The same for a max_pool2d layer ({"type": "max_pool2d", ...}, its config()) after this one
  // (or after the activation layer this one absorbed): a layer that returns true pools each
  // chunk of its output while it is in cache and returns the pooled output (conv2d: the pooled
  // tensor is then what forward writes and what backward's grad_out is). Asked after build().
  virtual bool absorb_max_pool(const nlohmann::json& pool_config) { return false; }

  // Non-trainable state saved with a model (batch-norm running statistics).
  virtual std::vector<float> state() const { return {}; }
  virtual void set_state(const std::vector<float>& state) {}

  std::vector<ParamBlock>& params() { return params_; }
  const std::vector<ParamBlock>& params() const { return params_; }
  Regularizer regularizer;

 protected:
  std::vector<ParamBlock> params_;
};

// Builds a layer from its config ({"type": ..., keys}). The types are those registered under
// src/nn/layers/ (layer_types(); each activation name is also a type: {"type": "relu"}); image
// layers (conv2d, pooling) take samples of shape (height, width, channels).
// Throws Error naming the unknown type or key and the allowed ones.
std::unique_ptr<Layer> make_layer(const nlohmann::json& config);
const std::vector<std::string>& layer_types();
const std::vector<std::string>& activation_names();

}  // namespace nntune
