// The GEMM seam: the fp32 path, the opt-in bf16 mixed-precision kernel (AVX512_BF16) and the
// per-thread precision switch that fit() sets from TrainConfig::precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "nn/gemm.hpp"
#include "nntune/network.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

#define SKIP_WITHOUT_BF16()                                                                   \
  if (!gemm_precision_available(GemmPrecision::Bf16)) GTEST_SKIP() << "this CPU lacks AVX512_BF16"

// Round to the nearest bfloat16, ties to even (what vcvtne2ps2bf16 does for finite values).
float to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
  float y;
  std::memcpy(&y, &bits, 4);
  return y;
}

struct Problem {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  std::vector<float> a, b, c;

  float op_a(int64_t i, int64_t kk) const { return trans_a ? a[kk * lda + i] : a[i * lda + kk]; }
  float op_b(int64_t kk, int64_t j) const { return trans_b ? b[j * ldb + kk] : b[kk * ldb + j]; }
};

// Stored matrices get a few extra columns (ld > width) so strides are exercised too.
Problem make_problem(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, std::mt19937& rng,
                     bool small_integers = false) {
  Problem p;
  p.trans_a = trans_a;
  p.trans_b = trans_b;
  p.m = m, p.n = n, p.k = k;
  p.lda = (trans_a ? m : k) + 3;
  p.ldb = (trans_b ? k : n) + 5;
  p.ldc = n + 2;
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> integer(-8, 8);
  auto fill = [&](std::vector<float>& v, size_t size) {
    v.resize(size);
    for (float& x : v) x = small_integers ? static_cast<float>(integer(rng)) : real(rng);
  };
  fill(p.a, static_cast<size_t>((trans_a ? k : m) * p.lda));
  fill(p.b, static_cast<size_t>((trans_b ? n : k) * p.ldb));
  fill(p.c, static_cast<size_t>(m * p.ldc));
  return p;
}

void run(Problem& p, float alpha, float beta) {
  gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, alpha, p.a.data(), p.lda, p.b.data(), p.ldb, beta, p.c.data(), p.ldc);
}

// alpha * op(A) * op(B) + beta * C in double, optionally from bf16-rounded operands; also
// sum_k |a||b| per element, the scale of the rounding error.
struct Reference {
  std::vector<double> value, magnitude;
};
Reference reference(const Problem& p, float alpha, float beta, bool round_to_bf16) {
  Reference r;
  r.value.resize(static_cast<size_t>(p.m * p.n));
  r.magnitude.resize(r.value.size());
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      double sum = 0.0, magnitude = 0.0;
      for (int64_t kk = 0; kk < p.k; ++kk) {
        float x = p.op_a(i, kk), y = p.op_b(kk, j);
        if (round_to_bf16) x = to_bf16(x), y = to_bf16(y);
        sum += static_cast<double>(x) * y;
        magnitude += std::abs(static_cast<double>(x) * y);
      }
      const size_t at = static_cast<size_t>(i * p.n + j);
      r.value[at] = alpha * sum + (beta == 0.0f ? 0.0 : beta * static_cast<double>(p.c[i * p.ldc + j]));
      r.magnitude[at] = std::abs(alpha) * magnitude;
    }
  }
  return r;
}

// Checks every element of C against the reference within rel * magnitude (+ a tiny absolute
// slack for beta * C), and that the padding columns of C (ld > n) were not written.
void expect_close(const Problem& before, const Problem& after, const Reference& ref, double rel, const char* what) {
  int64_t failures = 0;
  for (int64_t i = 0; i < after.m; ++i) {
    for (int64_t j = 0; j < after.ldc; ++j) {
      const float got = after.c[i * after.ldc + j];
      if (j >= after.n) {
        if (got != before.c[i * before.ldc + j] && ++failures <= 5)
          ADD_FAILURE() << what << ": padding C(" << i << "," << j << ") was written";
        continue;
      }
      const size_t at = static_cast<size_t>(i * after.n + j);
      const double tolerance = rel * ref.magnitude[at] + 1e-6 * (1.0 + std::abs(ref.value[at]));
      if (!(std::abs(got - ref.value[at]) <= tolerance) && ++failures <= 5)
        ADD_FAILURE() << what << ": C(" << i << "," << j << ") = " << got << ", expected " << ref.value[at]
                      << " within " << tolerance;
    }
  }
  EXPECT_EQ(failures, 0) << what;
}

