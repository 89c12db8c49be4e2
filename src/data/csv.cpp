// CSV loader: plain or gzip, quoted fields, a header row with names, rows to skip, and a label
// column chosen by name or index. Every error names the file, line and column (1-based).
#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <cmath>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "data/file_bytes.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// Splits the text into records. Quoted fields may hold the delimiter, newlines and doubled
// quotes (""). A space delimiter means "runs of blanks", as in whitespace-separated files.
class CsvScanner {
 public:
  CsvScanner(std::string_view text, char delimiter, std::string path)
      : text_(text), delimiter_(delimiter), whitespace_mode_(delimiter == ' '), path_(std::move(path)) {}

  // Skips `count` physical lines; returns how many were there.
  int64_t skip_lines(int64_t count) {
    int64_t skipped = 0;
    while (skipped < count && pos_ < text_.size()) {
      const size_t newline = text_.find('\n', pos_);
      pos_ = newline == std::string_view::npos ? text_.size() : newline + 1;
      ++line_;
      ++skipped;
    }
    return skipped;
  }

  // Reads the next non-blank record into `fields`; false at the end of the text. The views stay
  // valid until the next call.
  bool next(std::vector<std::string_view>& fields, int64_t& record_line) {
    for (;;) {
      if (pos_ >= text_.size()) return false;
      fields.clear();
      unescaped_.clear();
      record_line = line_;
      read_record(fields);
      const bool blank = fields.empty() || (fields.size() == 1 && fields[0].empty() && !last_field_quoted_);
      if (!blank) return true;
    }
  }

  std::string where(int64_t line, int64_t column) const {
    return "CSV file " + detail::quoted(path_) + ", line " + std::to_string(line) +
           (column > 0 ? ", column " + std::to_string(column) : std::string()) + ": ";
  }

 private:
  bool at_record_end() const { return pos_ >= text_.size() || text_[pos_] == '\n'; }

  void skip_blanks() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  }

  void read_record(std::vector<std::string_view>& fields) {
    if (whitespace_mode_) skip_blanks();
    for (;;) {
      const int64_t column = static_cast<int64_t>(fields.size()) + 1;
      size_t probe = pos_;
      while (probe < text_.size() && is_blank(text_[probe]) && text_[probe] != delimiter_) ++probe;
      last_field_quoted_ = probe < text_.size() && text_[probe] == '"';
      if (last_field_quoted_) {
        pos_ = probe;
        fields.push_back(read_quoted(column));
      } else {
        const size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != delimiter_ &&
               !(whitespace_mode_ && text_[pos_] == '\t'))
          ++pos_;
        fields.push_back(trim(text_.substr(start, pos_ - start)));
      }
      if (whitespace_mode_) {
        skip_blanks();
        if (at_record_end()) break;
        continue;  // the blanks were the separator
      }
      if (at_record_end()) break;
      ++pos_;  // the delimiter
    }
    if (pos_ < text_.size()) {
      ++pos_;  // the newline
      ++line_;
    }
  }

  std::string_view read_quoted(int64_t column) {
    const int64_t start_line = line_;
    ++pos_;  // opening quote
    const size_t start = pos_;
    bool has_escapes = false;
    for (;;) {
      if (pos_ >= text_.size())
        throw Error(where(start_line, column) +
                    "quoted field never ends (no closing \"); close the quote or remove the stray \"");
      const char c = text_[pos_];
      if (c == '\n') ++line_;
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          has_escapes = true;
          pos_ += 2;
          continue;
        }
        break;
      }
      ++pos_;
    }
    std::string_view inside = text_.substr(start, pos_ - start);
    ++pos_;  // closing quote
    while (pos_ < text_.size() && is_blank(text_[pos_]) && text_[pos_] != delimiter_) ++pos_;
    if (!at_record_end() && text_[pos_] != delimiter_)
      throw Error(where(line_, column) + "unexpected text after the closing quote of a quoted field; " +
                  "quote the whole field, or double any quote inside it (\"\")");
    if (!has_escapes) return inside;
    std::string& owned = unescaped_.emplace_back();
    for (size_t i = 0; i < inside.size(); ++i) {
      owned.push_back(inside[i]);
      if (inside[i] == '"') ++i;  // "" -> "
    }
    return owned;
  }

  std::string_view text_;
  char delimiter_;
  bool whitespace_mode_;
  std::string path_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  bool last_field_quoted_ = false;
  std::deque<std::string> unescaped_;  // storage for quoted fields that had "" inside
};

