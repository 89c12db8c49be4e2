#pragma once
// Training progress for the command line, as a Callback: on a terminal a live bar per epoch
// (batches, ETA, running loss), otherwise one plain line per epoch.
#include <chrono>
#include <cstdio>
#include <string>

#include "nntune/trainer.hpp"

namespace nntune::cli {

// "loss 0.4123  accuracy 0.8512  val_loss ..." in a fixed order (loss first, val_ after).
std::string format_metrics(const Metrics& metrics);
// Seconds as "4.2s", "1:05", "1:02:03".
std::string format_duration(double seconds);

class ProgressCallback : public Callback {
 public:
  // live: draw a bar (for a terminal); quiet: print nothing.
  ProgressCallback(std::FILE* out, bool live, bool quiet = false);
  // Batches per epoch, known once the data is loaded (0: unknown, no bar total).
  void set_batches_per_epoch(int64_t batches) { batches_per_epoch_ = batches; }

  void on_train_begin(TrainState& state) override;
  bool on_batch_end(TrainState& state, int64_t epoch, int64_t batch, double loss) override;
  bool on_epoch_end(TrainState& state, const EpochLog& log) override;
  void on_train_end(TrainState& state) override;

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  bool live_, quiet_;
  int64_t batches_per_epoch_ = 0;
  int64_t total_epochs_ = 0;
  double loss_sum_ = 0.0;
  int64_t loss_count_ = 0;
  Clock::time_point epoch_start_, last_draw_;
  bool bar_drawn_ = false;
};

}  // namespace nntune::cli
