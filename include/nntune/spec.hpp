#pragma once
// The YAML training spec. Parsing happens in two steps so that tuning can later replace any
// scalar by a distribution without changing the structure:
//   YAML text -> SpecTree (JSON values + where each came from, --set overrides applied)
//             -> validated against the schema (src/spec/schema.hpp, the one description of
//                allowed keys, types, ranges and enumerations per path)
//             -> TrainingSpec (typed configs the library understands).
// Every message about the spec reads "SPEC.yaml:LINE:COLUMN: path.to[1].key: what is wrong".
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/model.hpp"
#include "nntune/series.hpp"
#include "nntune/trainer.hpp"

namespace nntune {

// Where a value came from: a position in the spec file (1-based) or a --set override.
struct SourceMark {
  int line = 0;  // 0: unknown
  int column = 0;
  std::string override_text;  // "--set train.optimizer.lr=-1" when the value came from an override
};

// The spec as data: a JSON tree plus the source mark of every value and key, by path
// ("model.layers[1].units"; "" is the top level).
struct SpecTree {
  std::string source;    // the name used in messages, e.g. "examples/iris.yaml"
  std::string base_dir;  // relative data paths resolve against it ("" = current directory)
  nlohmann::json root = nlohmann::json::object();
  std::map<std::string, SourceMark> value_marks;
  std::map<std::string, SourceMark> key_marks;
  std::vector<std::string> overrides;  // as given, in order

