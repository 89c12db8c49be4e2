// Direct AVX-512 kernels for shallow convolutions (conv_direct.hpp).
//
// Each image is first copied into a zero-padded buffer big enough for every window, so the
// loops have no bounds checks: the value under tap t = (ky, kx, c) of output pixel (oy, ox)
// is padded[(oy*sh + ky*dh) * pw + ox*sw + kx*dw, c], i.e. the pixel's top-left corner plus
// a fixed offset per tap.
//
// Forward: a tile of P output pixels of one row times up to 64 filters (V vectors of 16) in
// P*V accumulators, started at the bias; per tap, V weight vectors and P broadcasts of input
// values. P*V independent sums keep both FMA pipes busy (latency 4).
// Weight gradient: for a block of T taps times V filter vectors, T*V accumulators summed over
// every output pixel of the chunk: per pixel, V vectors of dz and T broadcasts of input values.
#include "nn/conv_direct.hpp"

#include <immintrin.h>

#include <algorithm>

#include "nn/gemm_kernel_util.hpp"
#include "nn/simd.hpp"

// GCC's AVX-512 headers trip these on the set1/undefined idioms (as in the GEMM kernels).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace nntune::detail {
namespace {

constexpr int64_t kVec = 16;
constexpr int64_t kMaxVecs = 4;  // filters per block: 64

struct Padded {
  int64_t h = 0, w = 0;  // rows and columns of one padded image
  int64_t image = 0;     // floats per padded image
};

Padded padded_size(const DirectConvGeometry& g) {
  Padded p;
  p.h = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
  p.w = (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1;
  p.image = p.h * p.w * g.channels;
  return p;
}

// Zero-padded copies of `count` images, and each tap's offset from a window's top-left value.
Padded pad_images(const DirectConvGeometry& g, const float* images, int64_t count, DirectConvScratch& scratch) {
  const Padded p = padded_size(g);
  const int64_t c = g.channels;
  scratch.padded.resize(static_cast<size_t>(count * p.image));
  float* dst = scratch.padded.data();
  for (int64_t s = 0; s < count; ++s) {
    const float* image = images + s * g.in_h * g.in_w * c;
    // Per padded row: zeros left of the image, the image row's run, zeros right of it.
    const int64_t left = std::min(g.pad_left, p.w), run = std::max<int64_t>(0, std::min(g.in_w, p.w - left));
    for (int64_t py = 0; py < p.h; ++py, dst += p.w * c) {
      const int64_t iy = py - g.pad_top;
      if (iy < 0 || iy >= g.in_h) {
        std::fill(dst, dst + p.w * c, 0.0f);
        continue;
      }
      std::fill(dst, dst + left * c, 0.0f);
      const float* src = image + iy * g.in_w * c;
      std::copy(src, src + run * c, dst + left * c);
      std::fill(dst + (left + run) * c, dst + p.w * c, 0.0f);
    }
  }
  scratch.taps.clear();
  for (int64_t ky = 0; ky < g.kernel_h; ++ky)
    for (int64_t kx = 0; kx < g.kernel_w; ++kx)
      for (int64_t ch = 0; ch < c; ++ch)
        scratch.taps.push_back(static_cast<int32_t>((ky * g.dilation_h * p.w + kx * g.dilation_w) * c + ch));
  return p;
}

template <int V, int P>
NNTUNE_AVX512_TARGET void forward_tile(const float* window, int64_t pixel_step, const int32_t* taps, int64_t k,
                                       const float* w, int64_t ldw, const float* bias, bool relu, float* z,
                                       int64_t ldz, int64_t cols) {
  __m512 acc[P][V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    const __m512 b = _mm512_load_ps(bias + kVec * v);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) acc[p][v] = b;
  }
  for (int64_t t = 0; t < k; ++t) {
    __m512 wv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) wv[v] = _mm512_load_ps(w + t * ldw + kVec * v);
    const float* x = window + taps[t];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const __m512 xp = _mm512_set1_ps(x[p * pixel_step]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[p][v] = _mm512_fmadd_ps(xp, wv[v], acc[p][v]);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const __m512 out = relu ? _mm512_max_ps(acc[p][v], zero) : acc[p][v];
      _mm512_mask_storeu_ps(z + p * ldz + kVec * v, first_lanes(cols - kVec * v), out);
    }
  }
}

// One output row's pixels for one block of filters (V vectors; `cols` real filters).
template <int V>
NNTUNE_AVX512_TARGET void forward_row(const float* row, int64_t pixel_step, int64_t out_w, const int32_t* taps,
                                      int64_t k, const float* w, int64_t ldw, const float* bias, bool relu, float* z,
                                      int64_t ldz, int64_t cols) {
  constexpr int P = V <= 2 ? 8 : 6;  // P*V + V + 1 of the 32 vector registers
  int64_t ox = 0;
  for (; ox + P <= out_w; ox += P)
    forward_tile<V, P>(row + ox * pixel_step, pixel_step, taps, k, w, ldw, bias, relu, z + ox * ldz, ldz, cols);
  for (; ox < out_w; ++ox)
    forward_tile<V, 1>(row + ox * pixel_step, pixel_step, taps, k, w, ldw, bias, relu, z + ox * ldz, ldz, cols);
}

