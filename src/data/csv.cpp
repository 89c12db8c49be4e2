// CSV loader: plain or gzip, quoted fields, a header row with names, rows to skip, and a label
// column chosen by name or index. Every error names the file, line and column (1-based).
#include <charconv>
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

}  // namespace

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
  CsvScanner scanner(text, options.delimiter, path);
  scanner.skip_lines(options.skip_rows);

  std::vector<std::string_view> fields;
  int64_t line = 0;
  std::vector<std::string> names;
  int64_t num_columns = -1;
  std::string expected_from;
  if (options.header) {
    if (scanner.next(fields, line)) {
      for (std::string_view f : fields) names.emplace_back(f);
      num_columns = static_cast<int64_t>(names.size());
      expected_from = "the header row";
    }
  }

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
    if (num_columns < 0) {
      num_columns = count;
      expected_from = "the first data row";
    }
    if (label_column < 0) {
      label_column = resolve_label_column(num_columns, line);
      // A guess at the row count (about 4 characters per cell), to avoid most regrowth.
      const int64_t feature_columns = options.features_only ? num_columns : num_columns - 1;
      features.reserve(static_cast<size_t>(feature_columns) * (text.size() / (4 * num_columns) + 1));
    }
    if (count != num_columns)
      throw Error("CSV file " + detail::quoted(path) + ": line " + std::to_string(line) + " has " + std::to_string(count) +
                  " fields, expected " + std::to_string(num_columns) + " as in " + expected_from +
                  "; every row needs the same number of fields (check for a missing value or an unquoted '" +
                  std::string(1, options.delimiter) + "' inside a field)");
    for (int64_t c = 0; c < count; ++c) {
      const std::string_view cell = fields[static_cast<size_t>(c)];
      double value = 0.0;
      if (!parse_number(cell, value)) {
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
      if (classification) {
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
      labels.push_back(stored);
    }
    ++rows;
  }

  if (rows == 0) {
    std::string after;
    if (options.skip_rows > 0) after = "skipping " + std::to_string(options.skip_rows) + " row(s)";
    if (options.header) after += std::string(after.empty() ? "" : " and ") + "the header row";
    throw Error("CSV file " + detail::quoted(path) + " has no data rows" +
                (after.empty() ? std::string() : " after " + after) +
                "; check the file, skip_rows and header settings");
  }

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
