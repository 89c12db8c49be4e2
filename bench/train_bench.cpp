// Training throughput of the MLP 784-256-128-10 (ReLU, Adam lr 1e-3) on Fashion-MNIST through
// the real training loop (fit), printing the same line format as the PyTorch anchor
// (../shared/anchors/torch_mlp.py): "epoch E SECONDS s RATE samples/s test_acc ACC".
// Usage: train_bench BATCH EPOCHS [fp32|bf16] [gemm=openblas|avx512|eigen] [DATA_DIR] (the
// precision of the matrix products, default fp32; the fp32 kernel, default the library's choice
// for this CPU, so that a change of kernel can be told apart from other changes; each optional
// argument may come alone). Run by bench/run_train_bench.sh beside PyTorch.
#include <cstdio>
#include <string>

#include "nntune/data.hpp"
#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/network.hpp"
#include "nntune/trainer.hpp"
#include "nn/gemm.hpp"

namespace {

// Prints each epoch as the anchor does; test accuracy is measured outside the timed epoch.
class EpochPrinter : public nntune::Callback {
 public:
  EpochPrinter(const nntune::Dataset& test, int64_t train_size) : test_(test), train_size_(train_size) {}
  bool on_epoch_end(nntune::TrainState& state, const nntune::EpochLog& log) override {
    auto loss = nntune::make_loss("categorical_crossentropy");
    const nntune::Metrics m = nntune::evaluate(state.network, *loss, test_);
    std::printf("epoch %lld %.3fs %.0f samples/s test_acc %.4f\n", static_cast<long long>(log.epoch), log.seconds,
                static_cast<double>(train_size_) / log.seconds, m.at("accuracy"));
    std::fflush(stdout);
    return false;
  }

 private:
  const nntune::Dataset& test_;
  int64_t train_size_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: train_bench BATCH EPOCHS [fp32|bf16] [gemm=openblas|avx512|eigen] [DATA_DIR]\n");
    return 2;
  }
  try {
    const int64_t batch = std::stoll(argv[1]);
    const int64_t epochs = std::stoll(argv[2]);
    std::string dir = "/usr/share/datasets/fashion-mnist/", precision = "fp32";
    for (int i = 3; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg.rfind("gemm=", 0) == 0) {
        const std::string kernel = arg.substr(5);
        if (kernel == "openblas") nntune::set_gemm_backend(nntune::GemmBackend::OpenBlas);
        else if (kernel == "avx512") nntune::set_gemm_backend(nntune::GemmBackend::Avx512);
        else if (kernel == "eigen") nntune::set_gemm_backend(nntune::GemmBackend::Eigen);
        else throw nntune::Error(arg + ": the kernel must be openblas, avx512 or eigen");
      } else {
        (arg == "fp32" || arg == "bf16" ? precision : dir) = arg;
      }
    }
    std::fprintf(stderr, "gemm %s (OpenBLAS core %s)\n", nntune::gemm_backend_name(nntune::gemm_backend()).c_str(),
                 nntune::openblas_core_name().c_str());
    nntune::Dataset train = nntune::load_idx(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
    nntune::Dataset test = nntune::load_idx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    nntune::Scaler scaler;
    scaler.kind = "divide";
    scaler.divide_by = 255.0f;
    scaler.fit(train.x);
    scaler.apply(train.x);
    scaler.apply(test.x);

    nntune::Network net;
    net.add(nntune::make_layer({{"type", "flatten"}}));
    net.add(nntune::make_layer({{"type", "dense"}, {"units", 256}, {"activation", "relu"}}));
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
    EpochPrinter printer(test, train.size());
    nntune::fit(net, train, nullptr, config, {&printer});
  } catch (const nntune::Error& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
