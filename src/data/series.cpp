// Time series from a CSV file: reading (time column, value columns, gaps), time-ordered splits,
// windows, and the forecasting transform a series model carries. Errors name the file, line
// and column (1-based) and say what to do.
#include "nntune/series.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <ostream>
#include <string_view>

#include "data/file_bytes.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// One line's fields; double quotes may enclose a field (with "" for a quote). Series files
// hold numbers and times, so a record never spans lines.
std::vector<std::string> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      fields.emplace_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.emplace_back(trim(field));
  return fields;
}

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// A date, YYYY-MM-DD or YYYYMMDD (as statsmodels' CO2 file writes it), as days since the epoch.
bool parse_iso_date(const std::string& text, std::chrono::sys_days& out) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    if (std::sscanf(text.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return false;
  } else if (text.size() == 8 && text.find_first_not_of("0123456789") == std::string::npos) {
    if (std::sscanf(text.c_str(), "%4d%2u%2u", &y, &m, &d) != 3) return false;
  } else {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return false;
  out = std::chrono::sys_days{ymd};
  return true;
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

int64_t held_rows(double value, int64_t rows) {
  if (value <= 0.0) return 0;
  if (value < 1.0) return static_cast<int64_t>(std::floor(value * static_cast<double>(rows)));
  return static_cast<int64_t>(value);
}

}  // namespace

std::string Series::time_at(int64_t row) const {
  const int64_t n = rows();
  if (time.empty()) return std::to_string(row + 1);
  if (row < n) return time[static_cast<size_t>(row)];
  const int64_t ahead = row - (n - 1);
  const std::string& last = time.back();
  if (n >= 2) {
    const std::string& before = time[time.size() - 2];
    std::chrono::sys_days da, db;
    if (parse_iso_date(before, da) && parse_iso_date(last, db) && before.size() == last.size()) {
      const std::chrono::year_month_day ymd{db + (db - da) * ahead};
      char buf[32];
      std::snprintf(buf, sizeof buf, last.size() == 10 ? "%04d-%02u-%02u" : "%04d%02u%02u", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
      return buf;
    }
    double a = 0.0, b = 0.0;
    if (parse_double(before, a) && parse_double(last, b)) return format_number(b + static_cast<double>(ahead) * (b - a));
  }
  return last + "+" + std::to_string(ahead);
}

Series load_series(const SeriesOptions& options) {
  const std::string& path = options.path;
  const std::string text = detail::read_file_maybe_gzip(path, "series CSV file");
  const std::string file = "series CSV file " + detail::quoted(path);
  auto where = [&](int64_t line, int64_t column) {
    return file + ", line " + std::to_string(line) + (column > 0 ? ", column " + std::to_string(column) : "") + ": ";
  };

  std::vector<std::string> names;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
  int64_t line_number = 0;
  // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column's name.
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (trim(line).empty()) continue;
    std::vector<std::string> fields = split_fields(line, options.delimiter);
    if (names.empty()) {
      names = std::move(fields);
      continue;
    }
    if (fields.size() != names.size())
      throw Error(where(line_number, 0) + "has " + std::to_string(fields.size()) + " fields but the header has " +
                  std::to_string(names.size()) + " (" + join(names) + "); every row needs one value per column");
    rows.push_back(std::move(fields));
    lines.push_back(line_number);
  }
  if (names.empty()) throw Error(file + " is empty; a series file needs a header row naming its columns");
  if (rows.size() < 2)
    throw Error(file + " has " + std::to_string(rows.size()) + " data row(s); a series needs at least 2");

  auto column_of = [&](const std::string& name, const char* role) -> int64_t {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<int64_t>(i);
    throw Error(std::string(role) + " column '" + name + "' is not in the header of " + file +
                "; the columns are: " + join(names));
  };

  Series series;
  series.source = path;
  series.time_column = options.time;
  const int64_t time_index = options.time.empty() ? -1 : column_of(options.time, "time");
  std::vector<std::string> value_names = options.values;
  if (value_names.empty())
    for (size_t i = 0; i < names.size(); ++i)
      if (static_cast<int64_t>(i) != time_index) value_names.push_back(names[i]);
  if (value_names.empty()) throw Error(file + " has no value column besides the time column '" + options.time + "'");
  std::vector<int64_t> value_index;
  for (const std::string& name : value_names) {
    const int64_t c = column_of(name, "value");
    if (c == time_index)
      throw Error("column '" + name + "' of " + file + " is the time column; it cannot also be a value column");
    value_index.push_back(c);
  }
  series.columns = value_names;
  const std::vector<std::string> target_names = options.targets.empty() ? value_names : options.targets;
  for (const std::string& name : target_names) {
    const auto it = std::find(value_names.begin(), value_names.end(), name);
    if (it == value_names.end())
      throw Error("target column '" + name + "' is not one of the value columns (" + join(value_names) +
                  "); targets are predicted from the windows, so list it under values too");
    series.target_columns.push_back(it - value_names.begin());
  }
  if (options.missing != "refuse" && options.missing != "interpolate")
    throw Error("missing must be refuse or interpolate, got '" + options.missing + "'");

  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t columns = static_cast<int64_t>(value_index.size());
  series.values = Tensor({n, columns});
  std::vector<bool> known(static_cast<size_t>(n * columns), true);
  bool numeric_time = time_index >= 0;
  double previous_time = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    const auto& fields = rows[static_cast<size_t>(r)];
    for (int64_t c = 0; c < columns; ++c) {
      const int64_t at = value_index[static_cast<size_t>(c)];
      const std::string& cell = fields[static_cast<size_t>(at)];
      double v = 0.0;
      if (parse_double(cell, v)) {
        series.values[r * columns + c] = static_cast<float>(v);
        continue;
      }
      if (!is_missing_cell(cell))  // the cells a table reads as missing (fields come trimmed)
        throw Error(where(lines[static_cast<size_t>(r)], at + 1) + "cell '" + cell + "' of column '" +
                    names[static_cast<size_t>(at)] + "' is not a number; series value columns must be numeric "
                    "(choose other columns with values:, or encode the column as numbers)");
      if (options.missing == "refuse")
        throw Error(where(lines[static_cast<size_t>(r)], at + 1) + "column '" + names[static_cast<size_t>(at)] +
                    "' has no value (missing: refuse); set missing: interpolate to fill gaps linearly, or fill the file");
      known[static_cast<size_t>(r * columns + c)] = false;
    }
    if (time_index >= 0) {
      const std::string& t = fields[static_cast<size_t>(time_index)];
      if (t.empty())
        throw Error(where(lines[static_cast<size_t>(r)], time_index + 1) + "the time column '" + options.time +
                    "' is empty; every row needs its time");
      series.time.push_back(t);
      double tv = 0.0;
      if (numeric_time && !parse_double(t, tv)) numeric_time = false;
      if (r > 0) {
        const std::string& before = series.time[static_cast<size_t>(r - 1)];
        const bool increasing = numeric_time ? tv > previous_time : t > before;
        if (!increasing)
          throw Error(where(lines[static_cast<size_t>(r)], time_index + 1) + "time '" + t + "' is not after '" + before +
                      "' on line " + std::to_string(lines[static_cast<size_t>(r - 1)]) + "; the time column '" +
                      options.time + "' must increase strictly (sort the file by time and drop repeated rows)");
      }
      previous_time = tv;
    }
  }
  // Numbers that only looked increasing as text (or the reverse) are checked again as numbers.
  if (numeric_time) {
    for (int64_t r = 1; r < n; ++r) {
      double a = 0.0, b = 0.0;
      parse_double(series.time[static_cast<size_t>(r - 1)], a);
      parse_double(series.time[static_cast<size_t>(r)], b);
      if (!(b > a))
        throw Error(where(lines[static_cast<size_t>(r)], time_index + 1) + "time '" + series.time[static_cast<size_t>(r)] +
                    "' is not after '" + series.time[static_cast<size_t>(r - 1)] + "'; the time column '" + options.time +
                    "' must increase strictly (sort the file by time and drop repeated rows)");
    }
  }

  // Linear interpolation in the row index between the known neighbours; gaps at either end
  // take the nearest known value (as numpy.interp does).
  for (int64_t c = 0; c < columns; ++c) {
    auto ok = [&](int64_t r) { return known[static_cast<size_t>(r * columns + c)]; };
    auto value = [&](int64_t r) -> float& { return series.values[r * columns + c]; };
    int64_t previous = -1;
    for (int64_t r = 0; r < n; ++r) {
      if (!ok(r)) continue;
      if (previous < 0) {
        for (int64_t g = 0; g < r; ++g) value(g) = value(r);
        series.filled += r;
      } else {
        for (int64_t g = previous + 1; g < r; ++g) {
          const double w = static_cast<double>(g - previous) / static_cast<double>(r - previous);
          value(g) = static_cast<float>((1.0 - w) * value(previous) + w * value(r));
        }
        series.filled += r - previous - 1;
      }
      previous = r;
    }
    if (previous < 0)
      throw Error("column '" + value_names[static_cast<size_t>(c)] + "' of " + file + " has no value in any row");
    for (int64_t g = previous + 1; g < n; ++g) value(g) = value(previous);
    series.filled += n - 1 - previous;
  }
  return series;
}

