// The metric catalog (names, tasks, directions, definitions) and the metric computations, with
// scikit-learn's definitions. One list: the spec's checks, early stopping's and tuning's
// direction, the reference and docs/metrics.md all read it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/schema.hpp"
#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "train/train_internal.hpp"

namespace nntune {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::string kTopK = "top_K_accuracy";

}  // namespace

const std::vector<MetricInfo>& metric_catalog() {
  using T = MetricTask;
  static const std::vector<MetricInfo> catalog = {
      {"loss", T::Any, false,
       "the loss; on the training data with the class weights, label smoothing and L1/L2 penalty it trains with, "
       "on validation and test data the plain loss",
       "mean over samples of train.loss"},
      {"accuracy", T::Classification, true, "share of samples whose predicted class is the true one",
       "(1/n) sum [argmax p_i = y_i]; binary: logit > 0 vs label"},
      {"precision", T::Classification, true, "binary: of class 1; more classes: the macro average",
       "TP / (TP + FP) per class (0 when nothing is predicted in it)"},
      {"recall", T::Classification, true, "binary: of class 1; more classes: the macro average",
       "TP / (TP + FN) per class (0 when the class has no sample)"},
      {"f1", T::Classification, true, "binary: of class 1; more classes: the macro average",
       "2 precision recall / (precision + recall) per class (0 when both are 0)"},
      {"macro_precision", T::Classification, true, "the unweighted mean of every class's precision (binary too)",
       "(1/K) sum_c precision_c"},
      {"macro_recall", T::Classification, true, "the unweighted mean of every class's recall (binary too)",
       "(1/K) sum_c recall_c"},
      {"macro_f1", T::Classification, true, "the unweighted mean of every class's F1 (binary too)", "(1/K) sum_c f1_c"},
      {"auc", T::Classification, true,
       "ROC AUC: binary, of class 1's score; more classes: one-vs-rest, macro average",
       "Mann-Whitney: (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), ties at their average rank",
       {"roc_auc"}},
      {kTopK, T::Classification, true, "share of samples whose true class is among the K highest scores",
       "(1/n) sum [rank of y_i among p_i < K]; ties go to the lower class index, so top_1 = accuracy"},
      {"mae", T::Regression, false, "mean absolute error over every output value", "(1/nm) sum |y - t|"},
      {"mse", T::Regression, false, "mean squared error over every output value", "(1/nm) sum (y - t)^2"},
      {"rmse", T::Regression, false, "root mean squared error over every output value", "sqrt(mse)"},
      {"r2", T::Regression, true, "coefficient of determination, averaged over the outputs (1 is perfect)",
       "1 - sum (t - y)^2 / sum (t - mean t)^2 per output; constant targets: 1 if exact, else 0"},
  };
  return catalog;
}

