#pragma once
// The one seam every matrix product goes through, so the kernel can be swapped and measured.
#include <cstdint>
#include <string>

namespace nntune {

enum class GemmBackend { Eigen, OpenBlas };

// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k, op(B) is k x n.
// lda/ldb/ldc are row strides of the stored (untransposed) matrices.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Default: OpenBLAS when built with it (one thread), else Eigen.
GemmBackend gemm_backend();
void set_gemm_backend(GemmBackend backend);  // throws Error if not compiled in
bool gemm_backend_available(GemmBackend backend);
std::string gemm_backend_name(GemmBackend backend);

}  // namespace nntune