std::string describe(const Problem& p) {
  return std::string(p.trans_a ? "T" : "N") + (p.trans_b ? "T" : "N") + " m=" + std::to_string(p.m) +
         " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k);
}

// Shapes that hit full tiles, every kind of edge (rows % 8, columns % 32 and % 16, odd k, k
// not a multiple of the 32-value packing chunk), the MLP's shapes, and k / m / n beyond one
// packed block (k > 512, m > 256, n > 1024).
const std::vector<std::array<int64_t, 3>> kShapes = {
    {1, 1, 1},     {3, 5, 7},     {8, 32, 32},  {9, 33, 33},   {17, 16, 2},   {16, 17, 31},
    {31, 47, 65},  {64, 10, 128}, {128, 10, 128}, {37, 100, 3}, {130, 70, 600}, {300, 40, 50},
    {20, 1030, 70}, {5, 3, 1100},
};

// Runs every bf16 product in the bf16 kernel for a scope (by default a product runs there only
// where it is faster on this CPU), so that the kernel itself is what a test checks.
class ForceBf16Kernel {
 public:
  explicit ForceBf16Kernel(Bf16Choice choice = Bf16Choice::Always) : previous_(bf16_choice()) {
    set_bf16_choice(choice);
  }
  ~ForceBf16Kernel() { set_bf16_choice(previous_); }

 private:
  Bf16Choice previous_;
};

class Bf16Gemm : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_BF16();
    force_.emplace();
  }
  void TearDown() override { force_.reset(); }
  std::optional<ForceBf16Kernel> force_;
};

TEST_F(Bf16Gemm, MatchesDoubleProductOfRoundedOperandsForAllTransposes) {
  // With the operands rounded to bf16 exactly as the kernel does, only fp32 summation error
  // remains: a layout or packing mistake would show as an O(1) error.
  std::mt19937 rng(7);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  for (const auto& [m, n, k] : kShapes) {
    for (int t = 0; t < 4; ++t) {
      const Problem before = make_problem(t & 1, t & 2, m, n, k, rng);
      Problem after = before;
      run(after, 0.75f, 0.5f);
      const double fp32_summation = 4.0 * static_cast<double>(k + 2) * std::ldexp(1.0, -24);
      expect_close(before, after, reference(before, 0.75f, 0.5f, true), fp32_summation, describe(before).c_str());
    }
  }
}

TEST_F(Bf16Gemm, ErrorAgainstFullPrecisionIsBoundedByBf16Rounding) {
  // bf16 keeps 8 significant bits, so rounding moves each operand by at most 2^-8 (relative),
  // each product by at most ~2^-7, and |error| <= ~2^-7 * sum_k |a||b|. (Typical errors are
  // far smaller, ~2^-8 * sqrt(k) times the operand scale, as the signs of the errors vary.)
  // The fp32 summation's own error is much smaller.
  std::mt19937 rng(11);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  double worst = 0.0;
  for (const auto& [m, n, k] : kShapes) {
    for (int t = 0; t < 4; ++t) {
      const Problem before = make_problem(t & 1, t & 2, m, n, k, rng);
      Problem after = before;
      run(after, 1.0f, 0.0f);
      const Reference ref = reference(before, 1.0f, 0.0f, false);
      expect_close(before, after, ref, std::ldexp(1.0, -7) * 1.01, describe(before).c_str());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          worst = std::max(worst, std::abs(after.c[i * after.ldc + j] - ref.value[i * n + j]));
    }
  }
  // And it really is reduced precision (a kernel that silently ran fp32 would fail this).
  EXPECT_GT(worst, 1e-4);
}