SeriesSplit split_series(int64_t rows, double validation, double test) {
  SeriesSplit split;
  split.rows = rows;
  split.test_begin = rows - held_rows(test, rows);
  split.validation_begin = split.test_begin - held_rows(validation, split.test_begin);
  return split;
}

namespace {

// The windows ending at `ends` as views of `values` (the series' own, shared), with their
// targets copied out (they are few: horizon x targets per window).
Dataset windows_at(std::shared_ptr<const Tensor> values, const Series& series, int64_t window, int64_t horizon,
                   std::vector<int64_t> ends) {
  const int64_t columns = series.values.features();
  const int64_t targets = static_cast<int64_t>(series.target_columns.size());
  const int64_t n = static_cast<int64_t>(ends.size());
  Dataset data;
  data.task = Task::Regression;
  data.source = series.source;
  data.y = Tensor({n, horizon * targets});
  const float* v = series.values.data();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = ends[static_cast<size_t>(i)];
    for (int64_t s = 0; s < horizon; ++s)
      for (int64_t k = 0; k < targets; ++k)
        data.y[(i * horizon + s) * targets + k] =
            t + s < series.rows() ? v[(t + s) * columns + series.target_columns[static_cast<size_t>(k)]]
                                  : std::numeric_limits<float>::quiet_NaN();
  }
  auto view = std::make_shared<WindowView>();
  view->values = std::move(values);
  view->window = window;
  view->ends = std::move(ends);
  data.windows = std::move(view);
  return data;
}

