#pragma once
// What the Fashion-MNIST throughput benchmarks (cnn_bench, rnn_bench) share: the data as the
// anchors load it (pixels / 255, from the Debian dataset-fashion-mnist IDX files) and the
// per-epoch line in the anchors' format.
#include <cstdio>
#include <ctime>
#include <string>

#include "nntune/data.hpp"
#include "nntune/loss.hpp"
#include "nntune/trainer.hpp"

namespace bench {

// Prints "epoch E SECONDS s RATE samples/s test_acc ACC" and "cpu epoch ..." after each epoch.
class EpochPrinter : public nntune::Callback {
 public:
  EpochPrinter(const nntune::Dataset& test, int64_t train_size) : test_(test), train_size_(train_size) {}
  void on_train_begin(nntune::TrainState&) override { cpu_started_ = std::clock(); }
  bool on_epoch_end(nntune::TrainState& state, const nntune::EpochLog& log) override {
    // CPU time of this process over the epoch: on a shared machine the wall-clock rate falls
    // with the load, the rate per CPU second much less (how close the code is to the core).
    const double cpu_seconds = static_cast<double>(std::clock() - cpu_started_) / CLOCKS_PER_SEC;
    auto loss = nntune::make_loss("categorical_crossentropy");
    const nntune::Metrics m = nntune::evaluate(state.network, *loss, test_);
    std::printf("epoch %lld %.3fs %.0f samples/s test_acc %.4f\n", static_cast<long long>(log.epoch), log.seconds,
                static_cast<double>(train_size_) / log.seconds, m.at("accuracy"));
    std::printf("cpu epoch %lld %.3f cpu-s %.0f samples per cpu-s\n", static_cast<long long>(log.epoch), cpu_seconds,
                static_cast<double>(train_size_) / cpu_seconds);
    std::fflush(stdout);
    cpu_started_ = std::clock();  // the evaluation above is not part of the next epoch
    return false;
  }

 private:
  const nntune::Dataset& test_;
  int64_t train_size_;
  std::clock_t cpu_started_ = 0;
};

// Fashion-MNIST's training and test sets, pixels divided by 255; images have shape (28, 28),
// which recurrent layers read as 28 steps of 28 features.
struct FashionMnist {
  nntune::Dataset train, test;
};
inline FashionMnist load_fashion_mnist(const std::string& dir) {
  FashionMnist d{nntune::load_idx(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz"),
                 nntune::load_idx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz")};
  nntune::Scaler scaler;
  scaler.kind = "divide";
  scaler.divide_by = 255.0f;
  scaler.fit(d.train.x);
  scaler.apply(d.train.x);
  scaler.apply(d.test.x);
  return d;
}

}  // namespace bench
