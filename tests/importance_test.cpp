// fANOVA importance: the per-tree variance decomposition against hand-computed trees, then the
// whole pipeline on objectives whose important parameters are known.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "report/importance.hpp"
#include "test_util.hpp"

namespace nntune::report {
namespace {

using detail::FeatureDomain;
using detail::TreeNode;
using tune::Distribution;
using tune::FrozenTrial;
using tune::StudyHistory;
using tune::TrialState;

TreeNode split(int64_t feature, double threshold, int64_t left, int64_t right) {
  TreeNode node;
  node.feature = feature;
  node.threshold = threshold;
  node.left = left;
  node.right = right;
  return node;
}

TreeNode leaf(double value) {
  TreeNode node;
  node.value = value;
  return node;
}

const ParameterImportance& find(const ImportanceResult& result, const std::string& name) {
  for (const auto& p : result.parameters)
    if (p.name == name) return p;
  throw std::runtime_error("no importance for " + name);
}

// A study of `n` Complete trials with parameters drawn uniformly (log-uniformly for log
// distributions, uniformly over the choices for categoricals) and value = objective(params).
StudyHistory random_study(const tune::SearchSpace& space, int n,
                          const std::function<double(const std::map<std::string, double>&)>& objective,
                          uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  StudyHistory history;
  for (int i = 0; i < n; ++i) {
    FrozenTrial trial;
    trial.number = i;
    trial.state = TrialState::Complete;
    for (const auto& [name, dist] : space) {
      double x = 0.0;
      if (dist.kind == tune::DistributionKind::Categorical) {
        x = std::floor(unit(rng) * static_cast<double>(dist.choices.size()));
      } else if (dist.log) {
        x = std::exp(std::log(dist.low) + unit(rng) * (std::log(dist.high) - std::log(dist.low)));
      } else {
        x = dist.low + unit(rng) * (dist.high - dist.low);
      }
      if (dist.kind == tune::DistributionKind::Int) x = std::round(x);
      trial.params[name] = x;
      trial.distributions[name] = dist;
    }
    trial.value = objective(trial.params);
    history.trials.push_back(trial);
  }
  return history;
}

tune::SearchSpace unit_cube(int dims) {
  tune::SearchSpace space;
  for (int d = 0; d < dims; ++d) {
    std::string name = "x";  // not "x" + to_string(d): GCC 12 -O3 reports a false -Wrestrict
    name += std::to_string(d);
    space[name] = Distribution::float_range(0.0, 1.0);
  }
  return space;
}

// ---- The per-tree decomposition on hand-built trees -------------------------------------------

TEST(ImportanceTree, StumpOnOneFeatureExplainsAllVariance) {
  // x0 < 0.3 -> 1, else 5 over [0,1]^2. Mean 3.8; variance 0.3*2.8^2 + 0.7*1.2^2 = 3.36.
  const std::vector<TreeNode> tree = {split(0, 0.3, 1, 2), leaf(1.0), leaf(5.0)};
  const auto v = detail::tree_variance(tree, {FeatureDomain{0, 1}, FeatureDomain{0, 1}});
  EXPECT_NEAR(v.total, 3.36, 1e-12);
  ASSERT_EQ(v.first_order.size(), 2u);
  EXPECT_NEAR(v.first_order[0], 3.36, 1e-12);
  EXPECT_NEAR(v.first_order[1], 0.0, 1e-12);
}

TEST(ImportanceTree, TwoLevelTreeMatchesHandComputedMarginals) {
  // x0 < 0.5 -> 0; else (x1 < 0.25 -> 4, else 8) over [0,1]^2.
  // Leaves: volumes 0.5, 0.125, 0.375; mean 3.5; total variance
  //   0.5*3.5^2 + 0.125*0.5^2 + 0.375*4.5^2 = 13.75.
  // Marginal over x0: 0 on [0,0.5), 0.25*4 + 0.75*8 = 7 on [0.5,1] -> variance 12.25.
  // Marginal over x1: 0.5*0 + 0.5*4 = 2 on [0,0.25), 0.5*8 = 4 on [0.25,1]
  //   -> variance 0.25*1.5^2 + 0.75*0.5^2 = 0.75. The remaining 0.75 is the interaction.
  const std::vector<TreeNode> tree = {split(0, 0.5, 1, 2), leaf(0.0), split(1, 0.25, 3, 4), leaf(4.0), leaf(8.0)};
  const auto v = detail::tree_variance(tree, {FeatureDomain{0, 1}, FeatureDomain{0, 1}});
  EXPECT_NEAR(v.total, 13.75, 1e-12);
  EXPECT_NEAR(v.first_order[0], 12.25, 1e-12);
  EXPECT_NEAR(v.first_order[1], 0.75, 1e-12);
}

TEST(ImportanceTree, DomainsOtherThanTheUnitIntervalWeighByLength) {
  // Same stump as above but x0 lives in [-1, 3]: the split at 0 leaves a quarter on the left.
  // Values 0 / 4: mean 3, variance 0.25*9 + 0.75*1 = 3.
  const std::vector<TreeNode> tree = {split(0, 0.0, 1, 2), leaf(0.0), leaf(4.0)};
  const auto v = detail::tree_variance(tree, {FeatureDomain{-1, 3}});
  EXPECT_NEAR(v.total, 3.0, 1e-12);
  EXPECT_NEAR(v.first_order[0], 3.0, 1e-12);
}

TEST(ImportanceTree, CategoricalSplitWeighsEachChoiceEqually) {
  // Choice 0 -> 0, choices {1, 2} -> (x < 0.5 -> 2, else 4). Feature 0 categorical (3 choices),
  // feature 1 in [0,1]. Leaves: volumes 1/3, 1/3, 1/3 with values 0, 2, 4: mean 2, variance 8/3.
  // Marginal over the choice: 0, 3, 3 -> mean 2, variance (4 + 1 + 1)/3 = 2.
  // Marginal over x: x<0.5: (0 + 2*2)/3 = 4/3; x>=0.5: (0 + 2*4)/3 = 8/3 -> variance 4/9.
  TreeNode root;
  root.feature = 0;
  root.left_choices = {1, 0, 0};
  root.left = 1;
  root.right = 2;
  const std::vector<TreeNode> tree = {root, leaf(0.0), split(1, 0.5, 3, 4), leaf(2.0), leaf(4.0)};
  const auto v = detail::tree_variance(tree, {FeatureDomain{0, 0, 3}, FeatureDomain{0, 1}});
  EXPECT_NEAR(v.total, 8.0 / 3.0, 1e-12);
  EXPECT_NEAR(v.first_order[0], 2.0, 1e-12);
  EXPECT_NEAR(v.first_order[1], 4.0 / 9.0, 1e-12);
}

TEST(ImportanceTree, SingleLeafHasNoVariance) {
  const auto v = detail::tree_variance({leaf(7.0)}, {FeatureDomain{0, 1}});
  EXPECT_EQ(v.total, 0.0);
  EXPECT_EQ(v.first_order[0], 0.0);
}

// ---- The whole pipeline ------------------------------------------------------------------------

TEST(Importance, LinearFunctionRanksByCoefficient) {
  const auto history = random_study(unit_cube(3), 200, [](const auto& p) {
    return 10 * p.at("x0") + p.at("x1") + 0 * p.at("x2");
  });
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.parameters.size(), 3u);
  EXPECT_EQ(result.parameters[0].name, "x0");
  EXPECT_EQ(result.parameters[1].name, "x1");
  EXPECT_EQ(result.parameters[2].name, "x2");
  EXPECT_GT(find(result, "x0").importance, 0.8);
  EXPECT_LT(find(result, "x2").importance, 0.02);
  double sum = 0;
  for (const auto& p : result.parameters) {
    sum += p.importance;
    EXPECT_GE(p.spread, 0.0);
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_TRUE(result.empty_reason.empty());
  EXPECT_EQ(result.trials_used, 200);
  // Variance shares of 10*x0 + x1 on the unit square: 100/101 and 1/101.
  EXPECT_NEAR(find(result, "x0").importance, 100.0 / 101.0, 0.05);
}

TEST(Importance, AdditiveFunctionMainEffectsExplainNearlyAllVariance) {
  const auto history = random_study(unit_cube(3), 300, [](const auto& p) {
    return 3 * p.at("x0") + 2 * std::sin(6 * p.at("x1")) + p.at("x2") * p.at("x2");
  });
  const auto result = parameter_importance(history);
  double raw_sum = 0;
  for (const auto& p : result.parameters) raw_sum += p.raw_share;
  EXPECT_NEAR(result.main_effects_share, raw_sum, 1e-12);
  // A forest of deep trees fits some spurious interactions, so not exactly 1.
  EXPECT_GT(raw_sum, 0.85);
  EXPECT_LE(raw_sum, 1.0 + 1e-9);
  // Variances on [0,1]: 9/12 = 0.75; 4 Var(sin 6x) = 4 (1/2 - sin(12)/24 - ((1 - cos 6)/6)^2)
  // = 2.0893; Var(x^2) = 1/5 - 1/9 = 0.0889. Shares 0.256, 0.714, 0.030.
  ASSERT_EQ(result.parameters.size(), 3u);
  EXPECT_EQ(result.parameters[0].name, "x1");
  EXPECT_EQ(result.parameters[1].name, "x0");
  EXPECT_EQ(result.parameters[2].name, "x2");
  EXPECT_NEAR(find(result, "x1").importance, 0.714, 0.05);
  EXPECT_NEAR(find(result, "x0").importance, 0.256, 0.05);
}

TEST(Importance, InteractionIsNotAMainEffect) {
  // f = (x0 - 0.5)(x1 - 0.5): every first-order marginal is flat, all variance is interaction.
  const auto history = random_study(unit_cube(2), 300, [](const auto& p) {
    return (p.at("x0") - 0.5) * (p.at("x1") - 0.5);
  });
  const auto result = parameter_importance(history);
  EXPECT_LT(result.main_effects_share, 0.3);
  // What little main effect the trees find is noise, so its share varies a lot between trees
  // (the spread is on the normalised scale, like the importance).
  EXPECT_GT(result.parameters[0].spread, 0.1);
}

TEST(Importance, OneTreeHasNoSpread) {
  const auto history = random_study(unit_cube(2), 50, [](const auto& p) { return p.at("x0") + p.at("x1"); });
  ImportanceOptions options;
  options.n_trees = 1;
  const auto result = parameter_importance(history, options);
  ASSERT_EQ(result.parameters.size(), 2u);
  for (const auto& p : result.parameters) EXPECT_EQ(p.spread, 0.0);
}

TEST(Importance, CategoricalThatDecidesTheValueDominatesNoise) {
  tune::SearchSpace space;
  space["optimizer"] = Distribution::categorical({"sgd", "adam", "rmsprop"});
  space["noise"] = Distribution::float_range(0.0, 1.0);
  const auto history = random_study(space, 200, [](const auto& p) {
    const double by_choice[] = {0.0, 5.0, 10.0};
    return by_choice[static_cast<int>(p.at("optimizer"))] + 0.1 * p.at("noise");
  });
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.parameters.size(), 2u);
  EXPECT_EQ(result.parameters[0].name, "optimizer");
  EXPECT_GT(result.parameters[0].importance, 0.95);
}

TEST(Importance, CategoricalChoicesAreUnordered) {
  // The middle choice is the odd one out: an ordered split would need two cuts.
  tune::SearchSpace space;
  space["activation"] = Distribution::categorical({"relu", "tanh", "gelu", "silu"});
  space["x"] = Distribution::float_range(0.0, 1.0);
  const auto history = random_study(space, 200, [](const auto& p) {
    return (p.at("activation") == 1.0 || p.at("activation") == 3.0 ? 10.0 : 0.0) + p.at("x");
  });
  const auto result = parameter_importance(history);
  EXPECT_EQ(result.parameters[0].name, "activation");
  EXPECT_GT(result.parameters[0].importance, 0.9);
}

TEST(Importance, LogScaleParameterLinearInItsLogIsDetected) {
  tune::SearchSpace space;
  space["lr"] = Distribution::float_range(1e-5, 1e-1, /*log=*/true);
  space["momentum"] = Distribution::float_range(0.0, 1.0);
  space["layers"] = Distribution::int_range(1, 4);
  const auto history = random_study(space, 200, [](const auto& p) {
    return std::log10(p.at("lr")) + 0.1 * p.at("momentum");
  });
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.parameters.size(), 3u);
  EXPECT_EQ(result.parameters[0].name, "lr");
  // log10(lr) is uniform over a width of 4: variance 16/12; 0.1*momentum: 0.01/12.
  EXPECT_GT(result.parameters[0].importance, 0.95);
  EXPECT_LT(find(result, "layers").importance, 0.03);
}

