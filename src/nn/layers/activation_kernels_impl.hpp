// The activation kernels' bodies, included once per level: by activation_kernels.cpp
// (baseline) and by activation_kernels_avx2.cpp / _avx512.cpp, which define NNTUNE_SIMD_LEVEL_*
// first so that nn/simd.hpp renames Eigen and the namespace (see there).
#include "nn/layers/activation_kernels.hpp"  // (first: it brings nn/simd.hpp's renaming before Eigen)

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#ifndef NNTUNE_SIMD_NS
#define NNTUNE_SIMD_NS baseline
#endif

namespace nntune::layers::NNTUNE_SIMD_NS {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// Calls body(pre, out) for every row, where pre is z (+ bias) as an Eigen expression, so the
// bias add is fused into the activation's single pass over the row.
template <typename Body>
void for_each_row(const float* z, const float* bias, float* y, int64_t rows, int64_t cols, Body&& body) {
  for (int64_t r = 0; r < rows; ++r) {
    ConstArrayMap zr(z + r * cols, cols);
    ArrayMap yr(y + r * cols, cols);
    if (bias) {
      body(zr + ConstArrayMap(bias, cols), yr);
    } else {
      body(zr, yr);
    }
  }
}

// ReLU on whole matrices with plain loops: convolutions call these with a few filters per row
// and ~10^5 rows, where a per-row Eigen expression costs more than its arithmetic.
void relu_forward(const float* z, const float* bias, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* zr = z + r * cols;
    float* yr = y + r * cols;
    if (bias) {
      for (int64_t c = 0; c < cols; ++c) yr[c] = std::max(zr[c] + bias[c], 0.0f);
    } else {
      for (int64_t c = 0; c < cols; ++c) yr[c] = std::max(zr[c], 0.0f);
    }
  }
}

void relu_backward(const float* y, const float* dy, float* dz, float* bias_grad, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dzr = dz + r * cols;
    if (bias_grad) {
      for (int64_t c = 0; c < cols; ++c) {
        const float v = yr[c] > 0.0f ? dyr[c] : 0.0f;
        dzr[c] = v;
        bias_grad[c] += v;
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) dzr[c] = yr[c] > 0.0f ? dyr[c] : 0.0f;
    }
  }
}

void forward(const Activation& act, const float* z, const float* bias, float* y, int64_t rows, int64_t cols) {
  switch (act.kind) {
    case ActivationKind::Linear:
      for_each_row(z, bias, y, rows, cols, [](const auto& pre, ArrayMap& out) { out = pre; });
      return;
    case ActivationKind::Relu:
      relu_forward(z, bias, y, rows, cols);
      return;
    case ActivationKind::LeakyRelu: {
      const float slope = act.slope;
      for_each_row(z, bias, y, rows, cols, [slope](const auto& pre, ArrayMap& out) {
        out = pre;
        out = (out > 0.0f).select(out, slope * out);
      });
      return;
    }
    case ActivationKind::Sigmoid:
      // 1 / (1 + exp(-z)): exp overflows to inf for very negative z, giving exactly 0, never NaN.
      for_each_row(z, bias, y, rows, cols,
                   [](const auto& pre, ArrayMap& out) { out = 1.0f / (1.0f + (-pre).exp()); });
      return;
    case ActivationKind::Tanh:
      for_each_row(z, bias, y, rows, cols, [](const auto& pre, ArrayMap& out) { out = pre.tanh(); });
      return;
    case ActivationKind::Elu: {
      const float alpha = act.alpha;
      for_each_row(z, bias, y, rows, cols, [alpha](const auto& pre, ArrayMap& out) {
        out = pre;
        out = (out > 0.0f).select(out, alpha * out.min(0.0f).expm1());
      });
      return;
    }
    case ActivationKind::Gelu:
      // Exact form 0.5 z (1 + erf(z / sqrt 2)), PyTorch's default, not the tanh approximation.
      for_each_row(z, bias, y, rows, cols, [](const auto& pre, ArrayMap& out) {
        out = pre;
        for (Eigen::Index i = 0; i < out.size(); ++i) out[i] = 0.5f * out[i] * (1.0f + std::erf(out[i] * kInvSqrt2));
      });
      return;
    case ActivationKind::Softmax:
      // Shifted by the row maximum so exp never overflows.
      for_each_row(z, bias, y, rows, cols, [](const auto& pre, ArrayMap& out) {
        out = pre;
        out = (out - out.maxCoeff()).exp();
        out /= out.sum();
      });
      return;
  }
}