// Parses a whole cell as a number; false when it is not one.
bool parse_number(std::string_view text, double& value) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

bool is_index(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return text.size() < 10;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + ("'" + names[i] + "'");
  return out;
}

std::string cell_text(std::string_view cell) { return "\"" + std::string(cell) + "\""; }

// A classification label given as a number: a class index in range (updates max_label).
void check_class_index(const CsvScanner& scanner, int64_t line, int64_t c, std::string_view cell, double value,
                       const CsvOptions& options, int64_t& max_label) {
  if (value < 0.0 || value != std::floor(value))
    throw Error(scanner.where(line, c + 1) + "label " + cell_text(cell) +
                " is not a non-negative integer class index; classification labels must be 0, 1, 2, ... "
                "(for a numeric target use task regression)");
  if (options.num_classes > 0 && value >= static_cast<double>(options.num_classes))
    throw Error(scanner.where(line, c + 1) + "label " + cell_text(cell) + " is out of range: num_classes is " +
                std::to_string(options.num_classes) + ", so labels must be 0.." +
                std::to_string(options.num_classes - 1));
  if (value >= static_cast<double>(detail::kMaxInferredClasses))
    throw Error(scanner.where(line, c + 1) + "label " + cell_text(cell) +
                " is too large for a class index; is this column a regression target? (set task regression)");
  max_label = std::max(max_label, static_cast<int64_t>(value));
}

[[noreturn]] void no_data_rows(const CsvOptions& options) {
  std::string after;
  if (options.skip_rows > 0) after = "skipping " + std::to_string(options.skip_rows) + " row(s)";
  if (options.header) after += std::string(after.empty() ? "" : " and ") + "the header row";
  throw Error("CSV file " + detail::quoted(options.path) + " has no data rows" +
              (after.empty() ? std::string() : " after " + after) + "; check the file, skip_rows and header settings");
}

// What both readers take from the top of a file: the rows skipped, the header's names (none
// without a header) and the number of fields every row must have, from the header or, without
// one, from the first data row.
struct CsvHead {
  std::vector<std::string> names;
  int64_t num_columns = -1;
  std::string expected_from;

  // A data row of `count` fields: the first one fixes the width when there was no header.
  void first_row(int64_t count) {
    if (num_columns >= 0) return;
    num_columns = count;
    expected_from = "the first data row";
  }
  void check_width(int64_t count, int64_t line, const CsvOptions& options) const {
    if (count != num_columns)
      throw Error("CSV file " + detail::quoted(options.path) + ": line " + std::to_string(line) + " has " +
                  std::to_string(count) + " fields, expected " + std::to_string(num_columns) + " as in " +
                  expected_from + "; every row needs the same number of fields (check for a missing value or an "
                  "unquoted '" + std::string(1, options.delimiter) + "' inside a field)");
  }
};

CsvHead read_head(CsvScanner& scanner, const CsvOptions& options) {
  scanner.skip_lines(options.skip_rows);
  CsvHead head;
  std::vector<std::string_view> fields;
  int64_t line = 0;
  if (options.header && scanner.next(fields, line)) {
    for (std::string_view f : fields) head.names.emplace_back(f);
    head.num_columns = static_cast<int64_t>(head.names.size());
    head.expected_from = "the header row";
  }
  return head;
}