template <int V>
NNTUNE_AVX512_TARGET void weight_grad_block(const DirectConvGeometry& g, const Padded& pad, const float* padded,
                                            int64_t count, const int32_t* taps, int64_t tap_count, const float* dz,
                                            int64_t cols, bool accumulate, float* weight_grad) {
  constexpr int T = 24 / V;  // T*V accumulators, V dz vectors and a broadcast
  __m512 acc[T][V];
#pragma GCC unroll 24
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[t][v] = _mm512_setzero_ps();
  __mmask16 masks[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) masks[v] = first_lanes(cols - kVec * v);
  const int64_t pixel_step = g.stride_w * g.channels, row_step = g.stride_h * pad.w * g.channels;
  for (int64_t s = 0; s < count; ++s) {
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const float* window = padded + s * pad.image + oy * row_step;
      for (int64_t ox = 0; ox < g.out_w; ++ox, window += pixel_step, dz += g.filters) {
        __m512 d[V];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) d[v] = _mm512_maskz_loadu_ps(masks[v], dz + kVec * v);
#pragma GCC unroll 24
        for (int t = 0; t < T; ++t) {
          if (t >= tap_count) break;
          const __m512 x = _mm512_set1_ps(window[taps[t]]);
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) acc[t][v] = _mm512_fmadd_ps(x, d[v], acc[t][v]);
        }
      }
    }
  }
#pragma GCC unroll 24
  for (int t = 0; t < T; ++t) {
    if (t >= tap_count) break;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      float* dst = weight_grad + t * g.filters + kVec * v;
      __m512 sum = acc[t][v];
      if (accumulate) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(masks[v], dst));
      _mm512_mask_storeu_ps(dst, masks[v], sum);
    }
  }
}

}  // namespace

bool direct_conv_available() { return simd::cpu_has_avx512(); }

NNTUNE_AVX512_TARGET void direct_conv_forward(const DirectConvGeometry& g, const float* images, int64_t count,
                                              const float* weight, const float* bias, bool relu, float* z,
                                              DirectConvScratch& scratch) {
  if (count <= 0) return;
  const simd::FlushSubnormals flush;  // as the GEMM: subnormal weights would cost microcode assists
  const Padded pad = pad_images(g, images, count, scratch);
  const int64_t k = g.taps(), f = g.filters, ldw = round_up(f, kVec);
  // The weights (and the bias after them) padded to whole vectors, so the tile loads them whole.
  float* w = scratch.weight.get((k + 1) * ldw);
  std::fill(w, w + (k + 1) * ldw, 0.0f);
  for (int64_t t = 0; t < k; ++t) std::copy(weight + t * f, weight + (t + 1) * f, w + t * ldw);
  float* padded_bias = w + k * ldw;
  if (bias) std::copy(bias, bias + f, padded_bias);
  const int64_t pixel_step = g.stride_w * g.channels;
  const int32_t* taps = scratch.taps.data();
  for (int64_t s = 0; s < count; ++s) {
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const float* row = scratch.padded.data() + s * pad.image + oy * g.stride_h * pad.w * g.channels;
      float* z_row = z + (s * g.out_h + oy) * g.out_w * f;
      for (int64_t f0 = 0; f0 < f; f0 += kMaxVecs * kVec) {
        const int64_t cols = std::min(kMaxVecs * kVec, f - f0);
        const float *w0 = w + f0, *b0 = padded_bias + f0;
        switch ((cols + kVec - 1) / kVec) {
          case 1: forward_row<1>(row, pixel_step, g.out_w, taps, k, w0, ldw, b0, relu, z_row + f0, f, cols); break;
          case 2: forward_row<2>(row, pixel_step, g.out_w, taps, k, w0, ldw, b0, relu, z_row + f0, f, cols); break;
          case 3: forward_row<3>(row, pixel_step, g.out_w, taps, k, w0, ldw, b0, relu, z_row + f0, f, cols); break;
          default: forward_row<4>(row, pixel_step, g.out_w, taps, k, w0, ldw, b0, relu, z_row + f0, f, cols); break;
        }
      }
    }
  }
}

NNTUNE_AVX512_TARGET void direct_conv_weight_grad(const DirectConvGeometry& g, const float* images, int64_t count,
                                                  const float* dz, bool accumulate, float* weight_grad,
                                                  DirectConvScratch& scratch) {
  const int64_t k = g.taps(), f = g.filters;
  if (count <= 0) {
    if (!accumulate) std::fill(weight_grad, weight_grad + k * f, 0.0f);
    return;
  }
  const simd::FlushSubnormals flush;
  const Padded pad = pad_images(g, images, count, scratch);
  const float* padded = scratch.padded.data();
  for (int64_t f0 = 0; f0 < f; f0 += kMaxVecs * kVec) {
    const int64_t cols = std::min(kMaxVecs * kVec, f - f0);
    const int vecs = static_cast<int>((cols + kVec - 1) / kVec);
    const int64_t block = 24 / vecs;
    for (int64_t t0 = 0; t0 < k; t0 += block) {
      const int64_t tap_count = std::min(block, k - t0);
      const int32_t* taps = scratch.taps.data() + t0;
      float* dst = weight_grad + t0 * f + f0;
      switch (vecs) {
        case 1: weight_grad_block<1>(g, pad, padded, count, taps, tap_count, dz + f0, cols, accumulate, dst); break;
        case 2: weight_grad_block<2>(g, pad, padded, count, taps, tap_count, dz + f0, cols, accumulate, dst); break;
        case 3: weight_grad_block<3>(g, pad, padded, count, taps, tap_count, dz + f0, cols, accumulate, dst); break;
        default: weight_grad_block<4>(g, pad, padded, count, taps, tap_count, dz + f0, cols, accumulate, dst); break;
      }
    }
  }
}

}  // namespace nntune::detail
