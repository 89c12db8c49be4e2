// GFLOP/s (per CPU second, fp32, one thread) of the GEMM seam on the products a conv2d layer
// runs per chunk (conv2d.cpp): forward z = col * W (rows x F, depth K), weight gradient
// dW = col^T * dz (K x F, depth rows) and input gradient dcol = dz * W^T (rows x K, depth F),
// beside a large square product as the kernel's peak.
// Usage: conv_gemm_bench [--tiny] [ROWS:K:F ...]  (default: the convolutions of a 28x28x1 CNN with 5x5
// kernels and 53/43/10 filters, one chunk each, as conv2d chunks them). Tightly packed operands.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "nn/gemm.hpp"

namespace {

struct Shape {
  std::string what;
  bool trans_a, trans_b;
  int64_t m, n, k;
};

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Best of 5 rounds of ~50 ms of CPU time each.
double gflops(const Shape& s, float b_scale) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (float& x : a) x = real(rng);
  for (float& x : b) x = b_scale * real(rng);
  const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
  auto once = [&] {
    nntune::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  };
  const double flop = 2.0 * s.m * s.n * s.k;
  const int64_t reps = std::max<int64_t>(1, static_cast<int64_t>(5e9 * 0.05 / flop));
  once();
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {
    const double start = cpu_seconds();
    for (int64_t r = 0; r < reps; ++r) once();
    best = std::max(best, flop * reps / std::max(1e-9, cpu_seconds() - start) / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  // rows = samples per chunk * output pixels; K = kh * kw * channels; F = filters.
  std::vector<std::string> convs = {"10192:25:53", "196:1325:43", "196:1075:10", "6272:1325:43"};
  // --tiny: B's values near 1e-39 (subnormal), as gradients of a saturated softmax can be.
  float b_scale = 1.0f;
  if (argc > 1 && std::string(argv[1]) == "--tiny") {
    b_scale = 1e-39f;
    ++argv;
    --argc;
  }
  if (argc > 1) convs.assign(argv + 1, argv + argc);
  std::vector<Shape> shapes = {{"square", false, false, 512, 512, 512}};
  for (const std::string& conv : convs) {
    long long rows = 0, k = 0, f = 0;
    if (std::sscanf(conv.c_str(), "%lld:%lld:%lld", &rows, &k, &f) != 3) {
      std::fprintf(stderr, "conv_gemm_bench: '%s' is not ROWS:K:F\n", conv.c_str());
      return 2;
    }
    shapes.push_back({conv + " fwd", false, false, rows, f, k});
    shapes.push_back({conv + " dW", true, false, k, f, rows});
    shapes.push_back({conv + " dX", false, true, rows, k, f});
  }
  std::printf("gemm backend %s\n%-20s %-3s %6s %6s %6s %10s\n", nntune::gemm_backend_name(nntune::gemm_backend()).c_str(),
              "product", "op", "m", "n", "k", "GF/cpu-s");
  for (const Shape& s : shapes)
    std::printf("%-20s %c%c  %6lld %6lld %6lld %10.1f\n", s.what.c_str(), s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N',
                static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), gflops(s, b_scale));
  return 0;
}
