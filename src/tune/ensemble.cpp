// Greedy ensemble selection with replacement (Caruana et al. 2004), on held-out predictions.
#include "nntune/tune/ensemble.hpp"

#include <cmath>

#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/trainer.hpp"

namespace nntune::tune {

EnsembleSelection select_ensemble(const std::vector<Tensor>& predictions, const Tensor& targets, const Loss& loss,
                                  const EnsembleSelectionConfig& config, const Tensor* step_mask) {
  if (predictions.empty()) throw Error("ensemble selection: no candidate models");
  if (config.rounds < 1) throw Error("ensemble selection: rounds must be >= 1, got " + std::to_string(config.rounds));
  const Shape& shape = predictions.front().shape();
  for (size_t i = 0; i < predictions.size(); ++i)
    if (predictions[i].shape() != shape)
      throw Error("ensemble selection: candidate " + std::to_string(i) + " predicts " +
                  shape_string(predictions[i].shape()) + " but candidate 0 predicts " + shape_string(shape));
  // Metrics beyond the default ones (f1, auc, r2, ...) are computed when they are the one chosen by.
  std::vector<std::string> extra;
  if (parse_metric_name(config.metric).info && metric_task_problem(config.metric, loss.is_classification()).empty() &&
      config.metric.rfind("val_", 0) != 0)
    extra.push_back(config.metric);
  {
    const Metrics probe = evaluate_predictions(loss, predictions.front(), targets, extra, step_mask);
    if (!probe.count(config.metric)) {
      std::string known;
      for (const auto& [name, value] : probe) known += (known.empty() ? "" : ", ") + name;
      throw Error("ensemble selection: unknown metric '" + config.metric + "' for loss " + loss.name() +
                  " (one of: " + known + ")");
    }
  }
  const bool metric_is_loss = config.metric == "loss";
  // a better than b: the metric first, then the loss (accuracy is discrete and ties often).
  auto better = [&](double score_a, double loss_a, double score_b, double loss_b) {
    if (score_a != score_b) return config.maximize ? score_a > score_b : score_a < score_b;
    return !metric_is_loss && loss_a < loss_b;
  };

  const size_t n = predictions.size();
  const int64_t elements = predictions.front().size();
  Tensor sum(shape);  // the sum of the picked candidates' predictions
  std::vector<int64_t> picks(n, 0);
  EnsembleSelection result;
  std::vector<int64_t> kept_picks;
  Tensor mix(shape);
  for (int64_t round = 1; round <= config.rounds; ++round) {
    size_t best = 0;
    double best_score = 0.0, best_loss = 0.0;
    const float scale = 1.0f / static_cast<float>(round);
    for (size_t c = 0; c < n; ++c) {
      const float* s = sum.data();
      const float* p = predictions[c].data();
      float* m = mix.data();
      for (int64_t k = 0; k < elements; ++k) m[k] = (s[k] + p[k]) * scale;
      const Metrics metrics = evaluate_predictions(loss, mix, targets, extra, step_mask);
      const double score = metrics.at(config.metric), mix_loss = metrics.at("loss");
      if (c == 0 || better(score, mix_loss, best_score, best_loss)) {
        best = c;
        best_score = score;
        best_loss = mix_loss;
      }
    }
    const float* p = predictions[best].data();
    float* s = sum.data();
    for (int64_t k = 0; k < elements; ++k) s[k] += p[k];
    ++picks[best];
    result.score_per_round.push_back(best_score);
    if (round == 1 || better(best_score, best_loss, result.score, result.loss)) {
      result.kept_rounds = round;
      result.score = best_score;
      result.loss = best_loss;
      kept_picks = picks;
    }
  }
  result.picks = kept_picks;
  for (int64_t k : kept_picks) result.weights.push_back(static_cast<double>(k) / static_cast<double>(result.kept_rounds));
  return result;
}

}  // namespace nntune::tune
