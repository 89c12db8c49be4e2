// fp32 GEMM for AVX-512F, blocked the usual way (Goto / BLIS), as gemm_bf16.cpp but in fp32:
//   for each NC-wide column block of op(B)
//     for each KC-deep slice of k:   pack op(B)'s slice into NR-wide panels (a panel: KC x 32)
//       for each MC-high row block:  pack op(A)'s slice into MR-high panels (a panel: KC x 12)
//         for each NR panel, for each MR panel: a 12 x 32 register tile of fp32 sums
// The kernel broadcasts one A value and multiplies it by two 16-float vectors of B: 24
// accumulators, 24 FMAs per 2 vector loads and 12 broadcasts. Short panels and edges are
// padded with zeros, so the kernel runs full tiles and masks only its stores.
//
// Why it exists: OpenBLAS chooses its kernels by the CPU it recognises, and a release older
// than the CPU (Debian 12's 0.3.21 on the Xeon here) falls back to its generic SSE3 "Prescott"
// kernels, about 10x slower; and for products with few columns (a convolution's 32-64
// filters) its packing of A costs about as much as the multiply-adds, which this kernel avoids
// by reading an untransposed A in place. nntune::gemm uses it on every AVX-512 CPU (nn/gemm.cpp).
#include "nn/gemm_fp32.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "nn/gemm_kernel_util.hpp"
#include "nn/simd.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace nntune::detail {
namespace {

constexpr int64_t kMr = 12;    // rows of a register tile
constexpr int64_t kNr = 32;    // columns of a register tile: two zmm of 16 fp32
constexpr int64_t kKc = 384;   // most k per packed slice: a B panel is at most 384 * 128 B = 48 KiB
constexpr int64_t kMc = 240;   // rows per packed A block (multiple of kMr): 240 KiB (L2)
constexpr int64_t kNc = 2048;  // columns per packed B block (multiple of kNr)

thread_local AlignedBuffer<float> t_packed_a;
thread_local AlignedBuffer<float> t_packed_b;

// Packs `free` x `depth` values into panels `width` wide: panel q holds, for each kk, the
// values of free indices q*width .. q*width+width-1 (zero past `free`). Element (f, kk) is at
// src[f * ld + kk] when k_contiguous, else at src[kk * ld + f].
template <int64_t width>
NNTUNE_AVX512_TARGET void pack(const float* src, int64_t ld, bool k_contiguous, int64_t free, int64_t depth,
                               float* out) {
  const int64_t panels = (free + width - 1) / width;
  for (int64_t q = 0; q < panels; ++q) {
    float* panel = out + q * depth * width;
    const int64_t f0 = q * width, count = std::min(width, free - f0);
    if (!k_contiguous) {
      // Free index contiguous in memory: vector copies of each k row.
      for (int64_t kk = 0; kk < depth; ++kk) {
        const float* row = src + kk * ld + f0;
        float* dst = panel + kk * width;
        if constexpr (width == 32) {
          _mm512_store_ps(dst, _mm512_maskz_loadu_ps(first_lanes(count), row));
          _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(first_lanes(count - 16), row + 16));
        } else {
          static_assert(width <= 16, "A panels fit one vector");
          _mm512_mask_storeu_ps(dst, first_lanes(width), _mm512_maskz_loadu_ps(first_lanes(count), row));
        }
      }
    } else {
      // k contiguous: each free index is a row of the source; scatter it down the panel.
      for (int64_t j = 0; j < width; ++j) {
        if (j >= count) {
          for (int64_t kk = 0; kk < depth; ++kk) panel[kk * width + j] = 0.0f;
          continue;
        }
        const float* row = src + (f0 + j) * ld;
        for (int64_t kk = 0; kk < depth; ++kk) panel[kk * width + j] = row[kk];
      }
    }
  }
}

