#pragma once
// The per-element update rules of the optimisers over one chunk of the flat buffers, compiled
// once per vector instruction set (nn/simd.hpp) and chosen at run time. optimizers.cpp holds the
// state and the bookkeeping; these hold the arithmetic.
#include <cstdint>

#include "nn/simd.hpp"

namespace nntune::optimizer_kernels {

struct Kernels {
  // w *= factor (decoupled weight decay).
  void (*scale)(float* w, int64_t n, float factor);
  // out = g + wd * w (the gradient of coupled weight decay).
  void (*add_scaled)(float* out, const float* g, const float* w, int64_t n, float wd);
  // w -= rate * g (v null), or v = mu v + g; w -= rate * v (nesterov: rate * (g + mu v)).
  void (*sgd)(float* w, float* v, const float* g, int64_t n, float rate, float mu, bool nesterov);
  // s += g^2; w -= rate g / (sqrt(s) + eps).
  void (*adagrad)(float* w, float* s, const float* g, int64_t n, float rate, float eps);
  // v = rho v + (1 - rho) g^2; w -= rate g / (sqrt(v) + eps), or through buf with momentum mu.
  void (*rmsprop)(float* w, float* v, float* buf, const float* g, int64_t n, float rate, float rho, float eps,
                  float mu);
  // m = b1 m + c1 g; v = b2 v + c2 g^2; w -= step m / (sqrt(v) inv_sqrt_c2 + eps).
  void (*adam)(float* w, float* m, float* v, const float* g, int64_t n, float step, float inv_sqrt_c2, float b1,
               float c1, float b2, float c2, float eps);
};

// The kernels of one level (which must be simd::supported), or of simd::level().
const Kernels& kernels(simd::Level level);
const Kernels& kernels();

// One definition per level, in optimizer_kernels_impl.hpp.
namespace baseline { extern const Kernels table; }
namespace avx2 { extern const Kernels table; }
namespace avx512 { extern const Kernels table; }

}  // namespace nntune::optimizer_kernels