bool table_mode(const CsvOptions& o) {
  return !o.labels.empty() || !o.features.empty() || !o.drop.empty() || !o.id.empty() || !o.categorical.empty() ||
         !o.class_names.empty() || o.allow_missing;
}

// The table mode: every record is read first, then the columns are chosen by name or index and
// each is read as numbers or as categories (text), with missing cells as NaN when allowed.
Dataset load_table(const CsvOptions& options, std::string_view text) {
  const std::string& path = options.path;
  CsvScanner scanner(text, options.delimiter, path);
  CsvHead head = read_head(scanner, options);
  const std::vector<std::string>& names = head.names;
  std::vector<std::string_view> fields;
  int64_t line = 0;
  // The cells, row after row; quoted fields with "" inside live in `owned`, the rest in `text`.
  std::deque<std::string> owned;
  std::vector<std::string_view> cells;
  std::vector<int64_t> lines;
  while (scanner.next(fields, line)) {
    const int64_t count = static_cast<int64_t>(fields.size());
    head.first_row(count);
    head.check_width(count, line, options);
    for (std::string_view f : fields) {
      const bool in_text = f.data() >= text.data() && f.data() + f.size() <= text.data() + text.size();
      cells.push_back(in_text ? f : std::string_view(owned.emplace_back(f)));
    }
    lines.push_back(line);
  }
  const int64_t rows = static_cast<int64_t>(lines.size());
  if (rows == 0) no_data_rows(options);
  const int64_t num_columns = head.num_columns;
  auto cell = [&](int64_t row, int64_t column) { return cells[static_cast<size_t>(row * num_columns + column)]; };
  // A column's header name, or its 0-based index in a file without a header (both resolve).
  auto column_name = [&](int64_t c) { return names.empty() ? std::to_string(c) : names[static_cast<size_t>(c)]; };
  auto where = [&](int64_t row, int64_t c) { return scanner.where(lines[static_cast<size_t>(row)], c + 1); };

  // A column by header name or 0-based index; -1 when absent and `optional`.
  auto resolve = [&](const std::string& wanted, const std::string& role, bool optional = false) -> int64_t {
    std::vector<int64_t> found;
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == wanted) found.push_back(static_cast<int64_t>(i));
    if (found.size() > 1)
      throw Error("column name '" + wanted + "' (the " + role + ") appears " + std::to_string(found.size()) +
                  " times in the header of CSV file " + detail::quoted(path) + " (columns " +
                  std::to_string(found[0] + 1) + " and " + std::to_string(found[1] + 1) +
                  "); rename the columns so that each name is used once");
    if (found.size() == 1) return found[0];
    if (is_index(wanted)) {
      const int64_t index = std::stoll(wanted);
      if (index >= num_columns)
        throw Error(role + " index " + wanted + " is out of range: CSV file " + detail::quoted(path) + " has " +
                    std::to_string(num_columns) + " columns (indices 0.." + std::to_string(num_columns - 1) + ")");
      return index;
    }
    if (optional) return -1;
    if (names.empty())
      throw Error(role + " '" + wanted + "' is not a 0-based column index, and CSV file " + detail::quoted(path) +
                  " has no header row to look the name up in; give an index or set header");
    throw Error(role + " '" + wanted + "' is not in the header of CSV file " + detail::quoted(path) +
                "; the columns are: " + join_names(names) + " (or give a 0-based column index)");
  };

  const bool classification = options.task == Task::Classification;
  std::vector<int64_t> label_columns;
  if (!options.features_only) {
    if (num_columns < 2)
      throw Error(scanner.where(lines[0], 0) + "found " + std::to_string(num_columns) +
                  " column; need at least one feature column and one label column (is the delimiter '" +
                  std::string(1, options.delimiter) + "' right?)");
    if (!options.labels.empty()) {
      for (const std::string& l : options.labels) label_columns.push_back(resolve(l, "label column"));
    } else {
      label_columns.push_back(options.label.empty() ? num_columns - 1 : resolve(options.label, "label column"));
    }
    if (classification && label_columns.size() > 1)
      throw Error("CSV file " + detail::quoted(path) + ": classification takes one label column, got " +
                  std::to_string(label_columns.size()) + "; several label columns are targets of task regression");
  }
  const int64_t id_column = options.id.empty() ? -1 : resolve(options.id, "id column", options.optional_id);
  auto role_of = [&](int64_t c) -> std::string {
    if (std::find(label_columns.begin(), label_columns.end(), c) != label_columns.end()) return "a label column";
    if (c == id_column) return "the id column";
    return "";
  };
  std::vector<int64_t> feature_columns;
  if (!options.features.empty()) {
    for (const std::string& f : options.features) {
      const int64_t c = resolve(f, "feature column");
      if (const std::string role = role_of(c); !role.empty())
        throw Error("feature column '" + f + "' of CSV file " + detail::quoted(path) + " is also " + role +
                    "; a column is a feature, a label or the id, not two of them");
      if (std::find(feature_columns.begin(), feature_columns.end(), c) != feature_columns.end())
        throw Error("feature column '" + f + "' is listed twice for CSV file " + detail::quoted(path));
      feature_columns.push_back(c);
    }
  } else {
    std::vector<int64_t> dropped;
    for (const std::string& d : options.drop) dropped.push_back(resolve(d, "dropped column"));
    for (int64_t c = 0; c < num_columns; ++c)
      if (role_of(c).empty() && std::find(dropped.begin(), dropped.end(), c) == dropped.end()) feature_columns.push_back(c);
  }
  if (feature_columns.empty())
    throw Error("CSV file " + detail::quoted(path) + " has no feature column left after the label, id and dropped "
                "columns; the columns are: " + join_names(names));
  // The model finds its columns by name later (predict on another file): names must be unique.
  if (!names.empty()) {
    std::vector<int64_t> used = feature_columns;
    used.insert(used.end(), label_columns.begin(), label_columns.end());
    for (size_t i = 0; i < used.size(); ++i)
      for (size_t k = i + 1; k < used.size(); ++k)
        if (names[static_cast<size_t>(used[i])] == names[static_cast<size_t>(used[k])])
          throw Error("column name '" + names[static_cast<size_t>(used[i])] + "' appears twice in the header of CSV file " +
                      detail::quoted(path) + " (columns " + std::to_string(std::min(used[i], used[k]) + 1) + " and " +
                      std::to_string(std::max(used[i], used[k]) + 1) +
                      "); rename the columns so that each name is used once, or drop one");
  }
  std::vector<int64_t> declared;
  for (const std::string& name : options.categorical) {
    const int64_t c = resolve(name, "categorical column");
    if (std::find(feature_columns.begin(), feature_columns.end(), c) == feature_columns.end())
      throw Error("categorical column '" + name + "' of CSV file " + detail::quoted(path) +
                  " is not a feature column (it is a label, the id or dropped); remove it from categorical");
    declared.push_back(c);
  }

  Dataset data;
  data.task = options.task;
  data.source = path;
  data.lines = lines;
  const int64_t width = static_cast<int64_t>(feature_columns.size());
  std::vector<float> x(static_cast<size_t>(rows * width));
  for (int64_t j = 0; j < width; ++j) {
    const int64_t c = feature_columns[static_cast<size_t>(j)];
    data.column_names.push_back(column_name(c));
    // Categorical when declared, or (auto) when every present cell is text.
    int64_t first_number = -1, first_text = -1;
    for (int64_t r = 0; r < rows && (first_number < 0 || first_text < 0); ++r) {
      const std::string_view v = cell(r, c);
      double value = 0.0;
      if (is_missing_cell(v)) continue;
      int64_t& first = parse_number(v, value) ? first_number : first_text;
      if (first < 0) first = r;
    }
    const bool is_declared = std::find(declared.begin(), declared.end(), c) != declared.end();
    const bool categorical = is_declared || (options.auto_categorical && first_text >= 0 && first_number < 0);
    if (!categorical && options.auto_categorical && first_text >= 0)
      throw Error(where(first_text, c) + "column '" + column_name(c) + "' holds both numbers (line " +
                  std::to_string(lines[static_cast<size_t>(first_number)]) + ": " + cell_text(cell(first_number, c)) +
                  ") and text (" + cell_text(cell(first_text, c)) +
                  "); fix the cell, declare the column categorical (categorical: [" + column_name(c) + "]) or drop it" +
                  (first_text == 0 && !options.header ? "; if the first row holds column names, set header to true" : ""));
    std::vector<std::string>& levels = data.levels.emplace_back();
    if (categorical) {
      for (int64_t r = 0; r < rows; ++r)
        if (const std::string_view v = cell(r, c); !is_missing_cell(v)) levels.emplace_back(v);
      std::sort(levels.begin(), levels.end());
      levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    }
    for (int64_t r = 0; r < rows; ++r) {
      const std::string_view v = cell(r, c);
      float& out = x[static_cast<size_t>(r * width + j)];
      if (is_missing_cell(v)) {
        if (!options.allow_missing && v.empty())  // the wording of the numeric reader's message
          throw Error(where(r, c) + "cell \"\" is not a number; the cell is empty; fill in or drop missing values, "
                      "or impute them (impute: mean)");
        if (!options.allow_missing)
          throw Error(where(r, c) + "cell " + cell_text(v) + " in column '" + column_name(c) +
                      "' is missing (empty or NA); fill in or drop missing values, or impute them (impute: mean)");
        out = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      if (categorical) {
        out = static_cast<float>(std::lower_bound(levels.begin(), levels.end(), std::string(v)) - levels.begin());
        continue;
      }
      double value = 0.0;
      if (!parse_number(v, value))
        throw Error(where(r, c) + "cell " + cell_text(v) + " is not a number; every column must be numeric "
                    "(or declare the column '" + column_name(c) + "' categorical)");
      out = static_cast<float>(value);
      if (!std::isfinite(value) || !std::isfinite(out))
        throw Error(where(r, c) + "cell " + cell_text(v) +
                    " is NaN or infinite (or too large for float32); remove or impute such values first");
    }
  }
  data.x = Tensor({rows, width}, std::move(x));
  if (id_column >= 0) {
    data.id_name = column_name(id_column);
    for (int64_t r = 0; r < rows; ++r) data.ids.emplace_back(cell(r, id_column));
  }
  if (options.features_only) return data;

  for (int64_t c : label_columns) data.target_names.push_back(column_name(c));
  const int64_t targets = static_cast<int64_t>(label_columns.size());
  std::vector<float> y(static_cast<size_t>(rows * targets));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c : label_columns)
      if (const std::string_view v = cell(r, c); is_missing_cell(v))
        throw Error(where(r, c) + "the label is missing (" + cell_text(v) + "); fill it in or drop the row");
  if (!classification) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < targets; ++t) {
        const int64_t c = label_columns[static_cast<size_t>(t)];
        const std::string_view v = cell(r, c);
        double value = 0.0;
        if (!parse_number(v, value))
          throw Error(where(r, c) + "target " + cell_text(v) + " is not a number; regression targets must be numeric");
        const float stored = static_cast<float>(value);
        if (!std::isfinite(value) || !std::isfinite(stored))
          throw Error(where(r, c) + "target " + cell_text(v) + " is NaN or infinite (or too large for float32)");
        y[static_cast<size_t>(r * targets + t)] = stored;
      }
    data.y = Tensor({rows, targets}, std::move(y));
    return data;
  }
  const int64_t c = label_columns[0];
  int64_t first_number = -1, first_text = -1;
  for (int64_t r = 0; r < rows; ++r) {
    double value = 0.0;
    int64_t& first = parse_number(cell(r, c), value) ? first_number : first_text;
    if (first < 0) first = r;
  }
  std::vector<std::string> classes = options.class_names;
  if (classes.empty() && first_text >= 0) {
    if (!options.text_labels)
      throw Error(where(first_text, c) + "label " + cell_text(cell(first_text, c)) +
                  " is not a class index; classification labels must be non-negative integers 0, 1, 2, ... "
                  "(map class names to numbers first)");
    if (first_number >= 0)
      throw Error("label column '" + column_name(c) + "' of CSV file " + detail::quoted(path) +
                  " holds both numbers (line " + std::to_string(lines[static_cast<size_t>(first_number)]) + ": " +
                  cell_text(cell(first_number, c)) + ") and class names (line " +
                  std::to_string(lines[static_cast<size_t>(first_text)]) + ": " + cell_text(cell(first_text, c)) +
                  "); write every class the same way");
    for (int64_t r = 0; r < rows; ++r) classes.emplace_back(cell(r, c));
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  }
  if (!classes.empty()) {
    if (static_cast<int64_t>(classes.size()) > detail::kMaxInferredClasses)
      throw Error("label column '" + column_name(c) + "' of CSV file " + detail::quoted(path) + " holds " +
                  std::to_string(classes.size()) + " different class names; is it a regression target or an id?");
    std::map<std::string, int64_t, std::less<>> index;
    for (size_t k = 0; k < classes.size(); ++k) index.emplace(classes[k], static_cast<int64_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      const auto it = index.find(cell(r, c));
      if (it == index.end())
        throw Error(where(r, c) + "label " + cell_text(cell(r, c)) + " is not one of the training classes (" +
                    join_names(classes) + "); fix the label or train with this class");
      y[static_cast<size_t>(r)] = static_cast<float>(it->second);
    }
    data.class_names = classes;
    data.num_classes = std::max<int64_t>(options.num_classes, static_cast<int64_t>(classes.size()));
  } else {
    int64_t max_label = -1;
    for (int64_t r = 0; r < rows; ++r) {
      double value = 0.0;
      parse_number(cell(r, c), value);
      check_class_index(scanner, lines[static_cast<size_t>(r)], c, cell(r, c), value, options, max_label);
      y[static_cast<size_t>(r)] = static_cast<float>(value);
    }
    data.num_classes = options.num_classes > 0 ? options.num_classes : max_label + 1;
  }
  data.y = Tensor({rows, 1}, std::move(y));
  return data;
}

}  // namespace