MetricName parse_metric_name(const std::string& name) {
  MetricName m;
  std::string base = name;
  if (base.rfind("val_", 0) == 0) {
    m.validation = true;
    base = base.substr(4);
  }
  for (const MetricInfo& info : metric_catalog()) {
    if (info.name == kTopK) {
      // top_5_accuracy: digits between the prefix and the suffix, K >= 1, no leading zero.
      const std::string prefix = "top_", suffix = "_accuracy";
      if (base.size() <= prefix.size() + suffix.size() || base.rfind(prefix, 0) != 0 ||
          base.compare(base.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string digits = base.substr(prefix.size(), base.size() - prefix.size() - suffix.size());
      const bool whole = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits.size() > 6 || digits[0] == '0' || !whole) continue;
      m.info = &info;
      m.k = std::stoll(digits);
      m.base = base;
      return m;
    }
    if (info.name == base || std::find(info.aliases.begin(), info.aliases.end(), base) != info.aliases.end()) {
      m.info = &info;
      m.base = info.name;
      return m;
    }
  }
  return m;
}

std::string canonical_metric_name(const std::string& name) {
  const MetricName m = parse_metric_name(name);
  if (!m.info) return name;
  return (m.validation ? "val_" : "") + m.base;
}

std::vector<std::string> metric_names_for(bool classification) {
  std::vector<std::string> names;
  for (const MetricInfo& info : metric_catalog())
    if (info.task == MetricTask::Any || (info.task == MetricTask::Classification) == classification)
      names.push_back(info.name);
  return names;
}

MetricName require_metric(const std::string& name, const std::string& who) {
  MetricName m = parse_metric_name(name);
  if (m.info) return m;
  std::vector<std::string> known;
  for (const MetricInfo& info : metric_catalog()) {
    known.push_back(info.name == kTopK ? "top_5_accuracy" : info.name);
    known.push_back("val_" + known.back());
  }
  const std::string guess = schema::closest(name, known);
  std::vector<std::string> listed;
  for (const MetricInfo& info : metric_catalog()) listed.push_back(info.name);
  throw Error((who.empty() ? "" : who + ": ") + "unknown metric '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
              "; known: " + schema::join(listed) + " (K a whole number, e.g. top_5_accuracy; val_ in front for the "
              "validation data)");
}

bool metric_maximized(const std::string& name) {
  const MetricName m = parse_metric_name(name);
  return m.info && m.info->maximize;
}

std::string metric_task_problem(const std::string& name, bool classification) {
  const MetricName m = parse_metric_name(name);
  if (!m.info || m.info->task == MetricTask::Any) return "";
  if (m.info->task == MetricTask::Classification && !classification)
    return name + " is measured for classification only; for regression use " +
           schema::join(metric_names_for(false), ", ");
  if (m.info->task == MetricTask::Regression && classification)
    return name + " is measured for regression only; for classification use " +
           schema::join(metric_names_for(true), ", ");
  return "";
}

std::vector<std::string> report_metric_names(bool classification, int64_t num_classes) {
  if (!classification) return {"loss", "mae", "mse", "rmse", "r2"};
  std::vector<std::string> names = {"loss", "accuracy", "precision", "recall", "f1", "auc"};
  if (num_classes > 5) names.push_back("top_5_accuracy");
  return names;
}

// ---- computations ----

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  if (scores.size() != positive.size())
    throw Error("roc_auc: " + std::to_string(scores.size()) + " scores but " + std::to_string(positive.size()) + " labels");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Ranks 1..n; a run of tied scores shares the mean of its ranks.
  double positive_rank_sum = 0.0;
  double n_pos = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t t = i; t <= j; ++t)
      if (positive[order[t]]) {
        positive_rank_sum += rank;
        n_pos += 1.0;
      }
    i = j + 1;
  }
  const double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0.0 || n_neg == 0.0) return kNaN;
  return (positive_rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg);
}

ClassificationMetrics classification_metrics(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                             int64_t classes, const std::vector<float>& scores) {
  if (labels.size() != predicted.size())
    throw Error("classification metrics: " + std::to_string(labels.size()) + " labels but " +
                std::to_string(predicted.size()) + " predictions");
  if (classes < 2) throw Error("classification metrics: " + std::to_string(classes) + " classes; at least 2 are needed");
  const size_t n = labels.size();
  const size_t k = static_cast<size_t>(classes);
  const size_t stride = n == 0 ? 0 : scores.size() / n;
  if (!scores.empty() && (scores.size() % n != 0 || !(stride == k || (stride == 1 && classes == 2))))
    throw Error("classification metrics: " + std::to_string(scores.size()) + " scores for " + std::to_string(n) +
                " samples and " + std::to_string(classes) + " classes; give n x classes (or n x 1 for 2 classes)");
  ClassificationMetrics m;
  m.classes = classes;
  m.samples = static_cast<int64_t>(n);
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  m.support.assign(k, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = labels[i], p = predicted[i];
    if (t < 0 || t >= classes || p < 0 || p >= classes)
      throw Error("classification metrics: sample " + std::to_string(i) + " has class " + std::to_string(t) +
                  " predicted as " + std::to_string(p) + ", outside 0.." + std::to_string(classes - 1));
    ++m.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
    ++m.support[static_cast<size_t>(t)];
  }
  int64_t correct = 0;
  m.precision.assign(k, 0.0);
  m.recall.assign(k, 0.0);
  m.f1.assign(k, 0.0);
  for (size_t c = 0; c < k; ++c) {
    const double tp = static_cast<double>(m.confusion[c][c]);
    correct += m.confusion[c][c];
    double predicted_c = 0.0;
    for (size_t t = 0; t < k; ++t) predicted_c += static_cast<double>(m.confusion[t][c]);
    const double actual_c = static_cast<double>(m.support[c]);
    m.precision[c] = predicted_c > 0 ? tp / predicted_c : 0.0;
    m.recall[c] = actual_c > 0 ? tp / actual_c : 0.0;
    const double sum = m.precision[c] + m.recall[c];
    m.f1[c] = sum > 0 ? 2.0 * m.precision[c] * m.recall[c] / sum : 0.0;
  }
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  m.accuracy = n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
  m.macro_precision = mean(m.precision);
  m.macro_recall = mean(m.recall);
  m.macro_f1 = mean(m.f1);
  const bool binary = classes == 2;
  m.precision_avg = binary ? m.precision[1] : m.macro_precision;
  m.recall_avg = binary ? m.recall[1] : m.macro_recall;
  m.f1_avg = binary ? m.f1[1] : m.macro_f1;

  m.auc.assign(k, kNaN);
  m.auc_avg = kNaN;
  if (!scores.empty()) {
    m.has_scores = true;
    std::vector<double> s(n);
    std::vector<bool> positive(n);
    for (size_t c = 0; c < k; ++c) {
      for (size_t i = 0; i < n; ++i) {
        // One score column for two classes: class 1's; class 0's is its mirror image.
        s[i] = stride == 1 ? (c == 1 ? scores[i] : -static_cast<double>(scores[i])) : scores[i * stride + c];
        positive[i] = labels[i] == static_cast<int64_t>(c);
      }
      m.auc[c] = roc_auc(s, positive);
    }
    if (binary) {
      m.auc_avg = m.auc[1];
    } else {
      double sum = 0.0;
      int64_t defined = 0;
      for (double a : m.auc)
        if (!std::isnan(a)) {
          sum += a;
          ++defined;
        }
      if (defined > 0) m.auc_avg = sum / static_cast<double>(defined);
    }
  }
  return m;
}

