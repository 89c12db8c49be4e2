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

namespace {

bool always_reported(const Loss& loss, const std::string& base) {
  if (base == "loss") return true;
  return loss.is_classification() ? base == "accuracy" : (base == "mae" || base == "rmse");
}

}  // namespace

void check_extra_metrics(const Loss& loss, const std::vector<std::string>& metrics, const std::string& who) {
  for (const std::string& name : metrics) {
    const MetricName m = require_metric(name, who);
    if (m.validation)
      throw Error(who + ": metric '" + name + "': name it without val_ (" + m.base +
                  "); it is reported for the training data and, as val_" + m.base + ", for the validation data");
    const std::string problem = metric_task_problem(name, loss.is_classification());
    if (!problem.empty()) throw Error(who + ": " + problem);
  }
}

std::vector<std::string> requested_metrics(const Loss& loss, const std::vector<std::string>& configured,
                                           const std::vector<Callback*>& callbacks) {
  check_extra_metrics(loss, configured, "training: metrics");
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    const MetricName m = parse_metric_name(name);
    // Unknown names are left to the callbacks' own checks, which list what is reported.
    if (!m.info || always_reported(loss, m.base)) return;
    if (!metric_task_problem(m.base, loss.is_classification()).empty()) return;
    if (std::find(names.begin(), names.end(), m.base) == names.end()) names.push_back(m.base);
  };
  for (const std::string& name : configured) add(name);
  for (const Callback* cb : callbacks)
    for (const std::string& name : cb->watched_metrics()) add(name);
  return names;
}

MetricAccumulator::MetricAccumulator(const Loss& loss, std::vector<std::string> extra)
    : classification_(loss.is_classification()),
      binary_(loss.is_classification() && loss.output_width(2, 1) == 1),
      extra_(std::move(extra)) {
  for (const std::string& name : extra_) {
    const MetricName m = parse_metric_name(name);
    if (!m.info) continue;
    if (classification_) {
      keep_labels_ = true;
      keep_scores_ = keep_scores_ || m.base == "auc" || m.k > 0;
    } else {
      keep_regression_ = true;
    }
  }
}

void MetricAccumulator::reset() {
  samples_ = elements_ = classes_ = 0;
  loss_sum_ = correct_ = abs_sum_ = sq_sum_ = 0.0;
  labels_.clear();
  predicted_.clear();
  scores_.clear();
  output_sq_.clear();
  output_abs_.clear();
  target_mean_.clear();
  target_m2_.clear();
}

void MetricAccumulator::add(const Tensor& output, const Tensor& target, double loss_value) {
  const int64_t n = output.batch(), outputs = output.features(), target_cols = target.features();
  const int64_t seen = samples_;
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
    if (keep_regression_) {
      if (output_sq_.empty()) {
        output_sq_.assign(static_cast<size_t>(outputs), 0.0);
        output_abs_.assign(static_cast<size_t>(outputs), 0.0);
        target_mean_.assign(static_cast<size_t>(outputs), 0.0);
        target_m2_.assign(static_cast<size_t>(outputs), 0.0);
      }
      for (int64_t r = 0; r < n; ++r)
        for (int64_t o = 0; o < outputs; ++o) {
          const size_t i = static_cast<size_t>(o);
          const double t = y[r * outputs + o], e = static_cast<double>(out[r * outputs + o]) - t;
          output_sq_[i] += e * e;
          output_abs_[i] += std::fabs(e);
          const double delta = t - target_mean_[i];  // Welford, as regression_metrics()
          target_mean_[i] += delta / static_cast<double>(seen + r + 1);
          target_m2_[i] += delta * (t - target_mean_[i]);
        }
    }
    return;
  }
  if (binary_ || outputs == 1) {
    if (keep_labels_ && outputs != 1)
      throw Error("metrics: precision, recall, f1, auc and top-k accuracy need one class per sample; this network has " +
                  std::to_string(outputs) + " sigmoid outputs (multi-label), for which only loss and accuracy are measured");
    // Sigmoid output link: predicted positive when the logit is > 0.
    for (int64_t i = 0; i < n * outputs; ++i) correct_ += ((out[i] > 0.0f) == (y[i] > 0.5f)) ? 1.0 : 0.0;
    elements_ += n * outputs;
    if (keep_labels_) {
      classes_ = 2;
      for (int64_t r = 0; r < n; ++r) {
        labels_.push_back(y[r] > 0.5f ? 1 : 0);
        predicted_.push_back(out[r] > 0.0f ? 1 : 0);
        if (keep_scores_) scores_.push_back(out[r]);  // the logit ranks as the probability does
      }
    }
    return;
  }
  if (keep_labels_) classes_ = outputs;
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
    if (!keep_labels_) continue;
    labels_.push_back(label);
    predicted_.push_back(predicted);
    if (keep_scores_) {
      // One-vs-rest AUC ranks each class's probability across samples, which the logits do not
      // give (softmax normalises each row): the probabilities are kept.
      const float max = row[predicted];
      double sum = 0.0;
      for (int64_t c = 0; c < outputs; ++c) sum += std::exp(static_cast<double>(row[c] - max));
      for (int64_t c = 0; c < outputs; ++c)
        scores_.push_back(static_cast<float>(std::exp(static_cast<double>(row[c] - max)) / sum));
    }
  }
  elements_ += n;
}

