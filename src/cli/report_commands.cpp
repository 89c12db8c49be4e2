#include "cli/report_commands.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/study_option.hpp"
#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/model.hpp"
#include "nntune/tune/storage.hpp"
#include "report/study_report.hpp"
#include "report/training_report.hpp"

namespace nntune::cli {
namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp = target.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw Error("cannot write '" + tmp.string() + "' (does its directory exist, is the disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);  // a reader never sees half a report
  if (ec) throw Error("cannot write '" + path + "': " + ec.message());
}

tune::StudySummary choose_study(tune::Storage& storage, const std::string& name) {
  const auto studies = storage.list_studies();
  std::string names;
  for (const auto& s : studies) names += (names.empty() ? "" : ", ") + s.name;
  if (name.empty()) {
    if (studies.size() == 1) return studies.front();
    throw Error(studies.empty() ? "no study in " + storage.url() + " (run nntune tune first, or give --storage)"
                                : "which study? " + storage.url() + " holds " + names + ": give one: nntune report STUDY (or --study STUDY)");
  }
  return tune::require_study(storage, name, "run nntune tune first");
}

}  // namespace

int cmd_report(const ReportArgs& a) {
  refuse_memory_storage(a.storage, "report");
  const auto started = std::chrono::steady_clock::now();
  auto storage = tune::open_storage(a.storage, tune::StorageAccess::ReadOnly);
  const tune::StudySummary summary = choose_study(*storage, a.study);
  tune::StudyHistory history;
  history.direction = summary.direction;
  history.trials = storage->get_all_trials(summary.id);
  report::StudyReportOptions options;
  options.source = storage->url();
  const std::string page = report::study_report_html(summary, history, options);
  write_text(a.output, page);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("wrote %s: study %s, %zu trials, %.1f MB in %.1fs (open it in a browser; it needs no network)\n",
              a.output.c_str(), summary.name.c_str(), history.trials.size(), static_cast<double>(page.size()) / 1e6,
              seconds);
  return 0;
}

ReportCommands::ReportCommands(CLI::App& app) {
  report_ = app.add_subcommand("report", "write a study's HTML report: history, curves, importance, slices, contour, trials");
  add_study_argument(report_, args_.study, false);
  add_storage_option(report_, args_.storage, "the study storage");
  report_->add_option("-o,--output", args_.output, "the HTML file to write (default report.html)");
}

std::optional<int> ReportCommands::run() {
  if (*report_) return cmd_report(args_);
  return std::nullopt;
}

std::string write_training_report(const std::string& spec_path, const TrainingSpec& spec, const TrainingResult& result,
                                  const Dataset* scored, bool scored_is_validation, double seconds) {
  report::TrainingReport r;
  r.title = spec_path;
  r.history = result.history;
  r.test_metrics = result.test_metrics;
  r.train_size = result.train_size;
  r.validation_size = result.validation_size;
  r.test_size = result.test_size;
  r.num_params = result.num_params;
  r.seconds = seconds;
  r.model_path = result.model_path;
  r.augmentation = report::augmentation_text(spec.train.augment);
  std::optional<Model> saved;
  if (!result.model_path.empty()) {
    saved = load_model(result.model_path);  // the saved model: its layers, scaler and output link
    if (!saved->is_ensemble()) {
      r.input_shape = saved->network.input_shape();
      r.layers = report::layer_rows(saved->network);
    }
  }
  if (spec.data.task != Task::Classification) {
    r.confusion_source = "No confusion matrix: this is a regression task.";
  } else if (!scored) {
    r.confusion_source = "No confusion matrix: the spec has no validation or test data to score.";
  } else {
    Model model = saved ? std::move(*saved) : load_model(result.model_path);
    std::string counted = std::to_string(scored->size()) + " samples";
    if (model.output_shape().size() == 2) {
      // Sequences tagged per step: the evaluation's confusion matrix counts the real steps
      // (padding left out by the step mask), which predictions alone cannot tell.
      const EvaluationReport steps = evaluate_model_report(model, *scored);
      report::ConfusionMatrix m;
      m.classes = steps.classification.classes;
      for (const auto& row : steps.classification.confusion) m.counts.insert(m.counts.end(), row.begin(), row.end());
      counted = std::to_string(m.total()) + " steps of " + counted;
      r.confusion = m;
    } else {
      r.confusion = report::confusion_matrix(predict(model, *scored), scored->y, model.num_classes);
    }
    r.class_names = model.class_names;
    r.confusion_source = std::string(scored_is_validation ? "validation" : "test") + " data (" + counted +
                         ", the saved model)";
  }
  const std::string path = (fs::path(result.model_path).parent_path() / "report.html").string();
  write_text(path, report::training_report_html(r));
  return path;
}

}  // namespace nntune::cli
