#pragma once
// The training report of one `nntune train` run: loss and metric curves per epoch (train and
// validation), the learning rate, and a confusion matrix for classification. Data first: the
// series and the matrix are pure functions (tested in tests/report_test.cpp); the page only
// draws them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nntune/network.hpp"
#include "nntune/tensor.hpp"
#include "nntune/trainer.hpp"

namespace nntune::report {

// Rows are the true classes, columns the predicted ones.
struct ConfusionMatrix {
  int64_t classes = 0;
  std::vector<int64_t> counts;  // row-major classes x classes
  int64_t at(int64_t truth, int64_t predicted) const { return counts[static_cast<size_t>(truth * classes + predicted)]; }
  int64_t total() const;
  double accuracy() const;  // trace / total (0 when empty)
};

// outputs: (n, k) class scores or probabilities (k >= 2: the arg max is predicted), or (n, 1)
// P(class 1) of a sigmoid output (>= 0.5 predicts 1). labels: (n, 1) class indices as floats,
// as Dataset::y holds them. num_classes 0: k (or 2 for a sigmoid output). Throws Error on
// mismatched row counts or a label outside [0, num_classes).
ConfusionMatrix confusion_matrix(const Tensor& outputs, const Tensor& labels, int64_t num_classes = 0);

struct MetricSeries {
  std::string name;  // "loss", "val_loss", "lr", ...
  std::vector<int64_t> epochs;
  std::vector<double> values;
};
// One panel per metric: the training series and its val_ twin ("loss" with "val_loss",
// "accuracy" with "val_accuracy"), loss first; metrics only seen with val_ get their own panel.
struct MetricPanel {
  std::string metric;                // "loss", "accuracy", ...
  std::vector<MetricSeries> series;  // the training series first when present
};
std::vector<MetricPanel> metric_panels(const History& history);
MetricSeries learning_rate_series(const History& history);

// One row of the model section: a layer's type, the settings it was given (its config without
// the type and the initialisers), the shape of one output sample and its parameter count.
struct LayerRow {
  std::string kind;
  std::string settings;
  Shape output_shape;
  int64_t params = 0;
};
std::vector<LayerRow> layer_rows(const Network& network);
// "crop 2 px, horizontal flip, erasing p=0.25", or "" when nothing is augmented.
std::string augmentation_text(const Augmentation& augment);

struct TrainingReport {
  std::string title;  // e.g. the spec file
  History history;
  Metrics test_metrics;
  int64_t train_size = 0, validation_size = 0, test_size = 0, num_params = 0;
  double seconds = 0.0;
  std::optional<ConfusionMatrix> confusion;
  std::string confusion_source;          // "validation data (10,000 samples)"
  std::vector<std::string> class_names;  // optional; class indices otherwise
  std::string model_path;
  Shape input_shape;             // one sample, as the network takes it
  std::vector<LayerRow> layers;  // empty: no model section
  std::string augmentation;      // augmentation_text of the run
};

std::string training_report_html(const TrainingReport& report);

}  // namespace nntune::report
