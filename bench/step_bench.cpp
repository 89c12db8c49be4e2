// Training-step throughput of the MLP 784-256-128-10 (ReLU) on one thread: forward (training
// mode), softmax cross-entropy forward+backward, network backward and a plain SGD update, at
// batch 32, 128 and 512. Also prints what the same eight GEMMs alone achieve (the ceiling for
// this network on this machine) and how many heap allocations one step makes (should be 0).
//
// Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/step_bench [steps_at_batch_128] [rounds]
// Each figure is the best of `rounds` timings (the machine may be shared).
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "nn/gemm.hpp"
#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/network.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Counting every heap allocation of the process (operator new, Eigen's aligned buffers and
// OpenBLAS all end in malloc/calloc/realloc): a training step must not allocate once its
// buffers exist. glibc's __libc_* entry points do the real work.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
}

namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this thread: on a shared machine wall time mostly measures the other processes,
// CPU time measures our code (cache pollution from them still shows).
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Samples per second of wall time and of CPU time for `steps` calls of step().
struct Rate {
  double wall = 0.0, cpu = 0.0;
};
template <typename Step>
Rate time_steps(int64_t batch, int steps, Step&& step) {
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (int i = 0; i < steps; ++i) step();
  const double cpu = thread_cpu_seconds() - cpu_start;
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double samples = static_cast<double>(batch) * steps;
  return {samples / wall, samples / cpu};
}
using nntune::Tensor;

constexpr int64_t kInputs = 784, kHidden1 = 256, kHidden2 = 128, kClasses = 10;
// Multiply-adds per sample: forward, weight gradients, and input gradients of layers 2 and 3
// (the first layer's input gradient is skipped).
constexpr double kFlopsPerSample =
    2.0 * (2.0 * (kInputs * kHidden1 + kHidden1 * kHidden2 + kHidden2 * kClasses) + kHidden1 * kHidden2 +
           kHidden2 * kClasses);

Tensor random_tensor(const nntune::Shape& shape, nntune::Rng& rng, float low, float high) {
  Tensor t(shape);
  std::uniform_real_distribution<float> dist(low, high);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = dist(rng);
  return t;
}

struct Result {
  Rate rate;
  double allocations_per_step;
  double final_loss;
};

Result time_training(int64_t batch, int steps) {
  nntune::Rng rng(42);
  nntune::Network net;
  net.add(nntune::make_layer({{"type", "dense"}, {"units", kHidden1}, {"activation", "relu"}}));
  net.add(nntune::make_layer({{"type", "dense"}, {"units", kHidden2}, {"activation", "relu"}}));
  net.add(nntune::make_layer({{"type", "dense"}, {"units", kClasses}}));
  net.build({kInputs}, rng);
  auto loss = nntune::make_loss("categorical_crossentropy");

  Tensor x = random_tensor({batch, kInputs}, rng, 0.0f, 1.0f);
  Tensor y({batch, 1});
  for (int64_t i = 0; i < batch; ++i) y[i] = static_cast<float>(rng() % kClasses);
  Tensor grad;
  nntune::ForwardContext ctx{true, &rng};
  Eigen::Map<Eigen::ArrayXf> params(net.parameters().data(), net.num_params());
  Eigen::Map<const Eigen::ArrayXf> grads(net.gradients().data(), net.num_params());
  const float learning_rate = 0.01f;
  double last_loss = 0.0;

  auto step = [&] {
    const Tensor& out = net.forward(x, ctx);
    last_loss = loss->forward_backward(out, y, &grad);
    net.backward(grad);
    params -= learning_rate * grads;  // plain SGD (the real optimisers live elsewhere)
  };
  for (int i = 0; i < 20; ++i) step();  // warm-up: buffers reach their size, caches warm
  const long allocations_before = g_allocations.load();
  const Rate rate = time_steps(batch, steps, step);
  const long allocations = g_allocations.load() - allocations_before;
  return {rate, static_cast<double>(allocations) / steps, last_loss};
}

