// nntune: the command line. train / eval / predict / cv on top of the spec driver.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/checks.hpp"
#include "cli/format.hpp"
#include "cli/progress.hpp"
#include "cli/storage_commands.hpp"
#include "cli/report_commands.hpp"
#include "cli/tune_commands.hpp"
#include "data/file_bytes.hpp"
#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/metrics.hpp"
#include "nntune/onnx.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "spec/reference.hpp"

namespace {

using namespace nntune;
namespace fs = std::filesystem;
using nntune::cli::format_evaluation;

// Raised for mistakes in how nntune was called (exit code 2), as opposed to failures (1).
struct UsageError : Error {
  using Error::Error;
};

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// ---- reading data files for eval / predict ----

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class FileKind { Csv, Npy, Idx };
FileKind kind_of(const std::string& path) {
  std::string p = path;
  if (ends_with(p, ".gz")) p = p.substr(0, p.size() - 3);
  if (ends_with(p, ".csv") || ends_with(p, ".tsv") || ends_with(p, ".txt")) return FileKind::Csv;
  if (ends_with(p, ".npy")) return FileKind::Npy;
  return FileKind::Idx;
}

struct DataOptions {
  std::string labels;  // IDX labels file or labels .npy
  std::string label;   // CSV label column (name or index); default: as in training
  int64_t skip_rows = -1;
  int header = -1;  // -1: as in training
  std::string delimiter;
};

CsvOptions csv_options(const Model& model, const std::string& path, const DataOptions& o) {
  CsvOptions c;
  c.path = path;
  const nlohmann::json format = model.metadata.value("data_format", nlohmann::json::object());
  if (format.contains("csv")) {
    const auto& saved = format.at("csv");
    c.label = saved.value("label", "");
    c.header = saved.value("header", true);
    c.skip_rows = saved.value("skip_rows", int64_t{0});
    c.delimiter = saved.value("delimiter", std::string(",")).at(0);
  }
  if (!o.label.empty()) c.label = o.label;
  if (o.skip_rows >= 0) c.skip_rows = o.skip_rows;
  if (o.header >= 0) c.header = o.header == 1;
  if (!o.delimiter.empty()) c.delimiter = o.delimiter[0];
  c.task = model.task;
  c.num_classes = model.num_classes;
  return c;
}

std::vector<std::string> split_line(const std::string& line, char delimiter) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, delimiter)) cells.push_back(cell);
  if (!line.empty() && line.back() == delimiter) cells.emplace_back();
  return cells;
}

// Number of columns in the first data row of a CSV (quote-unaware; enough to tell whether the
// label column is there).
int64_t csv_columns(const CsvOptions& c) {
  std::istringstream in(detail::read_file_maybe_gzip(c.path, "CSV file"));
  std::string line;
  for (int64_t i = 0; i < c.skip_rows && std::getline(in, line); ++i) {
  }
  if (c.header) std::getline(in, line);
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) return static_cast<int64_t>(split_line(line, c.delimiter).size());
  return 0;
}

// A model trained on a table (columns by name, text, missing cells) reads its CSVs that way.
bool table_model(const Model& model) {
  return model.metadata.value("data_format", nlohmann::json::object()).value("csv", nlohmann::json::object()).contains("features");
}

Dataset load_labelled(const Model& model, const std::string& path, const DataOptions& o) {
  switch (kind_of(path)) {
    case FileKind::Csv:
      if (table_model(model)) return load_csv_for_model(model, csv_options(model, path, o), true);
      return load_csv(csv_options(model, path, o));
    case FileKind::Npy:
      if (o.labels.empty()) throw UsageError("eval on an .npy file needs --labels LABELS.npy");
      return load_npy_dataset(path, o.labels, model.task, model.num_classes);
    case FileKind::Idx:
      if (o.labels.empty()) throw UsageError("eval on an IDX image file needs --labels LABELS (the IDX labels file)");
      return load_idx(path, o.labels, model.num_classes);
  }
  return {};
}

