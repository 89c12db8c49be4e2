#pragma once
// Data sets and loaders. Every loader error names the file, and the line/column or record
// where it applies, and says what to do.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/tensor.hpp"

namespace nntune {

enum class Task { Classification, Regression };

struct Dataset {
  Tensor x;  // (n, ...) features
  // Classification: (n, 1) class indices stored as floats, in [0, num_classes).
  // Regression: (n, outputs) targets.
  Tensor y;
  Task task = Task::Classification;
  int64_t num_classes = 0;  // classification only
  std::string source;       // file(s) it came from, for messages

  int64_t size() const { return x.batch(); }
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
};
Dataset load_csv(const CsvOptions& options);

// IDX files as the MNIST family ships them, plain or gzip-compressed (detected by content).
// Images become (n, rows, cols) floats in [0, 255]; labels (n, 1).
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes = 0);
// An IDX file of unsigned bytes of any rank (images without labels, for predict) as floats of
// the file's shape; a 1-D file becomes (n, 1).
Tensor load_idx_array(const std::string& path);
// A NumPy .npy array (float32/float64/int/uint8, C order) as a tensor of the same shape.
Tensor load_npy(const std::string& path);
// x from one .npy, y from another (1-D class indices or 2-D targets).
Dataset load_npy_dataset(const std::string& x_path, const std::string& y_path, Task task, int64_t num_classes = 0);

// Per-feature scaling x' = (x - offset) * factor, fitted on training data only and saved with
// the model. Kinds: none, standard (zero mean, unit variance), minmax (to [0, 1]),
// divide (x / value, e.g. 255 for images).
struct Scaler {
  std::string kind = "none";
  float divide_by = 1.0f;  // for kind == divide
  std::vector<float> offset, factor;

  void fit(const Tensor& x);
  void apply(Tensor& x) const;  // no-op for kind none
  nlohmann::json to_json() const;
  static Scaler from_json(const nlohmann::json& j);
};

// Splits off the last `fraction` of the rows (or the last `count` when count > 0) as validation.
void split_validation(const Dataset& all, double fraction, int64_t count, Dataset& train, Dataset& validation);

}  // namespace nntune
