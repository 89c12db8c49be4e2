#pragma once
// Mixed-precision GEMM: operands rounded to bfloat16 (round to nearest even), products summed in
// fp32 with AVX512_BF16's vdpbf16ps, which does twice the multiply-adds of an fp32 FMA per
// instruction. Reached through nntune::gemm when this thread's precision is bf16 (nn/gemm.hpp).
#include <cstdint>

namespace nntune::detail {

// True when this CPU (and OS) can run gemm_bf16: AVX512F/BW/VL and AVX512_BF16.
bool cpu_has_avx512_bf16();

// Same contract as nntune::gemm (row-major, C = alpha * op(A) * op(B) + beta * C; with beta == 0
// C is not read). Needs cpu_has_avx512_bf16(). Packing buffers are per thread and reused.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `rounds` x 12 independent vdpbf16ps on registers (64 FLOP each, nothing read from memory): timed
// by the caller, the CPU's peak bf16 dot-product rate. Returns a value that depends on them all.
float bf16_dot_probe(int64_t rounds);

}  // namespace nntune::detail