Dataset load_features(const Model& model, const std::string& path, const DataOptions& o) {
  Dataset data;
  switch (kind_of(path)) {
    case FileKind::Csv: {
      const CsvOptions c = csv_options(model, path, o);
      // The columns by name; the label column, when there, is ignored; the id passed through.
      if (table_model(model)) return load_csv_for_model(model, c, false);
      const Shape& input = model.input_shape();
      if (input.size() == 1 && csv_columns(c) == input[0]) {
        // No label column: the same strict reader as training, every column a feature.
        CsvOptions features = c;
        features.features_only = true;
        return load_csv(features);
      }
      return load_csv(c);
    }
    case FileKind::Npy:
      data.x = load_npy(path);
      return data;
    case FileKind::Idx:
      data.x = load_idx_array(path);
      return data;
  }
  return data;
}

// A CSV cell: quoted when it holds the delimiter, a quote or a line break.
std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

Dataset spec_test_set(const std::string& spec_path, const std::vector<std::string>& overrides) {
  const TrainingSpec spec = load_spec(spec_path, overrides);
  SpecData data = load_spec_data(spec);
  if (!data.test) throw Error(spec_path + ": the spec has no data.test to evaluate on");
  return std::move(*data.test);
}

// A series model (data.train: {series: ...}) reads series files with its training settings.
const nlohmann::json* series_format(const Model& model) {
  const nlohmann::json& format = model.metadata.value("data_format", nlohmann::json::object());
  if (!format.is_object() || format.value("kind", std::string()) != "series" || !format.contains("series")) return nullptr;
  return &model.metadata.at("data_format").at("series");
}

// The windows to score or forecast and the row of each window's first target: the spec's test
// part (--spec), every window with targets (eval on a file) or every window, the forecast past
// the end included (predict on a file).
struct SeriesWindows {
  std::shared_ptr<const Series> series;
  Dataset windows;
  std::vector<int64_t> first_rows;
  int64_t horizon = 1;
};
// ---- commands ----

struct TrainArgs {
  std::string spec;
  std::vector<std::string> overrides;
  std::string output;
  bool quiet = false;
  bool no_report = false;
  bool print_spec = false;
};

// A spec that does not load as a training spec may be a tuning spec (distributions in place of
// values, a tune: section): say so and name the command that takes it, instead of the first
// distribution's type error. Any other spec keeps its own error.
std::optional<std::string> tuning_spec_hint(const std::string& path, const std::vector<std::string>& overrides) {
  std::optional<tune::TuneSpec> tuning;
  try {
    tuning = tune::load_tune_spec(path, overrides);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const auto parameters = tune::space_parameters(tuning->space, tuning->external());
  std::string what;
  if (tuning->external()) {
    what = "it tunes an external program (tune.objective.command)";
  } else if (parameters.empty()) {
    what = "it has a tune: section";
  } else {
    std::string names;
    for (size_t i = 0; i < parameters.size() && i < 3; ++i) names += (i ? ", " : "") + parameters[i].first;
    if (parameters.size() > 3) names += ", ...";
    what = "it has " + std::to_string(parameters.size()) + " distribution" + (parameters.size() == 1 ? "" : "s") +
           " to tune (" + names + ")";
  }
  return path + " is a tuning spec: " + what + ". Tune it with: nntune tune " + path +
         "\nthen train the best trial's spec: nntune best STUDY --spec-out best.yaml && nntune train best.yaml";
}

int cmd_train(const TrainArgs& a) {
  const auto started = std::chrono::steady_clock::now();
  TrainingSpec spec;
  try {
    spec = load_spec(a.spec, a.overrides);
  } catch (const Error&) {
    if (const auto hint = tuning_spec_hint(a.spec, a.overrides)) throw UsageError(*hint);
    throw;
  }
  if (a.print_spec) {
    std::printf("# the effective spec of %s: every default filled in\n%s", a.spec.c_str(),
                tune::spec_to_yaml(effective_spec(spec)).c_str());
    return 0;
  }
  // Loaded here once: training and the report's confusion matrix use the same samples. The
  // report keeps only the part it scores (validation, else test); the rest moves into training.
  SpecData data = load_spec_data(spec);
  const bool scored_is_validation = data.validation.has_value();
  const std::optional<Dataset> scored = scored_is_validation ? data.validation : data.test;
  const bool live = !a.quiet && isatty(fileno(stdout));
  cli::ProgressCallback progress(stdout, live, a.quiet);
  TrainingOptions options;
  options.output_dir = a.output;
  options.movable_data = &data;
  options.on_ready = [&](const TrainingResult& r) {
    progress.set_batches_per_epoch((r.train_size + spec.train.batch_size - 1) / spec.train.batch_size);
    if (a.quiet) return;
    std::printf("data: %s train, %s validation, %s test samples; model: %s parameters\n",
                with_thousands(r.train_size).c_str(), with_thousands(r.validation_size).c_str(),
                with_thousands(r.test_size).c_str(), with_thousands(r.num_params).c_str());
    std::fflush(stdout);
  };
  TrainingResult result;
  try {
    result = run_training(spec, {&progress}, options);
  } catch (const DivergenceError& e) {
    std::fflush(stdout);
    const std::string what = e.what();
    throw Error((what.rfind("training diverged", 0) == 0 ? what : "training diverged: " + what) + "\nno model was written");
  }
  if (!result.history.stop_reason.empty()) std::printf("stopped: %s\n", result.history.stop_reason.c_str());
  // A user who asked for bf16 is told when fp32 ran instead (bf16 runs only where it is faster).
  if (spec.train.precision != "fp32" && !result.history.precision_used.empty())
    std::printf("precision: %s\n", result.history.precision_used.c_str());
  if (!result.test_metrics.empty())
    std::printf("test: %s\n", format_evaluation(result.test_metrics, result.test_size).c_str());
  std::printf("model: %s\nhistory: %s\n", result.model_path.c_str(), result.history_path.c_str());
  if (!a.no_report) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("report: %s\n", cli::write_training_report(a.spec, spec, result, scored ? &*scored : nullptr, scored_is_validation, seconds).c_str());
  }
  return 0;
}

