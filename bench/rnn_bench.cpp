// Training throughput of the PyTorch anchor's recurrent classifier on Fashion-MNIST
// (../shared/anchors/torch_rnn.py): each image read as 28 steps of 28 pixels, one recurrent
// layer (rnn | lstm | gru) of HIDDEN units whose last step feeds dense(10); Adam lr 1e-3,
// gradient norm clipped at 1, through the real training loop (fit). Prints the anchor's line
// format per epoch, "epoch E SECONDS s RATE samples/s test_acc ACC".
// Usage: rnn_bench BATCH EPOCHS CELL HIDDEN [fp32|bf16] [DATA_DIR]. Run by bench/run_rnn_bench.sh.
#include <cstdio>
#include <string>

#include "fmnist_bench.hpp"
#include "nn/gemm.hpp"
#include "nntune/error.hpp"
#include "nntune/network.hpp"
#include "nntune/trainer.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: rnn_bench BATCH EPOCHS CELL HIDDEN [fp32|bf16] [DATA_DIR]\n");
    return 2;
  }
  try {
    const int64_t batch = std::stoll(argv[1]);
    const int64_t epochs = std::stoll(argv[2]);
    const std::string cell = argv[3];
    const int64_t hidden = std::stoll(argv[4]);
    std::string dir = "/usr/share/datasets/fashion-mnist/", precision = "fp32";
    for (int i = 5; i < argc; ++i)
      (std::string(argv[i]) == "fp32" || std::string(argv[i]) == "bf16" ? precision : dir) = argv[i];
    const bench::FashionMnist data = bench::load_fashion_mnist(dir);  // samples (28, 28): 28 steps

    std::printf("gemm %s, precision %s, %s %lld, batch %lld\n", nntune::gemm_backend_name(nntune::gemm_backend()).c_str(),
                precision.c_str(), cell.c_str(), static_cast<long long>(hidden), static_cast<long long>(batch));
    nntune::Network net;
    net.add(nntune::make_layer({{"type", cell}, {"units", hidden}}));
    net.add(nntune::make_layer({{"type", "dense"}, {"units", 10}}));
    nntune::Rng rng(0);
    net.build(data.train.x.sample_shape(), rng);

    nntune::TrainConfig config;
    config.loss = "categorical_crossentropy";
    config.optimizer.name = "adam";
    config.optimizer.lr = 1e-3;
    config.batch_size = batch;
    config.epochs = epochs;
    config.clip_norm = 1.0;
    config.precision = precision;
    bench::EpochPrinter printer(data.test, data.train.size());
    nntune::fit(net, data.train, nullptr, config, {&printer});
  } catch (const nntune::Error& e) {
    std::fprintf(stderr, "rnn_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
