// k-fold cross-validation.
//
// Fold assignment: a seeded shuffle of the sample indices, then
// - classification: the samples of each class, in shuffled order, are dealt round-robin to the
//   folds, the dealer continuing where the previous class stopped, so every fold gets each class
//   in proportion (within one sample) and the fold sizes differ by at most one;
// - regression: the shuffled order is cut into k contiguous folds whose sizes differ by at most one.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nntune/error.hpp"
#include "nntune/trainer.hpp"
#include "train/train_internal.hpp"

namespace nntune {
namespace {

int64_t class_of(const Tensor& y, int64_t row) {
  const int64_t cols = y.features();
  const float* r = y.data() + row * cols;
  if (cols == 1) return static_cast<int64_t>(r[0]);
  return std::max_element(r, r + cols) - r;  // one-hot rows
}

Dataset take(const Dataset& data, const std::vector<int64_t>& indices, const std::string& part) {
  Dataset out;
  if (data.windowed()) out.windows = data.subset(indices).windows;  // series windows stay views
  else out.x = data.x.gather(indices);
  out.y = data.y.gather(indices);
  out.task = data.task;
  out.num_classes = data.num_classes;
  out.source = data.source.empty() ? part : data.source + " (" + part + ")";
  return out;
}

}  // namespace

std::vector<int64_t> train_detail::cross_validation_folds(const Dataset& data, int64_t folds, uint64_t seed) {
  const int64_t n = data.size();
  if (folds < 2 || folds > n)
    throw Error("cross-validation: folds = " + std::to_string(folds) + " is invalid; it must be >= 2 and <= the " +
                "number of samples (" + std::to_string(n) + ")");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(seed);
  train_detail::shuffle_indices(order, rng);

  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  if (data.task == Task::Classification) {
    int64_t classes = std::max<int64_t>(data.num_classes, 0);
    for (int64_t i = 0; i < n; ++i) classes = std::max(classes, class_of(data.y, i) + 1);
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(std::max<int64_t>(classes, 1)));
    for (int64_t i : order) {
      const int64_t c = class_of(data.y, i);
      if (c < 0) throw Error("cross-validation: sample " + std::to_string(i) + " has a negative class index");
      by_class[static_cast<size_t>(c)].push_back(i);
    }
    int64_t dealer = 0;
    for (const auto& members : by_class)
      for (int64_t i : members) fold_of[static_cast<size_t>(i)] = dealer++ % folds;
  } else {
    for (int64_t pos = 0; pos < n; ++pos) fold_of[static_cast<size_t>(order[static_cast<size_t>(pos)])] = pos * folds / n;
  }
  return fold_of;
}

CrossValidationResult cross_validate(const std::function<Network(Rng&)>& make_network, const Dataset& data,
                                     int64_t folds, const TrainConfig& config,
                                     const std::function<void(Dataset& train, Dataset& validation)>& prepare_fold,
                                     const std::function<std::vector<Callback*>()>& make_callbacks) {
  if (!make_network) throw Error("cross-validation: no network factory given");
  if (data.size() != data.y.batch())
    throw Error("cross-validation: x has " + std::to_string(data.size()) + " samples but y has " +
                std::to_string(data.y.batch()));
  const std::vector<int64_t> fold_of = train_detail::cross_validation_folds(data, folds, config.seed);
  const std::unique_ptr<Loss> loss = make_loss(config.loss);

  CrossValidationResult result;
  for (int64_t fold = 0; fold < folds; ++fold) {
    std::vector<int64_t> train_rows, val_rows;
    for (int64_t i = 0; i < data.size(); ++i) (fold_of[static_cast<size_t>(i)] == fold ? val_rows : train_rows).push_back(i);
    const std::string name = "fold " + std::to_string(fold + 1) + " of " + std::to_string(folds);
    Dataset train = take(data, train_rows, name + ", training part");
    Dataset validation = take(data, val_rows, name + ", validation part");
    if (prepare_fold) prepare_fold(train, validation);

    TrainConfig fold_config = config;
    fold_config.seed = train_detail::derive_seed(config.seed, static_cast<uint64_t>(fold) + 100);
    Rng network_rng(train_detail::derive_seed(config.seed, static_cast<uint64_t>(fold) + 1000));
    Network network = make_network(network_rng);
    if (!network.built()) throw Error("cross-validation: the network factory must return a built network");
    const std::vector<Callback*> callbacks = make_callbacks ? make_callbacks() : std::vector<Callback*>{};
    fit(network, train, &validation, fold_config, callbacks);
    // Evaluating the final network gives the last epoch's validation metrics, or the best
    // epoch's when early stopping restored its weights.
    result.folds.push_back(
        evaluate(network, *loss, validation, 1024, train_detail::requested_metrics(*loss, config.metrics, callbacks)));
  }

  for (const auto& [key, value] : result.folds.front()) {
    double sum = 0.0;
    for (const Metrics& m : result.folds) sum += m.at(key);
    const double mean = sum / static_cast<double>(folds);
    double squares = 0.0;
    for (const Metrics& m : result.folds) squares += (m.at(key) - mean) * (m.at(key) - mean);
    result.mean[key] = mean;
    result.stddev[key] = std::sqrt(squares / static_cast<double>(folds - 1));  // sample stddev
  }
  return result;
}

}  // namespace nntune