struct DataArgs {
  std::string model, data, spec, output;
  std::vector<std::string> overrides;
  DataOptions options;
  bool no_header = false;
  int64_t batch_size = 1024;
  std::string format = "text";  // eval: text or json
  int64_t top_k = 0;            // eval: K of top_K_accuracy (0: 5 with more than 5 classes)
};

void check_data_args(const DataArgs& a) {
  if (a.data.empty() == a.spec.empty())
    throw UsageError(a.data.empty() ? "give a DATA file or --spec SPEC.yaml (to use its test set)"
                                    : "give either a DATA file or --spec, not both");
}

SeriesWindows series_windows(const Model& model, const nlohmann::json& format, const DataArgs& a, bool with_future) {
  SeriesWindows w;
  if (!a.spec.empty()) {
    const TrainingSpec spec = load_spec(a.spec, a.overrides);
    SpecData data = load_spec_data(spec);
    if (!data.series) throw Error(a.spec + ": the spec's data.train is not a series, but the model forecasts one");
    if (!data.test) throw Error(a.spec + ": the spec has no data.test to evaluate on");
    w.series = data.series;
    w.horizon = spec.data.train.series.horizon;
    w.windows = make_windows(w.series, spec.data.train.series.window, w.horizon, 1, data.series_split.test_begin,
                             w.series->rows(), &w.first_rows);
    return w;
  }
  const SeriesOptions o = series_options_from_json(format, a.data);
  w.series = std::make_shared<Series>(load_series(o));
  w.horizon = o.horizon;
  if (with_future)
    w.windows = forecast_windows(w.series, o.window, o.horizon, 1, &w.first_rows);
  else
    w.windows = make_windows(w.series, o.window, o.horizon, 1, 0, w.series->rows(), &w.first_rows);
  if (w.windows.size() == 0)
    throw Error(a.data + " has " + std::to_string(w.series->rows()) + " rows: too few for one window of " +
                std::to_string(o.window) + " rows" + (with_future ? "" : " and its " + std::to_string(o.horizon) + " target row(s)"));
  (void)model;
  return w;
}

// The per-class (classification) or per-output (regression, several outputs) table under eval's
// figures.
std::string detail_table(const EvaluationReport& r) {
  auto cell = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%10.4f", v);
    return std::string(buf);
  };
  std::string out;
  if (r.task == Task::Classification) {
    const ClassificationMetrics& c = r.classification;
    out += "per class (auc one-vs-rest):\n     class  precision     recall         f1        auc    support\n";
    for (int64_t k = 0; k < c.classes; ++k) {
      const size_t i = static_cast<size_t>(k);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%10lld", static_cast<long long>(k));
      std::string name = buf;
      if (i < r.class_names.size()) {
        // A class name, cut or padded to the column's 10 characters.
        name = r.class_names[i].substr(0, 10);
        name.insert(0, 10 - name.size(), ' ');
      }
      out += name + " " + cell(c.precision[i]) + " " + cell(c.recall[i]) + " " + cell(c.f1[i]) + " " +
             cell(c.auc[i]);
      std::snprintf(buf, sizeof buf, " %10lld\n", static_cast<long long>(c.support[i]));
      out += buf;
    }
  } else if (r.regression.outputs > 1) {
    const RegressionMetrics& m = r.regression;
    out += "per output:\n    output        mae       rmse         r2\n";
    for (int64_t o = 0; o < m.outputs; ++o) {
      const size_t i = static_cast<size_t>(o);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%10lld", static_cast<long long>(o));
      out += std::string(buf) + " " + cell(m.mae_per_output[i]) + " " + cell(m.rmse_per_output[i]) + " " +
             cell(m.r2_per_output[i]) + "\n";
    }
  }
  return out;
}

