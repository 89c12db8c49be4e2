// Tabular preprocessing fitted on the training rows only and saved with the model: imputation of
// missing cells, one-hot encoding of categorical columns and missing-indicator columns, in the
// order scikit-learn's SimpleImputer(add_indicator) + OneHotEncoder put them.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "data/file_bytes.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

const std::vector<std::string>& impute_kinds() {
  static const std::vector<std::string> kinds = {"none", "mean", "median", "most_frequent"};
  return kinds;
}
const std::vector<std::string>& unknown_kinds() {
  static const std::vector<std::string> kinds = {"error", "zeros"};
  return kinds;
}

void check_choice(const std::string& value, const std::vector<std::string>& allowed, const std::string& what) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i];
  throw Error("unknown " + what + " '" + value + "'; allowed: " + list);
}

std::string join(const std::vector<std::string>& items, size_t limit = 20) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

// "line 12 of 'data.csv'" when the row's line is known, else "row 3 of the data".
std::string row_text(int64_t row, const std::vector<int64_t>* lines, const std::string& source) {
  if (lines && static_cast<size_t>(row) < lines->size())
    return "line " + std::to_string((*lines)[static_cast<size_t>(row)]) + (source.empty() ? "" : " of " + detail::quoted(source));
  return "data row " + std::to_string(row + 1) + (source.empty() ? "" : " of " + detail::quoted(source));
}

}  // namespace

bool Preprocessing::has_categories() const {
  for (const auto& c : categories)
    if (!c.empty()) return true;
  return false;
}

bool Preprocessing::active() const { return has_categories() || impute != "none" || missing_indicator; }

void Preprocessing::fit(const Dataset& raw) {
  check_choice(impute, impute_kinds(), "impute strategy");
  check_choice(on_unknown, unknown_kinds(), "on_unknown choice");
  const Tensor& x = raw.x;
  if (x.shape().size() != 2) throw Error("preprocessing needs a table (rows x columns), got samples of shape " + shape_string(x.sample_shape()));
  const int64_t n = x.batch(), width = x.features();
  if (n == 0) throw Error("cannot fit the preprocessing on an empty data set");
  columns = raw.column_names;
  if (columns.empty())
    for (int64_t j = 0; j < width; ++j) columns.push_back("column " + std::to_string(j));
  if (static_cast<int64_t>(columns.size()) != width)
    throw Error("the data has " + std::to_string(width) + " columns but " + std::to_string(columns.size()) + " names");
  categories.assign(static_cast<size_t>(width), {});
  fill.clear();
  indicator_columns.clear();
  for (int64_t j = 0; j < width; ++j) {
    const size_t k = static_cast<size_t>(j);
    const bool text = k < raw.levels.size() && !raw.levels[k].empty();
    std::vector<float> present;
    for (int64_t i = 0; i < n; ++i)
      if (const float v = x[i * width + j]; !std::isnan(v)) present.push_back(v);
    const bool had_missing = static_cast<int64_t>(present.size()) < n;
    if (had_missing && impute == "none")
      throw Error("column '" + columns[k] + "' has missing cells in the training data; set an impute strategy");
    if (present.empty())
      throw Error("column '" + columns[k] + "' has no value in any of the " + std::to_string(n) +
                  " training rows, so there is nothing to learn or impute from; drop it (drop: [" + columns[k] + "])");
    if (had_missing && missing_indicator) indicator_columns.push_back(j);
    if (text) {
      // The categories the training rows hold (the file's levels may include held-out rows' ones).
      std::map<std::string, int64_t> counts;
      for (float v : present) ++counts[raw.levels[k].at(static_cast<size_t>(v))];
      for (const auto& [name, count] : counts) categories[k].push_back(name);
      if (impute != "none") {
        // The most frequent category (the first in sorted order on a tie, as scikit-learn).
        int64_t best = 0, best_count = -1, index = 0;
        for (const auto& [name, count] : counts) {
          if (count > best_count) best = index, best_count = count;
          ++index;
        }
        fill.push_back(static_cast<float>(best));
      }
      continue;
    }
    if (impute == "none") continue;
    std::sort(present.begin(), present.end());
    double value = 0.0;
    if (impute == "mean") {
      for (float v : present) value += v;
      value /= static_cast<double>(present.size());
    } else if (impute == "median") {
      const size_t m = present.size() / 2;
      value = present.size() % 2 ? present[m] : (static_cast<double>(present[m - 1]) + present[m]) / 2.0;
    } else {  // most_frequent: the smallest of the most frequent values
      size_t best_count = 0;
      for (size_t i = 0; i < present.size();) {
        size_t e = i;
        while (e < present.size() && present[e] == present[i]) ++e;
        if (e - i > best_count) best_count = e - i, value = present[i];
        i = e;
      }
    }
    fill.push_back(static_cast<float>(value));
  }
}

int64_t Preprocessing::output_width() const {
  int64_t width = 0;
  for (const auto& c : categories) width += c.empty() ? 1 : static_cast<int64_t>(c.size());
  return width + static_cast<int64_t>(indicator_columns.size());
}

std::vector<std::string> Preprocessing::output_names() const {
  std::vector<std::string> names;
  for (size_t k = 0; k < columns.size(); ++k) {
    if (categories[k].empty()) names.push_back(columns[k]);
    for (const std::string& c : categories[k]) names.push_back(columns[k] + "=" + c);
  }
  for (int64_t j : indicator_columns) names.push_back(columns[static_cast<size_t>(j)] + "_missing");
  return names;
}