// The windows copied into x: a view of a series the caller owns, copied before it returns.
Dataset copied(Dataset view) {
  view.x = view.materialized_x();
  view.windows.reset();
  return view;
}

// The series' values, shared for as long as any window of it lives.
std::shared_ptr<const Tensor> shared_values(const std::shared_ptr<const Series>& series) {
  if (!series) throw Error("make_windows: no series (a null pointer)");
  return std::shared_ptr<const Tensor>(series, &series->values);
}

// A series the caller owns and keeps alive while the windows are copied (no ownership taken).
std::shared_ptr<const Tensor> borrowed_values(const Series& series) {
  return std::shared_ptr<const Tensor>(std::shared_ptr<const Tensor>(), &series.values);
}

std::vector<int64_t> training_ends(const Series& series, int64_t window, int64_t horizon, int64_t stride,
                                   int64_t target_begin, int64_t target_end) {
  std::vector<int64_t> starts;
  for (int64_t t = std::max(target_begin, window); t + horizon <= std::min(target_end, series.rows()); t += stride)
    starts.push_back(t);
  return starts;
}

std::vector<int64_t> forecast_ends(const Series& series, int64_t window, int64_t stride) {
  std::vector<int64_t> starts;
  for (int64_t t = series.rows(); t >= window; t -= stride) starts.push_back(t);
  std::reverse(starts.begin(), starts.end());
  return starts;
}

void check_window(int64_t window, int64_t horizon, int64_t stride) {
  if (window < 1 || horizon < 1 || stride < 1)
    throw Error("window, horizon and stride must be at least 1, got window " + std::to_string(window) + ", horizon " +
                std::to_string(horizon) + ", stride " + std::to_string(stride));
}


// The windows of a split (make_windows) or of a forecast (forecast_windows) over `values`: the
// shared series, or a borrowed one the caller copies the windows out of.
Dataset split_windows(std::shared_ptr<const Tensor> values, const Series& series, int64_t window, int64_t horizon,
                      int64_t stride, int64_t target_begin, int64_t target_end, std::vector<int64_t>* first_target_rows) {
  check_window(window, horizon, stride);
  std::vector<int64_t> ends = training_ends(series, window, horizon, stride, target_begin, target_end);
  if (first_target_rows) *first_target_rows = ends;
  return windows_at(std::move(values), series, window, horizon, std::move(ends));
}