TEST_F(Bf16Gemm, ExactOnSmallIntegers) {
  // Integers in [-8, 8] are exact in bf16 and every partial sum is an integer below 2^24.
  std::mt19937 rng(3);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  for (const auto& [m, n, k] : kShapes) {
    for (int t = 0; t < 4; ++t) {
      const Problem before = make_problem(t & 1, t & 2, m, n, k, rng, true);
      Problem after = before;
      run(after, 2.0f, -1.0f);
      expect_close(before, after, reference(before, 2.0f, -1.0f, false), 0.0, describe(before).c_str());
    }
  }
}

TEST_F(Bf16Gemm, AlphaBetaSemantics) {
  std::mt19937 rng(5);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  // beta = 0: C is not read, so NaNs in it vanish.
  Problem p = make_problem(false, false, 9, 40, 70, rng, true);
  const Problem before = p;
  for (float& x : p.c) x = std::numeric_limits<float>::quiet_NaN();
  run(p, 1.0f, 0.0f);
  const Reference ref = reference(before, 1.0f, 0.0f, false);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) ASSERT_EQ(p.c[i * p.ldc + j], ref.value[i * p.n + j]) << i << "," << j;
  // beta = 1 accumulates; alpha = 0 leaves beta * C (C itself here).
  Problem q = make_problem(true, true, 11, 35, 600, rng, true);
  Problem q1 = q;
  run(q1, 1.0f, 1.0f);
  expect_close(q, q1, reference(q, 1.0f, 1.0f, false), 0.0, "beta=1");
  Problem q2 = q;
  run(q2, 0.0f, 1.0f);
  EXPECT_EQ(q2.c, q.c);
  // k = 0: C = beta * C.
  Problem empty = make_problem(false, false, 4, 5, 0, rng, true);
  Problem scaled = empty;
  run(scaled, 3.0f, -2.0f);
  for (size_t i = 0; i < empty.c.size(); ++i)
    if (static_cast<int64_t>(i) % empty.ldc < empty.n) {
      EXPECT_EQ(scaled.c[i], -2.0f * empty.c[i]);
    }
}

TEST_F(Bf16Gemm, RoundsToNearestEven) {
  // 1 + 2^-8 lies halfway between the bf16 values 1 and 1 + 2^-7: ties go to the even one (1);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6.
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  const float a[2] = {1.0f + std::ldexp(1.0f, -8), 1.0f + 3.0f * std::ldexp(1.0f, -8)};
  const float b[2] = {1.0f, 0.0f};
  const float b2[2] = {0.0f, 1.0f};
  float c = 0.0f;
  gemm(false, false, 1, 1, 2, 1.0f, a, 2, b, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 1.0f);
  gemm(false, false, 1, 1, 2, 1.0f, a, 2, b2, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 1.0f + std::ldexp(1.0f, -6));
}

TEST(Fp32Gemm, IsTheDefaultAndKeepsFullPrecision) {
  EXPECT_EQ(gemm_precision(), GemmPrecision::Fp32);
  std::mt19937 rng(13);
  for (const auto& [m, n, k] : kShapes) {
    for (int t = 0; t < 4; ++t) {
      const Problem before = make_problem(t & 1, t & 2, m, n, k, rng);
      Problem after = before;
      run(after, 0.75f, 0.5f);
      expect_close(before, after, reference(before, 0.75f, 0.5f, false), 4.0 * (k + 2) * std::ldexp(1.0, -24),
                   describe(before).c_str());
    }
  }
  // 1 + 2^-10 survives fp32 (bf16 would round it to 1).
  const float a = 1.0f + std::ldexp(1.0f, -10), b = 1.0f;
  float c = 0.0f;
  gemm(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, a);
}

