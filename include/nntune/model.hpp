#pragma once
// A trained model: architecture, weights, layer state, input scaling and output link, saved in
// a small versioned binary format with a checksum. Saving is atomic (temporary file + rename),
// so a crash never leaves a corrupt model behind.
//
// A model is either one network or an ensemble: a weighted average of the predictions (class
// probabilities, or values) of member models, each with its own network and scaler. An
// ensemble is saved in one file like a single model and predicts, evaluates and exports the
// same way.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/network.hpp"
#include "nntune/series.hpp"

namespace nntune {

struct Model {
  Network network;  // unbuilt in an ensemble: the members hold the networks
  // Raw table columns -> the network's numbers (imputation, one-hot, indicators), before the
  // scaler; inactive (the default) for models trained on numbers alone.
  Preprocessing preprocessing;
  Scaler scaler;
  // A series model's window transform (scaling, normalisation, delta target, skip path);
  // disabled otherwise. Stored as "forecast" in the file's header only when enabled.
  ForecastTransform forecast;
  std::string loss;  // decides the output link at prediction time
  Task task = Task::Classification;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // classification from text labels: class index -> name (sorted)
  nlohmann::json metadata;  // free-form: spec, history summary, overrides

  // An ensemble's members (single models, same task, loss, input and output shape) and their
  // weights (positive, summing to 1). Empty for a single model.
  std::vector<Model> members;
  std::vector<double> member_weights;

  bool is_ensemble() const { return !members.empty(); }
  // One sample's input and output shape (an ensemble's: its first member's).
  const Shape& input_shape() const;
  const Shape& output_shape() const;
};

void save_model(const Model& model, const std::string& path);
// Throws Error for a missing, truncated, foreign, newer-version or corrupt (checksum) file.
Model load_model(const std::string& path);

// Scales raw inputs with the model's scaler, runs the network (evaluation mode) in batches and
// applies the loss link: class probabilities for classification, values for regression. An
// ensemble returns the weighted mean of its members' predictions.
// A model with preprocessing takes its raw columns here (NaN for a missing cell); one that
// one-hot encodes text needs the Dataset form below.
// step_mask (when not null): for sequence outputs masked by an embedding with mask_zero, the step
// mask of the outputs, (samples, steps), 1 = real step, 0 = padding (an ensemble's: a step is
// real when every member that masks calls it real); an empty tensor when every output is real.
Tensor predict(Model& model, const Tensor& raw_x, int64_t batch_size = 1024, Tensor* step_mask = nullptr);
// The same on a table as load_csv (table mode) or load_csv_for_model reads it: text columns
// one-hot encoded as in training, missing cells imputed, then scaled.
Tensor predict(Model& model, const Dataset& raw, int64_t batch_size = 1024, Tensor* step_mask = nullptr);

// Step masks of one data set from several models (ensemble members, selection candidates): mask
// becomes the steps real in both (an empty tensor is every step real). Throws Error when their
// shapes differ.
void combine_step_masks(Tensor& mask, const Tensor& other);

// Reads a CSV laid out like the model's training data: the training CSV settings (delimiter,
// header, ...) unless `options` changes them, the feature columns found by name, the id column
// passed through when the file has it, text labels mapped to the model's classes. `labelled`:
// the label column(s) must be there (eval); else they are ignored when present (predict).
// options.path names the file. Models trained on numbers alone read every column as a feature
// (without `labelled`: all but the label column when the file has one more column than the model takes).
Dataset load_csv_for_model(const Model& model, const CsvOptions& options, bool labelled);

// An ensemble of `members` (single models of one task and loss, with the same input and
// output shapes) weighted by `weights` (non-negative, not all zero; normalised to sum to 1).
// Throws Error naming the member that does not fit.
Model make_ensemble(std::vector<Model> members, std::vector<double> weights);

}  // namespace nntune
