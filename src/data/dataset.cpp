#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

std::string describe(const Dataset& data) {
  return data.source.empty() ? std::string("the data set") : "data set '" + data.source + "'";
}

std::string format_fraction(double fraction) {
  std::ostringstream out;
  out << fraction;
  return out.str();
}

// The table fields of `from` for the rows `take` gives (ids and lines row by row).
template <typename Take>
void copy_table_fields(const Dataset& from, Dataset& to, int64_t count, Take take) {
  to.column_names = from.column_names;
  to.levels = from.levels;
  to.class_names = from.class_names;
  to.target_names = from.target_names;
  to.id_name = from.id_name;
  if (!from.ids.empty())
    for (int64_t i = 0; i < count; ++i) to.ids.push_back(from.ids[static_cast<size_t>(take(i))]);
  if (!from.lines.empty())
    for (int64_t i = 0; i < count; ++i) to.lines.push_back(from.lines[static_cast<size_t>(take(i))]);
}

// Windows index(0..count-1) of the view into out, then the view's transform on the batch.
template <typename Index>
void gather_windows(const WindowView& w, int64_t count, Index index, Tensor& out) {
  const int64_t columns = w.columns(), span = w.window * columns;
  const Shape& shape = out.shape();
  // Reshaped only when the batch size changes: a training step allocates nothing here.
  if (shape.size() != 3 || shape[0] != count || shape[1] != w.window || shape[2] != columns)
    out.resize({count, w.window, columns});
  const float* v = w.values->data();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t end = w.ends[static_cast<size_t>(index(i))];
    std::copy(v + (end - w.window) * columns, v + end * columns, out.data() + i * span);
  }
  if (w.transform) w.transform(out);
}

// Other windows of the same series, window length and transform.
std::shared_ptr<const WindowView> same_series(const WindowView& w, std::vector<int64_t> ends) {
  auto view = std::make_shared<WindowView>();
  view->values = w.values;
  view->window = w.window;
  view->ends = std::move(ends);
  view->transform = w.transform;
  return view;
}

}  // namespace

Shape Dataset::sample_shape() const {
  return windows ? Shape{windows->window, windows->columns()} : x.sample_shape();
}

void Dataset::gather_x(const std::vector<int64_t>& order, int64_t begin, int64_t end, Tensor& out) const {
  if (!windows) return x.gather_into(order, begin, end, out);
  gather_windows(*windows, end - begin, [&](int64_t i) { return order[static_cast<size_t>(begin + i)]; }, out);
}

void Dataset::rows_x(int64_t begin, int64_t end, Tensor& out) const {
  if (windows) return gather_windows(*windows, end - begin, [&](int64_t i) { return begin + i; }, out);
  out.resize(with_batch(end - begin, x.sample_shape()));
  const int64_t f = x.features();
  if (end > begin && f > 0)
    std::memcpy(out.data(), x.data() + begin * f, sizeof(float) * static_cast<size_t>((end - begin) * f));
}

Tensor Dataset::materialized_x() const {
  if (!windows) return x;
  Tensor out;
  rows_x(0, size(), out);
  return out;
}

bool Dataset::has_text() const {
  for (const auto& l : levels)
    if (!l.empty()) return true;
  return false;
}

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= n)
      throw Error("row index " + std::to_string(indices[i]) + " (position " + std::to_string(i) +
                  " of the subset) is out of range for " + describe(*this) + " of " + std::to_string(n) + " rows");
  }
  Dataset out;
  if (windows) {
    std::vector<int64_t> ends;
    ends.reserve(indices.size());
    for (int64_t i : indices) ends.push_back(windows->ends[static_cast<size_t>(i)]);
    out.windows = same_series(*windows, std::move(ends));
  } else {
    out.x = x.gather(indices);
  }
  if (!y.shape().empty()) out.y = y.gather(indices);  // features only (predict): no y
  out.task = task;
  out.num_classes = num_classes;
  out.source = source;
  copy_table_fields(*this, out, static_cast<int64_t>(indices.size()), [&](int64_t i) { return indices[static_cast<size_t>(i)]; });
  return out;
}

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  const int64_t n = size();
  if (begin < 0 || end < begin || end > n)
    throw Error("rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") are out of range for " +
                describe(*this) + " of " + std::to_string(n) + " rows");
  Dataset out;
  if (windows) {
    out.windows = same_series(*windows, std::vector<int64_t>(windows->ends.begin() + begin, windows->ends.begin() + end));
  } else {
    out.x = x.rows(begin, end);
  }
  if (!y.shape().empty()) out.y = y.rows(begin, end);
  out.task = task;
  out.num_classes = num_classes;
  out.source = source;
  copy_table_fields(*this, out, end - begin, [&](int64_t i) { return begin + i; });
  return out;
}

void split_validation(const Dataset& all, double fraction, int64_t count, Dataset& train, Dataset& validation) {
  const int64_t n = all.size();
  int64_t validation_rows = 0;
  if (count != 0) {
    if (count < 0 || count >= n)
      throw Error("validation count " + std::to_string(count) + " must be between 1 and " + std::to_string(n - 1) +
                  " for " + describe(all) + " of " + std::to_string(n) +
                  " rows, so that some rows are left for training");
    validation_rows = count;
  } else {
    if (!(fraction > 0.0 && fraction < 1.0))
      throw Error("validation fraction " + format_fraction(fraction) +
                  " must be strictly between 0 and 1 (e.g. 0.1 for the last 10% of the rows)");
    validation_rows = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
    if (validation_rows < 1 || validation_rows >= n)
      throw Error("validation fraction " + format_fraction(fraction) + " of " + describe(all) + " with " +
                  std::to_string(n) + " rows gives " + std::to_string(validation_rows) +
                  " validation rows; choose a fraction that leaves at least one row for validation and one "
                  "for training, or give a count");
  }
  // Build both before assigning, so train/validation may alias `all`.
  Dataset head = all.slice(0, n - validation_rows);
  Dataset tail = all.slice(n - validation_rows, n);
  train = std::move(head);
  validation = std::move(tail);
}

}  // namespace nntune
