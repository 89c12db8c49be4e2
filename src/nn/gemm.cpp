#include "nn/gemm.hpp"

#include <Eigen/Core>
#include <atomic>
#include <mutex>

#include "nntune/error.hpp"

#ifdef NNTUNE_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace nntune {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using ConstMap = Eigen::Map<const RowMatrix, Eigen::Unaligned, Stride>;
using Map = Eigen::Map<RowMatrix, Eigen::Unaligned, Stride>;

#ifdef NNTUNE_WITH_OPENBLAS
std::atomic<GemmBackend> g_backend{GemmBackend::OpenBlas};
#else
std::atomic<GemmBackend> g_backend{GemmBackend::Eigen};
#endif

void eigen_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  Map cm(c, m, n, Stride(ldc));
  ConstMap am(a, trans_a ? k : m, trans_a ? m : k, Stride(lda));
  ConstMap bm(b, trans_b ? n : k, trans_b ? k : n, Stride(ldb));
  if (beta == 0.0f) {
    cm.setZero();
  } else if (beta != 1.0f) {
    cm *= beta;
  }
  if (!trans_a && !trans_b) cm.noalias() += alpha * am * bm;
  else if (trans_a && !trans_b) cm.noalias() += alpha * am.transpose() * bm;
  else if (!trans_a && trans_b) cm.noalias() += alpha * am * bm.transpose();
  else cm.noalias() += alpha * am.transpose() * bm.transpose();
}

#ifdef NNTUNE_WITH_OPENBLAS
void openblas_single_thread() {
  // One training run uses one thread; parallelism goes to whole trials.
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
#endif

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
#ifdef NNTUNE_WITH_OPENBLAS
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::OpenBlas) {
    openblas_single_thread();
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    return;
  }
#endif
  eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

GemmBackend gemm_backend() { return g_backend.load(); }

bool gemm_backend_available(GemmBackend backend) {
#ifdef NNTUNE_WITH_OPENBLAS
  return true;
#else
  return backend == GemmBackend::Eigen;
#endif
}

void set_gemm_backend(GemmBackend backend) {
  if (!gemm_backend_available(backend))
    throw Error("GEMM backend '" + gemm_backend_name(backend) +
                "' is not compiled in; rebuild with -DNNTUNE_BLAS=ON");
  g_backend.store(backend);
}

std::string gemm_backend_name(GemmBackend backend) {
  return backend == GemmBackend::OpenBlas ? "openblas" : "eigen";
}

}  // namespace nntune
