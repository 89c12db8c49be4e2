#pragma once
// nntune's own fp32 GEMM for AVX-512F (gemm_fp32.cpp), reached through nntune::gemm when the
// backend is GemmBackend::Avx512: the default where OpenBLAS has not recognised an AVX-512 CPU.
#include <cstdint>

namespace nntune::detail {

// True when this CPU (and OS) can run gemm_fp32_avx512: AVX512F/BW/VL/DQ.
bool cpu_has_avx512f();

// Same contract as nntune::gemm (row-major, C = alpha * op(A) * op(B) + beta * C; with beta == 0
// C is not read). Needs cpu_has_avx512f(). Packing buffers are per thread and reused.
void gemm_fp32_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `rounds` x 12 independent 512-bit FMAs on registers (32 FLOP each): timed by the caller, the
// CPU's peak fp32 rate, the yardstick for bf16_dot_probe. Returns a value that depends on them all.
float fp32_fma_probe(int64_t rounds);

}  // namespace nntune::detail
