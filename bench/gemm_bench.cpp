// GFLOP/s of the GEMM seam, fp32 (the default backend) beside bf16 (AVX512_BF16 kernel), on
// the products of one training step of the MLP 784-256-128-10: forward out = in * W, backward
// dW = in^T * dz and dIn = dz * W^T, at the given batch sizes. One thread.
// Usage: gemm_bench [BATCH...]   (default 32 128 512). Run with OPENBLAS_CORETYPE unset.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "nn/gemm.hpp"

namespace {

struct Shape {
  const char* what;
  bool trans_a, trans_b;
  int64_t m, n, k;
};

// Best of a few timed rounds, each long enough (~50 ms) to swamp the timer.
double gflops(const Shape& s, nntune::GemmPrecision precision) {
  const nntune::ScopedGemmPrecision scope(precision);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (float& x : a) x = real(rng);
  for (float& x : b) x = real(rng);
  const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
  auto once = [&] {
    nntune::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  };
  const double flop = 2.0 * s.m * s.n * s.k;
  const int64_t reps = std::max<int64_t>(1, static_cast<int64_t>(5e9 * 0.05 / flop));  // ~50 ms at 100 GFLOP/s
  once();
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < reps; ++r) once();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flop * reps / seconds / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (!nntune::gemm_precision_available(nntune::GemmPrecision::Bf16)) {
    std::fprintf(stderr, "gemm_bench: this CPU lacks AVX512_BF16\n");
    return 1;
  }
  std::vector<int64_t> batches;
  for (int i = 1; i < argc; ++i) batches.push_back(std::atoll(argv[i]));
  if (batches.empty()) batches = {32, 128, 512};
  std::printf("%-10s %-3s %5s %5s %5s %10s %10s %6s\n", "product", "op", "m", "n", "k", "fp32_GF/s", "bf16_GF/s",
              "ratio");
  for (const int64_t batch : batches) {
    const std::vector<Shape> shapes = {
        {"fwd1", false, false, batch, 256, 784}, {"fwd2", false, false, batch, 128, 256},
        {"fwd3", false, false, batch, 10, 128},  {"dW1", true, false, 784, 256, batch},
        {"dW2", true, false, 256, 128, batch},   {"dW3", true, false, 128, 10, batch},
        {"dIn2", false, true, batch, 256, 128},  {"dIn3", false, true, batch, 128, 10},
    };
    double fp32_ns = 0.0, bf16_ns = 0.0;
    for (const Shape& s : shapes) {
      const double f = gflops(s, nntune::GemmPrecision::Fp32), h = gflops(s, nntune::GemmPrecision::Bf16);
      const double flop = 2.0 * s.m * s.n * s.k;
      fp32_ns += flop / f;
      bf16_ns += flop / h;
      std::printf("%-10s %c%c  %5lld %5lld %5lld %10.1f %10.1f %6.2f\n", s.what, s.trans_a ? 'T' : 'N',
                  s.trans_b ? 'T' : 'N', static_cast<long long>(s.m), static_cast<long long>(s.n),
                  static_cast<long long>(s.k), f, h, h / f);
    }
    std::printf("step@%-5lld all 8 products: fp32 %.1f us, bf16 %.1f us, ratio %.2f\n", static_cast<long long>(batch),
                fp32_ns / 1e3, bf16_ns / 1e3, fp32_ns / bf16_ns);
  }
  return 0;
}
