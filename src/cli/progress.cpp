#include "cli/progress.hpp"

#include <cmath>
#include <vector>

#include "cli/format.hpp"

namespace nntune::cli {
namespace {

}  // namespace

std::string format_metrics(const Metrics& metrics) {
  // Training metrics first, then validation, each with loss leading.
  std::vector<std::string> order;
  for (const bool validation : {false, true}) {
    const std::string prefix = validation ? "val_" : "";
    if (metrics.count(prefix + "loss")) order.push_back(prefix + "loss");
    for (const auto& [name, value] : metrics) {
      const bool is_val = name.rfind("val_", 0) == 0;
      if (is_val == validation && name != prefix + "loss") order.push_back(name);
    }
  }
  std::string s;
  for (const std::string& name : order) s += (s.empty() ? "" : "  ") + name + " " + metric_text(metrics.at(name));
  return s;
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    const long total = std::lround(seconds);
    if (total < 3600)
      std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
    else
      std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  }
  return buf;
}

ProgressCallback::ProgressCallback(std::FILE* out, bool live, bool quiet) : out_(out), live_(live), quiet_(quiet) {}

void ProgressCallback::on_train_begin(TrainState& state) {
  total_epochs_ = state.config.epochs;
  epoch_start_ = Clock::now();
  last_draw_ = epoch_start_;
}

bool ProgressCallback::on_batch_end(TrainState& state, int64_t epoch, int64_t batch, double loss) {
  if (batch == 0) {
    loss_sum_ = 0.0;
    loss_count_ = 0;
    epoch_start_ = Clock::now();
  }
  loss_sum_ += loss;
  ++loss_count_;
  if (quiet_ || !live_) return false;
  const auto now = Clock::now();
  const bool last_batch = batches_per_epoch_ > 0 && batch + 1 == batches_per_epoch_;
  // Redrawing costs a write per call: at most ten times a second.
  if (!last_batch && now - last_draw_ < std::chrono::milliseconds(100)) return false;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const int64_t done = batch + 1;
  std::string bar;
  if (batches_per_epoch_ > 0) {
    bar = text_bar(static_cast<double>(done) / static_cast<double>(batches_per_epoch_), 30);
    bar.append(" ").append(std::to_string(done)).append("/").append(std::to_string(batches_per_epoch_));
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(batches_per_epoch_ - done);
    bar += "  ETA " + format_duration(eta);
  } else {
    bar = std::to_string(done) + " batches";
  }
  std::fprintf(out_, "\r\033[Kepoch %lld/%lld %s  loss %s", static_cast<long long>(epoch),
               static_cast<long long>(total_epochs_), bar.c_str(), metric_text(loss_sum_ / static_cast<double>(loss_count_)).c_str());
  std::fflush(out_);
  bar_drawn_ = true;
  return false;
}

bool ProgressCallback::on_epoch_end(TrainState& state, const EpochLog& log) {
  if (quiet_) return false;
  if (bar_drawn_) std::fprintf(out_, "\r\033[K");
  bar_drawn_ = false;
  std::fprintf(out_, "epoch %lld/%lld  %s  lr %s  %s\n", static_cast<long long>(log.epoch),
               static_cast<long long>(total_epochs_), format_metrics(log.metrics).c_str(), short_number(log.lr, 3).c_str(),
               format_duration(log.seconds).c_str());
  std::fflush(out_);
  return false;
}

void ProgressCallback::on_train_end(TrainState& state) {
  if (quiet_) return;
  if (bar_drawn_) std::fprintf(out_, "\r\033[K");
  bar_drawn_ = false;
  std::fflush(out_);
}

}  // namespace nntune::cli
