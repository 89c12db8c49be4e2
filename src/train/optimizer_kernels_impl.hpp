// The optimiser kernels' bodies, included once per level: by optimizer_kernels.cpp (baseline)
// and by optimizer_kernels_avx2.cpp / _avx512.cpp, which define NNTUNE_SIMD_LEVEL_* first so that
// nn/simd.hpp renames Eigen and the namespace. Each rule is one pass over the chunk.
#include "train/optimizer_kernels.hpp"  // (first: it brings nn/simd.hpp's renaming before Eigen)

#include <Eigen/Core>
#include <cmath>

#ifndef NNTUNE_SIMD_NS
#define NNTUNE_SIMD_NS baseline
#endif

namespace nntune::optimizer_kernels::NNTUNE_SIMD_NS {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

void scale(float* w, int64_t n, float factor) { ArrayMap(w, n) *= factor; }

void add_scaled(float* out, const float* g, const float* w, int64_t n, float wd) {
  ArrayMap(out, n) = ConstArrayMap(g, n) + wd * ConstArrayMap(w, n);
}

void sgd(float* w_, float* v_, const float* g_, int64_t n, float rate, float mu, bool nesterov) {
  ArrayMap w(w_, n);
  ConstArrayMap g(g_, n);
  if (!v_) {
    w -= rate * g;
    return;
  }
  ArrayMap v(v_, n);
  v = mu * v + g;
  if (nesterov)
    w -= rate * (g + mu * v);
  else
    w -= rate * v;
}

// The rules with a square root are plain loops that the compiler vectorises (-fno-math-errno,
// cmake/nntune_portable.cmake): every element, in the vector body or the scalar remainder, gets
// the correctly rounded sqrt. Eigen's packet sqrt (EIGEN_FAST_MATH) is an approximation that its
// scalar head does not share, so results depended on the buffers' alignment.
void adagrad(float* __restrict w, float* __restrict s, const float* __restrict g, int64_t n, float rate, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float si = s[i] + g[i] * g[i];
    s[i] = si;
    w[i] -= rate * g[i] / (std::sqrt(si) + eps);
  }
}

void rmsprop(float* __restrict w, float* __restrict v, float* __restrict buf, const float* __restrict g, int64_t n,
             float rate, float rho, float eps, float mu) {
  for (int64_t i = 0; i < n; ++i) {
    const float vi = rho * v[i] + (1.0f - rho) * (g[i] * g[i]);
    v[i] = vi;
    if (buf) {
      const float bi = mu * buf[i] + g[i] / (std::sqrt(vi) + eps);
      buf[i] = bi;
      w[i] -= rate * bi;
    } else {
      w[i] -= rate * g[i] / (std::sqrt(vi) + eps);
    }
  }
}

void adam(float* __restrict w, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t n,
          float step, float inv_sqrt_c2, float b1, float c1, float b2, float c2, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float mi = b1 * m[i] + c1 * g[i];
    const float vi = b2 * v[i] + c2 * (g[i] * g[i]);
    m[i] = mi;
    v[i] = vi;
    w[i] -= step * mi / (std::sqrt(vi) * inv_sqrt_c2 + eps);
  }
}

}  // namespace

const Kernels table = {scale, add_scaled, sgd, adagrad, rmsprop, adam};

}  // namespace nntune::optimizer_kernels::NNTUNE_SIMD_NS
