#pragma once
// The data of every plot of the study report, as pure functions of the stored trials (Optuna's
// visualization/_get_*_info idea: plots are data first). The HTML/SVG back end
// (study_report.cpp) only draws what these return, so the numbers are unit-tested here
// (tests/report_test.cpp) and the pictures are looked at.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nntune/tune/records.hpp"

namespace nntune::report {

// ---- summary ----

struct StudyOverview {
  int64_t complete = 0, pruned = 0, failed = 0, running = 0, waiting = 0;
  std::optional<tune::FrozenTrial> best;  // best Complete trial by the study's direction
  double first_start = 0.0;               // unix seconds of the earliest trial start (0: none)
  double last_end = 0.0;                  // latest end of a finished trial
  double wall_seconds = 0.0;              // last_end - first_start
  double trial_seconds = 0.0;             // summed durations of the finished trials (> wall with jobs)
};
StudyOverview study_overview(const tune::StudyHistory& history);

// ---- optimisation history ----

struct HistoryPoint {
  int64_t number = 0;
  double seconds = 0.0;  // end time, seconds after the first trial started
  double value = 0.0;
  bool best = false;     // the best trial of the study
};
// A best-so-far step: from this x on, the best value is `value` (set by trial `number`).
struct BestStep {
  double x = 0.0;  // trial number or seconds
  double value = 0.0;
  int64_t number = 0;
};
struct OptimizationHistory {
  std::vector<HistoryPoint> points;  // the Complete trials, in number order
  std::vector<BestStep> best_by_number;  // one step per improvement, in number order
  std::vector<BestStep> best_by_time;    // one step per improvement, in end-time order (parallel jobs)
};
OptimizationHistory optimization_history(const tune::StudyHistory& history);

// ---- intermediate values (learning curves) ----

struct Curve {
  int64_t number = 0;
  tune::TrialState state = tune::TrialState::Complete;
  std::vector<int64_t> steps;
  std::vector<double> values;
  bool pruned() const { return state == tune::TrialState::Pruned; }
};
// Every trial that reported at least one intermediate value, in number order.
std::vector<Curve> intermediate_curves(const tune::StudyHistory& history);

// ---- thinning (what cannot be seen is not drawn) ----

// The indices (ascending) of at most max_keep of `scores` to draw: always the lowest and the
// highest score, the best_count best (lowest for Minimize, highest for Maximize), then an evenly
// spaced sample of the rest. NaN scores are never preferred. max_keep >= size keeps all.
std::vector<size_t> thin_indices(const std::vector<double>& scores, tune::Direction direction, size_t max_keep,
                                 size_t best_count);
// The curves to draw: the trial value (or the curve's best reported value when it has none)
// ranks them; thin_indices with best_count = max_keep / 4.
std::vector<size_t> thin_curves(const std::vector<Curve>& curves, const tune::StudyHistory& history, size_t max_keep);

// ---- parameter axes shared by parallel coordinates, slices and contours ----

struct ParameterAxis {
  std::string name;
  tune::Distribution distribution;  // of the first trial that has it
  bool categorical = false;
  bool log = false;
  double low = 0.0, high = 0.0;     // internal range covering the distribution and every value seen
  std::vector<std::string> labels;  // categorical: the choices as text
  // Internal value -> [0, 1] along the axis (log axes in log space; categories evenly spaced).
  double position(double internal) const;
  // The inverse of position (for tick labels and contour grids); categories map to indices.
  double internal_at(double position) const;
  // A value as a reader expects it: the choice, an integer, or a short number.
  std::string text(double internal) const;
};
// Parameters of the Complete trials, in name order.
std::vector<ParameterAxis> parameter_axes(const tune::StudyHistory& history);

// ---- parallel coordinates ----

struct ParallelLine {
  int64_t number = 0;
  double value = 0.0;
  std::vector<std::optional<double>> positions;  // per axis, in [0, 1]; nullopt: the trial lacks it
};
struct ParallelCoordinates {
  std::vector<ParameterAxis> axes;
  double value_low = 0.0, value_high = 0.0;
  std::vector<ParallelLine> lines;  // Complete trials (thinned by max_lines, keeping the best)
  size_t total_lines = 0;           // before thinning
};
ParallelCoordinates parallel_coordinates(const tune::StudyHistory& history, size_t max_lines = 1000);

// ---- slices: the value against one parameter ----

struct SlicePoint {
  int64_t number = 0;
  double position = 0.0;  // along the parameter's axis, [0, 1]
  double value = 0.0;
};
struct Slice {
  ParameterAxis axis;
  std::vector<SlicePoint> points;  // thinned by max_points, keeping the extremes and the best
  size_t total_points = 0;
};
std::vector<Slice> slices(const tune::StudyHistory& history, size_t max_points = 2000);

// ---- contour of two parameters ----

// The objective interpolated on a resolution x resolution grid over two parameters by inverse
// distance weighting (Shepard, power 2) in axis coordinates ([0, 1] per axis; log axes in log
// space): z(g) = sum w_i v_i / sum w_i with w_i = 1 / d(g, p_i)^2, exact at a trial's point.
// Chosen over a nearest-neighbour map because it gives smooth, readable colour fields from few
// trials, and over a fitted surrogate because it never invents values outside the observed
// range (every z lies between the lowest and the highest trial value). The values are first
// clamped to their robust range (html::robust_range): one diverged trial (1e30) would otherwise
// weigh on every cell and turn the whole field one colour.
struct ContourPoint {
  int64_t number = 0;
  double x = 0.0, y = 0.0;  // axis positions in [0, 1]
  double value = 0.0;
};
struct ContourGrid {
  ParameterAxis x, y;
  int64_t resolution = 0;
  std::vector<double> z;  // row-major: z[j * resolution + i] at x position i/(res-1), y position j/(res-1)
  double z_low = 0.0, z_high = 0.0;
  std::vector<ContourPoint> points;  // the trials it interpolates, for the dots (their true values)
  size_t outliers = 0;               // points whose value was clamped for the interpolation
  double at(int64_t i, int64_t j) const { return z[static_cast<size_t>(j * resolution + i)]; }
};
// Complete trials that have both parameters; nullopt when fewer than two such trials exist.
std::optional<ContourGrid> contour_grid(const tune::StudyHistory& history, const std::string& x_parameter,
                                        const std::string& y_parameter, int64_t resolution = 40);

}  // namespace nntune::report