// Every fp32 backend, nntune's AVX-512 kernel included (its blocks: 12 x 32 tiles, k slices of
// 256, 240-row and 2048-column blocks), against the double product, with a NaN in C that
// beta = 0 must not read.
TEST(Fp32Gemm, EveryBackendMatchesTheDoubleProduct) {
  const GemmBackend original = gemm_backend();
  std::vector<std::array<int64_t, 3>> shapes = kShapes;
  shapes.push_back({250, 40, 300});  // m > 240, k > 256
  shapes.push_back({13, 2100, 9});   // n > 2048, the k of a 3x3 convolution on one channel
  shapes.push_back({25, 64, 288});
  std::mt19937 rng(17);
  for (GemmBackend backend : {GemmBackend::Eigen, GemmBackend::OpenBlas, GemmBackend::Avx512}) {
    if (!gemm_backend_available(backend)) continue;
    set_gemm_backend(backend);
    for (const auto& [m, n, k] : shapes) {
      for (int t = 0; t < 4; ++t) {
        for (float beta : {0.0f, 0.5f}) {
          Problem before = make_problem(t & 1, t & 2, m, n, k, rng);
          if (beta == 0.0f) before.c[0] = std::numeric_limits<float>::quiet_NaN();
          Problem after = before;
          run(after, 0.75f, beta);
          expect_close(before, after, reference(before, 0.75f, beta, false), 4.0 * (k + 2) * std::ldexp(1.0, -24),
                       (gemm_backend_name(backend) + " " + describe(before)).c_str());
        }
      }
    }
  }
  set_gemm_backend(original);
  EXPECT_EQ(gemm_backend_name(GemmBackend::Avx512), "avx512");
}

#if defined(__x86_64__) || defined(__i386__)
// Subnormal operands (|x| < 2^-126, as a saturated softmax's gradients can hold) cost a
// microcode assist per FMA on Intel cores unless flush-to-zero and denormals-are-zero are set:
// about 150x slower, which made a Fashion-MNIST CNN trial 10x slower than its FLOP count. The
// AVX-512 kernel sets both for the call: the product of a conv2d's shape (196 x 43, k = 1325)
// with B half subnormal must stay within the double product (an absolute error of at most
// FLT_MIN per term), all-subnormal operands must read as zero, and the caller's MXCSR is kept.
TEST(Fp32Gemm, SubnormalOperandsReadAsZeroAndTheCallersMxcsrIsKept) {
  if (!gemm_backend_available(GemmBackend::Avx512)) GTEST_SKIP() << "this CPU lacks AVX-512F";
  const GemmBackend original = gemm_backend();
  set_gemm_backend(GemmBackend::Avx512);
  std::mt19937 rng(23);
  Problem normal = make_problem(false, false, 196, 43, 1325, rng);
  Problem tiny = normal;
  for (size_t i = 0; i < tiny.b.size(); i += 2) tiny.b[i] *= std::numeric_limits<float>::min() / 4;
  for (float beta : {0.0f, 0.5f}) {
    Problem after = tiny;
    run(after, 1.0f, beta);
    expect_close(tiny, after, reference(tiny, 1.0f, beta, false), 4.0 * (tiny.k + 2) * std::ldexp(1.0, -24),
                 "subnormal B");
  }
  // All-subnormal operands: every term flushes to zero, within k * FLT_MIN of the exact value.
  Problem all_tiny = tiny;
  for (float& x : all_tiny.b) x = std::numeric_limits<float>::denorm_min() * 1000.0f;
  run(all_tiny, 1.0f, 0.0f);
  const Reference all_ref = [&] {
    Problem p = tiny;
    for (float& x : p.b) x = std::numeric_limits<float>::denorm_min() * 1000.0f;
    return reference(p, 1.0f, 0.0f, false);
  }();
  // Denormals-are-zero: a subnormal operand reads as exactly 0, so no product ever takes the
  // microcode path that made a CNN trial ~10x slower (each FMA on a subnormal costs ~180x; that
  // speed is measured by bench/conv_gemm_bench --tiny, not here). Without the flush these sums
  // of subnormal products would be small non-zero numbers.
  for (int64_t i = 0; i < all_tiny.m; ++i)
    for (int64_t j = 0; j < all_tiny.n; ++j) {
      ASSERT_NEAR(all_tiny.c[i * all_tiny.ldc + j], all_ref.value[i * all_tiny.n + j],
                  all_tiny.k * static_cast<double>(std::numeric_limits<float>::min()));
      ASSERT_EQ(all_tiny.c[i * all_tiny.ldc + j], 0.0f) << i << "," << j;
    }

  const unsigned caller = _mm_getcsr();
  run(normal, 1.0f, 0.0f);
  run(tiny, 1.0f, 0.0f);
  EXPECT_EQ(_mm_getcsr(), caller) << "the caller's MXCSR (rounding, exception masks, FTZ/DAZ) must be restored";
  // A caller that set FTZ/DAZ itself keeps them.
  _mm_setcsr(caller | 0x8040u);
  run(normal, 1.0f, 0.0f);
  EXPECT_EQ(_mm_getcsr(), caller | 0x8040u);
  _mm_setcsr(caller);
  set_gemm_backend(original);
}
#endif