double top_k_accuracy(const std::vector<int64_t>& labels, const std::vector<float>& scores, int64_t classes, int64_t k) {
  if (k < 1) throw Error("top_k_accuracy: k = " + std::to_string(k) + " is invalid; k must be >= 1");
  const size_t n = labels.size();
  if (n == 0) return 0.0;
  const size_t stride = scores.size() / n;
  if (scores.size() % n != 0 || !(stride == static_cast<size_t>(classes) || (stride == 1 && classes == 2)))
    throw Error("top_k_accuracy: " + std::to_string(scores.size()) + " scores for " + std::to_string(n) + " samples and " +
                std::to_string(classes) + " classes");
  int64_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t y = labels[i];
    int64_t better = 0;
    if (stride == 1) {
      // Two classes from class 1's logit: class 1 wins when the logit is > 0.
      const bool one_wins = scores[i] > 0.0f;
      better = (y == 1) != one_wins ? 1 : 0;
    } else {
      const float* row = scores.data() + i * stride;
      const float sy = row[y];
      for (int64_t c = 0; c < classes; ++c)
        if (row[c] > sy || (row[c] == sy && c < y)) ++better;
    }
    if (better < k) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(n);
}

RegressionMetrics regression_metrics(const Tensor& predictions, const Tensor& targets) {
  if (predictions.batch() != targets.batch() || predictions.features() != targets.features())
    throw Error("regression metrics: predictions of shape " + shape_string(predictions.shape()) + " but targets of shape " +
                shape_string(targets.shape()));
  const int64_t rows = predictions.batch();
  const size_t outputs = static_cast<size_t>(predictions.features());
  std::vector<double> mean(outputs, 0.0), abs(outputs, 0.0), sq(outputs, 0.0), m2(outputs, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t o = 0; o < outputs; ++o) {
      const size_t i = static_cast<size_t>(r) * outputs + o;
      const double t = targets.data()[i], e = static_cast<double>(predictions.data()[i]) - t;
      abs[o] += std::fabs(e);
      sq[o] += e * e;
      const double delta = t - mean[o];  // Welford: the targets' sum of squares about their mean
      mean[o] += delta / static_cast<double>(r + 1);
      m2[o] += delta * (t - mean[o]);
    }
  return train_detail::regression_from_sums(rows, abs, sq, m2);
}

namespace train_detail {

RegressionMetrics regression_from_sums(int64_t rows, const std::vector<double>& abs, const std::vector<double>& sq,
                                       const std::vector<double>& target_m2) {
  RegressionMetrics m;
  m.samples = rows;
  m.outputs = static_cast<int64_t>(sq.size());
  const double n = static_cast<double>(rows);
  double abs_total = 0.0, sq_total = 0.0, r2_total = 0.0;
  for (size_t o = 0; o < sq.size(); ++o) {
    m.mae_per_output.push_back(abs[o] / n);
    m.rmse_per_output.push_back(std::sqrt(sq[o] / n));
    m.r2_per_output.push_back(target_m2[o] > 0.0 ? 1.0 - sq[o] / target_m2[o] : (sq[o] == 0.0 ? 1.0 : 0.0));
    abs_total += abs[o];
    sq_total += sq[o];
    r2_total += m.r2_per_output.back();
  }
  const double elements = n * static_cast<double>(m.outputs);
  m.mae = abs_total / elements;
  m.mse = sq_total / elements;
  m.rmse = std::sqrt(m.mse);
  m.r2 = r2_total / static_cast<double>(m.outputs);
  return m;
}

}  // namespace train_detail

}  // namespace nntune