TEST(Importance, ConditionalParameterIsSkipped) {
  auto history = random_study(unit_cube(2), 60, [](const auto& p) { return p.at("x0"); });
  for (auto& trial : history.trials) {
    if (trial.number % 2 == 0) {
      trial.params["dropout"] = 0.1;
      trial.distributions["dropout"] = Distribution::float_range(0.0, 0.5);
    }
  }
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.skipped, std::vector<std::string>{"dropout"});
  ASSERT_EQ(result.parameters.size(), 2u);
  EXPECT_EQ(result.parameters[0].name, "x0");
}

TEST(Importance, OnlyCompleteTrialsWithAFiniteValueCount) {
  auto history = random_study(unit_cube(2), 40, [](const auto& p) { return p.at("x1"); });
  history.trials[0].state = TrialState::Failed;
  history.trials[1].state = TrialState::Pruned;
  history.trials[2].value = std::nan("");
  history.trials[3].value = std::numeric_limits<double>::infinity();
  history.trials[4].state = TrialState::Running;
  history.trials[4].value.reset();
  // A failed trial without the parameter does not make it conditional.
  history.trials[0].params.erase("x0");
  history.trials[0].distributions.erase("x0");
  const auto result = parameter_importance(history);
  EXPECT_EQ(result.trials_used, 35);
  EXPECT_TRUE(result.skipped.empty());
  ASSERT_EQ(result.parameters.size(), 2u);
  EXPECT_EQ(result.parameters[0].name, "x1");
}

