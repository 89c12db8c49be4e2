#pragma once
// Hyperparameter importance: how much of the variance of a study's objective each parameter
// explains. fANOVA over a random forest (Hutter, Hoos and Leyton-Brown 2014; Optuna's default
// FanovaImportanceEvaluator): fit a forest of regression trees on (parameters -> value) of the
// finished trials, then for each tree compute the variance of the marginal prediction over one
// parameter, divided by the tree's total variance; average over trees and normalise to sum 1.
// Pure function of the stored trials, so it is tested on functions whose answer is known.
//
// Details of this implementation:
// - Features are the internal values; log-scale parameters use log(value), so the uniform
//   measure fANOVA integrates over is uniform in log space (as the parameter was sampled).
//   Ints and stepped floats get half a step of margin on each side so every grid value has the
//   same width. Categoricals are unordered: a tree splits them into two subsets of choices, and
//   the measure gives each choice the same weight.
// - The forest: bootstrap samples, every split considers every parameter (ties broken by a
//   seeded shuffle), variance-reduction splits at midpoints between observed values.
// - Studies with more than `max_trials` usable trials are subsampled (seeded, uniformly) to
//   that many before fitting, which keeps 10,000-trial studies well under a second.
#include <cstdint>
#include <string>
#include <vector>

#include "nntune/tune/records.hpp"

namespace nntune::report {

struct ParameterImportance {
  std::string name;
  double importance = 0.0;  // share of explained variance, in [0, 1]; all of them sum to 1
  // Standard deviation of the share across the forest's trees, scaled by the same factor as
  // `importance` (so it can be drawn as an error bar around it).
  double spread = 0.0;
  // Mean over trees of this parameter's first-order fraction of the tree's variance, before
  // normalisation: what share of the forest's variance this parameter's main effect explains.
  double raw_share = 0.0;
};

struct ImportanceOptions {
  int64_t n_trees = 64;
  int64_t max_depth = 64;
  int64_t min_samples_split = 2;
  int64_t min_samples_leaf = 1;
  uint64_t seed = 0;  // deterministic for a given seed
  int64_t max_trials = 2000;  // larger studies are subsampled (seeded) to this many trials
};

// Importance of every parameter that every Complete trial has (the intersection search space,
// as Optuna does; conditional parameters that only some trials have are left out and listed in
// `skipped`). Uses the internal representation; categoricals are treated as unordered choices.
// Sorted by importance, most important first. Fewer than two Complete trials, or a constant
// objective, give an empty list (the report then says why).
// Only Complete trials with a finite value count. A parameter whose distribution has a single
// value is listed with importance 0. A parameter whose distribution kind, log flag or
// categorical choices differ between trials is skipped; numeric ranges that differ are merged.
struct ImportanceResult {
  std::vector<ParameterImportance> parameters;
  std::vector<std::string> skipped;  // parameters left out because not every trial has them
  std::string method = "fANOVA over a random forest";
  int64_t trials_used = 0;  // trials the forest was fitted on (after any subsampling)
  // Sum of the raw shares: how much of the forest's variance the main effects explain; the
  // rest is interactions between parameters (1.0 for a purely additive objective).
  double main_effects_share = 0.0;
  // Why `parameters` is empty, in words for the report ("" when it is not empty).
  std::string empty_reason;
};

ImportanceResult parameter_importance(const tune::StudyHistory& history, const ImportanceOptions& options = {});

// The per-tree fANOVA step, exposed so that tests can check it on hand-built trees.
namespace detail {

// One dimension of the space a tree lives in: an interval [low, high] (low < high), or, when
// n_choices > 0, the unordered set of choices {0, ..., n_choices - 1}.
struct FeatureDomain {
  double low = 0.0, high = 1.0;
  int64_t n_choices = 0;
};

// A node of a regression tree. Internal nodes have left/right >= 0: a point goes left when
// x[feature] < threshold (interval) or left_choices[x[feature]] != 0 (categorical).
struct TreeNode {
  int64_t feature = -1;
  double threshold = 0.0;
  std::vector<uint8_t> left_choices;
  int64_t left = -1, right = -1;
  double value = 0.0;  // prediction at a leaf
};

struct TreeVariance {
  double total = 0.0;                  // variance of the tree's prediction, uniform measure
  std::vector<double> first_order;     // per feature: variance of its marginal prediction
};

// Node 0 is the root.
TreeVariance tree_variance(const std::vector<TreeNode>& tree, const std::vector<FeatureDomain>& domains);

}  // namespace detail

}  // namespace nntune::report
