#pragma once
// The study report: one self-contained HTML page (inline SVG, style and script; nothing fetched
// at view time) drawn from the data functions of study_plots.hpp and the parameter importance.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nntune/tune/records.hpp"
#include "report/html.hpp"
#include "report/study_plots.hpp"

namespace nntune::report {

struct StudyReportOptions {
  std::string source;             // where the study lives (storage URL), shown in the header
  size_t max_curves = 300;        // learning curves drawn (the best quarter always among them)
  size_t max_parallel_lines = 1000;
  size_t max_slice_points = 2000;  // per parameter
  int64_t contour_resolution = 40;
};

// Every trial for the table (never thinned): {"columns": ["number", "state", "value",
// "seconds", "last step", <parameters in name order>, "error"], "rows": [[...], ...]}.
nlohmann::json trials_table(const tune::StudyHistory& history);

// "median (n_startup_trials 5, n_warmup_steps 2, interval_steps 1)": a study's stored sampler or
// pruner ({"name": ..., every option of the family}) with only the options that the named one
// declares (its own keys in the registry); every option when the name is unknown.
std::string describe_sampler(const nlohmann::json& stored);
std::string describe_pruner(const nlohmann::json& stored);

// Ticks along a parameter axis, in axis positions [0, 1], labels cut to max_chars characters.
// A categorical axis keeps a tick per choice but names at most about max_labels of them (every
// k-th, the first and the last), so that neighbouring names never collide.
std::vector<html::Tick> parameter_ticks(const ParameterAxis& axis, size_t max_labels = 12, size_t max_chars = 14);

// The whole page. Empty studies, studies without a complete trial and single-parameter studies
// get a clear message where a plot cannot be drawn.
std::string study_report_html(const tune::StudySummary& study, const tune::StudyHistory& history,
                              const StudyReportOptions& options = {});

}  // namespace nntune::report