// C tile (rows x cols, at most kMr x 16 * vecs) = alpha * A_panel * B_panel + beta * C.
// A is read in place when its rows are k-contiguous (a_row_stride = lda, a_k_stride = 1), so
// the common untransposed A needs no packing (for a product with few columns, such as a
// convolution's 64 filters, packing A would cost about as much as the multiply-adds): then
// row i starts at a + i * lda. A packed panel holds kMr values per k.
template <int vecs, bool in_place>
NNTUNE_AVX512_TARGET void micro_kernel(int64_t depth, const float* a, int64_t lda, const float* b, float* c,
                                       int64_t ldc, int64_t rows, int64_t cols, float alpha, float beta) {
  __m512 acc[kMr][vecs];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t p = 0; p < depth; ++p) {
    __m512 bv[vecs];
    for (int v = 0; v < vecs; ++v) bv[v] = _mm512_load_ps(b + p * kNr + 16 * v);
    for (int64_t i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(in_place ? a[i * lda + p] : a[p * kMr + i]);
      for (int v = 0; v < vecs; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t i = 0; i < rows; ++i) {
    for (int v = 0; v < vecs; ++v) {
      float* cv = c + i * ldc + 16 * v;
      const __mmask16 mask = first_lanes(cols - 16 * v);
      if (beta == 0.0f) {  // BLAS convention: C is not read
        _mm512_mask_storeu_ps(cv, mask, _mm512_mul_ps(va, acc[i][v]));
      } else {
        const __m512 old = _mm512_maskz_loadu_ps(mask, cv);
        _mm512_mask_storeu_ps(cv, mask, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old)));
      }
    }
  }
}

}  // namespace

bool cpu_has_avx512f() { return simd::cpu_has_avx512(); }

NNTUNE_AVX512_TARGET float fp32_fma_probe(int64_t rounds) {
  __m512 acc[12];
  for (auto& v : acc) v = _mm512_setzero_ps();
  __m512 x = _mm512_set1_ps(1.0f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(x, x, acc[i]);
    asm volatile("" : "+v"(x));
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

NNTUNE_AVX512_TARGET void gemm_fp32_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                           const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                                           float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // C = beta * C
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  // Also per product (not only in fit): the kernel serves inference and other callers too.
  const simd::FlushSubnormals flush;
  const bool a_k_contiguous = !trans_a;
  const bool b_k_contiguous = trans_b;
  // k is cut into equal slices (784 -> 3 x 262, not 384 + 384 + 16): every kernel call then
  // runs a long loop, and its fixed cost (zeroing and storing 24 accumulators) stays small.
  const int64_t slices = (k + kKc - 1) / kKc;
  const int64_t kc_max = (k + slices - 1) / slices;
  float* packed_b = t_packed_b.get(round_up(std::min(n, kNc), kNr) * kc_max);
  float* packed_a = t_packed_a.get(round_up(std::min(m, kMc), kMr) * kc_max);
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const float beta_here = pc == 0 ? beta : 1.0f;
      pack<kNr>(b_k_contiguous ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, b_k_contiguous, nc, kc, packed_b);
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        // Untransposed A is read in place, but for a last panel of fewer than kMr rows (the
        // kernel reads kMr rows): that one is packed with zero rows.
        const float* a_block = a_k_contiguous ? a + ic * lda + pc : a + pc * lda + ic;
        const int64_t full_rows = a_k_contiguous ? mc / kMr * kMr : 0;
        if (mc > full_rows)
          pack<kMr>(a_k_contiguous ? a_block + full_rows * lda : a_block, lda, a_k_contiguous, mc - full_rows, kc,
                    packed_a);
        for (int64_t jr = 0; jr < nc; jr += kNr) {
          const float* b_panel = packed_b + (jr / kNr) * kc * kNr;
          const int64_t cols = std::min(kNr, nc - jr);
          auto* in_place = cols > 16 ? &micro_kernel<2, true> : &micro_kernel<1, true>;
          auto* packed = cols > 16 ? &micro_kernel<2, false> : &micro_kernel<1, false>;
          for (int64_t ir = 0; ir < mc; ir += kMr) {
            float* c_tile = c + (ic + ir) * ldc + jc + jr;
            const int64_t rows = std::min(kMr, mc - ir);
            if (ir < full_rows) {
              in_place(kc, a_block + ir * lda, lda, b_panel, c_tile, ldc, rows, cols, alpha, beta_here);
            } else {
              packed(kc, packed_a + ((ir - full_rows) / kMr) * kc * kMr, 0, b_panel, c_tile, ldc, rows, cols, alpha,
                     beta_here);
            }
          }
        }
      }
    }
  }
}

}  // namespace nntune::detail
