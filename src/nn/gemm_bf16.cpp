// bf16 x bf16 -> fp32 GEMM for AVX512_BF16, blocked the usual way (Goto / BLIS):
//   for each NC-wide column block of op(B)
//     for each KC-deep slice of k:   pack op(B)'s slice into NR-wide bf16 panels
//       for each MC-high row block:  pack op(A)'s slice into MR-high bf16 panels
//         for each NR panel, for each MR panel: an MR x NR register tile of fp32 sums
// vdpbf16ps multiplies pairs of adjacent bf16 values and adds both products into one fp32
// lane, so both packed operands hold "k pairs": a 32-bit word (low half: even k, high half:
// odd k). A panel stores, for each pair, MR words (one per row, broadcast by the kernel); a
// B panel stores NR words (one per column, loaded as vectors). Odd k, short panels and short
// edges are padded with zeros, so the kernel always runs full tiles and masks only its stores.
//
// Every function that touches AVX-512 carries the target attribute, so the project needs no
// extra compiler flags; callers check cpu_has_avx512_bf16() first.
#include "nn/gemm_bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "nn/gemm_kernel_util.hpp"
#include "nn/simd.hpp"

#if defined(__GNUC__) && !defined(__clang__)
// Built without -march=native, GCC 12 flags its own AVX-512 intrinsics (`__m512i __Y = __Y;`,
// an intentionally undefined value) as uninitialised once they inline into target functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define NNTUNE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace nntune::detail {
namespace {

constexpr int64_t kMr = 8;    // rows of a register tile: 8 x 2 zmm accumulators
constexpr int64_t kNr = 32;   // columns of a register tile: two zmm of 16 fp32
constexpr int64_t kKc = 512;  // k values per packed slice (even); a B panel is kKc/2 * 128 B = 32 KiB
constexpr int64_t kMc = 256;  // rows per packed A block (multiple of kMr and 16)
constexpr int64_t kNc = 1024; // columns per packed B block (multiple of kNr)

thread_local AlignedBuffer<uint32_t> t_packed_a;
thread_local AlignedBuffer<uint32_t> t_packed_b;

// Two vectors of 16 fp32 -> 16 words of bf16 pairs (low half from `even`, high from `odd`):
// round both to bf16 (nearest even), then interleave.
NNTUNE_BF16_TARGET inline __m512i pair_words(__m512 even, __m512 odd) {
  alignas(64) static const uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(odd, even);  // [even 0..15 | odd 0..15]
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), halves);
}

// 32 consecutive fp32 along k (masked by `valid`) -> 16 words, already in pair order.
NNTUNE_BF16_TARGET inline __m512i k_run_words(const float* p, int64_t valid) {
  const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(valid), p);
  const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(valid - 16), p + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// In-register transpose of a 16 x 16 block of 32-bit words.
NNTUNE_BF16_TARGET inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // Within each 128-bit lane L, u[4i + j] now holds column 4L + j of rows 4i..4i+3.
  for (int j = 0; j < 4; ++j) {
    const __m512i s0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);
    const __m512i s1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
    r[j] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    r[4 + j] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    r[8 + j] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    r[12 + j] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
}

// Stores the 16 words for free indices 16g..16g+15 at pair p into panels of `width` words.
template <int64_t width>
NNTUNE_BF16_TARGET inline void store_words(uint32_t* out, int64_t pairs, int64_t group, int64_t pair, __m512i words) {
  if constexpr (width >= 16) {
    const int64_t first = group * 16;
    _mm512_store_si512(out + (first / width) * pairs * width + pair * width + first % width, words);
  } else {
    static_assert(width == 8, "A panels are 8 rows high");
    uint32_t* panel = out + 2 * group * pairs * width + pair * width;
    _mm256_store_si256(reinterpret_cast<__m256i*>(panel), _mm512_castsi512_si256(words));
    _mm256_store_si256(reinterpret_cast<__m256i*>(panel + pairs * width), _mm512_extracti64x4_epi64(words, 1));
  }
}