ClassificationMetrics MetricAccumulator::classification_detail() const {
  if (!classification_ || !keep_labels_ || classes_ < 2) return {};
  return classification_metrics(labels_, predicted_, classes_, scores_);
}

RegressionMetrics MetricAccumulator::regression_detail() const {
  if (classification_ || !keep_regression_)
    throw Error("metrics: the per-output regression detail needs a regression accumulator with a regression metric "
                "beyond mae and rmse (r2, mse)");
  const int64_t rows = samples_ == 0 ? 0 : elements_ / static_cast<int64_t>(std::max<size_t>(output_sq_.size(), 1));
  if (rows == 0) {
    RegressionMetrics m;
    m.outputs = static_cast<int64_t>(output_sq_.size());
    return m;
  }
  return regression_from_sums(rows, output_abs_, output_sq_, target_m2_);
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
  if (extra_.empty()) return;
  const ClassificationMetrics c = classification_detail();
  for (const std::string& name : extra_) {
    const MetricName m = parse_metric_name(name);
    if (!m.info) continue;
    double value = 0.0;
    if (m.base == "precision") value = c.precision_avg;
    else if (m.base == "recall") value = c.recall_avg;
    else if (m.base == "f1") value = c.f1_avg;
    else if (m.base == "macro_precision") value = c.macro_precision;
    else if (m.base == "macro_recall") value = c.macro_recall;
    else if (m.base == "macro_f1") value = c.macro_f1;
    else if (m.base == "auc") value = c.auc_avg;
    else if (m.k > 0) value = top_k_accuracy(labels_, scores_, classes_, m.k);
    else if (m.base == "mse") value = sq_sum_ / static_cast<double>(elements_);
    else if (m.base == "r2") {
      double total = 0.0;
      for (size_t o = 0; o < output_sq_.size(); ++o)
        total += target_m2_[o] > 0.0 ? 1.0 - output_sq_[o] / target_m2_[o] : (output_sq_[o] == 0.0 ? 1.0 : 0.0);
      value = output_sq_.empty() ? 0.0 : total / static_cast<double>(output_sq_.size());
    } else {
      continue;  // always reported (loss, accuracy, mae, rmse): written above
    }
    metrics[prefix + m.base] = value;
  }
}

std::vector<std::string> metric_names(const Loss& loss, bool with_validation, const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"loss"};
  if (loss.is_classification()) {
    names.push_back("accuracy");
  } else {
    names.push_back("mae");
    names.push_back("rmse");
  }
  for (const std::string& name : extra) {
    const MetricName m = parse_metric_name(name);
    if (m.info && std::find(names.begin(), names.end(), m.base) == names.end()) names.push_back(m.base);
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
  // auto: the metric's own direction (accuracy, precision, recall, f1, auc, r2 up; losses and errors down).
  if (mode == "auto") return metric_maximized(monitor);
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
