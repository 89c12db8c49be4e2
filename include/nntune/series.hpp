#pragma once
// Time series from a CSV file, cut into training windows, and the forecasting transform a
// series model carries (column scaling, per-window normalisation, delta targets, a linear skip
// path). The spec's `data.train: {series: ...}` uses these; docs/spec-reference.md describes
// the keys.
//
// The vocabulary follows Keras' timeseries_dataset_from_array and sktime: a window of
// `window` consecutive rows (all value columns) is one sample of shape (window, columns); its
// target is the next `horizon` rows of the target columns, flattened step-major to
// (horizon * targets); consecutive windows start `stride` rows apart.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/tensor.hpp"

namespace nntune {

struct SeriesOptions {
  std::string path;                  // plain or .gz CSV with a header row
  std::string time;                  // time column kept for reports and predictions; "" = none
  std::vector<std::string> values;   // value columns (inputs); empty = every column but the time column
  std::vector<std::string> targets;  // predicted columns, a subset of values; empty = all values
  int64_t window = 0;
  int64_t horizon = 1;
  int64_t stride = 1;
  std::string missing = "refuse";  // refuse | interpolate (linear in the row index)
  char delimiter = ',';
};

// A loaded series: rows in time order, one float column per value column.
struct Series {
  std::string source;
  std::vector<std::string> columns;     // value column names, in `values` order
  std::vector<int64_t> target_columns;  // indices into `columns`
  std::string time_column;              // "" when none
  std::vector<std::string> time;        // one per row (empty when there is no time column)
  Tensor values;                        // (rows, columns)
  int64_t filled = 0;                   // cells filled by interpolation

  int64_t rows() const { return values.batch(); }
  // The time of a row; past the last row, extrapolated by the last step (numbers and ISO
  // dates YYYY-MM-DD), else "LAST+k". Row numbers (1-based) when there is no time column.
  std::string time_at(int64_t row) const;
};

// Reads the series; checks that every value cell is a number (or empty, when missing is
// interpolate), the time column is strictly increasing (numbers, or ISO dates/times compared
// as text), and fills gaps. Errors name the file, line and column.
Series load_series(const SeriesOptions& options);

// Rows [0, validation_begin) train, [validation_begin, test_begin) validate, [test_begin,
// rows) test: each window belongs to the part that holds all of its targets, so no window of
// validation or test shares a target row with training (windows straddling a border are
// dropped). A fraction f < 1 holds out floor(f * rows) rows, a value >= 1 that many rows.
struct SeriesSplit {
  int64_t validation_begin = 0, test_begin = 0, rows = 0;
};
SeriesSplit split_series(int64_t rows, double validation, double test);

// Windows whose targets all lie in rows [target_begin, target_end), starting at the earliest
// such window and stepping `stride`. Samples: (window, columns); y: (n, horizon * targets).
// `first_target_rows` (optional) gets the row of each window's first target. A window's
// inputs may lie before target_begin (the past is known when forecasting).
// Given the series by shared pointer, the windows are views of it (Dataset::windows, x empty):
// memory stays the series' size plus the targets, whatever the window length. Given a plain
// reference, they are copied into x, (n, window, columns): for small series only.
Dataset make_windows(const std::shared_ptr<const Series>& series, int64_t window, int64_t horizon, int64_t stride,
                     int64_t target_begin, int64_t target_end, std::vector<int64_t>* first_target_rows = nullptr);
Dataset make_windows(const Series& series, int64_t window, int64_t horizon, int64_t stride, int64_t target_begin,
                     int64_t target_end, std::vector<int64_t>* first_target_rows = nullptr);
// The windows of a forecast: every window of inputs [r - window, r) for r in (window, rows],
// stepping back from the end by `stride` so the last window ends at the last row, with targets
// where the series has them (NaN past the end). Views or copies as make_windows.
Dataset forecast_windows(const std::shared_ptr<const Series>& series, int64_t window, int64_t horizon, int64_t stride,
                         std::vector<int64_t>* first_target_rows);
Dataset forecast_windows(const Series& series, int64_t window, int64_t horizon, int64_t stride,
                         std::vector<int64_t>* first_target_rows);

// The series settings a model keeps (metadata.data_format.series, written by run_training)
// as load options for another file of the same layout.
SeriesOptions series_options_from_json(const nlohmann::json& j, const std::string& path);

// Writes forecasts in long format, one row per window and predicted step:
//   origin,time,step,<target>,<target>_actual   (one forecast/actual pair per target column)
// origin: the time of the window's last input row; time: the time of the predicted row
// (extrapolated past the end of the series, see Series::time_at); step: 1..horizon; actual:
// the series' value there, empty past its end. `predictions` is (windows, horizon * targets)
// as a series model outputs it; `first_target_rows` as make_windows/forecast_windows give them.
void write_forecast_csv(std::ostream& out, const Series& series, const std::vector<int64_t>& first_target_rows,
                        int64_t horizon, const Tensor& predictions);

// The transform between raw windows and the network, part of a series model:
//   inputs:  z = scale(x) - reference          (reference: the window's last value or mean per
//                                               column, or 0; per column scaling fitted on the
//                                               training rows only)
//   output:  y = unscale(base + skip(z) + net(z))
//            base = last scaled value when target is delta, else the reference of the target column
//            skip = a least-squares linear autoregression on z (LSTNet's highway), fitted on the
//                   training windows before the network, which learns the residual
struct ForecastTransform {
  bool enabled = false;
  int64_t window = 0, horizon = 1, columns = 0;
  std::vector<int64_t> targets;       // target column indices
  std::vector<float> offset, factor;  // per column: scaled = (raw - offset) * factor
  std::string target = "value";       // value | delta
  std::string normalize = "none";     // none | last | mean
  std::string skip = "none";          // none | linear
  std::vector<float> skip_weights;    // (window * columns + 1) x (horizon * targets), row-major, bias last

  int64_t outputs() const { return horizon * static_cast<int64_t>(targets.size()); }
  // Fits the column scaling on `training_rows` (rows, columns) with a Scaler of `scale_kind`
  // (none, standard, minmax, divide) and, with skip linear, the skip weights on the training
  // windows (raw x, raw y).
  void fit(const Tensor& training_rows, const std::string& scale_kind, float divide_by, const Tensor& train_x,
           const Tensor& train_y);
  Tensor network_inputs(const Tensor& raw_x) const;
  // The same in place, window by window: a batch of windows gathered from a series view
  // (WindowView::transform) gets exactly the values network_inputs gives the whole set.
  void transform_inputs(Tensor& x) const;
  // What the network learns: raw targets -> scaled, minus base and skip.
  Tensor network_targets(const Tensor& raw_x, const Tensor& raw_y) const;
  // The network's outputs -> raw units (inverse of network_targets).
  Tensor outputs_from_network(const Tensor& raw_x, const Tensor& network_out) const;
  nlohmann::json to_json() const;
  static ForecastTransform from_json(const nlohmann::json& j);

 private:
  // (n, outputs): base + skip in scaled units, from the network inputs z and the raw x.
  Tensor anchor(const Tensor& raw_x, const Tensor& z) const;
};

}  // namespace nntune