// 1 x 1 x 1 product of 1 + 2^-10 and 1: fp32 keeps it, bf16 rounds it to 1.
float probe_product() {
  const float a = 1.0f + std::ldexp(1.0f, -10), b = 1.0f;
  float c = 0.0f;
  gemm(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  return c;
}

TEST(GemmPrecision, IsPerThreadAndScoped) {
  SKIP_WITHOUT_BF16();
  const ForceBf16Kernel force;
  // Both threads are alive and have chosen before either multiplies, so a global switch
  // would give both the same answer.
  std::barrier chosen(2);
  float bf16_result = 0.0f, fp32_result = 0.0f;
  GemmPrecision bf16_seen{}, fp32_seen{};
  std::thread bf16_thread([&] {
    const ScopedGemmPrecision scope(GemmPrecision::Bf16);
    chosen.arrive_and_wait();
    bf16_seen = gemm_precision();
    bf16_result = probe_product();
  });
  std::thread fp32_thread([&] {
    set_gemm_precision(GemmPrecision::Fp32);
    chosen.arrive_and_wait();
    fp32_seen = gemm_precision();
    fp32_result = probe_product();
  });
  bf16_thread.join();
  fp32_thread.join();
  EXPECT_EQ(bf16_seen, GemmPrecision::Bf16);
  EXPECT_EQ(fp32_seen, GemmPrecision::Fp32);
  EXPECT_EQ(bf16_result, 1.0f);
  EXPECT_EQ(fp32_result, 1.0f + std::ldexp(1.0f, -10));
  // This thread was never switched; a scope restores what was there before.
  EXPECT_EQ(gemm_precision(), GemmPrecision::Fp32);
  {
    const ScopedGemmPrecision scope(GemmPrecision::Bf16);
    EXPECT_EQ(probe_product(), 1.0f);
  }
  EXPECT_EQ(gemm_precision(), GemmPrecision::Fp32);
  EXPECT_EQ(probe_product(), 1.0f + std::ldexp(1.0f, -10));
}

// ------------------------------------------------ which kernel runs under precision bf16

// The product of `p` computed by the kernel of one precision, forced.
std::vector<float> product_with(Problem p, bool bf16) {
  const ScopedGemmPrecision scope(bf16 ? GemmPrecision::Bf16 : GemmPrecision::Fp32);
  const ForceBf16Kernel force;
  run(p, 1.0f, 0.0f);
  return p.c;
}

TEST(Bf16Choice, PeakRatioIsMeasuredOnceAndDecidesTheRule) {
  SKIP_WITHOUT_BF16();
  const double ratio = gemm_bf16_peak_ratio();
  // One measurement per process: the same value every time (so the rule cannot flip mid-run).
  EXPECT_EQ(gemm_bf16_peak_ratio(), ratio);
  // Any real CPU lies within these (Intel's 2-uop vdpbf16ps: ~0.5; AMD Zen 4: ~2).
  EXPECT_GT(ratio, 0.1);
  EXPECT_LT(ratio, 8.0);
  ASSERT_EQ(bf16_choice(), Bf16Choice::Fastest);
  if (ratio < kBf16MinPeakRatio) {
    // bf16 arithmetic is not faster here, so no product may run in the bf16 kernel.
    for (const auto& [m, n, k] : kShapes)
      for (int t = 0; t < 4; ++t) EXPECT_FALSE(gemm_bf16_chosen(t & 1, t & 2, m, n, k)) << m << "x" << n << "x" << k;
    EXPECT_FALSE(gemm_bf16_chosen(false, false, 4096, 512, 2048));
  } else {
    // bf16 arithmetic is faster here: the shape rule decides, with no timing, so every process
    // on this CPU makes the same choices (a seeded bf16 run is reproducible).
    std::vector<std::array<int64_t, 3>> shapes = kShapes;
    for (const std::array<int64_t, 3>& shape : std::vector<std::array<int64_t, 3>>{
             {7840, 32, 9}, {9, 32, 7840}, {784, 64, 288}, {128, 10, 128}, {128, 128, 10}, {1, 256, 784}, {128, 16, 16},
             {128, 15, 16}, {128, 16, 15}})
      shapes.push_back(shape);
    for (const auto& [m, n, k] : shapes)
      for (int t = 0; t < 4; ++t)
        EXPECT_EQ(gemm_bf16_chosen(t & 1, t & 2, m, n, k), n >= kBf16MinSide && k >= kBf16MinSide)
            << m << "x" << n << "x" << k;
  }
}

TEST(Bf16Choice, EachShapeRunsTheKernelItWasGivenAndKeepsIt) {
  SKIP_WITHOUT_BF16();
  // Each shape timed in both kernels, even where the peak rule alone would pick fp32.
  const ForceBf16Kernel time_shapes(Bf16Choice::TimeEveryShape);
  std::mt19937 rng(23);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  for (const auto& [m, n, k] : std::vector<std::array<int64_t, 3>>{{128, 128, 512}, {31, 47, 65}, {784, 64, 288}}) {
    for (int t = 0; t < 4; ++t) {
      const Problem p = make_problem(t & 1, t & 2, m, n, k, rng);
      const bool chosen = gemm_bf16_chosen(p.trans_a, p.trans_b, m, n, k);
      EXPECT_EQ(gemm_bf16_chosen(p.trans_a, p.trans_b, m, n, k), chosen);  // cached, not re-timed
      reset_gemm_usage();
      Problem got = p;
      run(got, 1.0f, 0.0f);
      const GemmUsage usage = gemm_usage();
      // Bit-identical to the kernel it was given (the two differ: bf16 rounds the operands).
      EXPECT_EQ(got.c, product_with(p, chosen)) << describe(p);
      EXPECT_NE(product_with(p, true), product_with(p, false)) << describe(p);
      EXPECT_EQ(gemm_bf16_chosen(p.trans_a, p.trans_b, m, n, k), chosen);
      EXPECT_EQ(usage.bf16_products, chosen ? 1 : 0);
      EXPECT_EQ(usage.fp32_products, chosen ? 0 : 1);
      EXPECT_EQ(chosen ? usage.bf16_flop : usage.fp32_flop, 2.0 * m * n * k);
    }
  }
}

TEST(Bf16Choice, ThreadsShareTheDecisions) {
  SKIP_WITHOUT_BF16();
  // Two trials training in parallel must agree on every shape (the first to need it decides).
  const ForceBf16Kernel time_shapes(Bf16Choice::TimeEveryShape);
  std::vector<int> seen(2, -1);
  std::barrier start(2);
  auto decide = [&](int i) {
    start.arrive_and_wait();
    seen[static_cast<size_t>(i)] = gemm_bf16_chosen(false, false, 200, 96, 300) ? 1 : 0;
  };
  std::thread first(decide, 0), second(decide, 1);
  first.join();
  second.join();
  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(gemm_bf16_chosen(false, false, 200, 96, 300), seen[0] == 1);
}

TEST(Bf16Choice, AlwaysRunsEveryProductInTheBf16Kernel) {
  SKIP_WITHOUT_BF16();
  const ForceBf16Kernel force;
  EXPECT_EQ(bf16_choice(), Bf16Choice::Always);
  const ScopedGemmPrecision bf16(GemmPrecision::Bf16);
  reset_gemm_usage();
  EXPECT_EQ(probe_product(), 1.0f);  // rounded to bf16
  EXPECT_TRUE(gemm_bf16_chosen(true, true, 3, 4, 5));
  EXPECT_EQ(gemm_usage().bf16_products, 1);
  EXPECT_EQ(gemm_usage().fp32_products, 0);
}

TEST(Bf16Choice, Fp32PrecisionNeverRunsTheBf16Kernel) {
  const ForceBf16Kernel force;  // even with the bf16 kernel forced for bf16 products
  reset_gemm_usage();
  EXPECT_EQ(probe_product(), 1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(gemm_usage().fp32_products, 1);
  EXPECT_EQ(gemm_usage().bf16_products, 0);
  EXPECT_EQ(gemm_usage().fp32_flop, 2.0);
}

TEST(Bf16Choice, UsageIsDescribedForTheUser) {
  GemmUsage none;
  EXPECT_EQ(describe_gemm_usage(none, GemmPrecision::Fp32), "fp32");
  GemmUsage all_bf16;
  all_bf16.bf16_products = 3;
  all_bf16.bf16_flop = 300.0;
  EXPECT_EQ(describe_gemm_usage(all_bf16, GemmPrecision::Bf16), "bf16 (every matrix product; sums in fp32)");
  GemmUsage mixed = all_bf16;
  mixed.fp32_products = 1;
  mixed.fp32_flop = 100.0;
  const std::string text = describe_gemm_usage(mixed, GemmPrecision::Bf16);
  EXPECT_NE(text.find("bf16 for 75% of the multiply-adds (3 of 4 products)"), std::string::npos) << text;
  EXPECT_NE(text.find("fp32 where bf16 is not faster (products with fewer than 16 columns or a depth under 16, "
                      "shallow convolutions)"),
            std::string::npos)
      << text;
  GemmUsage all_fp32;
  all_fp32.fp32_products = 2;
  all_fp32.fp32_flop = 10.0;
  const std::string fp32_text = describe_gemm_usage(all_fp32, GemmPrecision::Bf16);
  EXPECT_EQ(fp32_text.rfind("fp32: bf16 was allowed, but ", 0), 0u) << fp32_text;
  if (gemm_precision_available(GemmPrecision::Bf16) && gemm_bf16_peak_ratio() < kBf16MinPeakRatio) {
    EXPECT_NE(fp32_text.find("x its fp32 FMA rate"), std::string::npos) << fp32_text;
  }
}

TEST(GemmPrecision, NamesAndErrors) {
  EXPECT_EQ(parse_gemm_precision("fp32"), GemmPrecision::Fp32);
  EXPECT_EQ(parse_gemm_precision("bf16"), GemmPrecision::Bf16);
  EXPECT_EQ(gemm_precision_name(GemmPrecision::Bf16), "bf16");
  EXPECT_EQ(gemm_precision_name(GemmPrecision::Fp32), "fp32");
  EXPECT_ERROR_CONTAINS(parse_gemm_precision("fp16"), "fp16", "fp32, bf16, auto");
  EXPECT_TRUE(gemm_precision_available(GemmPrecision::Fp32));
  if (gemm_precision_available(GemmPrecision::Bf16)) {
    EXPECT_EQ(gemm_bf16_unavailable_reason(), "");
    EXPECT_EQ(parse_gemm_precision("auto"), GemmPrecision::Bf16);
  } else {
    EXPECT_EQ(parse_gemm_precision("auto"), GemmPrecision::Fp32);  // runs everywhere
    EXPECT_ERROR_CONTAINS(set_gemm_precision(GemmPrecision::Bf16), "AVX512_BF16", "fp32");
  }
}

// Records the thread's precision while fit() runs.
class PrecisionProbe : public Callback {
 public:
  bool on_batch_end(TrainState&, int64_t, int64_t, double) override {
    seen = gemm_precision();
    return false;
  }
  GemmPrecision seen = GemmPrecision::Fp32;
};

TEST(GemmPrecision, FitUsesTheConfiguredPrecisionOnlyWhileItRuns) {
  SKIP_WITHOUT_BF16();
  Dataset data;
  data.x = Tensor({8, 3});
  data.y = Tensor({8, 1});
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t j = 0; j < 3; ++j) data.x.data()[i * 3 + j] = static_cast<float>((i + j) % 3) - 1.0f;
    data.y.data()[i] = static_cast<float>(i % 2);
  }
  data.num_classes = 2;
  Network net;
  net.add(make_layer({{"type", "dense"}, {"units", 2}}));
  Rng rng(0);
  net.build({3}, rng);
  TrainConfig config;
  config.epochs = 1;
  config.batch_size = 4;
  config.precision = "bf16";
  PrecisionProbe probe;
  const History history = fit(net, data, nullptr, config, {&probe});
  EXPECT_EQ(probe.seen, GemmPrecision::Bf16);
  EXPECT_EQ(gemm_precision(), GemmPrecision::Fp32);
  // The run says which kernel its products really ran in: bf16 only where it is faster here.
  const bool bf16_ran = history.precision_used.rfind("bf16", 0) == 0;
  EXPECT_TRUE(bf16_ran || history.precision_used.rfind("fp32: bf16 was allowed", 0) == 0) << history.precision_used;
  if (gemm_bf16_peak_ratio() < kBf16MinPeakRatio) {
    EXPECT_FALSE(bf16_ran) << history.precision_used;
  }
  {
    const ForceBf16Kernel force;
    EXPECT_EQ(fit(net, data, nullptr, config).precision_used, "bf16 (every matrix product; sums in fp32)");
  }
  config.precision = "fp32";
  EXPECT_EQ(fit(net, data, nullptr, config).precision_used, "fp32");
  config.precision = "fp16";
  EXPECT_ERROR_CONTAINS(fit(net, data, nullptr, config), "precision", "fp16", "fp32, bf16");
  EXPECT_EQ(gemm_precision(), GemmPrecision::Fp32);
}

