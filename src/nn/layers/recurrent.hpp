#pragma once
// What the recurrent layers (rnn.cpp, lstm.cpp, gru.cpp) share: sequences in, the input
// projection of all steps as one GEMM, the step loop with one GEMM of the batch by the
// recurrent kernel per step, backpropagation through time, and their common keys. Each cell
// (its gates and their derivatives) lives in its own file and registers itself there.
//
// Samples are sequences of shape (steps, features); the output is the last step's hidden state
// (units) or, with return_sequences, every step's (steps, units). The initial state is zero.
// bidirectional: a twin layer (same kind and keys, its own weights) runs over the reversed
// steps; step t's output is [forward h_t, reverse h_t] (or their sum), and without
// return_sequences [forward h_{T-1}, reverse h_0]: each direction's final state, as Keras.
//
// Layout. Parameters, with G gates (rnn 1, gru 3, lstm 4) and H units:
//   weight            (features x G*H), out = in * W as in dense (PyTorch's weight_ih transposed)
//   recurrent_weight  (H x G*H)                                     (PyTorch's weight_hh transposed)
//   bias              (G*H)
//   recurrent_bias    (G*H), gru only (where the reset gate applies, a second bias is not redundant)
//   reverse_*         bidirectional only: the same blocks of the reverse twin, after these
// Inside, everything is time-major (step t's batch rows are contiguous), so each step's products
// read and write whole matrices:
//   z  (T*N x G*H): x_t * W for every step in one GEMM, then + h_{t-1} * U per step (the cell
//      adds the bias in its element-wise pass)
//   hs ((T+1)*N x H): hidden states, block 0 the zero initial state, block t+1 = h_t
// Backward: per step, the cell turns dLoss/dh_t into the gradient of its pre-activations (dz);
// dLoss/dh_{t-1} = dz_t * U^T is one GEMM per step; dU = sum_t h_{t-1}^T dz_t and
// dW = x^T dz are each one GEMM over all steps after the loop.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/layers/config_check.hpp"
#include "nntune/layer.hpp"

namespace nntune::layers {

struct RecurrentOptions {
  int64_t units = 0;
  bool return_sequences = false;
  Initializer kernel_init, recurrent_init, bias_init;
  bool bidirectional = false;
  bool merge_sum = false;  // bidirectional: add the directions' states instead of concatenating them
};

// The keys every recurrent layer declares (units, return_sequences, the three initialisers).
std::vector<schema::Field> recurrent_keys();
RecurrentOptions read_recurrent_options(const ConfigReader& reader);
// With layers >= 2, the stack of `layers` layers of `type` the config asks for (dropout between
// them; nn/layers/stack.hpp); null for one layer (the caller builds it).
std::unique_ptr<Layer> stacked_recurrent(const nlohmann::json& config, const ConfigReader& reader,
                                         const std::string& type);
// {"type": type, "units": ..., ...} of the common keys.
nlohmann::json recurrent_config(const std::string& type, const RecurrentOptions& options);

class Recurrent : public Layer {
 public:
  // gates: blocks of H pre-activations per step. separate_recurrent: the cell needs h_{t-1} * U
  // + recurrent_bias apart from the input side (gru), in the buffer r, with its own gradient dr.
  Recurrent(std::string type, int64_t gates, RecurrentOptions options, bool separate_recurrent);

  std::string kind() const override { return type_; }
  // Padded steps (ForwardContext::mask) are skipped: each sequence's real steps run as if the
  // padding were not there (wherever it is), the last-step output is the state after the last
  // real step (the reverse direction's after the first), and with return_sequences the padded
  // steps' outputs are zeros (PyTorch's packed sequences; Keras repeats the previous output).
  bool reads_sequences() const override { return true; }
  bool takes_mask() const override { return true; }
  bool keeps_mask() const override { return options_.return_sequences; }
  Shape build(const Shape& input_sample_shape) override;
  void init_params(Rng& rng) override;
  void forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) override;