int cmd_eval(DataArgs a) {
  check_data_args(a);
  if (a.no_header) a.options.header = 0;
  Model model = load_model(a.model);
  if (const nlohmann::json* format = series_format(model)) {
    const SeriesWindows w = series_windows(model, *format, a, false);
    const Metrics metrics = evaluate_model(model, w.windows, a.batch_size);
    std::printf("windows: %s\n", with_thousands(w.windows.size()).c_str());
    std::printf("eval: %s\n", format_evaluation(metrics, w.windows.size()).c_str());
    return 0;
  }
  const Dataset data = a.spec.empty() ? load_labelled(model, a.data, a.options) : spec_test_set(a.spec, a.overrides);
  if (a.top_k > 0 && model.task != Task::Classification)
    throw UsageError("--top-k applies to classification models; this model does regression");
  const EvaluationReport report = evaluate_model_report(model, data, a.batch_size, a.top_k);
  if (a.format == "json") {
    std::printf("%s\n", report.to_json().dump(2).c_str());
    return 0;
  }
  // The first line as `train` prints its test figures; the rest of the task's metrics after it.
  Metrics headline, more;
  const std::vector<std::string> names = model_metric_names(model);
  for (const auto& [name, value] : report.metrics)
    (std::find(names.begin(), names.end(), name) != names.end() ? headline : more)[name] = value;
  std::printf("samples: %s\n", with_thousands(data.size()).c_str());
  std::printf("eval: %s\n", format_evaluation(headline, data.size()).c_str());
  if (!more.empty()) std::printf("more: %s\n", format_evaluation(more, data.size()).c_str());
  std::fputs(detail_table(report).c_str(), stdout);
  return 0;
}

