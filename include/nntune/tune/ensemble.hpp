#pragma once
// Ensemble selection (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004): from the models a
// study trained, greedily add, with replacement, the one whose addition gives the best metric of
// the averaged predictions on held-out data. A model picked k times of n gets weight k/n. The
// ensemble of the best round is kept, so it is never worse on that data than the best model.
#include <cstdint>
#include <string>
#include <vector>

#include "nntune/loss.hpp"
#include "nntune/tensor.hpp"

namespace nntune::tune {

struct EnsembleSelectionConfig {
  int64_t rounds = 20;               // picks at most (with replacement)
  std::string metric = "accuracy";   // loss, accuracy | mae, rmse, or another metric of the task (f1, auc, r2, ...)
  bool maximize = true;
};

struct EnsembleSelection {
  std::vector<int64_t> picks;            // per candidate: times picked in the kept rounds
  std::vector<double> weights;           // picks / kept rounds
  std::vector<double> score_per_round;   // the ensemble's metric after each round (all rounds)
  int64_t kept_rounds = 0;               // the best round (1-based); later rounds are dropped
  double score = 0.0;                    // the metric of the kept ensemble
  double loss = 0.0;                     // its loss (breaks ties of a discrete metric)
};

// `predictions`: each candidate's linked outputs (probabilities or values) on the held-out data,
// all of one shape; `targets` as in a Dataset. Candidates should come best first: ties go to
// the earlier one. step_mask: for sequence predictions, the steps to score (predict()'s step
// masks of the candidates combined by combine_step_masks, nntune/model.hpp); null or empty: all.
// Throws Error for no candidates, mismatched shapes or an unknown metric.
EnsembleSelection select_ensemble(const std::vector<Tensor>& predictions, const Tensor& targets, const Loss& loss,
                                  const EnsembleSelectionConfig& config, const Tensor* step_mask = nullptr);

}  // namespace nntune::tune
