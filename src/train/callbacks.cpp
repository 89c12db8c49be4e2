// Early stopping and reduce-on-plateau, with Keras semantics.
#include <algorithm>
#include <cmath>
#include <limits>

#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/trainer.hpp"
#include "train/train_internal.hpp"

namespace nntune {

using train_detail::format_number;

namespace {

// Tracks the best value of a monitored metric; improvement means beating it by more than
// min_delta in the monitored direction. NaN never counts as an improvement.
class Monitor {
 public:
  Monitor(std::string name, bool maximize, double min_delta)
      : name_(std::move(name)), maximize_(maximize), min_delta_(min_delta) {}
  void reset() { best_ = maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(); }
  bool improves(double value) const { return maximize_ ? value > best_ + min_delta_ : value < best_ - min_delta_; }
  void set_best(double value) { best_ = value; }
  double best() const { return best_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool maximize_;
  double min_delta_;
  double best_ = 0.0;
};

// The config with its monitor as the epochs report it (an alias such as roc_auc becomes auc).
template <typename Config>
Config canonical(Config c) {
  c.monitor = canonical_metric_name(c.monitor);
  return c;
}

void check_non_negative(const std::string& who, const std::string& field, double value) {
  if (!(value >= 0.0) || !std::isfinite(value))
    throw Error(who + ": " + field + " = " + format_number(value) + " is invalid; it must be a finite number >= 0");
}

class EarlyStopping final : public Callback {
 public:
  explicit EarlyStopping(const EarlyStoppingConfig& c)
      : config_(canonical(c)), monitor_(config_.monitor, train_detail::maximize(c.mode, c.monitor, kWho), c.min_delta) {}

  void on_train_begin(TrainState& state) override {
    if (!state.metric_names.empty()) train_detail::check_monitor_available(state.metric_names, config_.monitor, kWho);
    monitor_.reset();
    wait_ = 0;
    best_epoch_ = 0;
    best_params_.clear();
    best_state_.clear();
  }

  bool on_epoch_end(TrainState& state, const EpochLog& log) override {
    const double value = train_detail::monitored_value(log.metrics, config_.monitor, kWho);
    if (monitor_.improves(value)) {
      monitor_.set_best(value);
      best_epoch_ = log.epoch;
      state.history.best_epoch = log.epoch;
      wait_ = 0;
      if (config_.restore_best) {
        best_params_.assign(state.network.parameters().begin(), state.network.parameters().end());
        best_state_ = state.network.state();
      }
      return false;
    }
    if (++wait_ < std::max<int64_t>(config_.patience, 1)) return false;
    state.stop_reason = "early stopping: " + config_.monitor + " did not improve" +
                        (config_.min_delta > 0 ? " by more than " + format_number(config_.min_delta) : "") +
                        " for " + std::to_string(wait_) + " epoch" + (wait_ == 1 ? "" : "s") +
                        (best_epoch_ > 0 ? "; best " + format_number(monitor_.best()) + " at epoch " +
                                               std::to_string(best_epoch_)
                                         : "");
    return true;
  }

  std::vector<std::string> watched_metrics() const override { return {config_.monitor}; }

  void on_train_end(TrainState& state) override {
    if (!config_.restore_best || best_epoch_ == 0 || best_params_.empty()) return;
    // Copy into the existing buffer: the layers hold pointers into it.
    std::vector<float>& params = state.network.parameters();
    std::copy(best_params_.begin(), best_params_.end(), params.begin());
    state.network.set_state(best_state_);
    const int64_t last = state.history.epochs.empty() ? 0 : state.history.epochs.back().epoch;
    if (best_epoch_ != last && !state.stop_reason.empty())
      state.stop_reason += "; restored the weights of epoch " + std::to_string(best_epoch_);
  }

 private:
  static constexpr const char* kWho = "early stopping";
  EarlyStoppingConfig config_;
  Monitor monitor_;
  int64_t wait_ = 0;
  int64_t best_epoch_ = 0;
  std::vector<float> best_params_, best_state_;
};

class ReduceOnPlateau final : public Callback {
 public:
  explicit ReduceOnPlateau(const ReduceOnPlateauConfig& c)
      : config_(canonical(c)), monitor_(config_.monitor, train_detail::maximize(c.mode, c.monitor, kWho), c.min_delta) {}

  void on_train_begin(TrainState& state) override {
    if (!state.metric_names.empty()) train_detail::check_monitor_available(state.metric_names, config_.monitor, kWho);
    monitor_.reset();
    wait_ = 0;
    cooldown_left_ = 0;
  }

  std::vector<std::string> watched_metrics() const override { return {config_.monitor}; }

  bool on_epoch_end(TrainState& state, const EpochLog& log) override {
    const double value = train_detail::monitored_value(log.metrics, config_.monitor, kWho);
    const bool in_cooldown = cooldown_left_ > 0;
    if (in_cooldown) {
      --cooldown_left_;
      wait_ = 0;
    }
    if (monitor_.improves(value)) {
      monitor_.set_best(value);
      wait_ = 0;
    } else if (cooldown_left_ == 0) {
      if (++wait_ >= config_.patience) {
        // The reduced rate is base_lr * lr_factor (the schedule multiplies it on top).
        const double base_lr = state.config.optimizer.lr;
        const double current = base_lr * state.lr_factor;
        if (current > config_.min_lr) {
          const double reduced = std::max(current * config_.factor, config_.min_lr);
          state.lr_factor = reduced / base_lr;
          cooldown_left_ = config_.cooldown;
          wait_ = 0;
        }
      }
    }
    return false;
  }

 private:
  static constexpr const char* kWho = "reduce-on-plateau";
  ReduceOnPlateauConfig config_;
  Monitor monitor_;
  int64_t wait_ = 0;
  int64_t cooldown_left_ = 0;
};

}  // namespace

std::unique_ptr<Callback> make_early_stopping(const EarlyStoppingConfig& config) {
  const std::string who = "early stopping";
  if (config.monitor.empty()) throw Error(who + ": monitor is empty; name a metric such as val_loss or val_accuracy");
  if (config.patience < 0)
    throw Error(who + ": patience = " + std::to_string(config.patience) + " is invalid; it must be >= 0 (epochs)");
  check_non_negative(who, "min_delta", config.min_delta);
  return std::make_unique<EarlyStopping>(config);
}

std::unique_ptr<Callback> make_reduce_on_plateau(const ReduceOnPlateauConfig& config) {
  const std::string who = "reduce-on-plateau";
  if (config.monitor.empty()) throw Error(who + ": monitor is empty; name a metric such as val_loss");
  if (!(config.factor > 0.0 && config.factor < 1.0))
    throw Error(who + ": factor = " + format_number(config.factor) + " is invalid; it must be in (0, 1) (e.g. 0.1)");
  if (config.patience < 0)
    throw Error(who + ": patience = " + std::to_string(config.patience) + " is invalid; it must be >= 0 (epochs)");
  if (config.cooldown < 0)
    throw Error(who + ": cooldown = " + std::to_string(config.cooldown) + " is invalid; it must be >= 0 (epochs)");
  check_non_negative(who, "min_delta", config.min_delta);
  check_non_negative(who, "min_lr", config.min_lr);
  return std::make_unique<ReduceOnPlateau>(config);
}

}  // namespace nntune