int cmd_predict(DataArgs a) {
  check_data_args(a);
  if (a.no_header) a.options.header = 0;
  Model model = load_model(a.model);
  if (const nlohmann::json* format = series_format(model)) {
    const SeriesWindows w = series_windows(model, *format, a, true);
    const Tensor out = predict(model, w.windows, a.batch_size);  // batch by batch from the series
    std::ofstream file;
    if (!a.output.empty()) {
      file.open(a.output, std::ios::binary);
      if (!file) throw Error("cannot write '" + a.output + "' (does its directory exist?)");
    }
    std::ostream& csv = a.output.empty() ? std::cout : file;
    write_forecast_csv(csv, *w.series, w.first_rows, w.horizon, out);
    csv.flush();
    if (!csv) throw Error("writing the forecast failed (disk full?)");
    if (!a.output.empty())
      std::fprintf(stderr, "wrote the forecasts of %lld windows to %s\n", static_cast<long long>(out.batch()), a.output.c_str());
    return 0;
  }
  const Dataset data = a.spec.empty() ? load_features(model, a.data, a.options) : spec_test_set(a.spec, a.overrides);
  Tensor step_mask;  // sequences masked by mask_zero: which steps are real
  const Tensor out = predict(model, data, a.batch_size, &step_mask);
  // Named classes and targets when the training table had them, an id column when the data has one.
  const std::vector<std::string>& names = model.class_names;
  const bool ids = !data.ids.empty();
  const std::vector<std::string> targets =
      model.metadata.value("data_format", nlohmann::json::object()).value("csv", nlohmann::json::object()).value(
          "labels", std::vector<std::string>());

  std::ofstream file;
  if (!a.output.empty()) {
    file.open(a.output, std::ios::binary);
    if (!file) throw Error("cannot write '" + a.output + "' (does its directory exist?)");
  }
  std::ostream& csv = a.output.empty() ? std::cout : file;
  // Sequence outputs (samples of shape (steps, outputs)): one row per step, after the sample (its
  // id, or its 0-based index) and the step (0-based); under a step mask the real steps only.
  const int64_t steps = out.rank() == 3 ? out.shape()[1] : 0;
  const int64_t samples = out.batch(), width = steps > 0 ? out.shape()[2] : out.features();
  const int64_t n = steps > 0 ? samples * steps : samples;
  const bool classification = model.task == Task::Classification;
  const bool binary = classification && width == 1;  // sigmoid output: P(class 1)
  if (ids) csv << csv_cell(data.id_name) << ",";
  if (steps > 0) csv << (ids ? "" : "sample,") << "step,";
  if (classification) {
    csv << "class";
    for (int64_t k = 0; k < (binary ? 2 : width); ++k)
      csv << "," << (names.empty() ? "p" + std::to_string(k) : csv_cell("prob_" + names[static_cast<size_t>(k)]));
  } else {
    const bool named = static_cast<int64_t>(targets.size()) == width;
    for (int64_t k = 0; k < width; ++k)
      csv << (k ? "," : "")
          << (named ? csv_cell(targets[static_cast<size_t>(k)]) : width == 1 ? "prediction" : "y" + std::to_string(k));
  }
  csv << "\n";
  auto put_class = [&](int64_t k) {
    if (names.empty())
      csv << k;
    else
      csv << csv_cell(names[static_cast<size_t>(k)]);
  };
  char buf[32];
  auto put = [&](float v) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    csv << buf;
  };
  int64_t written = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (steps > 0 && step_mask.size() > 0 && step_mask[i] == 0.0f) continue;  // padding
    ++written;
    const float* row = out.data() + i * width;
    const int64_t sample = steps > 0 ? i / steps : i;
    if (ids) csv << csv_cell(data.ids[static_cast<size_t>(sample)]) << ",";
    if (steps > 0) csv << (ids ? "" : std::to_string(sample) + ",") << i % steps << ",";
    if (classification) {
      if (binary) {
        put_class(row[0] >= 0.5f ? 1 : 0);
        csv << ",";
        put(1.0f - row[0]);
        csv << ",";
        put(row[0]);
      } else {
        int64_t best = 0;
        for (int64_t k = 1; k < width; ++k)
          if (row[k] > row[best]) best = k;
        put_class(best);
        for (int64_t k = 0; k < width; ++k) {
          csv << ",";
          put(row[k]);
        }
      }
    } else {
      for (int64_t k = 0; k < width; ++k) {
        if (k) csv << ",";
        put(row[k]);
      }
    }
    csv << "\n";
  }
  csv.flush();
  if (!csv) throw Error("writing the predictions failed (disk full?)");
  if (!a.output.empty()) {
    if (steps > 0 && step_mask.size() > 0)
      std::fprintf(stderr,
                   "wrote the predictions of %lld sequences (%lld steps each, one row per real step: %lld rows, "
                   "padding left out) to %s\n",
                   static_cast<long long>(samples), static_cast<long long>(steps), static_cast<long long>(written),
                   a.output.c_str());
    else if (steps > 0)
      std::fprintf(stderr, "wrote the predictions of %lld sequences (%lld steps each, one row per step) to %s\n",
                   static_cast<long long>(samples), static_cast<long long>(steps), a.output.c_str());
    else
      std::fprintf(stderr, "wrote %lld predictions to %s\n", static_cast<long long>(n), a.output.c_str());
  }
  return 0;
}

struct CvArgs {
  std::string spec;
  std::vector<std::string> overrides;
  int64_t folds = 5;
  bool quiet = false;
};

int cmd_cv(const CvArgs& a) {
  const TrainingSpec spec = load_spec(a.spec, a.overrides);
  const CrossValidationResult cv = run_cross_validation(spec, a.folds);
  for (size_t i = 0; i < cv.folds.size(); ++i)
    std::printf("fold %zu/%zu: %s\n", i + 1, cv.folds.size(), cli::format_metrics(cv.folds[i]).c_str());
  std::printf("mean:   %s\n", cli::format_metrics(cv.mean).c_str());
  std::printf("stddev: %s\n", cli::format_metrics(cv.stddev).c_str());
  return 0;
}

