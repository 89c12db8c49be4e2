// Training and inference throughput of the PyTorch anchor's CNN on Fashion-MNIST
// (../shared/anchors/torch_cnn.py): conv3x3(32, same)-ReLU-maxpool2 -> conv3x3(64, same)-ReLU-
// maxpool2 -> flatten -> dense(128, ReLU) -> dense(10), Adam lr 1e-3, through the real training
// loop (fit). Prints the anchor's line format per epoch,
//   "epoch E SECONDS s RATE samples/s test_acc ACC",
// then "inference RATE samples/s" (the best of 3 passes over the 10,000 test images in batches
// of BATCH, evaluation mode, same precision as training).
// Usage: cnn_bench BATCH EPOCHS [fp32|bf16] [DATA_DIR]. Run by bench/run_cnn_bench.sh beside PyTorch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "fmnist_bench.hpp"
#include "nn/gemm.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/network.hpp"
#include "nntune/trainer.hpp"

namespace {

// Images as (height, width, 1): the IDX loader gives (28, 28).
void add_channel_axis(nntune::Tensor& x) {
  const nntune::Shape s = x.shape();
  x.reshape({s[0], s[1], s[2], 1});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: cnn_bench BATCH EPOCHS [fp32|bf16] [DATA_DIR]\n");
    return 2;
  }
  try {
    const int64_t batch = std::stoll(argv[1]);
    const int64_t epochs = std::stoll(argv[2]);
    std::string dir = "/usr/share/datasets/fashion-mnist/", precision = "fp32";
    for (int i = 3; i < argc; ++i)
      (std::string(argv[i]) == "fp32" || std::string(argv[i]) == "bf16" ? precision : dir) = argv[i];
    bench::FashionMnist data = bench::load_fashion_mnist(dir);
    nntune::Dataset& train = data.train;
    nntune::Dataset& test = data.test;
    add_channel_axis(train.x);
    add_channel_axis(test.x);

    std::printf("gemm %s (OpenBLAS core %s), precision %s, batch %lld\n",
                nntune::gemm_backend_name(nntune::gemm_backend()).c_str(), nntune::openblas_core_name().c_str(),
                precision.c_str(), static_cast<long long>(batch));
    nntune::Network net;
    net.add(nntune::make_layer(
        {{"type", "conv2d"}, {"filters", 32}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}));
    net.add(nntune::make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
    net.add(nntune::make_layer(
        {{"type", "conv2d"}, {"filters", 64}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}));
    net.add(nntune::make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
    net.add(nntune::make_layer({{"type", "flatten"}}));
    net.add(nntune::make_layer({{"type", "dense"}, {"units", 128}, {"activation", "relu"}}));
    net.add(nntune::make_layer({{"type", "dense"}, {"units", 10}}));
    nntune::Rng rng(0);
    net.build(train.x.sample_shape(), rng);

    nntune::TrainConfig config;
    config.loss = "categorical_crossentropy";
    config.optimizer.name = "adam";
    config.optimizer.lr = 1e-3;
    config.batch_size = batch;
    config.epochs = epochs;
    config.precision = precision;
    bench::EpochPrinter printer(test, train.size());
    nntune::fit(net, train, nullptr, config, {&printer});

    // Inference: forward passes only, in the training precision.
    const nntune::ScopedGemmPrecision scope(nntune::parse_gemm_precision(precision));
    const nntune::ForwardContext ctx{false, nullptr};
    const int64_t n = test.size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    nntune::Tensor x;
    double best = 0.0, best_cpu = 0.0, checksum = 0.0;
    for (int pass = 0; pass < 3; ++pass) {
      const auto started = std::chrono::steady_clock::now();
      const std::clock_t cpu_started = std::clock();
      for (int64_t begin = 0; begin < n; begin += batch) {
        test.x.gather_into(order, begin, std::min(n, begin + batch), x);
        checksum += net.forward(x, ctx)[0];
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      best = std::max(best, static_cast<double>(n) / seconds);
      best_cpu = std::max(best_cpu, static_cast<double>(n) * CLOCKS_PER_SEC / static_cast<double>(std::clock() - cpu_started));
    }
    std::printf("inference %.0f samples/s (batch %lld, checksum %.3g)\n", best, static_cast<long long>(batch), checksum);
    std::printf("cpu inference %.0f samples per cpu-s\n", best_cpu);
  } catch (const nntune::Error& e) {
    std::fprintf(stderr, "cnn_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
