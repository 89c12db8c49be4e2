#pragma once
// The training loop, its callbacks, evaluation and k-fold cross-validation.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/loss.hpp"
#include "nntune/network.hpp"
#include "nntune/optimizer.hpp"
#include "nntune/schedule.hpp"

namespace nntune {

// Random changes to training images, drawn per image and per epoch from their own seeded
// stream (validation, test and prediction data are never changed). Samples must be images:
// (height, width, channels), or (height, width), or (channels, height, width) with
// channels_first. Pixels moved in from outside and erased pixels are 0 in the model's input
// (after scaling).
struct Augmentation {
  int64_t crop_padding = 0;    // random crop of the image padded by this many pixels per side (0: off)
  bool flip_horizontal = false;  // mirror left-right with probability 0.5
  double erasing = 0.0;        // probability of erasing one random rectangle (Zhong et al. 2017)
  double erasing_min_area = 0.02, erasing_max_area = 0.33;  // of the image, uniform
  double erasing_min_ratio = 0.3, erasing_max_ratio = 3.3;  // height / width, log-uniform
  bool channels_first = false;
  bool enabled() const { return crop_padding > 0 || flip_horizontal || erasing > 0.0; }
};

struct TrainConfig {
  std::string loss = "categorical_crossentropy";
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int64_t batch_size = 32;  // >= the data size means full-batch gradient descent
  int64_t epochs = 10;
  uint64_t seed = 0;  // shuffling and dropout; same seed + one thread = bit-identical run
  bool shuffle = true;
  double clip_norm = 0.0;  // 0: no gradient clipping
  // Matrix products: "fp32", or "bf16" (bf16 operands, fp32 sums; needs AVX512_BF16), which
  // allows bf16 where it is faster on this CPU and keeps fp32 elsewhere (History::precision_used
  // says which ran). Set for fit()'s thread while it runs, evaluation of validation data included.
  std::string precision = "fp32";  // or "bf16", or "auto" (bf16 where the CPU has AVX512_BF16, else fp32)
  Augmentation augment;            // training images only; off by default
  // Metrics reported every epoch besides loss and accuracy (classification) or mae and rmse
  // (regression), for the training data and (as val_NAME) the validation data: names from
  // metric_catalog() (nntune/metrics.hpp) without val_, e.g. {"f1", "auc", "top_5_accuracy"}.
  // Metrics a callback watches are added by themselves.
  std::vector<std::string> metrics;
  // Class weights in the training loss (cross-entropies): "balanced" weighs class c by
  // n_samples / (n_classes * count_c) of the training labels (scikit-learn, Keras); "explicit"
  // uses class_weights (one per class) or class_weight_map (class -> weight; classes not listed
  // weigh 1). Validation and test losses are never weighted.
  std::string class_weight = "none";  // none, balanced, explicit
  std::vector<double> class_weights;
  std::map<int64_t, double> class_weight_map;
  // Label smoothing of the training loss's targets (cross-entropies): t (1 - eps) + eps / K.
  double label_smoothing = 0.0;
};

using Metrics = std::map<std::string, double>;  // "loss", "accuracy", "val_loss", ...

struct EpochLog {
  int64_t epoch = 0;  // 1-based
  Metrics metrics;
  double lr = 0.0;  // learning rate at the end of the epoch
  double seconds = 0.0;
};

struct History {
  std::vector<EpochLog> epochs;
  std::string stop_reason;  // "" when all epochs ran
  int64_t best_epoch = 0;   // set by early stopping, 0 otherwise
  // The precision the matrix products really ran in: "fp32", or under precision bf16 / auto
  // which kernel ran (bf16 runs only where it is faster on this CPU) and why.
  std::string precision_used;
};

// What a callback may look at and change while training runs.
struct TrainState {
  Network& network;
  const TrainConfig& config;
  History& history;
  double lr_factor = 1.0;  // multiplies the schedule (reduce-on-plateau)
  std::string stop_reason;
  // Names of the metrics every epoch reports ("loss", "accuracy", "val_loss", ...), set by fit()
  // before on_train_begin so callbacks can reject a metric that will never exist up front.
  std::vector<std::string> metric_names;
};

// Hooks return true to stop training (ensmallen style). epoch is 1-based, batch 0-based within
// the epoch, loss is the batch's mean loss including the L1/L2 penalty.
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(TrainState& state) {}
  virtual bool on_batch_end(TrainState& state, int64_t epoch, int64_t batch, double loss) { return false; }
  virtual bool on_epoch_end(TrainState& state, const EpochLog& log) { return false; }
  virtual void on_train_end(TrainState& state) {}
  // Metrics this callback reads from the epoch logs ("val_f1"): fit() computes them too.
  virtual std::vector<std::string> watched_metrics() const { return {}; }
};

