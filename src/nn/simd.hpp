#pragma once
// Run-time choice of the vector instruction set for the element-wise kernels, as OpenBLAS does
// for its GEMMs: each kernel file is compiled once per level (foo_kernels_avx2.cpp with -mavx2
// -mfma, foo_kernels_avx512.cpp with -mavx512f ...; see CMakeLists.txt) and the best level this
// CPU runs is picked once. So a library built without -march=native (the installed one) runs on
// any x86-64 and still uses AVX-512 where the CPU has it.
#include <string>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace nntune::simd {

enum class Level { Baseline, Avx2, Avx512 };  // baseline: what the rest of the library is compiled for

// The best level this CPU (and OS) supports, lowered by the environment variable NNTUNE_SIMD
// (baseline, avx2 or avx512) for tests and measurements. Detected once.
Level level();
bool supported(Level level);
std::string name(Level level);
// AVX-512 F, BW, DQ and VL, as every AVX-512 kernel here needs them (the element-wise kernels and
// both GEMM kernels); detected once.
bool cpu_has_avx512();

// Sets flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) on this thread for a scope, and
// puts the caller's MXCSR back afterwards. Why: an operation that reads or produces a subnormal
// (|x| < 1.2e-38) takes a microcode assist on Intel cores (~180x slower: build/conv_gemm_bench
// --tiny). Weight decay can leave weights there (a Fashion-MNIST CNN trial ran ~8x slower than
// its FLOP count with 80% of a conv's weights subnormal, docs/benchmarks.md). Every flushed value
// is below 2^-126 in magnitude. A no-op where there is no MXCSR (not x86).
class FlushSubnormals {
 public:
#if defined(__x86_64__) || defined(__i386__)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtz | kDaz); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }
#else
  FlushSubnormals() = default;
#endif
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
#if defined(__x86_64__) || defined(__i386__)
  static constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;
  unsigned saved_;
#endif
};

}  // namespace nntune::simd

// Inside the per-level kernel files: one namespace per level, and Eigen renamed, so that the
// Eigen templates instantiated there (compiled with other instructions) never merge with the
// baseline ones at link time (a baseline caller could otherwise end up in AVX-512 code).
#if defined(NNTUNE_SIMD_LEVEL_AVX512)
#define NNTUNE_SIMD_NS avx512
#define Eigen nntune_eigen_avx512
#elif defined(NNTUNE_SIMD_LEVEL_AVX2)
#define NNTUNE_SIMD_NS avx2
#define Eigen nntune_eigen_avx2
#endif
