// The optimiser kernels' bodies, included once per level: by optimizer_kernels.cpp (baseline)
// and by optimizer_kernels_avx2.cpp / _avx512.cpp, which define NNTUNE_SIMD_LEVEL_* first so that
// nn/simd.hpp renames Eigen and the namespace. Eigen's arrays vectorise sqrt (std::sqrt does not,
// for errno) and fuse each rule into one pass over the chunk.
#include "train/optimizer_kernels.hpp"  // (first: it brings nn/simd.hpp's renaming before Eigen)

#include <Eigen/Core>

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

void adagrad(float* w_, float* s_, const float* g_, int64_t n, float rate, float eps) {
  ArrayMap w(w_, n), s(s_, n);
  ConstArrayMap g(g_, n);
  s += g.square();
  w -= rate * g / (s.sqrt() + eps);
}

void rmsprop(float* w_, float* v_, float* buf_, const float* g_, int64_t n, float rate, float rho, float eps,
             float mu) {
  ArrayMap w(w_, n), v(v_, n);
  ConstArrayMap g(g_, n);
  v = rho * v + (1.0f - rho) * g.square();
  if (buf_) {
    ArrayMap buf(buf_, n);
    buf = mu * buf + g / (v.sqrt() + eps);
    w -= rate * buf;
  } else {
    w -= rate * g / (v.sqrt() + eps);
  }
}

void adam(float* w_, float* m_, float* v_, const float* g_, int64_t n, float step, float inv_sqrt_c2, float b1,
          float c1, float b2, float c2, float eps) {
  ArrayMap w(w_, n), m(m_, n), v(v_, n);
  ConstArrayMap g(g_, n);
  m = b1 * m + c1 * g;
  v = b2 * v + c2 * g.square();
  w -= step * m / (v.sqrt() * inv_sqrt_c2 + eps);
}

}  // namespace

const Kernels table = {scale, add_scaled, sgd, adagrad, rmsprop, adam};

}  // namespace nntune::optimizer_kernels::NNTUNE_SIMD_NS