struct EarlyStoppingConfig {
  std::string monitor = "val_loss";
  std::string mode = "auto";  // min, max, auto (the metric's direction: metric_maximized(), nntune/metrics.hpp)
  int64_t patience = 5;
  double min_delta = 0.0;
  bool restore_best = true;
};
std::unique_ptr<Callback> make_early_stopping(const EarlyStoppingConfig& config);

struct ReduceOnPlateauConfig {
  std::string monitor = "val_loss";
  std::string mode = "auto";
  double factor = 0.1;
  int64_t patience = 10;
  double min_delta = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0.0;
};
std::unique_ptr<Callback> make_reduce_on_plateau(const ReduceOnPlateauConfig& config);

// Trains in place. validation may be null. A NaN or infinite loss throws DivergenceError
// naming the epoch, step and likely cause; the network is then left as it was before the
// step that diverged.
History fit(Network& network, const Dataset& train, const Dataset* validation, const TrainConfig& config,
            const std::vector<Callback*>& callbacks = {});

// Loss and metrics (accuracy for classification; mae and rmse for regression; and the `metrics`
// named, as TrainConfig::metrics) in eval mode.
Metrics evaluate(Network& network, const Loss& loss, const Dataset& data, int64_t batch_size = 1024,
                 const std::vector<std::string>& metrics = {});
// The same metrics of predictions already through the loss's link (class probabilities, or
// values), as predict() and ensembles give them, against targets as in a Dataset. step_mask:
// the step mask predict() gives with sequence predictions (null or empty: every step is real);
// only the real steps are scored.
Metrics evaluate_predictions(const Loss& loss, const Tensor& predictions, const Tensor& targets,
                             const std::vector<std::string>& metrics = {}, const Tensor* step_mask = nullptr);

// The class weights config.class_weight gives for the training data (empty for "none"), one per
// class (classes: the network's outputs, 2 for one-output binary cross-entropy). Throws Error
// for a class without training samples (balanced), a listed class that does not exist, or a
// list of the wrong length. `network` (built; needed by balanced for labels per step): a
// network with per-step outputs has its labels counted per step, over the real steps of its
// step mask only (as the loss scores them); the weights then apply per step.
std::vector<double> resolve_class_weights(const TrainConfig& config, const Dataset& train, int64_t classes,
                                          Network* network = nullptr);

struct CrossValidationResult {
  std::vector<Metrics> folds;  // validation metrics of each fold (keys without "val_")
  Metrics mean, stddev;
};
// k-fold cross-validation (stratified for classification). make_network builds a fresh,
// built network for each fold; prepare_fold lets the caller fit scaling on the fold's
// training part only (may be empty).
CrossValidationResult cross_validate(const std::function<Network(Rng&)>& make_network, const Dataset& data,
                                     int64_t folds, const TrainConfig& config,
                                     const std::function<void(Dataset& train, Dataset& validation)>& prepare_fold = {},
                                     const std::function<std::vector<Callback*>()>& make_callbacks = {});

}  // namespace nntune