Dataset forecast_windows_of(std::shared_ptr<const Tensor> values, const Series& series, int64_t window,
                            int64_t horizon, int64_t stride, std::vector<int64_t>* first_target_rows) {
  check_window(window, horizon, stride);
  std::vector<int64_t> ends = forecast_ends(series, window, stride);
  if (first_target_rows) *first_target_rows = ends;
  return windows_at(std::move(values), series, window, horizon, std::move(ends));
}

}  // namespace

Dataset make_windows(const Series& series, int64_t window, int64_t horizon, int64_t stride, int64_t target_begin,
                     int64_t target_end, std::vector<int64_t>* first_target_rows) {
  return copied(split_windows(borrowed_values(series), series, window, horizon, stride, target_begin, target_end,
                              first_target_rows));
}

Dataset make_windows(const std::shared_ptr<const Series>& series, int64_t window, int64_t horizon, int64_t stride,
                     int64_t target_begin, int64_t target_end, std::vector<int64_t>* first_target_rows) {
  std::shared_ptr<const Tensor> values = shared_values(series);
  return split_windows(std::move(values), *series, window, horizon, stride, target_begin, target_end, first_target_rows);
}

Dataset forecast_windows(const Series& series, int64_t window, int64_t horizon, int64_t stride,
                         std::vector<int64_t>* first_target_rows) {
  return copied(forecast_windows_of(borrowed_values(series), series, window, horizon, stride, first_target_rows));
}

Dataset forecast_windows(const std::shared_ptr<const Series>& series, int64_t window, int64_t horizon, int64_t stride,
                         std::vector<int64_t>* first_target_rows) {
  std::shared_ptr<const Tensor> values = shared_values(series);
  return forecast_windows_of(std::move(values), *series, window, horizon, stride, first_target_rows);
}

SeriesOptions series_options_from_json(const nlohmann::json& j, const std::string& path) {
  SeriesOptions o;
  o.path = path;
  try {
    o.time = j.value("time", std::string());
    o.values = j.value("values", std::vector<std::string>{});
    o.targets = j.value("targets", std::vector<std::string>{});
    o.window = j.at("window").get<int64_t>();
    o.horizon = j.value("horizon", int64_t{1});
    o.stride = j.value("stride", int64_t{1});
    o.missing = j.value("missing", std::string("refuse"));
    const std::string delimiter = j.value("delimiter", std::string(","));
    o.delimiter = delimiter.empty() ? ',' : delimiter[0];
  } catch (const nlohmann::json::exception& e) {
    throw Error("the model's series settings " + j.dump() + " are malformed: " + e.what());
  }
  return o;
}

void write_forecast_csv(std::ostream& out, const Series& series, const std::vector<int64_t>& first_target_rows,
                        int64_t horizon, const Tensor& predictions) {
  const int64_t k_count = static_cast<int64_t>(series.target_columns.size());
  const int64_t n = static_cast<int64_t>(first_target_rows.size());
  if (predictions.batch() != n || predictions.features() != horizon * k_count)
    throw Error("write_forecast_csv: " + shape_string(predictions.shape()) + " predictions for " + std::to_string(n) +
                " windows of " + std::to_string(horizon) + " step(s) x " + std::to_string(k_count) + " target(s)");
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  out << "origin,time,step";
  for (int64_t k : series.target_columns) {
    const std::string& name = series.columns[static_cast<size_t>(k)];
    out << "," << quote(name) << "," << quote(name + "_actual");
  }
  out << "\n";
  const int64_t columns = series.values.features();
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = first_target_rows[static_cast<size_t>(i)];
    for (int64_t s = 0; s < horizon; ++s) {
      out << quote(series.time_at(t - 1)) << "," << quote(series.time_at(t + s)) << "," << (s + 1);
      for (int64_t k = 0; k < k_count; ++k) {
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(predictions[(i * horizon + s) * k_count + k]));
        out << "," << buf << ",";
        if (t + s < series.rows()) {
          const int64_t c = series.target_columns[static_cast<size_t>(k)];
          std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(series.values[(t + s) * columns + c]));
          out << buf;
        }
      }
      out << "\n";
    }
  }
}