 protected:
  // Step t (0-based) over a batch of n. z: this step's n x G*H pre-activations without the bias
  // (x_t * W, plus h_{t-1} * U unless separate_recurrent); the cell adds bias_values() and may
  // overwrite z with whatever its backward needs (the activated gates). r: h_{t-1} * U without
  // recurrent_bias (separate_recurrent only; the cell may overwrite it too). h_prev: h_{t-1}
  // (n x H); h: where h_t goes.
  virtual void step_forward(int64_t t, int64_t n, float* z, float* r, const float* h_prev, float* h) = 0;
  // dh: dLoss/dh_t (n x H; the cell may overwrite it). Writes dz (input-side pre-activations),
  // dr (separate_recurrent only) and, when it returns true, dh_prev: the part of dLoss/dh_{t-1}
  // that does not go through U (then dr * U^T is added to it). Called for t = T-1 down to 0.
  virtual bool step_backward(int64_t t, int64_t n, const float* z, const float* r, const float* h_prev,
                             const float* h, float* dh, float* dz, float* dr, float* dh_prev) = 0;
  // Called at the start of each forward pass: the cell sizes its own per-step buffers.
  virtual void prepare(int64_t steps, int64_t n) {}
  // A layer of the same kind and keys, one direction (bidirectional's reverse half).
  virtual std::unique_ptr<Recurrent> make_twin() const = 0;
  // The options of a twin: this layer's, one direction.
  RecurrentOptions one_direction() const {
    RecurrentOptions o = options_;
    o.bidirectional = false;
    o.merge_sum = false;
    return o;
  }

  int64_t units() const { return options_.units; }
  const RecurrentOptions& options() const { return options_; }
  float* bias_values() { return params_[2].value; }
  float* recurrent_bias_values() { return params_[3].value; }  // separate_recurrent only

  // Whether this layer runs two directions (for a cell's init_params: its own blocks come first).
  bool has_reverse() const { return reverse_ != nullptr; }

 private:
  std::string type_;
  int64_t gates_;
  RecurrentOptions options_;
  bool separate_recurrent_;
  // One direction over in (forward, backward as above); every step's output when all_steps_.
  void forward_one(const Tensor& in, Tensor& out);
  void backward_one(const Tensor& in, const Tensor& grad_out, Tensor* grad_in);
  // The masked pass: the real steps of each sequence moved to its front (both directions then
  // run over whole sequences), the outputs taken at each sequence's own length and put back.
  void forward_masked(const Tensor& in, const Tensor& mask, Tensor& out);
  void backward_masked(const Tensor& in, const Tensor& grad_out, Tensor* grad_in);
  bool sequences_out() const { return options_.return_sequences || all_steps_; }
  // Points the reverse twin's blocks at this layer's trailing blocks (the network binds those).
  void bind_reverse();

  int64_t steps_ = 0, features_ = 0;
  size_t own_params_ = 0;  // this direction's blocks; the reverse twin's follow
  std::unique_ptr<Recurrent> reverse_;
  Tensor forward_out_, reverse_in_, reverse_out_, grad_forward_, grad_reverse_, grad_reverse_in_, reverse_in_grad_;
  // Time-major buffers of the last forward pass (see the top of this file), kept for backward.
  Tensor xt_, z_, r_, hs_;
  Tensor dz_, dr_, dh_, dh_prev_, dxt_, ut_;
  // The masked pass: positions_[i * steps + k] is the original step of sequence i's k-th real
  // step (-1 past its length), lengths_[i] its number of real steps.
  bool all_steps_ = false, masked_pass_ = false;
  std::vector<int64_t> positions_, lengths_;
  Tensor packed_in_, packed_out_, reverse_packed_in_, reverse_packed_out_;
  Tensor packed_grad_, reverse_packed_grad_, packed_in_grad_, reverse_packed_in_grad_;
};

}  // namespace nntune::layers
