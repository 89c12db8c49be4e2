#pragma once
// The one seam every matrix product goes through, so the kernel can be swapped and measured.
#include <cstdint>
#include <string>

namespace nntune {

// Avx512: nntune's own AVX-512F kernel (nn/gemm_fp32.cpp).
enum class GemmBackend { Eigen, OpenBlas, Avx512 };

// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k, op(B) is k x n.
// lda/ldb/ldc are row strides of the stored (untransposed) matrices.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Default: Avx512 on a CPU with AVX-512F (faster than OpenBLAS on convolutions, equal on the
// MLP; docs/benchmarks.md), else OpenBLAS when built with it (one thread), else Eigen.
GemmBackend gemm_backend();
void set_gemm_backend(GemmBackend backend);  // throws Error if not compiled in
bool gemm_backend_available(GemmBackend backend);
std::string gemm_backend_name(GemmBackend backend);  // "eigen", "openblas", "avx512"
// The kernel set OpenBLAS chose for this CPU ("SkylakeX", "Prescott", ...; "" without OpenBLAS).
std::string openblas_core_name();

// Precision of the products on the calling thread. Fp32 (the default) goes to the backend above.
// Bf16 rounds both operands to bfloat16 (round to nearest even) and sums the products in fp32
// with AVX512_BF16 -- the CPU analogue of bf16 autocast: about twice the multiply-adds per
// instruction, at ~3 significant digits per operand. Thread-local so that trials training in
// parallel threads each keep their own choice.
enum class GemmPrecision { Fp32, Bf16 };
GemmPrecision gemm_precision();
void set_gemm_precision(GemmPrecision precision);  // throws Error if this CPU cannot run it
bool gemm_precision_available(GemmPrecision precision);
std::string gemm_precision_name(GemmPrecision precision);  // "fp32", "bf16"
// "fp32" or "bf16"; anything else throws Error naming the allowed values.
GemmPrecision parse_gemm_precision(const std::string& name);
// Why bf16 cannot run here ("" when it can), for messages that point at a config field.
std::string gemm_bf16_unavailable_reason();

// Sets this thread's precision for a scope and restores the previous one on exit.
class ScopedGemmPrecision {
 public:
  explicit ScopedGemmPrecision(GemmPrecision precision) : previous_(gemm_precision()) {
    set_gemm_precision(precision);
  }
  ~ScopedGemmPrecision() { set_gemm_precision(previous_); }
  ScopedGemmPrecision(const ScopedGemmPrecision&) = delete;
  ScopedGemmPrecision& operator=(const ScopedGemmPrecision&) = delete;

 private:
  GemmPrecision previous_;
};

}  // namespace nntune