void add_data_options(CLI::App* cmd, DataArgs& a, bool labels_required_text) {
  cmd->add_option("model", a.model, "the model file (model.nnt) written by nntune train")->required();
  cmd->add_option("data", a.data, "a .csv (.gz), .npy or IDX file");
  cmd->add_option("--spec", a.spec, "take the test set of this spec instead of a DATA file (default: none, give DATA)");
  cmd->add_option("--set", a.overrides, "with --spec: override a spec value, path.to.key=value (default: none)");
  cmd->add_option("--labels", a.options.labels,
                  labels_required_text
                      ? "labels for an IDX image file (IDX labels) or an .npy (labels .npy); default: none (a CSV holds its own)"
                      : "ignored by predict (default: none)");
  cmd->add_option("--label", a.options.label, "CSV label column (name or 0-based index); default: as in training");
  cmd->add_option("--skip-rows", a.options.skip_rows, "CSV rows to skip before the header; default: as in training");
  cmd->add_flag("--no-header", a.no_header, "the CSV has no header row");
  cmd->add_option("--delimiter", a.options.delimiter, "CSV delimiter; default: as in training");
  cmd->add_option("--batch-size", a.batch_size, "samples per forward pass (default: " + std::to_string(a.batch_size) + ")")
      ->check(cli::positive());
}

