#pragma once
// Element-wise activations shared by the activation layer and the dense layer (which fuses
// bias + activation into its forward pass and the derivative into its backward pass).
// Matrices are row-major (rows = samples, cols = features); softmax works along each row.
#include <cstdint>
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

// The three kernels above as compiled for one instruction set (activation_kernels_impl.hpp);
// the functions above call those of simd::level().
struct ActivationKernels {
  void (*forward)(const Activation&, const float* z, const float* bias, float* y, int64_t rows, int64_t cols);
  void (*backward)(const Activation&, const float* z, const float* y, const float* dy, float* dz, float* bias_grad,
                   int64_t rows, int64_t cols);
  void (*column_sums)(const float* m, int64_t rows, int64_t cols, float* sums);
};
const ActivationKernels& activation_kernels(simd::Level level);  // the level must be simd::supported
namespace baseline { extern const ActivationKernels table; }
namespace avx2 { extern const ActivationKernels table; }
namespace avx512 { extern const ActivationKernels table; }

}  // namespace nntune::layers