TEST(Importance, ConstantObjectiveGivesNothing) {
  const auto history = random_study(unit_cube(3), 50, [](const auto&) { return 0.25; });
  const auto result = parameter_importance(history);
  EXPECT_TRUE(result.parameters.empty());
  EXPECT_NE(result.empty_reason.find("same value in every complete trial"), std::string::npos);
}

TEST(Importance, FewerThanTwoCompleteTrialsGiveNothing) {
  auto history = random_study(unit_cube(2), 1, [](const auto& p) { return p.at("x0"); });
  EXPECT_TRUE(parameter_importance(history).parameters.empty());
  EXPECT_NE(parameter_importance(history).empty_reason.find("at least 2 complete trials"), std::string::npos);
  EXPECT_TRUE(parameter_importance(StudyHistory{}).parameters.empty());
  history = random_study(unit_cube(2), 5, [](const auto& p) { return p.at("x0"); });
  for (size_t i = 1; i < history.trials.size(); ++i) history.trials[i].state = TrialState::Failed;
  EXPECT_TRUE(parameter_importance(history).parameters.empty());
}

TEST(Importance, SingleValuedParameterHasZeroImportance) {
  auto space = unit_cube(2);
  space["fixed"] = Distribution::float_range(0.5, 0.5);
  const auto history = random_study(space, 50, [](const auto& p) { return p.at("x0"); });
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.parameters.size(), 3u);
  EXPECT_EQ(find(result, "fixed").importance, 0.0);
  EXPECT_EQ(result.parameters.back().name, "fixed");
}

