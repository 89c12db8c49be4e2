#pragma once
// Hyperparameter importance: how much of the variance of a study's objective each parameter
// explains. fANOVA over a random forest (Hutter, Hoos and Leyton-Brown 2014; Optuna's default
// FanovaImportanceEvaluator): fit a forest of regression trees on (parameters -> value) of the
// finished trials, then for each tree compute the variance of the marginal prediction over one
// parameter, divided by the tree's total variance; average over trees and normalise to sum 1.
// Pure function of the stored trials, so it is tested on functions whose answer is known.
#include <cstdint>
#include <string>
#include <vector>

#include "nntune/tune/trial.hpp"

namespace nntune::report {

struct ParameterImportance {
  std::string name;
  double importance = 0.0;  // share of explained variance, in [0, 1]; all of them sum to 1
  double spread = 0.0;      // standard deviation of the share across the forest's trees
};

struct ImportanceOptions {
  int64_t n_trees = 64;
  int64_t max_depth = 64;
  int64_t min_samples_split = 2;
  int64_t min_samples_leaf = 1;
  uint64_t seed = 0;  // deterministic for a given seed
};

// Importance of every parameter that every Complete trial has (the intersection search space,
// as Optuna does; conditional parameters that only some trials have are left out and listed in
// `skipped`). Uses the internal representation; categoricals are treated as unordered choices.
// Sorted by importance, most important first. Fewer than two Complete trials, or a constant
// objective, give an empty list (the report then says why).
struct ImportanceResult {
  std::vector<ParameterImportance> parameters;
  std::vector<std::string> skipped;  // parameters left out because not every trial has them
  std::string method = "fANOVA over a random forest";
};

ImportanceResult parameter_importance(const tune::StudyHistory& history, const ImportanceOptions& options = {});

}  // namespace nntune::report
