#include "nn/layers/max_pool2d_kernels.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "nn/gemm_kernel_util.hpp"
#include "nn/simd.hpp"

namespace nntune::layers {

MaxPoolGeometry max_pool_geometry(const Window2d& window, const Shape& input_sample_shape) {
  MaxPoolGeometry g;
  g.window = window;
  g.plan = plan_window("max_pool2d", window, input_sample_shape, true);
  g.channels = input_sample_shape[2];
  g.tiles = window.stride.h == window.kernel.h && window.stride.w == window.kernel.w && g.plan.pad_top == 0 &&
            g.plan.pad_left == 0 && g.plan.out_h * window.kernel.h == g.plan.in_h &&
            g.plan.out_w * window.kernel.w == g.plan.in_w;
  return g;
}

namespace {

// The loops of max_pool_forward with each block of 16 channels' maxima and their offsets held
// in two registers across the window (the plain loops keep them in memory and copy the first
// pixel with a memcpy call). Same results: strictly greater wins (false for NaN), ties keep
// the first.
__attribute__((target("avx512f"))) void max_pool_forward_avx512(const MaxPoolGeometry& g, const float* in,
                                                                int64_t count, float* out, int32_t* argmax) {
  const Window2d& window = g.window;
  const WindowPlan& plan = g.plan;
  const int64_t c = g.channels, in_w = plan.in_w, in_h = plan.in_h;
  const int64_t out_sample = g.out_sample(), in_sample = g.in_sample();
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t s = 0; s < count; ++s) {
    const float* image = in + s * in_sample;
    float* o = out + s * out_sample;
    int32_t* a = argmax + s * out_sample;
    for (int64_t oy = 0; oy < plan.out_h; ++oy) {
      const int64_t y0 = oy * window.stride.h - plan.pad_top;
      const int64_t y_begin = std::max<int64_t>(y0, 0), y_end = std::min(y0 + window.kernel.h, in_h);
      for (int64_t ox = 0; ox < plan.out_w; ++ox, o += c, a += c) {
        const int64_t x0 = ox * window.stride.w - plan.pad_left;
        const int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + window.kernel.w, in_w);
        for (int64_t j = 0; j < c; j += 16) {
          const __mmask16 mask = detail::first_lanes(c - j);
          const int32_t start = static_cast<int32_t>((y_begin * in_w + x_begin) * c + j);
          __m512 best = _mm512_maskz_loadu_ps(mask, image + start);
          __m512i where = _mm512_add_epi32(_mm512_set1_epi32(start), lanes);
          for (int64_t iy = y_begin; iy < y_end; ++iy) {
            for (int64_t ix = iy == y_begin ? x_begin + 1 : x_begin; ix < x_end; ++ix) {
              const int32_t offset = static_cast<int32_t>((iy * in_w + ix) * c + j);
              const __m512 v = _mm512_maskz_loadu_ps(mask, image + offset);
              const __mmask16 greater = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
              best = _mm512_mask_mov_ps(best, greater, v);
              where = _mm512_mask_mov_epi32(where, greater, _mm512_add_epi32(_mm512_set1_epi32(offset), lanes));
            }
          }
          _mm512_mask_storeu_ps(o + j, mask, best);
          _mm512_mask_storeu_epi32(a + j, mask, where);
        }
      }
    }
  }
}

}  // namespace

void max_pool_forward(const MaxPoolGeometry& g, const float* in, int64_t count, float* out, int32_t* argmax) {
  if (simd::cpu_has_avx512()) {
    max_pool_forward_avx512(g, in, count, out, argmax);
    return;
  }
  const Window2d& window = g.window;
  const WindowPlan& plan = g.plan;
  const int64_t c = g.channels, in_w = plan.in_w, in_h = plan.in_h;
  const int64_t out_sample = g.out_sample(), in_sample = g.in_sample();
  for (int64_t s = 0; s < count; ++s) {
    const float* image = in + s * in_sample;
    float* o = out + s * out_sample;
    int32_t* a = argmax + s * out_sample;
    for (int64_t oy = 0; oy < plan.out_h; ++oy) {
      const int64_t y0 = oy * window.stride.h - plan.pad_top;
      const int64_t y_begin = std::max<int64_t>(y0, 0), y_end = std::min(y0 + window.kernel.h, in_h);
      for (int64_t ox = 0; ox < plan.out_w; ++ox, o += c, a += c) {
        const int64_t x0 = ox * window.stride.w - plan.pad_left;
        const int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + window.kernel.w, in_w);
        bool first = true;
        for (int64_t iy = y_begin; iy < y_end; ++iy) {
          for (int64_t ix = x_begin; ix < x_end; ++ix) {
            const int32_t offset = static_cast<int32_t>((iy * in_w + ix) * c);
            const float* p = image + offset;
            if (first) {
              std::memcpy(o, p, sizeof(float) * static_cast<size_t>(c));
              for (int64_t j = 0; j < c; ++j) a[j] = offset + static_cast<int32_t>(j);
              first = false;
              continue;
            }
            for (int64_t j = 0; j < c; ++j) {
              // Branch-free, so the compiler vectorises the channel loop.
              const bool greater = p[j] > o[j];
              o[j] = greater ? p[j] : o[j];
              a[j] = greater ? offset + static_cast<int32_t>(j) : a[j];
            }
          }
        }
      }
    }
  }
}

void max_pool_backward(const MaxPoolGeometry& g, const float* grad_out, const int32_t* argmax, int64_t count,
                       float* grad_in) {
  const Window2d& window = g.window;
  const WindowPlan& plan = g.plan;
  const int64_t c = g.channels, in_w = plan.in_w, in_sample = g.in_sample(), out_sample = g.out_sample();
  if (!g.tiles) {
    std::fill(grad_in, grad_in + count * in_sample, 0.0f);
    for (int64_t s = 0; s < count; ++s) {
      float* gin = grad_in + s * in_sample;
      const float* go = grad_out + s * out_sample;
      const int32_t* a = argmax + s * out_sample;
      for (int64_t i = 0; i < out_sample; ++i) gin[a[i]] += go[i];
    }
    return;
  }
  for (int64_t s = 0; s < count; ++s) {
    float* gin = grad_in + s * in_sample;
    const float* go = grad_out + s * out_sample;
    const int32_t* a = argmax + s * out_sample;
    for (int64_t oy = 0; oy < plan.out_h; ++oy) {
      for (int64_t ox = 0; ox < plan.out_w; ++ox, go += c, a += c) {
        for (int64_t iy = oy * window.kernel.h; iy < (oy + 1) * window.kernel.h; ++iy) {
          for (int64_t ix = ox * window.kernel.w; ix < (ox + 1) * window.kernel.w; ++ix) {
            const int32_t offset = static_cast<int32_t>((iy * in_w + ix) * c);
            float* d = gin + offset;
            for (int64_t j = 0; j < c; ++j) d[j] = a[j] == offset + static_cast<int32_t>(j) ? go[j] : 0.0f;
          }
        }
      }
    }
  }
}

}  // namespace nntune::layers
