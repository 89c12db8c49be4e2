#pragma once
// The study report: one self-contained HTML page (inline SVG, style and script; nothing fetched
// at view time) drawn from the data functions of study_plots.hpp and the parameter importance.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nntune/tune/records.hpp"

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

// The whole page. Empty studies, studies without a complete trial and single-parameter studies
// get a clear message where a plot cannot be drawn.
std::string study_report_html(const tune::StudySummary& study, const tune::StudyHistory& history,
                              const StudyReportOptions& options = {});

}  // namespace nntune::report