TEST(GemmPrecision, SpecKeyIsValidatedAndConverted) {
  const std::string spec =
      "data:\n  train: {csv: {path: x.csv, label: y}}\nmodel:\n  hidden: [4]\ntrain:\n  precision: fp16\n";
  EXPECT_ERROR_CONTAINS(parse_spec(spec, "s.yaml"), "s.yaml:6:", "train.precision", "fp32", "bf16");
  EXPECT_EQ(parse_spec(spec, "s.yaml", {"train.precision=fp32"}).train.precision, "fp32");
  EXPECT_EQ(parse_spec(spec, "s.yaml", {"train.precision=fp32"}).train.precision, "fp32");
  if (gemm_precision_available(GemmPrecision::Bf16)) {
    EXPECT_EQ(parse_spec(spec, "s.yaml", {"train.precision=bf16"}).train.precision, "bf16");
  } else {
    EXPECT_ERROR_CONTAINS(parse_spec(spec, "s.yaml", {"train.precision=bf16"}), "train.precision", "AVX512_BF16");
  }
  const std::string no_key = "data:\n  train: {csv: {path: x.csv, label: y}}\nmodel:\n  hidden: [4]\n";
  EXPECT_EQ(parse_spec(no_key, "s.yaml").train.precision, "fp32");
}

}  // namespace
}  // namespace nntune