// ---- the forecasting transform ----

void ForecastTransform::fit(const Tensor& training_rows, const std::string& scale_kind, float divide_by,
                            const Tensor& train_x, const Tensor& train_y) {
  Scaler scaler;
  scaler.kind = scale_kind;
  scaler.divide_by = divide_by;
  scaler.fit(training_rows);
  offset.assign(static_cast<size_t>(columns), 0.0f);
  factor.assign(static_cast<size_t>(columns), 1.0f);
  if (scale_kind == "divide") {
    factor.assign(static_cast<size_t>(columns), 1.0f / divide_by);
  } else if (scale_kind != "none") {
    offset = scaler.offset;
    factor = scaler.factor;
  }
  skip_weights.clear();
  if (skip != "linear") return;
  // Ridge-stabilised least squares of the residual target on [z, 1]; the tiny ridge only keeps
  // the system solvable when a column of z is constant (the last step under normalize: last).
  const Tensor z = network_inputs(train_x);
  const Tensor base = anchor(train_x, z);
  const int64_t n = z.batch(), p = z.features() + 1, o = outputs();
  Eigen::MatrixXd a(n, p), r(n, o);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j + 1 < p; ++j) a(i, j) = z[i * (p - 1) + j];
    a(i, p - 1) = 1.0;
    for (int64_t k = 0; k < o; ++k) {
      const int64_t c = targets[static_cast<size_t>(k % static_cast<int64_t>(targets.size()))];
      const double scaled = (static_cast<double>(train_y[i * o + k]) - offset[static_cast<size_t>(c)]) * factor[static_cast<size_t>(c)];
      r(i, k) = scaled - base[i * o + k];
    }
  }
  Eigen::MatrixXd gram = a.transpose() * a;
  const double ridge = 1e-8 * std::max(1.0, gram.trace() / static_cast<double>(p));
  gram.diagonal().array() += ridge;
  const Eigen::MatrixXd w = gram.ldlt().solve(a.transpose() * r);
  skip_weights.resize(static_cast<size_t>(p * o));
  for (int64_t j = 0; j < p; ++j)
    for (int64_t k = 0; k < o; ++k) skip_weights[static_cast<size_t>(j * o + k)] = static_cast<float>(w(j, k));
}

Tensor ForecastTransform::network_inputs(const Tensor& raw_x) const {
  Tensor z = raw_x;
  transform_inputs(z);
  return z;
}

void ForecastTransform::transform_inputs(Tensor& z) const {
  const Shape expected = {window, columns};
  if (z.sample_shape() != expected)
    throw Error("the series model takes windows of shape " + shape_string(expected) + " (window, columns) but got " +
                shape_string(z.sample_shape()));
  const int64_t n = z.batch();
  for (int64_t i = 0; i < n; ++i) {
    float* w = z.data() + i * window * columns;
    for (int64_t c = 0; c < columns; ++c) {
      double reference = 0.0;
      for (int64_t t = 0; t < window; ++t) {
        float& v = w[t * columns + c];
        v = (v - offset[static_cast<size_t>(c)]) * factor[static_cast<size_t>(c)];
        reference += v;
      }
      if (normalize == "none") continue;
      const float ref = normalize == "last" ? w[(window - 1) * columns + c] : static_cast<float>(reference / static_cast<double>(window));
      for (int64_t t = 0; t < window; ++t) w[t * columns + c] -= ref;
    }
  }
}

Tensor ForecastTransform::anchor(const Tensor& raw_x, const Tensor& z) const {
  const int64_t n = raw_x.batch(), o = outputs(), k_count = static_cast<int64_t>(targets.size());
  Tensor base({n, o});
  for (int64_t i = 0; i < n; ++i) {
    const float* x = raw_x.data() + i * window * columns;
    const float* zi = z.data() + i * window * columns;
    for (int64_t k = 0; k < k_count; ++k) {
      const int64_t c = targets[static_cast<size_t>(k)];
      const float last = (x[(window - 1) * columns + c] - offset[static_cast<size_t>(c)]) * factor[static_cast<size_t>(c)];
      // The reference subtracted from the inputs: scaled last value minus its normalised value.
      const float reference = last - zi[(window - 1) * columns + c];
      const float b = target == "delta" ? last : (normalize == "none" ? 0.0f : reference);
      for (int64_t s = 0; s < horizon; ++s) base[i * o + s * k_count + k] = b;
    }
  }
  if (skip_weights.empty()) return base;
  const int64_t p = window * columns + 1;
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z.data() + i * (p - 1);
    for (int64_t k = 0; k < o; ++k) {
      double sum = skip_weights[static_cast<size_t>((p - 1) * o + k)];
      for (int64_t j = 0; j + 1 < p; ++j) sum += static_cast<double>(zi[j]) * skip_weights[static_cast<size_t>(j * o + k)];
      base[i * o + k] += static_cast<float>(sum);
    }
  }
  return base;
}