  // "SPEC.yaml:3:5: model.layers[1].units: " (or "--set k=v: model...: " for overridden values).
  // Falls back to the nearest enclosing path that has a mark.
  std::string where(const std::string& path, bool at_key = false) const;
  [[noreturn]] void fail(const std::string& path, const std::string& message, bool at_key = false) const;
};

// YAML text -> tree. Plain scalars become null/bool/int/float/string by the YAML 1.2 core rules;
// quoted scalars stay strings. Throws Error with line:column on a YAML syntax error, a duplicate
// key or a non-string key.
SpecTree parse_spec_tree(const std::string& yaml_text, const std::string& source_name,
                         const std::string& base_dir = "");
// Applies "path.to[1].key=value" (value parsed as YAML). Checks the path against the schema:
// an unknown key is an error naming the allowed keys at that level. Records the override.
void apply_override(SpecTree& tree, const std::string& assignment);
// Checks the tree against the schema and the cross-field rules (loss vs task, one of
// model.layers / model.hidden, val_* monitors need validation data, ...). Reads no data.
void validate_spec_tree(const SpecTree& tree);

// One data source: {idx: ...}, {csv: ...}, {npy: ...}; or, for validation and test, a part held
// out of the training data: {split: fraction} (random, seeded) or {last: count}.
struct DataSourceSpec {
  std::string kind;  // "" (absent), idx, csv, npy, split, last
  std::string path_in_spec;  // "data.train", for messages
  std::string images, labels;  // idx (resolved paths)
  CsvOptions csv;              // csv (path resolved; task/num_classes filled in from data)
  std::string x, y;            // npy
  SeriesOptions series;        // series (path resolved)
  double split = 0.0;
  int64_t last = 0;
  double last_fraction = 0.0;  // last: a fraction in (0, 1) instead of a row count
};

struct DataSpec {
  DataSourceSpec train, validation, test;
  Task task = Task::Classification;
  int64_t num_classes = 0;  // 0: inferred from the labels
  std::string scale = "none";  // none, standard, minmax, divide
  float divide_by = 1.0f;
  std::string scale_per = "auto";  // value, feature (across a sequence's steps), auto (feature for sequence layers)
  std::string channels = "none";  // none, last, first: a channel axis of size 1 added to 2-D images
  // Tables (CSV): fitted on the training rows, saved with the model (see Preprocessing). The
  // categorical columns and their auto-detection are in each source's CsvOptions.
  std::string impute = "none";  // none, mean, median, most_frequent
  bool missing_indicator = false;
  std::string on_unknown = "error";  // error, zeros
};

// The model: either an explicit list of layer configs (as make_layer takes them, plus l1/l2), or
// the MLP shorthand, expanded by expand_layers() once the input shape and output width are known.
struct HiddenLayerSpec {
  int64_t units = 0;
  std::string activation = "relu";
  std::string init = "he_normal";
  double dropout = 0.0;
  bool batch_norm = false;
  double l1 = 0.0, l2 = 0.0;
};
struct ModelSpec {
  bool shorthand = false;
  std::vector<nlohmann::json> layers;  // explicit list
  std::vector<HiddenLayerSpec> hidden;  // shorthand
  double l1 = 0.0, l2 = 0.0;            // shorthand: also applied to the output layer
  // model.forecast (series data): see ForecastTransform.
  std::string forecast_target = "value", forecast_normalize = "none", forecast_skip = "none";
};

struct TrainingSpec {
  SpecTree tree;
  uint64_t seed = 0;
  DataSpec data;
  ModelSpec model;
  TrainConfig train;  // loss filled in from the task when the spec leaves it out
  std::optional<EarlyStoppingConfig> early_stopping;
  std::optional<ReduceOnPlateauConfig> reduce_on_plateau;
  std::string output_dir;  // default runs/<spec file stem>, relative to the current directory
};

// Parse + overrides + validation + typed conversion. Throws Error with file:line:column.
TrainingSpec parse_spec(const std::string& yaml_text, const std::string& source_name,
                        const std::vector<std::string>& overrides = {}, const std::string& base_dir = "");
TrainingSpec load_spec(const std::string& path, const std::vector<std::string>& overrides = {});
// Typed conversion of an already validated tree (tuning: after substituting sampled values).
TrainingSpec spec_from_tree(const SpecTree& tree);
// The spec as written (overrides applied) with every key the schema gives a default filled in,
// components named alone written out with their keys ({name: adam, lr: 0.001, ...}), and the
// loss and output directory the spec resolved (`nntune train SPEC --print-spec`).
nlohmann::json effective_spec(const TrainingSpec& spec);

// The layer configs of the network for one input sample shape and the output width the task
// needs (explicit list: as written; shorthand: flatten + hidden blocks + output dense).
std::vector<nlohmann::json> expand_layers(const ModelSpec& model, const Shape& input_sample_shape,
                                          int64_t output_width);
// The width the last layer must have: num_classes for categorical cross-entropy, 1 for binary
// cross-entropy, the target width for regression (of one step for targets per step).
int64_t required_output_width(const TrainingSpec& spec, const Dataset& train);
// The steps of targets given per step, 0 for one target per sample: class indices of shape
// (n, steps) with steps > 1, or regression targets of shape (n, steps, values).
int64_t target_steps(const TrainingSpec& spec, const Dataset& train);
// Walks the layers' shapes and throws Error at the offending layer's line:column (dense on a
// multi-dimensional input without flatten, last width not matching output_width, ...). With
// target_steps > 0 the model must end with sequences of shape (target_steps, output_width);
// otherwise with samples of shape (output_width).
void check_model_shapes(const TrainingSpec& spec, const Shape& input_sample_shape, int64_t output_width,
                        int64_t target_steps = 0);
// Builds (and initialises) the network from the spec; errors carry the spec location.
Network build_network(const TrainingSpec& spec, const Shape& input_sample_shape, int64_t output_width, Rng& rng,
                      int64_t target_steps = 0);

// The data a spec names, loaded and split, before scaling.
struct SpecData {
  Dataset train;
  std::optional<Dataset> validation, test;
  // Series data: the loaded series and its time-ordered split; train/validation/test are its
  // windows. run_training cuts the windows again at the spec's window length, so trials that
  // tune the window share one loaded series.
  std::shared_ptr<const Series> series;
  SeriesSplit series_split;
};
SpecData load_spec_data(const TrainingSpec& spec);

struct TrainingResult;
struct TrainingOptions {
  std::string output_dir;  // overrides spec.output_dir when not empty
  bool save = true;        // write model.nnt and history.json
  // Called once the data is loaded and the network built, before the first epoch, with the
  // sizes filled in (train/validation/test samples, parameters): progress reporting uses it.
  std::function<void(const TrainingResult&)> on_ready;
  // Data already loaded by load_spec_data (raw, unscaled); run_training copies it and does not
  // load the spec's data. Tuning loads once per process and shares it read-only across trials.
  const SpecData* data = nullptr;
  // As `data`, but moved from instead of copied (the caller gives it up): one copy of the data
  // in memory instead of two.
  SpecData* movable_data = nullptr;
};

struct TrainingResult {
  History history;
  Metrics test_metrics;  // empty without test data
  int64_t test_size = 0;
  int64_t train_size = 0, validation_size = 0;
  int64_t num_params = 0;
  std::string model_path, history_path;  // empty when not saved
  nlohmann::json history_json;
};

// Loads the data, fits the scaler on the training part only, builds the network, trains,
// evaluates on the test set and saves model.nnt + history.json. Prints nothing: progress goes
// through the callbacks. A diverging run throws DivergenceError and writes no model.
TrainingResult run_training(const TrainingSpec& spec, const std::vector<Callback*>& callbacks = {},
                            const TrainingOptions& options = {});

// k-fold cross-validation of the spec on its training data (validation/test parts ignored;
// scaling fitted per fold).
CrossValidationResult run_cross_validation(const TrainingSpec& spec, int64_t folds,
                                           const std::function<std::vector<Callback*>()>& make_callbacks = {});

// Loss and metrics of a saved model on raw (unscaled) data: the model's scaler, then evaluate()
// with model_metric_names(model) (nntune/metrics.hpp).
// run_training computes its test metrics through this same function, so `nntune eval` on the
// saved model reproduces them exactly.
Metrics evaluate_model(Model& model, const Dataset& raw_data, int64_t batch_size = 1024);

// nntune's version string ("0.1.0").
std::string nntune_version();

}  // namespace nntune
