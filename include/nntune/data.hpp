#pragma once
// Data sets and loaders. Every loader error names the file, and the line/column or record
// where it applies, and says what to do.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nntune/tensor.hpp"

namespace nntune {

enum class Task { Classification, Regression };

// The samples of a windowed data set (series windows, nntune/series.hpp): sample i is the rows
// [ends[i] - window, ends[i]) of `values`, read from the series when a batch is gathered rather
// than copied out, so memory stays the series' size whatever the window length.
struct WindowView {
  std::shared_ptr<const Tensor> values;  // (rows, columns), shared with the loaded series
  int64_t window = 0;
  std::vector<int64_t> ends;  // per sample: one past its last row
  // Applied in place to every gathered batch (n, window, columns): a series model's network
  // inputs (ForecastTransform::transform_inputs), which work window by window. Empty: raw windows.
  std::function<void(Tensor&)> transform;

  int64_t columns() const { return values ? values->features() : 0; }
};

struct Dataset {
  Tensor x;  // (n, ...) features; empty for a windowed data set (see `windows`)
  // Classification: (n, 1) class indices stored as floats, in [0, num_classes), or (n, steps):
  // one per step of a sequence output (.npy labels of that shape).
  // Regression: (n, outputs) targets, or (n, steps, outputs) per step (.npy targets of that shape).
  Tensor y;
  Task task = Task::Classification;
  int64_t num_classes = 0;  // classification only
  std::string source;       // file(s) it came from, for messages

  // Tables (load_csv in table mode) only; subset() and slice() keep them row for row.
  std::vector<std::string> column_names;         // one per column of x (header name, or "column N")
  // Per column of x: empty for a numeric column; for a categorical one its distinct texts
  // (sorted), x holding the index into them. Missing cells are NaN in x.
  std::vector<std::vector<std::string>> levels;
  std::vector<std::string> class_names;   // classification from text labels: class index -> name
  std::vector<std::string> target_names;  // the label column(s) by name
  std::string id_name;                    // the id column passed through, if any
  std::vector<std::string> ids;           // per row: its id cell
  std::vector<int64_t> lines;             // per row: the file line it came from (for messages)

  // Series windows: the samples are views of the series (x stays empty); null for other data.
  std::shared_ptr<const WindowView> windows;

  bool has_text() const;  // some column of x is categorical
  bool windowed() const { return windows != nullptr; }

  int64_t size() const { return windows ? static_cast<int64_t>(windows->ends.size()) : x.batch(); }
  Shape sample_shape() const;  // of one sample: x's, or (window, columns)
  // The samples order[begin, end) into out (end - begin, sample...), as Tensor::gather_into does
  // for x; a windowed set copies each window from the series and applies the view's transform.
  // out keeps its allocation when large enough (one batch buffer for a whole run).
  void gather_x(const std::vector<int64_t>& order, int64_t begin, int64_t end, Tensor& out) const;
  // Samples [begin, end) in order: the same as gather_x over 0..n-1.
  void rows_x(int64_t begin, int64_t end, Tensor& out) const;
  // Every sample in one tensor: x itself, or (windowed) all windows copied out of the series,
  // (n, window, columns) with the view's transform applied. The one place a windowed set is
  // copied whole: only for consumers that need all samples at once, on data known to be small.
  Tensor materialized_x() const;
  Dataset subset(const std::vector<int64_t>& indices) const;
  Dataset slice(int64_t begin, int64_t end) const;
};

struct CsvOptions {
  std::string path;            // plain or .gz
  char delimiter = ',';
  bool header = true;          // first (non-skipped) row holds column names
  int64_t skip_rows = 0;       // rows to ignore before the header/data (sklearn's files have one)
  std::string label = "";      // label column: a header name or a 0-based index; "" = last column
  Task task = Task::Classification;
  int64_t num_classes = 0;     // 0: infer as max label + 1; else labels must be < num_classes
  bool features_only = false;  // no label column: every column is a feature, y stays empty (predict)