Tensor ForecastTransform::network_targets(const Tensor& raw_x, const Tensor& raw_y) const {
  const Tensor z = network_inputs(raw_x);
  const Tensor base = anchor(raw_x, z);
  const int64_t n = raw_x.batch(), o = outputs(), k_count = static_cast<int64_t>(targets.size());
  if (raw_y.batch() != n || raw_y.features() != o)
    throw Error("the series targets have shape " + shape_string(raw_y.shape()) + "; expected (" + std::to_string(n) + ", " +
                std::to_string(o) + ")");
  Tensor y({n, o});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < o; ++k) {
      const size_t c = static_cast<size_t>(targets[static_cast<size_t>(k % k_count)]);
      y[i * o + k] = (raw_y[i * o + k] - offset[c]) * factor[c] - base[i * o + k];
    }
  return y;
}

Tensor ForecastTransform::outputs_from_network(const Tensor& raw_x, const Tensor& network_out) const {
  const Tensor z = network_inputs(raw_x);
  const Tensor base = anchor(raw_x, z);
  const int64_t n = raw_x.batch(), o = outputs(), k_count = static_cast<int64_t>(targets.size());
  if (network_out.batch() != n || network_out.features() != o)
    throw Error("the network gives " + std::to_string(network_out.features()) + " outputs per window; the series model "
                "forecasts " + std::to_string(o) + " (horizon x targets)");
  Tensor y({n, o});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < o; ++k) {
      const size_t c = static_cast<size_t>(targets[static_cast<size_t>(k % k_count)]);
      y[i * o + k] = (network_out[i * o + k] + base[i * o + k]) / factor[c] + offset[c];
    }
  return y;
}

nlohmann::json ForecastTransform::to_json() const {
  return {{"window", window}, {"horizon", horizon},   {"columns", columns},           {"targets", targets},
          {"offset", offset}, {"factor", factor},     {"target", target},             {"normalize", normalize},
          {"skip", skip},     {"skip_weights", skip_weights}};
}

ForecastTransform ForecastTransform::from_json(const nlohmann::json& j) {
  ForecastTransform f;
  try {
    f.enabled = true;
    f.window = j.at("window").get<int64_t>();
    f.horizon = j.at("horizon").get<int64_t>();
    f.columns = j.at("columns").get<int64_t>();
    f.targets = j.at("targets").get<std::vector<int64_t>>();
    f.offset = j.at("offset").get<std::vector<float>>();
    f.factor = j.at("factor").get<std::vector<float>>();
    f.target = j.at("target").get<std::string>();
    f.normalize = j.at("normalize").get<std::string>();
    f.skip = j.at("skip").get<std::string>();
    f.skip_weights = j.at("skip_weights").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("the forecast settings " + j.dump() + " are malformed: " + e.what());
  }
  const bool sizes_ok = f.window >= 1 && f.horizon >= 1 && f.columns >= 1 && !f.targets.empty() &&
                        f.offset.size() == static_cast<size_t>(f.columns) && f.factor.size() == f.offset.size() &&
                        (f.skip_weights.empty() ||
                         f.skip_weights.size() == static_cast<size_t>((f.window * f.columns + 1) * f.outputs()));
  bool targets_ok = true;
  for (int64_t t : f.targets) targets_ok = targets_ok && t >= 0 && t < f.columns;
  if (!sizes_ok || !targets_ok || (f.target != "value" && f.target != "delta") ||
      (f.normalize != "none" && f.normalize != "last" && f.normalize != "mean") || (f.skip != "none" && f.skip != "linear") ||
      (f.skip == "linear") != !f.skip_weights.empty())
    throw Error("the forecast settings " + j.dump().substr(0, 200) + " are inconsistent (sizes or names); save the model again");
  return f;
}

}  // namespace nntune
