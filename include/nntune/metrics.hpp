#pragma once
// The metrics people report, with scikit-learn's definitions: what each measures, the task it
// fits, which way is better, and the functions that compute them. Training reports the default
// ones of its task every epoch (loss, accuracy | mae, rmse) plus those named in
// TrainConfig::metrics or watched by a callback; evaluate_model() reports every scalar of the
// task, evaluate_model_report() the per-class detail as well.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/model.hpp"
#include "nntune/tensor.hpp"
#include "nntune/trainer.hpp"

namespace nntune {

enum class MetricTask { Any, Classification, Regression };

struct MetricInfo {
  std::string name;  // as written in specs; top-k accuracy is the pattern "top_K_accuracy"
  MetricTask task = MetricTask::Any;
  bool maximize = false;   // the better direction (early stopping's and tuning's "auto")
  std::string help;        // one line
  std::string definition;  // the formula, for the docs
  std::vector<std::string> aliases;
};
// Every metric, in the order they are listed and reported.
const std::vector<MetricInfo>& metric_catalog();

// A metric name as written: "val_" prefix (validation), the metric, and K of top_K_accuracy.
struct MetricName {
  const MetricInfo* info = nullptr;  // null: unknown
  bool validation = false;
  int64_t k = 0;          // top_K_accuracy only
  std::string base;       // the canonical name without "val_" ("auc" for "val_roc_auc")
};
MetricName parse_metric_name(const std::string& name);
// The name as epochs report it: an alias replaced by the metric's name ("val_roc_auc" ->
// "val_auc"); unknown names unchanged.
std::string canonical_metric_name(const std::string& name);
// As parse_metric_name, but an unknown name throws Error naming it, the closest known name and
// the known ones; `who` starts the message ("early stopping").
MetricName require_metric(const std::string& name, const std::string& who);
// Whether larger is better (auc, f1, r2, accuracy); false for losses and errors and for unknown names.
bool metric_maximized(const std::string& name);
// "" when the metric is measured for the task; otherwise the reason, e.g.
// "auc is measured for classification only".
std::string metric_task_problem(const std::string& name, bool classification);
// The metric names of a task (without "val_"; top-k as top_K_accuracy), for messages and docs.
std::vector<std::string> metric_names_for(bool classification);
// What `nntune eval` reports for a task besides model_metric_names(): loss, accuracy, precision, recall, f1, auc and, with
// more than 5 classes, top_5_accuracy | loss, mae, mse, rmse, r2.
std::vector<std::string> report_metric_names(bool classification, int64_t num_classes);

// ---- the computations (tested against hand-computed values) ----

// ROC AUC of scores against a positive class: the Mann-Whitney U statistic over
// n_positive * n_negative, tied scores counting one half (average ranks). NaN when either class
// has no sample (scikit-learn refuses that case).
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

// Classification metrics of `labels` (class per sample) and `predicted` (class per sample).
// `scores` (optional, may be empty) are per-sample class scores for auc and top-k: n x classes
// row-major (probabilities or logits), or n x 1 for two classes (class 1's logit).
struct ClassificationMetrics {
  int64_t classes = 0;
  int64_t samples = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<int64_t> support;                 // samples per true class
  // Per class (one-vs-rest); 0 where undefined (no predicted / no true sample), as scikit-learn's
  // zero_division default. auc: NaN where the class or its complement has no sample.
  std::vector<double> precision, recall, f1, auc;
  double accuracy = 0.0;
  double macro_precision = 0.0, macro_recall = 0.0, macro_f1 = 0.0;
  // Binary (2 classes): the class-1 values (scikit-learn's average='binary'); else the macro ones.
  double precision_avg = 0.0, recall_avg = 0.0, f1_avg = 0.0;
  // Binary: class 1's auc; else the mean of the per-class aucs that are defined (NaN if none).
  double auc_avg = 0.0;
  bool has_scores = false;
};
ClassificationMetrics classification_metrics(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                             int64_t classes, const std::vector<float>& scores = {});
// Share of samples whose true class is among the k best scores; ties between the true class and
// another go to the lower class index (as argmax), so top_1 equals accuracy.
double top_k_accuracy(const std::vector<int64_t>& labels, const std::vector<float>& scores, int64_t classes, int64_t k);

// Regression metrics over every output; r2 is the mean over outputs of 1 - SS_res / SS_tot
// (scikit-learn's uniform_average; an output with constant targets scores 1 if predicted exactly,
// else 0).
struct RegressionMetrics {
  int64_t samples = 0, outputs = 0;
  double mae = 0.0, mse = 0.0, rmse = 0.0, r2 = 0.0;
  std::vector<double> r2_per_output, mae_per_output, rmse_per_output;
};
RegressionMetrics regression_metrics(const Tensor& predictions, const Tensor& targets);

// The full evaluation of a saved model: the scalars evaluate_model() gives and those
// report_metric_names() lists, and per class (or per output) detail. top_k: K of top_K_accuracy (0: 5 when there are more than 5 classes, else
// none).
struct EvaluationReport {
  Task task = Task::Classification;
  int64_t samples = 0;
  Metrics metrics;  // loss, accuracy, precision, ... | loss, mae, mse, rmse, r2
  ClassificationMetrics classification;  // classification only
  RegressionMetrics regression;          // regression only
  int64_t top_k = 0;
  std::vector<std::string> class_names;  // the model's (text labels), or empty: classes by index
  // The documented JSON shape (docs/metrics.md): {"task", "samples", "metrics": {...},
  // "per_class": {"precision": [...], "recall": [...], "f1": [...], "auc": [...], "support": [...]},
  // "confusion_matrix": [[...]]} | {..., "per_output": {"mae": [...], "rmse": [...], "r2": [...]}}.
  // NaN values are written as null; "class_names" is added when the model has them.
  nlohmann::json to_json() const;
};
// The metrics evaluate_model() reports for a model: loss and accuracy | mae and rmse, and those
// its spec's train.metrics named (kept in the model's metadata), so that `nntune eval` repeats
// the test figures `nntune train` printed.
std::vector<std::string> model_metric_names(const Model& model);
EvaluationReport evaluate_model_report(Model& model, const Dataset& raw_data, int64_t batch_size = 1024,
                                       int64_t top_k = 0);

}  // namespace nntune