TEST(Importance, NoSharedParameterGivesNothingAndSaysWhy) {
  auto history = random_study(unit_cube(1), 10, [](const auto& p) { return p.at("x0"); });
  for (auto& trial : history.trials) {
    if (trial.number == 3) {
      trial.params.clear();
      trial.distributions.clear();
    }
  }
  const auto result = parameter_importance(history);
  EXPECT_TRUE(result.parameters.empty());
  EXPECT_EQ(result.skipped, std::vector<std::string>{"x0"});
  EXPECT_NE(result.empty_reason.find("no parameter is present in every complete trial"), std::string::npos);
}

TEST(Importance, RangesWidenedDuringTheStudyAreMerged) {
  auto history = random_study(unit_cube(2), 80, [](const auto& p) { return p.at("x1"); });
  for (auto& trial : history.trials)
    if (trial.number >= 40) trial.distributions["x1"] = Distribution::float_range(0.0, 2.0);
  const auto result = parameter_importance(history);
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_EQ(result.parameters[0].name, "x1");
}

TEST(Importance, InvalidOptionsAreErrors) {
  const auto history = random_study(unit_cube(1), 10, [](const auto& p) { return p.at("x0"); });
  ImportanceOptions options;
  options.n_trees = 0;
  EXPECT_ERROR_CONTAINS(parameter_importance(history, options), "n_trees must be at least 1", "got 0");
  options = {};
  options.min_samples_split = 1;
  EXPECT_ERROR_CONTAINS(parameter_importance(history, options), "min_samples_split must be at least 2");
}