const std::vector<std::string>& missing_cell_texts() {
  static const std::vector<std::string> missing = {"", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "None", "#N/A", "<NA>"};
  return missing;
}

// One rule for tables and series (load_series): the cell matched as it is, after the reader
// trimmed the blanks around an unquoted cell (load_csv keeps a quoted cell's, as the ONNX
// export's text input sees it).
bool is_missing_cell(std::string_view cell) {
  const std::vector<std::string>& missing = missing_cell_texts();
  return std::find(missing.begin(), missing.end(), cell) != missing.end();
}

Dataset load_csv(const CsvOptions& options) {
  const std::string& path = options.path;
  if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r')
    throw Error("CSV delimiter cannot be a quote or a newline (file " + detail::quoted(path) + ")");
  if (options.skip_rows < 0)
    throw Error("skip_rows must be 0 or more, got " + std::to_string(options.skip_rows) + " (file " +
                detail::quoted(path) + ")");
  if (options.num_classes < 0)
    throw Error("num_classes must be 0 (infer) or positive, got " + std::to_string(options.num_classes));
  const detail::FileBytes file = detail::read_bytes_maybe_gzip(path, "CSV file");
  std::string_view text = file.view();
  // Spreadsheet programs start UTF-8 CSVs with a byte-order mark; it is not part of the first name.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (table_mode(options)) return load_table(options, text);
  // Text in a table that may hold it (class names, categories) switches to the table mode.
  const bool text_allowed = options.text_labels || options.auto_categorical;
  CsvScanner scanner(text, options.delimiter, path);
  CsvHead head = read_head(scanner, options);
  const std::vector<std::string>& names = head.names;
  std::vector<std::string_view> fields;
  int64_t line = 0;

  const bool classification = options.task == Task::Classification;
  std::vector<float> features, labels;
  int64_t label_column = -1;  // 0-based, resolved once the column count is known
  int64_t rows = 0;
  int64_t max_label = -1;
  auto resolve_label_column = [&](int64_t columns, int64_t at_line) -> int64_t {
    if (options.features_only) return columns;  // past the last column: none is the label
    if (columns < 2)
      throw Error(scanner.where(at_line, 0) + "found " + std::to_string(columns) +
                  " column; need at least one feature column and one label column (is the delimiter '" +
                  std::string(1, options.delimiter) + "' right?)");
    if (options.label.empty()) return columns - 1;
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == options.label) return static_cast<int64_t>(i);
    if (is_index(options.label)) {
      const int64_t index = std::stoll(options.label);
      if (index >= columns)
        throw Error("label column index " + options.label + " is out of range: CSV file " + detail::quoted(path) +
                    " has " + std::to_string(columns) + " columns (indices 0.." + std::to_string(columns - 1) + ")");
      return index;
    }
    if (names.empty())
      throw Error("label column '" + options.label + "' is not a 0-based column index, and CSV file " +
                  detail::quoted(path) + " has no header row to look the name up in; give an index or set header");
    throw Error("label column '" + options.label + "' is not in the header of CSV file " + detail::quoted(path) +
                "; the columns are: " + join_names(names) + " (or give a 0-based column index)");
  };

  while (scanner.next(fields, line)) {
    const int64_t count = static_cast<int64_t>(fields.size());
    head.first_row(count);
    if (label_column < 0) {
      const int64_t columns = head.num_columns;
      label_column = resolve_label_column(columns, line);
      // A guess at the row count (about 4 characters per cell), to avoid most regrowth.
      const int64_t feature_columns = options.features_only ? columns : columns - 1;
      features.reserve(static_cast<size_t>(feature_columns) * (text.size() / (4 * columns) + 1));
    }
    head.check_width(count, line, options);
    for (int64_t c = 0; c < count; ++c) {
      const std::string_view cell = fields[static_cast<size_t>(c)];
      double value = 0.0;
      if (!parse_number(cell, value)) {
        if (text_allowed) return load_table(options, text);
        if (c == label_column && classification)
          throw Error(scanner.where(line, c + 1) + "label " + cell_text(cell) +
                      " is not a class index; classification labels must be non-negative integers 0, 1, 2, ... "
                      "(map class names to numbers first)");
        std::string hint = cell.empty() ? "the cell is empty; fill in or drop missing values"
                                        : "every column must be numeric (encode categories as numbers first)";
        if (rows == 0 && !options.header) hint += "; if the first row holds column names, set header to true";
        throw Error(scanner.where(line, c + 1) + "cell " + cell_text(cell) + " is not a number; " + hint);
      }
      const float stored = static_cast<float>(value);
      if (!std::isfinite(value) || !std::isfinite(stored))
        throw Error(scanner.where(line, c + 1) + "cell " + cell_text(cell) +
                    " is NaN or infinite (or too large for float32); remove or impute such values first");
      if (c != label_column) {
        features.push_back(stored);
        continue;
      }
      if (classification) check_class_index(scanner, line, c, cell, value, options, max_label);
      labels.push_back(stored);
    }
    ++rows;
  }

  if (rows == 0) no_data_rows(options);
  const int64_t num_columns = head.num_columns;

  Dataset data;
  data.task = options.task;
  data.source = path;
  if (options.features_only) {
    data.x = Tensor({rows, num_columns}, std::move(features));
    return data;
  }
  data.x = Tensor({rows, num_columns - 1}, std::move(features));
  data.y = Tensor({rows, 1}, std::move(labels));
  if (classification) data.num_classes = options.num_classes > 0 ? options.num_classes : max_label + 1;
  return data;
}

}  // namespace nntune
