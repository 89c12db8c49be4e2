// GFLOP/s of the GEMM seam, fp32 (the default backend) beside the bf16 kernel (AVX512_BF16,
// forced for every product), per CPU second of this thread, on the products of one training
// step: the MLP 784-256-128-10 at the given batch sizes (forward out = in * W, backward
// dW = in^T * dz and dIn = dz * W^T), or with `cnn` the anchor CNN's at batch 128 (the im2col
// products per chunk), or with `lstm` an LSTM-128 on 28 x 28 sequences at batch 128. The last
// column is the kernel `precision: bf16` picks for the shape on this CPU. One thread.
// Usage: gemm_bench [BATCH... | cnn | lstm]   (default 32 128 512). Run with OPENBLAS_CORETYPE unset.
#include <time.h>

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

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Best of a few timed rounds, each long enough (~50 ms) to swamp the timer.
double gflops(const Shape& s, nntune::GemmPrecision precision) {
  const nntune::ScopedGemmPrecision scope(precision);
  nntune::set_bf16_choice(nntune::Bf16Choice::Always);
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
    const double start = cpu_seconds();
    for (int64_t r = 0; r < reps; ++r) once();
    best = std::max(best, flop * reps / (cpu_seconds() - start) / 1e9);
  }
  nntune::set_bf16_choice(nntune::Bf16Choice::Fastest);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (!nntune::gemm_precision_available(nntune::GemmPrecision::Bf16)) {
    std::fprintf(stderr, "gemm_bench: this CPU lacks AVX512_BF16\n");
    return 1;
  }
  std::vector<std::pair<std::string, std::vector<Shape>>> sets;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "cnn") {
      // conv 3x3 32 on 28x28x1 (chunks of 10 images: 7,840 rows, k = 9; no input gradient),
      // conv 3x3 64 on 14x14x32 (chunks of 4: 784 rows, k = 288), dense 3136-128 and 128-10.
      sets.push_back({"cnn@128",
                      {{"conv1", false, false, 7840, 32, 9},   {"conv1.dW", true, false, 9, 32, 7840},
                       {"conv2", false, false, 784, 64, 288},  {"conv2.dW", true, false, 288, 64, 784},
                       {"conv2.dX", false, true, 784, 288, 64}, {"dense1", false, false, 128, 128, 3136},
                       {"dense1.dW", true, false, 3136, 128, 128}, {"dense1.dX", false, true, 128, 3136, 128},
                       {"dense2", false, false, 128, 10, 128}, {"dense2.dW", true, false, 128, 10, 128},
                       {"dense2.dX", false, true, 128, 128, 10}}});
    } else if (arg == "lstm") {
      // x W for all 28 steps at once, h U per step, dh = dz U^T per step, dU = h^T dz and
      // dW = x^T dz over all steps, dx = dz W^T; the dense 128-10 head.
      sets.push_back({"lstm@128",
                      {{"xW", false, false, 3584, 512, 28},   {"hU.step", false, false, 128, 512, 128},
                       {"dzUt.step", false, false, 128, 128, 512}, {"dU", true, false, 128, 512, 3584},
                       {"dW", true, false, 28, 512, 3584},    {"dx", false, true, 3584, 28, 512}}});
    } else {
      const int64_t batch = std::atoll(argv[i]);
      sets.push_back({"mlp@" + arg,
                      {{"fwd1", false, false, batch, 256, 784}, {"fwd2", false, false, batch, 128, 256},
                       {"fwd3", false, false, batch, 10, 128},  {"dW1", true, false, 784, 256, batch},
                       {"dW2", true, false, 256, 128, batch},   {"dW3", true, false, 128, 10, batch},
                       {"dIn2", false, true, batch, 256, 128},  {"dIn3", false, true, batch, 128, 10}}});
    }
  }
  if (sets.empty()) {
    for (const int64_t batch : {32, 128, 512})
      sets.push_back({"mlp@" + std::to_string(batch),
                      {{"fwd1", false, false, batch, 256, 784}, {"fwd2", false, false, batch, 128, 256},
                       {"fwd3", false, false, batch, 10, 128},  {"dW1", true, false, 784, 256, batch},
                       {"dW2", true, false, 256, 128, batch},   {"dW3", true, false, 128, 10, batch},
                       {"dIn2", false, true, batch, 256, 128},  {"dIn3", false, true, batch, 128, 10}}});
  }
  std::printf("bf16 dot product / fp32 FMA peak on this CPU: %.2f (bf16 is considered from %.2f)\n",
              nntune::gemm_bf16_peak_ratio(), nntune::kBf16MinPeakRatio);
  std::printf("%-10s %-3s %5s %5s %5s %10s %10s %6s %6s\n", "product", "op", "m", "n", "k", "fp32_GF/s", "bf16_GF/s",
              "ratio", "picked");
  for (const auto& [name, shapes] : sets) {
    double fp32_ns = 0.0, bf16_ns = 0.0, picked_ns = 0.0;
    for (const Shape& s : shapes) {
      const double f = gflops(s, nntune::GemmPrecision::Fp32), h = gflops(s, nntune::GemmPrecision::Bf16);
      const bool picked = nntune::gemm_bf16_chosen(s.trans_a, s.trans_b, s.m, s.n, s.k);
      const double flop = 2.0 * s.m * s.n * s.k;
      fp32_ns += flop / f;
      bf16_ns += flop / h;
      picked_ns += flop / (picked ? h : f);
      std::printf("%-10s %c%c  %5lld %5lld %5lld %10.1f %10.1f %6.2f %6s\n", s.what, s.trans_a ? 'T' : 'N',
                  s.trans_b ? 'T' : 'N', static_cast<long long>(s.m), static_cast<long long>(s.n),
                  static_cast<long long>(s.k), f, h, h / f, picked ? "bf16" : "fp32");
    }
    std::printf("%s, all %zu products once: fp32 %.1f us, bf16 kernel %.1f us (%.2fx), as picked %.1f us\n",
                name.c_str(), shapes.size(), fp32_ns / 1e3, bf16_ns / 1e3, fp32_ns / bf16_ns, picked_ns / 1e3);
  }
  return 0;
}
