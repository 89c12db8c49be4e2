#include "nn/gemm.hpp"

#include <Eigen/Core>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

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

namespace {

// The product in fp32, on the configured backend.
void fp32_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
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

thread_local GemmUsage t_usage;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double measure_peak_ratio() {
  if (!detail::cpu_has_avx512_bf16()) return 0.0;
  // Thread CPU time, so that being descheduled does not count; each probe is ~1-3 ms, the two
  // alternate, and the best of 5 of each is kept (noise only ever slows a probe down).
  constexpr int64_t kRounds = 100000;  // 12 x 100k instructions per probe
  double bf16_best = 1e30, fp32_best = 1e30;
  volatile float sink = 0.0f;
  for (int trial = 0; trial < 5; ++trial) {
    double t = thread_cpu_seconds();
    sink = sink + detail::bf16_dot_probe(kRounds);
    bf16_best = std::min(bf16_best, thread_cpu_seconds() - t);
    t = thread_cpu_seconds();
    sink = sink + detail::fp32_fma_probe(kRounds);
    fp32_best = std::min(fp32_best, thread_cpu_seconds() - t);
  }
  const double bf16_rate = 64.0 / std::max(bf16_best, 1e-9), fp32_rate = 32.0 / std::max(fp32_best, 1e-9);
  return bf16_rate / fp32_rate;
}

std::atomic<Bf16Choice> g_bf16_choice{Bf16Choice::Fastest};

struct ShapeKey {
  bool trans_a, trans_b;
  int64_t m, n, k;
  bool operator<(const ShapeKey& o) const {
    return std::tie(trans_a, trans_b, m, n, k) < std::tie(o.trans_a, o.trans_b, o.m, o.n, o.k);
  }
};

}  // namespace

bool bf16_by_rule(int64_t n, int64_t k) {
  return gemm_bf16_peak_ratio() >= kBf16MinPeakRatio && n >= kBf16MinSide && k >= kBf16MinSide;
}

namespace {

// Per-shape decisions (Bf16Choice::TimeEveryShape), shared by every thread of the process so
// that parallel trials agree.
std::mutex g_shapes_mutex;
std::map<ShapeKey, bool> g_shapes;
std::atomic<uint64_t> g_shapes_generation{0};  // bumped when the decisions are forgotten

void forget_shape_decisions() {
  const std::lock_guard<std::mutex> lock(g_shapes_mutex);
  g_shapes.clear();
  g_shapes_generation.fetch_add(1, std::memory_order_release);
}

// CPU seconds of the fastest of a few runs of one kernel on the given operands.
template <typename Kernel>
double best_seconds(const Kernel& kernel) {
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    const double t = thread_cpu_seconds();
    kernel();
    best = std::min(best, thread_cpu_seconds() - t);
  }
  return best;
}

// Times both kernels on synthetic operands of the shape (alternating, best of 3 after a warm-up
// call each). A very large product is timed on a part of it: rows are independent, so m is cut
// first (to at least a few hundred rows, several packed blocks), then n; both kernels block k the
// same way whatever m and n are.
bool bf16_faster(const ShapeKey& s) {
  constexpr double kFlopBudget = 2e7;  // ~0.1-0.3 ms per run at the kernels' rates
  int64_t m = s.m, n = s.n;
  int64_t k = std::max<int64_t>(s.k, 1);
  if (2.0 * m * n * k > kFlopBudget) m = std::max<int64_t>(256, static_cast<int64_t>(kFlopBudget / (2.0 * n * k)));
  m = std::min(m, s.m);
  if (2.0 * m * n * k > kFlopBudget) n = std::min(n, std::max<int64_t>(256, static_cast<int64_t>(kFlopBudget / (2.0 * m * k))));
  if (2.0 * m * n * k > kFlopBudget) k = std::min(k, std::max<int64_t>(1024, static_cast<int64_t>(kFlopBudget / (2.0 * m * n))));
  std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
  // Values of either sign and varied magnitude (denormals and zeros would not be typical).
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i * 7919 % 201) - 100) * 0.01f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(static_cast<int>(i * 104729 % 199) - 99) * 0.01f;
  const int64_t lda = s.trans_a ? m : k, ldb = s.trans_b ? k : n;
  auto run_bf16 = [&] {
    detail::gemm_bf16(s.trans_a, s.trans_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n);
  };
  auto run_fp32 = [&] {
    fp32_product(s.trans_a, s.trans_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n);
  };
  run_bf16();
  run_fp32();
  double bf16 = 1e30, fp32 = 1e30;
  for (int round = 0; round < 2; ++round) {
    bf16 = std::min(bf16, best_seconds(run_bf16));
    fp32 = std::min(fp32, best_seconds(run_fp32));
  }
  return bf16 * 1.1 < fp32;
}