void backward(const Activation& act, const float* z, const float* y, const float* dy, float* dz, float* bias_grad,
              int64_t rows, int64_t cols) {
  const bool from_output = derivative_from_output(act);
  if (bias_grad) std::fill(bias_grad, bias_grad + cols, 0.0f);
  if (act.kind == ActivationKind::Relu) return relu_backward(y, dy, dz, bias_grad, rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t offset = r * cols;
    ConstArrayMap yr(y + offset, cols);
    ConstArrayMap dyr(dy + offset, cols);
    ArrayMap dzr(dz + offset, cols);
    switch (act.kind) {
      case ActivationKind::Linear:
        if (dz != dy) dzr = dyr;
        break;
      case ActivationKind::Relu:
        dzr = (yr > 0.0f).select(dyr, 0.0f);
        break;
      case ActivationKind::LeakyRelu:
        if (from_output) {
          dzr = (yr > 0.0f).select(dyr, act.slope * dyr);
        } else {
          dzr = (ConstArrayMap(z + offset, cols) > 0.0f).select(dyr, act.slope * dyr);
        }
        break;
      case ActivationKind::Sigmoid:
        dzr = dyr * yr * (1.0f - yr);
        break;
      case ActivationKind::Tanh:
        dzr = dyr * (1.0f - yr.square());
        break;
      case ActivationKind::Elu:
        if (from_output) {
          dzr = (yr > 0.0f).select(dyr, dyr * (yr + act.alpha));
        } else {
          ConstArrayMap zr(z + offset, cols);
          dzr = (zr > 0.0f).select(dyr, dyr * act.alpha * zr.min(0.0f).exp());
        }
        break;
      case ActivationKind::Gelu:
        // d/dz [z Phi(z)] = Phi(z) + z phi(z)
        for (int64_t i = 0; i < cols; ++i) {
          const float zi = z[offset + i];
          const float cdf = 0.5f * (1.0f + std::erf(zi * kInvSqrt2));
          const float pdf = kInvSqrt2Pi * std::exp(-0.5f * zi * zi);
          dzr[i] = dyr[i] * (cdf + zi * pdf);
        }
        break;
      case ActivationKind::Softmax: {
        // Jacobian-vector product: dz = y * (dy - <dy, y>)
        const float dot = (dyr * yr).sum();
        dzr = yr * (dyr - dot);
        break;
      }
    }
    if (bias_grad) ArrayMap(bias_grad, cols) += dzr;
  }
}

void column_sums(const float* m, int64_t rows, int64_t cols, float* sums) {
  ArrayMap total(sums, cols);
  total.setZero();
  for (int64_t r = 0; r < rows; ++r) total += ConstArrayMap(m + r * cols, cols);
}

// A 32-bit integer hash with low bias (Wellons' "lowbias32": two multiply-xorshift rounds,
// a bijection); plain uint32 arithmetic, so the loop below vectorises.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

void dropout(const float* x, float* y, int64_t size, const DropoutKey& key) {
  // Value i is kept when its hash is at least drop_below: the hash of the counter i, keyed twice.
  for (int64_t block = 0; block < size; block += kDropoutBlock) {
    const int64_t count = std::min(kDropoutBlock, size - block);
    // Locals: a store to y could otherwise alias the key's fields and stop the vectorisation.
    const uint32_t k0 = key.block_key(block, 0), k1 = key.block_key(block, 1), drop_below = key.drop_below;
    const float keep_scale = key.keep_scale;
    const float* xb = x + block;
    float* yb = y + block;
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t bits = mix32(mix32(static_cast<uint32_t>(i) ^ k0) ^ k1);
      yb[i] = bits < drop_below ? 0.0f : xb[i] * keep_scale;
    }
  }
}

}  // namespace

const ActivationKernels table = {forward, backward, column_sums, dropout};

}  // namespace nntune::layers::NNTUNE_SIMD_NS