// The same eight products through nntune::gemm with nothing else: the ceiling.
Rate time_gemms_only(int64_t batch, int steps) {
  nntune::Rng rng(1);
  Tensor x = random_tensor({batch, kInputs}, rng, 0, 1), w1 = random_tensor({kInputs, kHidden1}, rng, -0.1f, 0.1f),
         w2 = random_tensor({kHidden1, kHidden2}, rng, -0.1f, 0.1f), w3 = random_tensor({kHidden2, kClasses}, rng, -0.1f, 0.1f);
  Tensor h1({batch, kHidden1}), h2({batch, kHidden2}), o({batch, kClasses}), g1({kInputs, kHidden1}),
      g2({kHidden1, kHidden2}), g3({kHidden2, kClasses}), d2({batch, kHidden2}), d1({batch, kHidden1});
  using nntune::gemm;
  auto step = [&] {
    gemm(false, false, batch, kHidden1, kInputs, 1, x.data(), kInputs, w1.data(), kHidden1, 0, h1.data(), kHidden1);
    gemm(false, false, batch, kHidden2, kHidden1, 1, h1.data(), kHidden1, w2.data(), kHidden2, 0, h2.data(), kHidden2);
    gemm(false, false, batch, kClasses, kHidden2, 1, h2.data(), kHidden2, w3.data(), kClasses, 0, o.data(), kClasses);
    gemm(true, false, kHidden2, kClasses, batch, 1, h2.data(), kHidden2, o.data(), kClasses, 0, g3.data(), kClasses);
    gemm(false, true, batch, kHidden2, kClasses, 1, o.data(), kClasses, w3.data(), kClasses, 0, d2.data(), kHidden2);
    gemm(true, false, kHidden1, kHidden2, batch, 1, h1.data(), kHidden1, d2.data(), kHidden2, 0, g2.data(), kHidden2);
    gemm(false, true, batch, kHidden1, kHidden2, 1, d2.data(), kHidden2, w2.data(), kHidden2, 0, d1.data(), kHidden1);
    gemm(true, false, kInputs, kHidden1, batch, 1, x.data(), kInputs, d1.data(), kHidden1, 0, g1.data(), kHidden1);
  };
  for (int i = 0; i < 20; ++i) step();
  return time_steps(batch, steps, step);
}

}  // namespace

int main(int argc, char** argv) {
  const int steps_at_128 = argc > 1 ? std::atoi(argv[1]) : 400;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  for (nntune::GemmBackend backend : {nntune::GemmBackend::OpenBlas, nntune::GemmBackend::Eigen}) {
    if (!nntune::gemm_backend_available(backend)) continue;
    nntune::set_gemm_backend(backend);
    std::printf("MLP 784-256-128-10 relu, one thread, GEMM backend: %s%s%s\n",
                nntune::gemm_backend_name(backend).c_str(),
                backend == nntune::GemmBackend::OpenBlas && coretype ? ", OPENBLAS_CORETYPE=" : "",
                backend == nntune::GemmBackend::OpenBlas && coretype ? coretype : "");
    std::printf("samples/s per CPU-second (wall-clock in brackets); best of %d rounds\n", rounds);
    std::printf("%6s %22s %22s %10s %9s %12s\n", "batch", "train step", "GEMMs alone", "step/GEMM", "GFLOP/s",
                "allocs/step");
    for (int64_t batch : {32, 128, 512}) {
      // The machine may be shared: alternate the two measurements and keep the best of each.
      const int steps = static_cast<int>(steps_at_128 * 128 / batch);
      Result best{};
      Rate ceiling;
      for (int round = 0; round < rounds; ++round) {
        const Result r = time_training(batch, steps);
        if (r.rate.cpu > best.rate.cpu) best = r;
        const Rate g = time_gemms_only(batch, steps);
        ceiling = {std::max(ceiling.wall, g.wall), std::max(ceiling.cpu, g.cpu)};
      }
      std::printf("%6ld %11.0f (%8.0f) %11.0f (%8.0f) %9.0f%% %9.1f %12.2f\n", static_cast<long>(batch), best.rate.cpu,
                  best.rate.wall, ceiling.cpu, ceiling.wall, 100.0 * best.rate.cpu / ceiling.cpu,
                  best.rate.cpu * kFlopsPerSample * 1e-9, best.allocations_per_step);
    }
  }
  return 0;
}
