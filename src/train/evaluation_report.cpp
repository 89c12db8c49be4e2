// Evaluating a saved model: the scalars `train` prints for its test set and `eval` prints for any
// data (evaluate_model), and the per-class / per-output detail behind them (evaluate_model_report).
#include <algorithm>
#include <cmath>

#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/spec.hpp"
#include "train/train_internal.hpp"

namespace nntune {
namespace {

using nlohmann::json;

void check_shape(const Model& model, const Dataset& raw_data) {
  const Shape sample = raw_data.sample_shape();
  if (sample != model.input_shape() && !same_but_unit_axes(sample, model.input_shape()))
    throw Error("the data " + raw_data.source + " has samples of shape " + shape_string(sample) +
                " but the model expects " + shape_string(model.input_shape()));
}

// A table's preprocessing (every member of an ensemble reads the same columns).
const Preprocessing& preprocessing_of(const Model& model) {
  return model.is_ensemble() ? model.members.front().preprocessing : model.preprocessing;
}

// The classes the model was trained for (2 for one-output binary cross-entropy).
int64_t model_classes(const Model& model) {
  if (model.task != Task::Classification) return 0;
  if (model.num_classes > 0) return model.num_classes;
  return make_loss(model.loss)->output_width(2, 1) == 1 ? 2 : (model.output_shape().empty() ? 0 : model.output_shape().back());
}

// One accumulator over the data, as evaluate() / evaluate_predictions() would fill it.
train_detail::MetricAccumulator accumulate(Model& model, const Dataset& raw_data, int64_t batch_size,
                                           const std::vector<std::string>& extra) {
  const Preprocessing& prep = preprocessing_of(model);
  if (!prep.active()) check_shape(model, raw_data);
  const auto loss = make_loss(model.loss);
  if (model.is_ensemble() || model.forecast.enabled) {  // scored on predict's outputs, in the data's units
    Tensor step_mask;  // sequences: the real steps, as the members' networks mask them
    const Tensor predictions = predict(model, raw_data, batch_size, &step_mask);
    return train_detail::evaluate_predictions_accumulate(*loss, predictions, raw_data.y, extra, &step_mask);
  }
  Dataset data = raw_data;
  if (data.windowed()) {  // windows for a model without a series transform: scaled whole below
    data.x = raw_data.materialized_x();
    data.windows.reset();
  }
  if (prep.active())
    data.x = prep.transform(raw_data);
  else if (raw_data.has_text())
    throw Error("the data " + raw_data.source + " holds text but the model reads numbers only");
  data.x.reshape(with_batch(data.x.batch(), model.input_shape()));  // a channel axis of size 1 added or dropped
  if (model.task == Task::Classification) data.num_classes = model.num_classes;
  model.scaler.apply(data.x);
  return train_detail::evaluate_accumulate(model.network, *loss, data, batch_size, extra);
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json numbers(const std::vector<double>& v) {
  json out = json::array();
  for (double x : v) out.push_back(number_or_null(x));
  return out;
}

}  // namespace

std::vector<std::string> model_metric_names(const Model& model) {
  std::vector<std::string> names = {"loss"};
  if (model.task == Task::Classification) names.push_back("accuracy");
  else names.insert(names.end(), {"mae", "rmse"});
  const json* metrics = nullptr;
  if (model.metadata.is_object() && model.metadata.contains("spec")) {
    const json& spec = model.metadata.at("spec");
    if (spec.is_object() && spec.contains("train") && spec.at("train").is_object() && spec.at("train").contains("metrics"))
      metrics = &spec.at("train").at("metrics");
  }
  if (metrics && metrics->is_array())
    for (const json& m : *metrics) {
      if (!m.is_string()) continue;
      const MetricName name = parse_metric_name(m.get<std::string>());
      // A name this version does not know, or one of the other task, is left out, not an error:
      // the model still evaluates.
      if (!name.info || name.validation || !metric_task_problem(name.base, model.task == Task::Classification).empty())
        continue;
      if (std::find(names.begin(), names.end(), name.base) == names.end()) names.push_back(name.base);
    }
  return names;
}

Metrics evaluate_model(Model& model, const Dataset& raw_data, int64_t batch_size) {
  Metrics result;
  accumulate(model, raw_data, batch_size, model_metric_names(model)).write(result, "");
  return result;
}

EvaluationReport evaluate_model_report(Model& model, const Dataset& raw_data, int64_t batch_size, int64_t top_k) {
  if (top_k < 0) throw Error("top-k accuracy: k = " + std::to_string(top_k) + " is invalid; k must be >= 1 (0: the default)");
  EvaluationReport report;
  report.task = model.task;
  report.samples = raw_data.size();
  const bool classification = model.task == Task::Classification;
  const int64_t classes = model_classes(model);
  std::vector<std::string> names = model_metric_names(model);
  std::vector<std::string> more = report_metric_names(classification, classes);
  if (classification && top_k > 0) {
    // The k asked for replaces the default top_5.
    if (more.back().rfind("top_", 0) == 0) more.pop_back();
    more.push_back("top_" + std::to_string(top_k) + "_accuracy");
  }
  for (const std::string& name : more)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  for (const std::string& name : names)
    if (parse_metric_name(name).k > 0) report.top_k = parse_metric_name(name).k;
  const train_detail::MetricAccumulator acc = accumulate(model, raw_data, batch_size, names);
  acc.write(report.metrics, "");
  if (classification) {
    report.classification = acc.classification_detail();
    if (static_cast<int64_t>(model.class_names.size()) == report.classification.classes) report.class_names = model.class_names;
  } else {
    // Per output over the rows the scalars counted (sequences: each real step a row).
    report.regression = acc.regression_detail();
  }
  return report;
}

json EvaluationReport::to_json() const {
  json j;
  j["task"] = task == Task::Classification ? "classification" : "regression";
  j["samples"] = samples;
  json m = json::object();
  for (const auto& [name, value] : metrics) m[name] = number_or_null(value);
  j["metrics"] = m;
  if (task == Task::Classification) {
    const ClassificationMetrics& c = classification;
    j["classes"] = c.classes;
    if (!class_names.empty()) j["class_names"] = class_names;
    j["per_class"] = {{"precision", numbers(c.precision)},
                      {"recall", numbers(c.recall)},
                      {"f1", numbers(c.f1)},
                      {"auc", numbers(c.auc)},
                      {"support", c.support}};
    j["confusion_matrix"] = c.confusion;
  } else {
    const RegressionMetrics& r = regression;
    j["outputs"] = r.outputs;
    j["per_output"] = {{"mae", numbers(r.mae_per_output)}, {"rmse", numbers(r.rmse_per_output)}, {"r2", numbers(r.r2_per_output)}};
  }
  return j;
}

}  // namespace nntune