bool decide_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k) {
  const Bf16Choice choice = g_bf16_choice.load(std::memory_order_relaxed);
  if (choice == Bf16Choice::Always) return true;
  if (choice == Bf16Choice::Fastest) return bf16_by_rule(n, k);
  // A per-thread copy of the decisions avoids the lock on every product.
  thread_local std::map<ShapeKey, bool> local;
  thread_local uint64_t local_generation = 0;
  const uint64_t generation = g_shapes_generation.load(std::memory_order_acquire);
  if (local_generation != generation) local.clear(), local_generation = generation;
  const ShapeKey key{trans_a, trans_b, m, n, k};
  if (const auto it = local.find(key); it != local.end()) return it->second;
  // Timed under the lock: a second thread wanting the same shape waits for the one decision
  // instead of timing it again, and two timings never compete for the core.
  const std::lock_guard<std::mutex> lock(g_shapes_mutex);
  auto it = g_shapes.find(key);
  if (it == g_shapes.end()) it = g_shapes.emplace(key, bf16_faster(key)).first;
  local.emplace(key, it->second);
  return it->second;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (t_precision == GemmPrecision::Bf16 && decide_bf16(trans_a, trans_b, m, n, k)) {
    ++t_usage.bf16_products;
    t_usage.bf16_flop += flop;
    detail::gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  ++t_usage.fp32_products;
  t_usage.fp32_flop += flop;
  fp32_product(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

Bf16Choice bf16_choice() { return g_bf16_choice.load(); }

void set_bf16_choice(Bf16Choice choice) { g_bf16_choice.store(choice); }

double gemm_bf16_peak_ratio() {
  static const double ratio = measure_peak_ratio();
  return ratio;
}

bool gemm_bf16_chosen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k) {
  if (!detail::cpu_has_avx512_bf16()) return false;
  return decide_bf16(trans_a, trans_b, m, n, k);
}

GemmUsage gemm_usage() { return t_usage; }
void reset_gemm_usage() { t_usage = GemmUsage{}; }

void count_fp32_product(double flop) {
  ++t_usage.fp32_products;
  t_usage.fp32_flop += flop;
}

std::string describe_gemm_usage(const GemmUsage& usage, GemmPrecision requested) {
  const double total = usage.bf16_flop + usage.fp32_flop;
  if (requested == GemmPrecision::Fp32) return "fp32";
  if (usage.bf16_products + usage.fp32_products == 0) return "bf16 allowed (no matrix products ran)";
  if (usage.fp32_products == 0) return "bf16 (every matrix product; sums in fp32)";
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2f", gemm_bf16_peak_ratio());
  if (usage.bf16_products == 0) {
    if (gemm_bf16_peak_ratio() < kBf16MinPeakRatio)
      return std::string("fp32: bf16 was allowed, but this CPU's bf16 dot product runs at ") + ratio +
             "x its fp32 FMA rate, so every matrix product ran in fp32";
    return "fp32: bf16 was allowed, but every matrix product of this network has fewer than " +
           std::to_string(kBf16MinSide) + " columns or a depth under " + std::to_string(kBf16MinSide) +
           " or is a shallow convolution, where bf16 is not faster";
  }
  char share[32];
  std::snprintf(share, sizeof share, "%.0f%%", total > 0.0 ? 100.0 * usage.bf16_flop / total : 0.0);
  return std::string("bf16 for ") + share + " of the multiply-adds (" + std::to_string(usage.bf16_products) + " of " +
         std::to_string(usage.bf16_products + usage.fp32_products) +
         " products), fp32 where bf16 is not faster (products with fewer than " + std::to_string(kBf16MinSide) +
         " columns or a depth under " + std::to_string(kBf16MinSide) + ", shallow convolutions); sums in fp32";
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
  // The per-shape bf16 decisions were measured against the previous fp32 backend.
  if (backend != g_backend.exchange(backend)) forget_shape_decisions();
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
