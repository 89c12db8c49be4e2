#include "nn/gemm.hpp"

#include <Eigen/Core>
#include <atomic>
#include <mutex>

#include "nn/gemm_bf16.hpp"
#include "nn/gemm_fp32.hpp"
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

GemmBackend default_backend() {
  // nntune's own AVX-512 kernel wherever the CPU has AVX-512F. Measured on the Fashion-MNIST CNN
  // (docs/benchmarks.md): OpenBLAS 0.3.21 does not recognise the Xeon here and falls back to
  // SSE3 kernels (Prescott), ~10x slower; even with its AVX-512 kernels forced
  // (OPENBLAS_CORETYPE=SkylakeX) it runs the convolution products, whose output has only 32-64
  // columns, at a third of this kernel's inference speed (it packs A, which for so few columns
  // costs about as much as the multiply-adds). On the MLP's products the two are within 10%.
  if (detail::cpu_has_avx512f()) return GemmBackend::Avx512;
#ifdef NNTUNE_WITH_OPENBLAS
  return GemmBackend::OpenBlas;
#else
  return GemmBackend::Eigen;
#endif
}

std::atomic<GemmBackend> g_backend{default_backend()};

thread_local GemmPrecision t_precision = GemmPrecision::Fp32;

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
  if (t_precision == GemmPrecision::Bf16) {
    detail::gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#ifdef NNTUNE_WITH_OPENBLAS
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::OpenBlas) {
    openblas_single_thread();
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    return;
  }
#endif
  if (g_backend.load(std::memory_order_relaxed) == GemmBackend::Avx512) {
    detail::gemm_fp32_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

GemmBackend gemm_backend() { return g_backend.load(); }

bool gemm_backend_available(GemmBackend backend) {
  if (backend == GemmBackend::Avx512) return detail::cpu_has_avx512f();
#ifdef NNTUNE_WITH_OPENBLAS
  return true;
#else
  return backend == GemmBackend::Eigen;
#endif
}

std::string openblas_core_name() {
#ifdef NNTUNE_WITH_OPENBLAS
  const char* name = openblas_get_corename();
  return name ? name : "";
#else
  return "";
#endif
}

void set_gemm_backend(GemmBackend backend) {
  if (backend == GemmBackend::Avx512 && !gemm_backend_available(backend))
    throw Error("GEMM backend 'avx512' needs a CPU with AVX-512F, and this CPU does not have it");
  if (!gemm_backend_available(backend))
    throw Error("GEMM backend '" + gemm_backend_name(backend) +
                "' is not compiled in; rebuild with -DNNTUNE_BLAS=ON");
  g_backend.store(backend);
}

std::string gemm_backend_name(GemmBackend backend) {
  switch (backend) {
    case GemmBackend::OpenBlas: return "openblas";
    case GemmBackend::Avx512: return "avx512";
    default: return "eigen";
  }
}

GemmPrecision gemm_precision() { return t_precision; }

std::string gemm_bf16_unavailable_reason() {
  if (detail::cpu_has_avx512_bf16()) return "";
  return "bf16 precision needs a CPU with AVX512_BF16 (e.g. AMD Zen 4, Intel Cooper Lake or Sapphire Rapids), "
         "and this CPU does not have it; use precision fp32";
}

bool gemm_precision_available(GemmPrecision precision) {
  return precision == GemmPrecision::Fp32 || detail::cpu_has_avx512_bf16();
}

void set_gemm_precision(GemmPrecision precision) {
  if (!gemm_precision_available(precision)) throw Error(gemm_bf16_unavailable_reason());
  t_precision = precision;
}

std::string gemm_precision_name(GemmPrecision precision) {
  return precision == GemmPrecision::Bf16 ? "bf16" : "fp32";
}

GemmPrecision parse_gemm_precision(const std::string& name) {
  if (name == "fp32") return GemmPrecision::Fp32;
  if (name == "bf16") return GemmPrecision::Bf16;
  // A spec that runs everywhere: bf16 where this CPU has it, fp32 elsewhere.
  if (name == "auto") return gemm_precision_available(GemmPrecision::Bf16) ? GemmPrecision::Bf16 : GemmPrecision::Fp32;
  throw Error("unknown GEMM precision '" + name + "'; allowed: fp32, bf16, auto");
}

}  // namespace nntune
