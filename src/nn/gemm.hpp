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
// Bf16 means "bf16 allowed where it is faster; accumulation always fp32": a product runs in the
// AVX512_BF16 kernel (both operands rounded to bfloat16, round to nearest even, products summed
// in fp32 -- the CPU analogue of bf16 autocast, ~3 significant digits per operand) only where
// that kernel is faster than fp32 on this CPU (Bf16Choice below), else in fp32. Thread-local so
// that trials training in parallel threads each keep their own choice.
enum class GemmPrecision { Fp32, Bf16 };
GemmPrecision gemm_precision();
void set_gemm_precision(GemmPrecision precision);  // throws Error if this CPU cannot run it
bool gemm_precision_available(GemmPrecision precision);
std::string gemm_precision_name(GemmPrecision precision);  // "fp32", "bf16"
// "fp32" or "bf16"; anything else throws Error naming the allowed values.
GemmPrecision parse_gemm_precision(const std::string& name);
// Why bf16 cannot run here ("" when it can), for messages that point at a config field.
std::string gemm_bf16_unavailable_reason();

// Which kernel a product runs in under GemmPrecision::Bf16 (process-wide).
// Fastest (the default), a rule that is the same in every run on a CPU, so that a seeded bf16
// run is reproducible: once per process, the peak rates of this CPU's bf16 dot product
// (vdpbf16ps) and its fp32 FMA are measured on register-only loops (~10 ms). The bf16 kernel
// also has to convert and pack both operands where the fp32 kernel reads A in place, so unless
// its arithmetic is clearly faster (>= kBf16MinPeakRatio; Intel's 2-uop vdpbf16ps: 0.5, AMD
// Zen 4: 2.0, far from the line) no product can gain: then every product runs in fp32. Where it
// is faster, a product runs in bf16 when it has at least kBf16MinSide columns (n) and depth (k)
// (bf16_by_rule): measured on Zen 4 (docs/benchmarks.md), those ran 0.98-2.25x as fast in
// bf16 (the large ones 1.6-2x), while narrower or shallower ones gained nothing (0.88-1.05x; the
// conversions outweigh the arithmetic; one 10-deep product of 128 columns 1.5x) and are small. (The rule replaced timing each shape in both kernels:
// a shape near the margin was decided differently by different processes, so the same seeded
// run gave different results.) gemm_usage() says which kernel ran.
// TimeEveryShape: each shape timed once in both kernels on synthetic operands, bf16 kept where
// it is at least 10% faster, even where the peak rule says fp32 (tests, and checking the rule
// on a new CPU: bench/gemm_bench). Always: every product in the bf16 kernel (tests and
// benchmarks of the kernel itself).
enum class Bf16Choice { Fastest, TimeEveryShape, Always };
constexpr double kBf16MinPeakRatio = 1.25;
constexpr int64_t kBf16MinSide = 16;
// Bf16Choice::Fastest's decision for a product with n columns and depth k.
bool bf16_by_rule(int64_t n, int64_t k);
Bf16Choice bf16_choice();
void set_bf16_choice(Bf16Choice choice);  // the per-shape decisions are kept
// Peak FLOP/s of the bf16 dot product over the fp32 FMA on this CPU (measured once; 0 without
// AVX512_BF16).
double gemm_bf16_peak_ratio();
// Whether a product of this shape runs in the bf16 kernel under GemmPrecision::Bf16 (decides
// and caches the choice if it was not made yet).
bool gemm_bf16_chosen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k);

// What the products of the calling thread ran on since reset_gemm_usage(): counts and
// multiply-adds x 2 (FLOP) per kernel precision. fit() reports it in History::precision_used.
struct GemmUsage {
  int64_t bf16_products = 0, fp32_products = 0;
  double bf16_flop = 0.0, fp32_flop = 0.0;
  // What ran between two readings.
  GemmUsage operator-(const GemmUsage& earlier) const {
    return {bf16_products - earlier.bf16_products, fp32_products - earlier.fp32_products, bf16_flop - earlier.bf16_flop,
            fp32_flop - earlier.fp32_flop};
  }
};
GemmUsage gemm_usage();
void reset_gemm_usage();
// Counts a product computed outside gemm() in fp32 (conv2d's direct kernels for shallow
// convolutions) as one fp32 product of `flop` FLOP, so that gemm_usage() covers every product.
void count_fp32_product(double flop);
// A line for the user: which precision the products used and, when bf16 was allowed but fp32
// ran, why. `requested` is the precision the run asked for.
std::string describe_gemm_usage(const GemmUsage& usage, GemmPrecision requested);

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