namespace {

Tensor transform_rows(const Preprocessing& p, const Tensor& x, const std::vector<std::vector<std::string>>* levels,
                      const std::vector<std::string>* names, const std::vector<int64_t>* lines, const std::string& source) {
  const int64_t width = static_cast<int64_t>(p.columns.size());
  const std::string data = source.empty() ? std::string("the data") : detail::quoted(source);
  if (x.shape().size() != 2 || x.features() != width)
    throw Error(data + " has samples of shape " + shape_string(x.sample_shape()) + " but the model reads " +
                std::to_string(width) + " columns (" + join(p.columns) + ")");
  if (names && !names->empty() && *names != p.columns)
    throw Error(data + " has the columns " + join(*names) + " but the model reads " + join(p.columns));
  const int64_t n = x.batch(), out_width = p.output_width();
  Tensor out({n, out_width});
  // Per categorical column: the data's level index -> the model's category index (-1: unknown).
  std::vector<std::vector<int64_t>> to_category(static_cast<size_t>(width));
  for (size_t k = 0; k < p.columns.size(); ++k) {
    const bool text = levels && k < levels->size() && !(*levels)[k].empty();
    if (p.categories[k].empty()) {
      if (text)
        throw Error("column '" + p.columns[k] + "' of " + data + " holds text but the model reads it as numbers");
      continue;
    }
    if (!levels)
      throw Error("the model one-hot encodes the text of column '" + p.columns[k] +
                  "': give the data as a table with its text (load_csv_for_model), not as numbers");
    for (const std::string& level : (*levels)[k]) {
      const auto it = std::lower_bound(p.categories[k].begin(), p.categories[k].end(), level);
      to_category[k].push_back(it != p.categories[k].end() && *it == level ? it - p.categories[k].begin() : -1);
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* in = x.data() + i * width;
    float* row = out.data() + i * out_width;
    int64_t o = 0;
    for (size_t k = 0; k < p.columns.size(); ++k) {
      float v = in[k];
      const bool missing = std::isnan(v);
      if (missing) {
        if (p.fill.empty())
          throw Error("column '" + p.columns[k] + "' is missing at " + row_text(i, lines, source) +
                      ", and the model was trained without imputation (data.impute); fill in the cell");
        v = p.fill[k];
      }
      if (p.categories[k].empty()) {
        row[o++] = v;
        continue;
      }
      const int64_t count = static_cast<int64_t>(p.categories[k].size());
      int64_t category = static_cast<int64_t>(v);
      if (!missing) {
        const auto& map = to_category[k];
        category = v >= 0 && static_cast<size_t>(v) < map.size() ? map[static_cast<size_t>(v)] : -2;
        if (category == -2) throw Error("column '" + p.columns[k] + "' holds a category code out of range at " + row_text(i, lines, source));
        if (category < 0 && p.on_unknown == "error")
          throw Error("column '" + p.columns[k] + "' has the category \"" + (*levels)[k][static_cast<size_t>(v)] + "\" at " +
                      row_text(i, lines, source) + ", which the training data did not have (it had: " +
                      join(p.categories[k]) + "); fix the value, or set data.on_unknown: zeros to encode unseen "
                      "categories as all zeros");
      }
      if (category >= 0) row[o + category] = 1.0f;
      o += count;
    }
    for (int64_t j : p.indicator_columns) row[o++] = std::isnan(in[j]) ? 1.0f : 0.0f;
  }
  return out;
}

}  // namespace

Tensor Preprocessing::transform(const Dataset& raw) const {
  return transform_rows(*this, raw.x, &raw.levels, &raw.column_names, &raw.lines, raw.source);
}

Tensor Preprocessing::transform(const Tensor& raw_x) const { return transform_rows(*this, raw_x, nullptr, nullptr, nullptr, ""); }

nlohmann::json Preprocessing::to_json() const {
  return {{"columns", columns},  {"categories", categories}, {"impute", impute},
          {"missing_indicator", missing_indicator}, {"on_unknown", on_unknown}, {"fill", fill},
          {"indicator_columns", indicator_columns}};
}

Preprocessing Preprocessing::from_json(const nlohmann::json& j) {
  Preprocessing p;
  try {
    p.columns = j.at("columns").get<std::vector<std::string>>();
    p.categories = j.at("categories").get<std::vector<std::vector<std::string>>>();
    p.impute = j.at("impute").get<std::string>();
    p.missing_indicator = j.at("missing_indicator").get<bool>();
    p.on_unknown = j.at("on_unknown").get<std::string>();
    p.fill = j.at("fill").get<std::vector<float>>();
    p.indicator_columns = j.at("indicator_columns").get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("preprocessing settings are malformed: " + std::string(e.what()));
  }
  check_choice(p.impute, impute_kinds(), "impute strategy");
  check_choice(p.on_unknown, unknown_kinds(), "on_unknown choice");
  const size_t width = p.columns.size();
  if (p.categories.size() != width || (p.impute != "none" && p.fill.size() != width) ||
      (p.impute == "none" && !p.fill.empty()))
    throw Error("preprocessing settings do not fit their " + std::to_string(width) + " columns");
  for (size_t k = 0; k < width; ++k) {
    if (!std::is_sorted(p.categories[k].begin(), p.categories[k].end()))
      throw Error("preprocessing settings: the categories of column '" + p.columns[k] + "' are not sorted");
    if (!p.fill.empty() && !std::isfinite(p.fill[k])) throw Error("preprocessing settings: a fill value is not finite");
    if (!p.fill.empty() && !p.categories[k].empty() &&
        (p.fill[k] < 0 || p.fill[k] >= static_cast<float>(p.categories[k].size()) || p.fill[k] != std::floor(p.fill[k])))
      throw Error("preprocessing settings: the fill of column '" + p.columns[k] + "' is not one of its categories");
  }
  for (int64_t c : p.indicator_columns)
    if (c < 0 || static_cast<size_t>(c) >= width) throw Error("preprocessing settings: an indicator column is out of range");
  return p;
}

}  // namespace nntune