// An example in every command's --help, kept here in one table so that each command shows how it
// is used with the others (a test checks that every command has one).
void add_examples(CLI::App& app) {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> examples = {
      {"", {"nntune train examples/wine_classification.yaml", "nntune tune examples/wine_tune.yaml --trials 50",
            "nntune COMMAND --help"}},
      {"train", {"nntune train examples/wine_classification.yaml", "nntune train examples/wine_classification.yaml --set train.epochs=50 -o runs/wine50",
                 "nntune train examples/wine_classification.yaml --print-spec"}},
      {"eval", {"nntune eval runs/wine_classification/model.nnt test.csv", "nntune eval runs/wine_classification/model.nnt --spec examples/wine_classification.yaml"}},
      {"predict", {"nntune predict runs/wine_classification/model.nnt new.csv -o predictions.csv"}},
      {"cv", {"nntune cv examples/wine_classification.yaml --folds 5"}},
      {"spec", {"nntune spec --reference > spec-reference.md"}},
      {"tune", {"nntune tune examples/wine_tune.yaml --trials 50 --jobs 4",
                "nntune tune spec.yaml --storage postgresql://nntune@db/nntune --study big --create-only"}},
      {"studies", {"nntune studies", "nntune studies --storage sqlite:///studies.db --format json"}},
      {"trials", {"nntune trials wine_tune", "nntune trials wine_tune --sort value --top 10",
                  "nntune trials wine_tune --format csv > trials.csv"}},
      {"best", {"nntune best wine_tune --spec-out best.yaml && nntune train best.yaml",
                "nntune best wine_tune --format json"}},
      {"delete", {"nntune delete wine_tune --yes"}},
      {"ensemble", {"nntune tune spec.yaml --save-models models --keep-best 20",
                    "nntune ensemble spec --models models -o ensemble.nnt"}},
      {"ask", {"eval \"$(nntune ask quad.yaml --format shell)\"   # sets trial=N and one variable per parameter"}},
      {"tell", {"nntune tell quad 3 0.81", "nntune tell quad 3 --intermediate 5=0.7 --should-prune",
                "nntune tell quad 3 --state failed --error 'out of memory'"}},
      {"worker", {"NNTUNE_STORAGE=postgresql://nntune@db/nntune nntune worker fmnist --jobs 2",
                  "nntune worker fmnist --storage sqlite:////shared/studies.db"}},
      {"stop", {"nntune stop fmnist --storage postgresql://nntune@db/nntune", "nntune stop fmnist --clear"}},
      {"report", {"nntune report wine_tune -o report.html"}},
      {"storage", {"nntune storage upgrade --storage sqlite:///nntune.db"}},
      {"storage upgrade", {"nntune storage upgrade sqlite:///nntune.db"}},
  };
  for (const auto& [path, lines] : examples) {
    CLI::App* cmd = &app;
    std::istringstream words(path);
    for (std::string word; words >> word;) cmd = cmd->get_subcommand(word);
    std::string text = lines.size() == 1 ? "\nExample:\n" : "\nExamples:\n";
    for (const std::string& line : lines) text += "  " + line + "\n";
    cmd->footer(text);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nntune: train neural networks from YAML specs and tune their hyperparameters"};
  app.set_version_flag("--version", "nntune " + nntune_version());
  app.require_subcommand(1);

  TrainArgs train_args;
  CLI::App* train = app.add_subcommand("train", "train the model a spec describes; writes model.nnt, history.json and report.html");
  train->add_option("spec", train_args.spec, "the training spec (YAML)")->required();
  train->add_option("--set", train_args.overrides, "override a spec value: path.to.key=value (repeatable; default: none)");
  train->add_option("--output,-o", train_args.output, "output directory (default: output.dir of the spec)");
  train->add_flag("--quiet,-q", train_args.quiet, "print only the results");
  train->add_flag("--no-report", train_args.no_report, "do not write report.html (curves, confusion matrix) beside the model");
  train->add_flag("--print-spec", train_args.print_spec,
                  "print the effective spec (overrides applied, every default filled in) as YAML and exit without training");

  DataArgs eval_args;
  CLI::App* eval = app.add_subcommand(
      "eval", "the metrics of a saved model on labelled data: loss, accuracy, precision, recall, f1, auc (and "
              "top-k) per class and averaged, or loss, mae, mse, rmse, r2\n"
              "  example: nntune eval runs/iris/model.nnt iris-test.csv --format json");
  add_data_options(eval, eval_args, true);
  eval->add_option("--format", eval_args.format, "text (default) or json (shape: docs/metrics.md)")
      ->check(CLI::IsMember({"text", "json"}));
  eval->add_option("--top-k", eval_args.top_k,
                   "report top_K_accuracy for this K (default: top_5_accuracy when there are more than 5 classes)")
      ->check(cli::positive());

  DataArgs predict_args;
  CLI::App* predict_cmd = app.add_subcommand("predict", "write predictions of a saved model as CSV");
  add_data_options(predict_cmd, predict_args, false);
  predict_cmd->add_option("-o,--output", predict_args.output, "the CSV to write (default: standard output)");

  std::string export_model, export_output;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "write a saved model (or ensemble) as ONNX: scaler, layers and output link in one graph\n"
                "  example: nntune export runs/wine/model.nnt -o wine.onnx");
  export_cmd->add_option("model", export_model, "the model file (model.nnt) written by nntune")->required();
  export_cmd->add_option("-o,--output", export_output, "the ONNX file to write")->required();

  CvArgs cv_args;
  CLI::App* cv = app.add_subcommand("cv", "k-fold cross-validation of a spec on its training data");
  cv->add_option("spec", cv_args.spec, "the training spec (YAML)")->required();
  cv->add_option("--folds,-k", cv_args.folds, "number of folds (default 5)")->check(CLI::Range(2, 1000));
  cv->add_option("--set", cv_args.overrides, "override a spec value: path.to.key=value (repeatable; default: none)");

  bool print_reference = false;
  CLI::App* spec_cmd = app.add_subcommand("spec", "about the spec format itself");
  spec_cmd->add_flag("--reference", print_reference,
                     "print the reference of every key, layer type, optimiser, schedule, loss, sampler and pruner "
                     "(Markdown, as docs/spec-reference.md)");

  cli::TuneCommands tune_commands(app);  // tune, studies, trials, best, delete
  cli::StorageCommands storage_commands(app);  // storage upgrade
  cli::ReportCommands report_commands(app);  // report
  add_examples(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nntune: %s\nRun 'nntune --help' (or 'nntune COMMAND --help') for usage.\n", e.what());
    return 2;
  }

  try {
    if (*train) return cmd_train(train_args);
    if (*eval) return cmd_eval(eval_args);
    if (*predict_cmd) return cmd_predict(predict_args);
    if (*cv) return cmd_cv(cv_args);
    if (*spec_cmd) {
      if (!print_reference) throw UsageError("nntune spec: say what to print: nntune spec --reference");
      std::fputs(spec_reference_markdown().c_str(), stdout);
      return 0;
    }
    if (*export_cmd) {
      export_onnx(load_model(export_model), export_output);
      std::printf("wrote %s\n", export_output.c_str());
      return 0;
    }
    if (const auto code = tune_commands.run()) return *code;
    if (const auto code = storage_commands.run()) return *code;
    if (const auto code = report_commands.run()) return *code;
  } catch (const UsageError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "nntune: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "nntune: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "nntune: internal error: %s\n", e.what());
    return 1;
  }
  return 2;
}