// Packs `free` x `depth` values of a matrix into bf16-pair panels `width` words wide (the
// free index runs along a panel; pairs of k down it). Element (f, kk) is at
// src[f * ld + kk] when k_contiguous, else at src[kk * ld + f]. Padding words are zero.
template <int64_t width>
NNTUNE_BF16_TARGET void pack(const float* src, int64_t ld, bool k_contiguous, int64_t free, int64_t depth, uint32_t* out) {
  const int64_t pairs = (depth + 1) / 2;
  const int64_t groups = round_up(free, std::max<int64_t>(width, 16)) / 16;
  if (k_contiguous) {
    // 16 rows x 32 k values -> 16 x 16 words, transposed so each vector holds one pair.
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t k0 = 0; k0 < depth; k0 += 32) {
        __m512i r[16];
        for (int64_t i = 0; i < 16; ++i) {
          const int64_t f = g * 16 + i;
          r[i] = f < free ? k_run_words(src + f * ld + k0, depth - k0) : _mm512_setzero_si512();
        }
        transpose16(r);
        const int64_t count = std::min<int64_t>(16, pairs - k0 / 2);
        for (int64_t p = 0; p < count; ++p) store_words<width>(out, pairs, g, k0 / 2 + p, r[p]);
      }
    }
  } else {
    // Rows 2p and 2p+1 of the source run along the free index: convert and interleave them.
    for (int64_t p = 0; p < pairs; ++p) {
      const float* even = src + 2 * p * ld;
      const float* odd = even + ld;
      const bool has_odd = 2 * p + 1 < depth;
      for (int64_t g = 0; g < groups; ++g) {
        const __mmask16 mask = first_lanes(free - g * 16);
        const __m512 e = _mm512_maskz_loadu_ps(mask, even + g * 16);
        const __m512 o = has_odd ? _mm512_maskz_loadu_ps(mask, odd + g * 16) : _mm512_setzero_ps();
        store_words<width>(out, pairs, g, p, pair_words(e, o));
      }
    }
  }
}

// C tile (rows x cols, at most kMr x 16 * vecs) = alpha * A_panel * B_panel + beta * C. The
// one-vector variant serves a last panel of at most 16 columns (e.g. a 10-class output layer),
// which would otherwise multiply 16 columns of padding.
template <int vecs>
NNTUNE_BF16_TARGET void micro_kernel(int64_t pairs, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc,
                                     int64_t rows, int64_t cols, float alpha, float beta) {
  __m512 acc[kMr][vecs];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    __m512bh bv[vecs];
    for (int v = 0; v < vecs; ++v) bv[v] = (__m512bh)_mm512_load_si512(b + p * kNr + 16 * v);
    for (int64_t i = 0; i < kMr; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[p * kMr + i]));
      for (int v = 0; v < vecs; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t i = 0; i < rows; ++i) {
    for (int v = 0; v < vecs; ++v) {
      float* cv = c + i * ldc + 16 * v;
      const __mmask16 mask = first_lanes(cols - 16 * v);
      if (beta == 0.0f) {  // BLAS convention: C is not read, so stale NaNs in it do not leak
        _mm512_mask_storeu_ps(cv, mask, _mm512_mul_ps(va, acc[i][v]));
      } else {
        const __m512 old = _mm512_maskz_loadu_ps(mask, cv);
        _mm512_mask_storeu_ps(cv, mask, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old)));
      }
    }
  }
}

}  // namespace

bool cpu_has_avx512_bf16() {
  static const bool supported = simd::cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return supported;
}

NNTUNE_BF16_TARGET float bf16_dot_probe(int64_t rounds) {
  // 12 chains hide the instruction's latency on every CPU measured (4-6 cycles at 1-2 per cycle).
  __m512 acc[12];
  for (auto& v : acc) v = _mm512_setzero_ps();
  __m512bh x = (__m512bh)_mm512_set1_epi32(0x3F803F80);  // (1, 1) in bf16
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], x, x);
    asm volatile("" : "+v"(x));  // x is not a constant the compiler could fold
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

NNTUNE_BF16_TARGET void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                                  int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  // op(A)(i, kk) is a[i*lda + kk] (k contiguous) unless transposed; op(B)(kk, j) is b[kk*ldb + j]
  // (j contiguous) unless transposed.
  const bool a_k_contiguous = !trans_a;
  const bool b_k_contiguous = trans_b;
  const int64_t kc_max = std::min(round_up(std::max<int64_t>(k, 1), 2), kKc);
  uint32_t* packed_b = t_packed_b.get(round_up(std::min(n, kNc), kNr) * kc_max / 2);
  uint32_t* packed_a = t_packed_a.get(round_up(std::min(m, kMc), 16) * kc_max / 2);

  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    for (int64_t pc = 0; pc < k || (k == 0 && pc == 0); pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      const int64_t pairs = (kc + 1) / 2;
      const float beta_here = pc == 0 ? beta : 1.0f;  // later slices add onto the first's result
      pack<kNr>(b_k_contiguous ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, b_k_contiguous, nc, kc, packed_b);
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        pack<kMr>(a_k_contiguous ? a + ic * lda + pc : a + pc * lda + ic, lda, a_k_contiguous, mc, kc, packed_a);
        for (int64_t jr = 0; jr < nc; jr += kNr) {
          const uint32_t* b_panel = packed_b + (jr / kNr) * pairs * kNr;
          const int64_t cols = std::min(kNr, nc - jr);
          auto* kernel = cols > 16 ? &micro_kernel<2> : &micro_kernel<1>;
          for (int64_t ir = 0; ir < mc; ir += kMr) {
            kernel(pairs, packed_a + (ir / kMr) * pairs * kMr, b_panel, c + (ic + ir) * ldc + jc + jr, ldc,
                   std::min(kMr, mc - ir), cols, alpha, beta_here);
          }
        }
      }
      if (k == 0) break;
    }
  }
}

}  // namespace nntune::detail