  // Tables as people have them. Setting any of these reads the file in table mode, which also
  // fills the Dataset's column names, levels, class names, ids and lines.
  std::vector<std::string> labels;       // several label columns (multi-output regression); overrides label
  std::vector<std::string> features;     // the feature columns by name or 0-based index, in this order;
                                         // empty: every column but the label(s), the id and drop
  std::vector<std::string> drop;         // columns left out of the features
  std::string id;                        // a column passed through to Dataset::ids, neither feature nor label
  std::vector<std::string> categorical;  // feature columns read as categories whatever they hold
  bool auto_categorical = false;         // also: feature columns whose every present cell is text
  bool text_labels = false;              // classification labels may be class names (sorted into classes)
  std::vector<std::string> class_names;  // the class names label texts map to (a trained model's); implies text_labels
  bool allow_missing = false;            // missing feature cells (see is_missing_cell) become NaN, to be imputed
  bool optional_id = false;              // an id column absent from the file is no error (predict)
};
// The cells a table reads as missing: empty, NA, N/A, n/a, NaN, nan, NAN, null, NULL, None, #N/A, <NA>.
bool is_missing_cell(std::string_view cell);
const std::vector<std::string>& missing_cell_texts();  // the cells is_missing_cell accepts
Dataset load_csv(const CsvOptions& options);

// IDX files as the MNIST family ships them, plain or gzip-compressed (detected by content).
// Images become (n, rows, cols) floats in [0, 255]; labels (n, 1).
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes = 0);
// An IDX file of unsigned bytes of any rank (images without labels, for predict) as floats of
// the file's shape; a 1-D file becomes (n, 1).
Tensor load_idx_array(const std::string& path);
// A NumPy .npy array (float32/float64/int/uint8, C order) as a tensor of the same shape.
Tensor load_npy(const std::string& path);
// x from one .npy, y from another: class indices (n,) or (n, 1), or one per step (n, steps) for
// a sequence output; regression targets (n, values), or per step (n, steps, values).
Dataset load_npy_dataset(const std::string& x_path, const std::string& y_path, Task task, int64_t num_classes = 0);

// Per-feature scaling x' = (x - offset) * factor, fitted on training data only and saved with
// the model. Kinds: none, standard (zero mean, unit variance), minmax (to [0, 1]),
// divide (x / value, e.g. 255 for images).
struct Scaler {
  std::string kind = "none";
  float divide_by = 1.0f;  // for kind == divide
  // standard / minmax over sequences (steps, features): the statistics of each feature across all
  // steps (as one would scale a time series), not of each (step, feature) value on its own.
  bool per_feature = false;
  std::vector<float> offset, factor;  // per value of a sample (per-feature statistics repeated)

  void fit(const Tensor& x);
  void apply(Tensor& x) const;  // no-op for kind none
  nlohmann::json to_json() const;
  static Scaler from_json(const nlohmann::json& j);

 private:
  void fit_rows(const float* data, int64_t rows, int64_t columns);
};

// The preprocessing of tabular features, fitted on the training rows only and saved with the
// model (as scikit-learn's SimpleImputer + OneHotEncoder in a ColumnTransformer, before the
// scaler): raw columns -> imputed numbers, one-hot categories, then missing indicators.
struct Preprocessing {
  std::vector<std::string> columns;                  // the raw feature columns, in order
  std::vector<std::vector<std::string>> categories;  // per column: its one-hot categories (sorted); empty = numeric
  std::string impute = "none";                       // none, mean, median, most_frequent
  bool missing_indicator = false;
  std::string on_unknown = "error";                  // a category not seen in training: error, or all zeros
  // Fitted: per column the value a missing cell gets (a categorical column: the index of its
  // most frequent category), and the columns that had missing cells in training (indicators).
  std::vector<float> fill;
  std::vector<int64_t> indicator_columns;

  // Anything to do beyond passing numbers through (false for a default-constructed one).
  bool active() const;
  bool has_categories() const;
  // Fits on a table Dataset's rows (column_names and levels give the columns).
  void fit(const Dataset& raw);
  // Raw columns (codes of the data's own levels for categorical ones, NaN for missing) -> the
  // model's numeric input. Errors name the column, the value and the file line.
  Tensor transform(const Dataset& raw) const;
  // The same for a numeric tensor (no categorical column): NaN cells are imputed.
  Tensor transform(const Tensor& raw_x) const;
  int64_t output_width() const;
  std::vector<std::string> output_names() const;  // "age", "color=red", "age_missing"
  nlohmann::json to_json() const;
  static Preprocessing from_json(const nlohmann::json& j);
};

// Splits off the last `fraction` of the rows (or the last `count` when count > 0) as validation.
void split_validation(const Dataset& all, double fraction, int64_t count, Dataset& train, Dataset& validation);

}  // namespace nntune
