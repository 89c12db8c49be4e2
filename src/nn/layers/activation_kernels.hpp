#pragma once
// Element-wise activations shared by the activation layer and the layers that take one over
// (dense and conv2d fuse bias + activation into their forward pass and the derivative into
// their backward pass; batch_norm applies them to each chunk it normalises).
// Matrices are row-major (rows = samples, cols = features); softmax works along each row.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/simd.hpp"
#include "nntune/tensor.hpp"

namespace nntune::layers {

enum class ActivationKind { Linear, Relu, Sigmoid, Tanh, LeakyRelu, Elu, Gelu, Softmax };

struct Activation {
  ActivationKind kind = ActivationKind::Linear;
  float slope = 0.01f;  // leaky_relu: f(z) = slope * z for z < 0
  float alpha = 1.0f;   // elu: f(z) = alpha * (exp(z) - 1) for z < 0
};

// Names in the order of ActivationKind; throws nothing, the caller validates.
const std::vector<std::string>& activation_kind_names();
std::string activation_name(ActivationKind kind);
bool parse_activation_kind(const std::string& name, ActivationKind& kind);

// Layer::absorb_activation for a layer that applies `applied` to its output (dense, conv2d,
// batch_norm):
// when that is linear and the config is an element-wise activation layer's ({"type":
// "activation", "name": "relu", slope / alpha}), `applied` becomes that function and the answer
// is true; false (nothing changed) for a layer with an activation of its own, for softmax (it
// normalises a row, not each value) and for anything that is not such a config.
bool absorb_elementwise_activation(const nlohmann::json& activation_config, Activation& applied);

// Layer::output_activation() of a layer with an activation of its own (dense, conv2d): the
// declared activation's name, "" when it is linear. Not the one applied: an activation layer
// fused in stays in the network (skipped when run) and answers for itself.
std::string declared_output_activation(const Activation& declared);

// The kernel initialiser of a layer whose output goes through this activation (dense, conv2d)
// when the config names none: he_normal for ReLU-like units, xavier_uniform otherwise.
std::string default_kernel_initializer_name(ActivationKind kind);

// True when f'(z) can be recovered from y = f(z) alone, so the pre-activation need not be kept.
bool derivative_from_output(const Activation& act);

// y = f(z + bias) (bias may be null). y may alias z.
void activation_forward(const Activation& act, const float* z, const float* bias, float* y, int64_t rows,
                        int64_t cols);

// Where a fused layer (dense, conv2d) writes z = in * W: straight into `out` when the
// activation's derivative needs only the output, else into `pre_activation` (resized to
// `shape`), which backward reads. keep_z tells which.
float* pre_activation_buffer(const Activation& act, const Shape& shape, Tensor& out, Tensor& pre_activation, bool& keep_z);

// The end of a fused layer (dense, conv2d) after z = in * W: y = f(z + bias). With keep_z (the
// derivative needs z: !derivative_from_output) the bias is added to z in place first, so z is
// the true pre-activation for backward; otherwise one pass, skipped when there is nothing to do
// (y is z, no bias, linear).
void bias_activation_forward(const Activation& act, float* z, const float* bias, float* y, int64_t rows, int64_t cols,
                             bool keep_z);

// dz = dy * f'(z). z (the pre-activation) may be null when derivative_from_output(act).
// When bias_grad is not null it is overwritten with the column sums of dz (the dense layer's
// bias gradient, computed in the same pass). dz may alias dy.
void activation_backward(const Activation& act, const float* z, const float* y, const float* dy, float* dz,
                         float* bias_grad, int64_t rows, int64_t cols);

// sums[c] = sum over rows of m[r][c].
void column_sums(const float* m, int64_t rows, int64_t cols, float* sums);

// Inverted dropout's mask as a function of a value's position (counter-based, as Philox in
// PyTorch's GPU dropout and JAX): value i of a pass is dropped when a keyed hash of i falls below
// drop_below = rate * 2^32, and kept values are scaled by 1/(1-rate). The layer draws one 64-bit
// seed per forward pass; backward regenerates the same mask from it instead of storing one, and
// the hash vectorises where a sequential generator (mt19937) draws one value at a time.
struct DropoutKey {
  uint64_t seed = 0;
  uint32_t drop_below = 0;
  float keep_scale = 1.0f;
  // The two 32-bit keys of the values [block, block + kDropoutBlock) (splitmix64 of the seed,
  // the block and the round), so no two blocks of one pass share their keys.
  uint32_t block_key(int64_t block, int round) const {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(block >> 32) * 2 + static_cast<uint64_t>(round) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<uint32_t>(z ^ (z >> 31));
  }
};
constexpr int64_t kDropoutBlock = int64_t{1} << 32;  // values per key pair: a 32-bit counter
// y = x * mask (x = the input forward, dLoss/dOut backward: the same key gives the same mask).
// y may alias x.
void dropout_apply(const float* x, float* y, int64_t size, const DropoutKey& key);

// The kernels above as compiled for one instruction set (activation_kernels_impl.hpp);
// the functions above call those of simd::level().
struct ActivationKernels {
  void (*forward)(const Activation&, const float* z, const float* bias, float* y, int64_t rows, int64_t cols);
  void (*backward)(const Activation&, const float* z, const float* y, const float* dy, float* dz, float* bias_grad,
                   int64_t rows, int64_t cols);
  void (*column_sums)(const float* m, int64_t rows, int64_t cols, float* sums);
  void (*dropout)(const float* x, float* y, int64_t size, const DropoutKey& key);
};
const ActivationKernels& activation_kernels(simd::Level level);  // the level must be simd::supported
namespace baseline { extern const ActivationKernels table; }
namespace avx2 { extern const ActivationKernels table; }
namespace avx512 { extern const ActivationKernels table; }

}  // namespace nntune::layers
