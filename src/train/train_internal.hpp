#pragma once
// Pieces shared by the training loop, its callbacks and cross-validation (private to src/train).
#include <cstdint>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/loss.hpp"
#include "nntune/metrics.hpp"
#include "nntune/tensor.hpp"
#include "nntune/trainer.hpp"

namespace nntune::train_detail {

// Uniform integer in [0, bound) from raw mt19937_64 output by rejection, so results do not
// depend on the standard library's distribution implementation.
uint64_t uniform_below(Rng& rng, uint64_t bound);
// Fisher-Yates shuffle with uniform_below (std::shuffle is implementation-defined).
void shuffle_indices(std::vector<int64_t>& indices, Rng& rng);
// Independent, well-mixed seed for a sub-stream (splitmix64 finaliser).
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// Accumulates loss and metrics over batches of (output, target) without allocating (beyond the
// growth of its per-sample buffers in the first epoch, and only when extra metrics need them).
// Classification (loss->is_classification()): accuracy. One output column with a binary loss:
// logit > 0 vs label; several columns: argmax of the output vs the class index (targets of
// one column) or vs the argmax of one-hot targets; binary loss with several columns: per-element
// logit > 0 vs target (multi-label). Regression: mae and rmse over all output elements.
// `extra`: further metrics to report (names without val_, checked with check_extra_metrics).
// RegressionMetrics from per-output sums over `rows` rows: absolute and squared errors, and the
// targets' sums of squares about their mean (regression_metrics() and
// MetricAccumulator::regression_detail() both end here).
RegressionMetrics regression_from_sums(int64_t rows, const std::vector<double>& abs, const std::vector<double>& sq,
                                       const std::vector<double>& target_m2);

class MetricAccumulator {
 public:
  explicit MetricAccumulator(const Loss& loss, std::vector<std::string> extra = {});
  void reset();
  // loss_value is the mean over the batch (already including any penalty to report).
  void add(const Tensor& output, const Tensor& target, double loss_value);
  int64_t samples() const { return samples_; }
  // Keys loss, accuracy | mae, rmse, and the extra ones, each prefixed with `prefix` ("" or "val_").
  void write(Metrics& metrics, const std::string& prefix) const;
  bool classification() const { return classification_; }
  // The detail behind the figures (classification: labels and scores are kept when extra
  // metrics need them).
  ClassificationMetrics classification_detail() const;
  // Regression, per output over the rows added (the real steps of sequences), as
  // regression_metrics() computes them; needs a regression metric beyond mae and rmse in `extra`.
  RegressionMetrics regression_detail() const;

 private:
  bool classification_;
  bool binary_;
  std::vector<std::string> extra_;
  bool keep_labels_ = false, keep_scores_ = false, keep_regression_ = false;
  int64_t samples_ = 0;
  int64_t elements_ = 0;  // regression: output elements; multi-label: target elements
  double loss_sum_ = 0.0;
  double correct_ = 0.0;
  double abs_sum_ = 0.0, sq_sum_ = 0.0;
  int64_t classes_ = 0;
  std::vector<int64_t> labels_, predicted_;
  std::vector<float> scores_;
  // Regression, per output: squared error and the targets' running mean and sum of squares.
  std::vector<double> output_sq_, output_abs_, target_mean_, target_m2_;
};

// Throws Error unless every name is a known metric of the loss's task (names without val_).
void check_extra_metrics(const Loss& loss, const std::vector<std::string>& metrics, const std::string& who);
// The extra metrics of a run: config.metrics and what the callbacks watch, without val_ and
// without the ones always reported, each once.
std::vector<std::string> requested_metrics(const Loss& loss, const std::vector<std::string>& configured,
                                           const std::vector<Callback*>& callbacks);

// What evaluate() and evaluate_predictions() compute, with the detail behind the figures.
MetricAccumulator evaluate_accumulate(Network& network, const Loss& loss, const Dataset& data, int64_t batch_size,
                                      const std::vector<std::string>& extra);
MetricAccumulator evaluate_predictions_accumulate(const Loss& loss, const Tensor& predictions, const Tensor& targets,
                                                  const std::vector<std::string>& extra, const Tensor* step_mask = nullptr);

// Names of the metrics an epoch will report, for validating monitored names early.
std::vector<std::string> metric_names(const Loss& loss, bool with_validation, const std::vector<std::string>& extra = {});

// "min" or "max" for a monitored metric: auto means max for accuracy-like names.
bool maximize(const std::string& mode, const std::string& monitor, const std::string& who);
// Throws Error naming the metric and the available ones when `name` is not in metrics.
double monitored_value(const Metrics& metrics, const std::string& name, const std::string& who);
void check_monitor_available(const std::vector<std::string>& available, const std::string& name,
                             const std::string& who);

std::string format_number(double value);

// The fold (0..folds-1) of every sample of data, as cross_validate() assigns them.
// Throws Error unless 2 <= folds <= data.size().
std::vector<int64_t> cross_validation_folds(const Dataset& data, int64_t folds, uint64_t seed);

}  // namespace nntune::train_detail