TEST(Importance, SameSeedSameResultOtherSeedDiffers) {
  const auto history = random_study(unit_cube(4), 150, [](const auto& p) {
    return p.at("x0") * p.at("x1") + p.at("x2");
  });
  ImportanceOptions options;
  options.seed = 7;
  const auto a = parameter_importance(history, options);
  const auto b = parameter_importance(history, options);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_EQ(a.parameters[i].name, b.parameters[i].name);
    EXPECT_EQ(a.parameters[i].importance, b.parameters[i].importance);
    EXPECT_EQ(a.parameters[i].spread, b.parameters[i].spread);
  }
  options.seed = 8;
  const auto c = parameter_importance(history, options);
  EXPECT_NE(find(a, "x0").importance, find(c, "x0").importance);
}

TEST(Importance, LargeStudiesAreSubsampled) {
  const auto history = random_study(unit_cube(2), 300, [](const auto& p) { return p.at("x0"); });
  ImportanceOptions options;
  options.max_trials = 100;
  const auto result = parameter_importance(history, options);
  EXPECT_EQ(result.trials_used, 100);
  EXPECT_EQ(result.parameters[0].name, "x0");
}

// Its time is measured by bench/run_report_bench.sh, not asserted here (a shared, noisy machine).
TEST(Importance, ThousandTrialsOfTenParametersRankTheDominantOneFirst) {
  tune::SearchSpace space = unit_cube(8);
  space["act"] = Distribution::categorical({"relu", "tanh", "gelu"});
  space["lr"] = Distribution::float_range(1e-5, 1e-1, true);
  const auto history = random_study(space, 1000, [](const auto& p) {
    return std::log(p.at("lr")) + 2 * p.at("x0") + p.at("act") + 0.5 * std::sin(5 * p.at("x1"));
  });
  const auto result = parameter_importance(history);
  ASSERT_EQ(result.parameters.size(), 10u);
  EXPECT_EQ(result.parameters[0].name, "lr");
}

}  // namespace
}  // namespace nntune::report
