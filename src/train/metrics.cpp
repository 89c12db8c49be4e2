// Metrics, shuffling and monitor helpers shared by the training loop and its callbacks.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "train/train_internal.hpp"

namespace nntune::train_detail {

uint64_t uniform_below(Rng& rng, uint64_t bound) {
  // Reject the top partial copy of [0, bound) so every value is equally likely.
  const uint64_t limit = Rng::max() - (Rng::max() % bound + 1) % bound;
  uint64_t r;
  do {
    r = rng();
  } while (r > limit);
  return r % bound;
}

void shuffle_indices(std::vector<int64_t>& indices, Rng& rng) {
  for (size_t i = indices.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_below(rng, i));
    std::swap(indices[i - 1], indices[j]);
  }
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

MetricAccumulator::MetricAccumulator(const Loss& loss)
    : classification_(loss.is_classification()), binary_(loss.is_classification() && loss.output_width(2, 1) == 1) {}

void MetricAccumulator::reset() {
  samples_ = elements_ = 0;
  loss_sum_ = correct_ = abs_sum_ = sq_sum_ = 0.0;
}

void MetricAccumulator::add(const Tensor& output, const Tensor& target, double loss_value) {
  const int64_t n = output.batch(), outputs = output.features(), target_cols = target.features();
  loss_sum_ += loss_value * static_cast<double>(n);
  samples_ += n;
  const float* out = output.data();
  const float* y = target.data();
  if (!classification_) {
    for (int64_t i = 0; i < n * outputs; ++i) {
      const double d = static_cast<double>(out[i]) - y[i];
      abs_sum_ += std::fabs(d);
      sq_sum_ += d * d;
    }
    elements_ += n * outputs;
    return;
  }
  if (binary_ || outputs == 1) {
    // Sigmoid output link: predicted positive when the logit is > 0.
    for (int64_t i = 0; i < n * outputs; ++i) correct_ += ((out[i] > 0.0f) == (y[i] > 0.5f)) ? 1.0 : 0.0;
    elements_ += n * outputs;
    return;
  }
  for (int64_t r = 0; r < n; ++r) {
    const float* row = out + r * outputs;
    const int64_t predicted = std::max_element(row, row + outputs) - row;
    int64_t label;
    if (target_cols == 1) {
      label = static_cast<int64_t>(y[r]);
    } else {
      const float* t = y + r * target_cols;
      label = std::max_element(t, t + target_cols) - t;
    }
    correct_ += predicted == label ? 1.0 : 0.0;
  }
  elements_ += n;
}

void MetricAccumulator::write(Metrics& metrics, const std::string& prefix) const {
  if (samples_ == 0) return;
  metrics[prefix + "loss"] = loss_sum_ / static_cast<double>(samples_);
  if (classification_) {
    metrics[prefix + "accuracy"] = correct_ / static_cast<double>(elements_);
  } else {
    metrics[prefix + "mae"] = abs_sum_ / static_cast<double>(elements_);
    metrics[prefix + "rmse"] = std::sqrt(sq_sum_ / static_cast<double>(elements_));
  }
}

std::vector<std::string> metric_names(const Loss& loss, bool with_validation) {
  std::vector<std::string> names = {"loss"};
  if (loss.is_classification()) {
    names.push_back("accuracy");
  } else {
    names.push_back("mae");
    names.push_back("rmse");
  }
  if (with_validation) {
    const size_t count = names.size();
    for (size_t i = 0; i < count; ++i) names.push_back("val_" + names[i]);
  }
  return names;
}

bool maximize(const std::string& mode, const std::string& monitor, const std::string& who) {
  if (mode == "min") return false;
  if (mode == "max") return true;
  if (mode == "auto") return monitor.find("accuracy") != std::string::npos;
  throw Error(who + ": mode '" + mode + "' is invalid; allowed: min, max, auto");
}

void check_monitor_available(const std::vector<std::string>& available, const std::string& name,
                             const std::string& who) {
  if (std::find(available.begin(), available.end(), name) != available.end()) return;
  std::string list;
  for (const auto& n : available) list += (list.empty() ? "" : ", ") + n;
  std::string hint;
  if (name.rfind("val_", 0) == 0) hint = "; val_* metrics need validation data (e.g. a validation split)";
  throw Error(who + " monitors '" + name + "', which this training run does not report; available metrics: " +
              list + hint);
}

double monitored_value(const Metrics& metrics, const std::string& name, const std::string& who) {
  auto it = metrics.find(name);
  if (it != metrics.end()) return it->second;
  std::vector<std::string> available;
  for (const auto& [key, value] : metrics) available.push_back(key);
  check_monitor_available(available, name, who);
  return 0.0;  // not reached
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace nntune::train_detail
