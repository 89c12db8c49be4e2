// Pruners on scripted learning curves: every expectation is worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "nntune/tune/pruner.hpp"
#include "test_util.hpp"
#include "tune/pruners.hpp"

namespace nntune::tune {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

FrozenTrial make_trial(int64_t number, TrialState state, std::map<int64_t, double> curve) {
  FrozenTrial t;
  t.id = number;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(curve);
  if (state == TrialState::Complete && !t.intermediate.empty()) t.value = t.intermediate.rbegin()->second;
  return t;
}

// The running trial is appended to the history, as the study passes it to prune().
bool prune_with(Pruner& pruner, StudyHistory history, const FrozenTrial& running) {
  history.trials.push_back(running);
  return pruner.prune(history, running);
}

std::unique_ptr<Pruner> median(int64_t startup = 5, int64_t warmup = 0, int64_t interval = 1) {
  PrunerConfig c;
  c.name = "median";
  c.n_startup_trials = startup;
  c.n_warmup_steps = warmup;
  c.interval_steps = interval;
  return make_pruner(c);
}

// Five completed loss curves over steps 0..4: trial k has 1 - 0.1 step + 0.01 k, so the median
// at step s is trial 2's value, 1 - 0.1 s + 0.02.
StudyHistory five_completed_losses() {
  StudyHistory h;
  for (int64_t k = 0; k < 5; ++k) {
    std::map<int64_t, double> curve;
    for (int64_t s = 0; s < 5; ++s) curve[s] = 1.0 - 0.1 * s + 0.01 * k;
    h.trials.push_back(make_trial(k, TrialState::Complete, curve));
  }
  return h;
}

TEST(MedianPruner, PrunesAClearlyWorseCurveAndKeepsABetterOne) {
  auto pruner = median();
  EXPECT_EQ(pruner->name(), "median");
  const StudyHistory h = five_completed_losses();
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 0.5}, {1, 0.5}, {2, 0.5}})));
  // Median at step 2 is 0.82: 0.83 is just worse, 0.81 just better.
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{2, 0.83}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{2, 0.81}})));
}

TEST(MedianPruner, ComparesTheBestValueSoFar) {
  // Good at step 0 (0.5), bad at step 2 (5.0): the best so far, 0.5, beats the median 0.82.
  auto pruner = median();
  EXPECT_FALSE(prune_with(*pruner, five_completed_losses(), make_trial(5, TrialState::Running, {{0, 0.5}, {2, 5.0}})));
}

TEST(MedianPruner, WaitsForStartupTrials) {
  StudyHistory h = five_completed_losses();
  const FrozenTrial bad = make_trial(9, TrialState::Running, {{0, 2.0}, {1, 2.0}});
  auto pruner = median(/*startup=*/5);
  EXPECT_TRUE(prune_with(*pruner, h, bad));
  // Only complete trials count: with one of the five pruned and a running one, four are complete.
  h.trials[4].state = TrialState::Pruned;
  h.trials.push_back(make_trial(5, TrialState::Running, {{0, 0.1}}));
  EXPECT_FALSE(prune_with(*pruner, h, bad));
  EXPECT_TRUE(prune_with(*median(/*startup=*/4), h, bad));
  EXPECT_FALSE(prune_with(*median(0), StudyHistory{}, bad));  // nobody to compare with
}

TEST(MedianPruner, WaitsForWarmupSteps) {
  auto pruner = median(5, /*warmup=*/3);
  const StudyHistory h = five_completed_losses();
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}})));
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}, {3, 2.0}})));
}

TEST(MedianPruner, ChecksOncePerInterval) {
  // Warm-up 1, interval 2: checks fall at steps 1, 3, ... (the first report at or past each).
  auto pruner = median(5, /*warmup=*/1, /*interval=*/2);
  const StudyHistory h = five_completed_losses();
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}})));
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}, {3, 2.0}})));
  EXPECT_FALSE(
      prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}, {3, 2.0}, {4, 2.0}})));
  // A trial that skips step 3 is checked at step 4, its first report in the interval [3, 5).
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{0, 2.0}, {1, 2.0}, {2, 2.0}, {4, 2.0}})));
}

TEST(MedianPruner, MaximiseFlipsTheComparison) {
  // Accuracy curves: the negated losses above. Median at step 2 is -0.82.
  StudyHistory h = five_completed_losses();
  h.direction = Direction::Maximize;
  for (FrozenTrial& t : h.trials)
    for (auto& [step, value] : t.intermediate) value = -value;
  auto pruner = median();
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{2, -0.83}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{2, -0.81}})));
  // Under minimisation the same two trials swap.
  h.direction = Direction::Minimize;
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{2, -0.83}})));
}

TEST(MedianPruner, NaNPrunesAtOnceAndOthersNaNIsIgnored) {
  const StudyHistory h = five_completed_losses();
  // Diverged: pruned even before warm-up and startup trials.
  EXPECT_TRUE(prune_with(*median(50, 10), h, make_trial(5, TrialState::Running, {{0, 0.1}, {1, kNaN}})));
  // A completed trial's NaN at the step is left out of the median: {1.02, 1.03, 1.04, NaN, NaN}
  // -> median of the three numbers is 1.03.
  StudyHistory with_nan = h;
  with_nan.trials[0].intermediate[0] = kNaN;
  with_nan.trials[1].intermediate[0] = kNaN;
  auto pruner = median();
  EXPECT_TRUE(prune_with(*pruner, with_nan, make_trial(5, TrialState::Running, {{0, 1.035}})));
  EXPECT_FALSE(prune_with(*pruner, with_nan, make_trial(5, TrialState::Running, {{0, 1.025}})));
  // None of the completed trials reported the step: no basis, no pruning.
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{7, 99.0}})));
}

TEST(PercentilePruner, Percentile25IsStricterThan75) {
  // Completed values at step 1: 1, 2, 3, 4, 5. 25th percentile 2, 75th percentile 4.
  StudyHistory h;
  for (int64_t k = 0; k < 5; ++k) h.trials.push_back(make_trial(k, TrialState::Complete, {{1, double(k + 1)}}));
  PrunerConfig c;
  c.name = "percentile";
  c.n_startup_trials = 5;
  c.percentile = 25.0;
  auto p25 = make_pruner(c);
  c.percentile = 75.0;
  auto p75 = make_pruner(c);
  EXPECT_EQ(p25->name(), "percentile");
  const FrozenTrial three = make_trial(5, TrialState::Running, {{1, 3.0}});
  EXPECT_TRUE(prune_with(*p25, h, three));
  EXPECT_FALSE(prune_with(*p75, h, three));
  EXPECT_TRUE(prune_with(*p75, h, make_trial(5, TrialState::Running, {{1, 4.5}})));
  // Maximising: keep the top 25% (above 4) or the top 75% (above 2).
  h.direction = Direction::Maximize;
  EXPECT_TRUE(prune_with(*p25, h, three));
  EXPECT_FALSE(prune_with(*p75, h, three));
  EXPECT_FALSE(prune_with(*p25, h, make_trial(5, TrialState::Running, {{1, 4.5}})));
  EXPECT_TRUE(prune_with(*p75, h, make_trial(5, TrialState::Running, {{1, 1.5}})));
}

TEST(PercentilePruner, InterpolatesLikeNumpy) {
  using detail::nan_percentile;
  EXPECT_DOUBLE_EQ(nan_percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(nan_percentile({4, 1, 3, 2}, 25), 1.75);  // position 0.75
  EXPECT_DOUBLE_EQ(nan_percentile({4, 1, kNaN, 2}, 100), 4.0);
  EXPECT_DOUBLE_EQ(nan_percentile({7}, 30), 7.0);
  EXPECT_TRUE(std::isnan(nan_percentile({kNaN}, 50)));
}

// ---- successive halving ----

std::unique_ptr<Pruner> sha(int64_t min_resource = 1, int64_t eta = 3, int64_t rate = 0, int64_t bootstrap = 0) {
  PrunerConfig c;
  c.name = "successive_halving";
  c.min_resource = min_resource;
  c.reduction_factor = eta;
  c.min_early_stopping_rate = rate;
  c.bootstrap_count = bootstrap;
  return make_pruner(c);
}

TEST(SuccessiveHalvingPruner, RungSteps) {
  EXPECT_EQ(detail::SuccessiveHalvingPruner(1, 3, 0, 0).rung_step(0), 1);
  EXPECT_EQ(detail::SuccessiveHalvingPruner(1, 3, 0, 0).rung_step(2), 9);
  EXPECT_EQ(detail::SuccessiveHalvingPruner(1, 3, 1, 0).rung_step(0), 3);
  EXPECT_EQ(detail::SuccessiveHalvingPruner(2, 2, 0, 0).rung_step(3), 16);
  EXPECT_EQ(detail::SuccessiveHalvingPruner(2, 2, 0, 0).rung_step(200), std::numeric_limits<int64_t>::max());
}

// Nine trials whose values at every step are a fixed permutation of 1..9 per rung.
StudyHistory nine_trials(const std::map<int64_t, std::vector<double>>& values_per_step) {
  StudyHistory h;
  for (int64_t k = 0; k < 9; ++k) {
    std::map<int64_t, double> curve;
    for (const auto& [step, values] : values_per_step) curve[step] = values[k];
    h.trials.push_back(make_trial(k, TrialState::Running, curve));
  }
  return h;
}

TEST(SuccessiveHalvingPruner, PromotesExactlyTheTopThirdAtEachRung) {
  auto pruner = sha();  // eta 3, rungs at steps 1, 3, 9
  // Rung 0 (step 1): nine competitors, promotable index 9/3 - 1 = 2: values 1, 2, 3 go on.
  const std::vector<double> at_step1 = {5, 3, 8, 1, 9, 2, 7, 4, 6};
  StudyHistory h = nine_trials({{1, at_step1}});
  std::set<double> promoted;
  for (const FrozenTrial& t : h.trials)
    if (!pruner->prune(h, t)) promoted.insert(t.intermediate.at(1));
  EXPECT_EQ(promoted, (std::set<double>{1, 2, 3}));

  // Between rungs (step 2) nobody is judged, however bad.
  h = nine_trials({{1, at_step1}, {2, std::vector<double>(9, 100.0)}});
  for (const FrozenTrial& t : h.trials) EXPECT_FALSE(pruner->prune(h, t));

  // Rung 1 (step 3): judged on the step-3 values only (rung 0 was decided at step 1).
  const std::vector<double> at_step3 = {0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.6, 0.4};
  h = nine_trials({{1, at_step1}, {2, std::vector<double>(9, 100.0)}, {3, at_step3}});
  promoted.clear();
  for (const FrozenTrial& t : h.trials)
    if (!pruner->prune(h, t)) promoted.insert(t.intermediate.at(3));
  EXPECT_EQ(promoted, (std::set<double>{0.1, 0.2, 0.3}));

  // Maximising keeps the three largest.
  h.direction = Direction::Maximize;
  promoted.clear();
  for (const FrozenTrial& t : h.trials)
    if (!pruner->prune(h, t)) promoted.insert(t.intermediate.at(3));
  EXPECT_EQ(promoted, (std::set<double>{0.9, 0.8, 0.7}));
}

TEST(SuccessiveHalvingPruner, FewerThanEtaCompetitorsOnlyTheBestGoesOn) {
  auto pruner = sha(1, 3);
  StudyHistory h;
  // The first trial at a rung is alone, hence the best.
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(0, TrialState::Running, {{1, 5.0}})));
  h.trials.push_back(make_trial(0, TrialState::Pruned, {{1, 5.0}}));  // pruned trials still count
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(1, TrialState::Running, {{1, 6.0}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(1, TrialState::Running, {{1, 4.0}})));
  // Six at the rung: index 6/3 - 1 = 1, the two best go on.
  for (int64_t k = 1; k < 5; ++k) h.trials.push_back(make_trial(k, TrialState::Complete, {{1, double(k)}}));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{1, 2.0}})));
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(5, TrialState::Running, {{1, 2.5}})));
}

TEST(SuccessiveHalvingPruner, APromotionIsNotRevisitedBetweenRungs) {
  auto pruner = sha(1, 3);  // rungs 1, 3, 9
  StudyHistory h;
  h.trials.push_back(make_trial(0, TrialState::Pruned, {{1, 1.0}}));
  h.trials.push_back(make_trial(1, TrialState::Pruned, {{1, 2.0}}));
  // Best at rung 1 with 0.5; at step 2 it is far worse than its rivals' rung values, but rung 1
  // was decided at step 1 and rung 3 is not reached yet.
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{1, 0.5}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{1, 0.5}, {2, 10.0}})));
  // At step 3 it is alone at that rung, hence promoted whatever its value.
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{1, 0.5}, {2, 10.0}, {3, 10.0}})));
}

TEST(SuccessiveHalvingPruner, SkippedStepsUseTheFirstValueAtOrPastTheRung) {
  auto pruner = sha(1, 3);  // rungs 1, 3, 9
  StudyHistory h;
  // Reported steps 0 and 5 only: at rung 3 they count with their step-5 value.
  h.trials.push_back(make_trial(0, TrialState::Complete, {{0, 9.0}, {5, 1.0}}));
  h.trials.push_back(make_trial(1, TrialState::Complete, {{0, 9.0}, {5, 2.0}}));
  // A trial jumping from step 0 to step 4 is judged at rungs 1 and 3 with its step-4 value:
  // three competitors at each, only the best goes on.
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{0, 0.0}, {4, 1.5}})));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{0, 0.0}, {4, 0.5}})));
}

TEST(SuccessiveHalvingPruner, MinEarlyStoppingRateAndBootstrap) {
  StudyHistory h;
  h.trials.push_back(make_trial(0, TrialState::Complete, {{1, 1.0}, {3, 1.0}}));
  const FrozenTrial worse_at_1 = make_trial(1, TrialState::Running, {{1, 2.0}});
  EXPECT_TRUE(prune_with(*sha(1, 3, 0), h, worse_at_1));
  EXPECT_FALSE(prune_with(*sha(1, 3, /*rate=*/1), h, worse_at_1));  // first rung at step 3
  EXPECT_TRUE(prune_with(*sha(1, 3, 1), h, make_trial(1, TrialState::Running, {{1, 2.0}, {3, 2.0}})));
  // Bootstrap 2: the first two trials at a rung are not promoted, the third is judged.
  EXPECT_TRUE(prune_with(*sha(1, 3, 0, 2), StudyHistory{}, make_trial(0, TrialState::Running, {{1, 1.0}})));
  EXPECT_TRUE(prune_with(*sha(1, 3, 0, 2), h, make_trial(1, TrialState::Running, {{1, 0.5}})));
  h.trials.push_back(make_trial(1, TrialState::Pruned, {{1, 3.0}}));
  EXPECT_FALSE(prune_with(*sha(1, 3, 0, 2), h, make_trial(2, TrialState::Running, {{1, 0.5}})));
}

TEST(SuccessiveHalvingPruner, NaNPrunesAndACompetitorsNaNCountsAsWorst) {
  auto pruner = sha(1, 3);
  StudyHistory h;
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(0, TrialState::Running, {{1, 1.0}, {2, kNaN}})));
  h.trials.push_back(make_trial(0, TrialState::Failed, {{1, kNaN}}));
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(1, TrialState::Running, {{1, 1e9}})));
}

// ---- hyperband ----

PrunerConfig hyperband_config(int64_t max_resource) {
  PrunerConfig c;
  c.name = "hyperband";
  c.min_resource = 1;
  c.max_resource = max_resource;
  c.reduction_factor = 3;
  return c;
}

TEST(HyperbandPruner, BracketsAndBudgetsFollowOptuna) {
  const detail::HyperbandPruner hb(1, 27, 3, 0);
  // log3(27) + 1 = 4 brackets; budgets ceil(4 * 3^s / (s + 1)) for s = 3, 2, 1, 0.
  EXPECT_EQ(hb.n_brackets(27), 4);
  EXPECT_EQ(hb.n_brackets(26), 3);
  EXPECT_EQ(hb.n_brackets(1), 1);
  EXPECT_EQ(hb.bracket_budget(27, 0), 27);
  EXPECT_EQ(hb.bracket_budget(27, 1), 12);
  EXPECT_EQ(hb.bracket_budget(27, 2), 6);
  EXPECT_EQ(hb.bracket_budget(27, 3), 4);
}

TEST(HyperbandPruner, AssignsBracketsDeterministicallyAndBudgetWeighted) {
  const detail::HyperbandPruner a(1, 27, 3, 0), b(1, 27, 3, 0);
  std::vector<int64_t> counts(4, 0);
  const int64_t n = 4900;  // 100 x the total budget 49
  for (int64_t number = 0; number < n; ++number) {
    const int64_t bracket = a.bracket_of(number, 27);
    ASSERT_EQ(bracket, b.bracket_of(number, 27));
    ASSERT_GE(bracket, 0);
    ASSERT_LT(bracket, 4);
    ++counts[bracket];
  }
  const double expected[] = {2700, 1200, 600, 400};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[i], expected[i], 0.15 * expected[i]) << "bracket " << i;
  // Consecutive numbers do not all land in one bracket.
  std::set<int64_t> first_ten;
  for (int64_t number = 0; number < 10; ++number) first_ten.insert(a.bracket_of(number, 27));
  EXPECT_GE(first_ten.size(), 2u);
}

// The `count` smallest trial numbers that fall into `bracket`.
std::vector<int64_t> numbers_in_bracket(const detail::HyperbandPruner& hb, int64_t bracket, size_t count,
                                        int64_t max_resource = 27) {
  std::vector<int64_t> out;
  for (int64_t number = 0; out.size() < count; ++number)
    if (hb.bracket_of(number, max_resource) == bracket) out.push_back(number);
  return out;
}

TEST(HyperbandPruner, PrunesWithinABracketOnly) {
  auto pruner = make_pruner(hyperband_config(27));
  EXPECT_EQ(pruner->name(), "hyperband");
  const detail::HyperbandPruner hb(1, 27, 3, 0);
  const auto bracket0 = numbers_in_bracket(hb, 0, 3);  // rungs at 1, 3, 9
  const auto bracket1 = numbers_in_bracket(hb, 1, 3);  // rungs at 3, 9

  const FrozenTrial mediocre = make_trial(bracket0[2], TrialState::Running, {{1, 5.0}});
  // Much better trials, but in another bracket: the mediocre trial is alone in its bracket.
  StudyHistory h;
  for (int64_t i = 0; i < 2; ++i) h.trials.push_back(make_trial(bracket1[i], TrialState::Complete, {{1, 1.0}, {3, 1.0}}));
  EXPECT_FALSE(prune_with(*pruner, h, mediocre));
  // The same better trials in its own bracket: three competitors, only the best goes on.
  for (int64_t i = 0; i < 2; ++i) h.trials.push_back(make_trial(bracket0[i], TrialState::Complete, {{1, 1.0}, {3, 1.0}}));
  EXPECT_TRUE(prune_with(*pruner, h, mediocre));

  // Bracket 1 stops nobody before step 3.
  StudyHistory h1;
  for (int64_t i = 0; i < 2; ++i) h1.trials.push_back(make_trial(bracket1[i], TrialState::Complete, {{1, 1.0}, {3, 1.0}}));
  EXPECT_FALSE(prune_with(*pruner, h1, make_trial(bracket1[2], TrialState::Running, {{1, 5.0}})));
  EXPECT_TRUE(prune_with(*pruner, h1, make_trial(bracket1[2], TrialState::Running, {{1, 5.0}, {3, 5.0}})));
}

TEST(HyperbandPruner, AutoMaxResourceComesFromCompletedTrials) {
  auto pruner = make_pruner(hyperband_config(0));
  const detail::HyperbandPruner hb(1, 0, 3, 0);
  StudyHistory h;
  h.trials.push_back(make_trial(0, TrialState::Running, {{1, 1.0}, {20, 1.0}}));
  EXPECT_EQ(hb.effective_max_resource(h), 0);  // nothing completed: no pruning yet
  EXPECT_FALSE(prune_with(*pruner, h, make_trial(1, TrialState::Running, {{1, 1e9}})));
  // A completed trial's last step 8 -> max_resource 9 -> brackets at rungs {1,3,9}, {3,9}, {9}.
  h.trials.push_back(make_trial(1, TrialState::Complete, {{1, 1.0}, {8, 1.0}}));
  EXPECT_EQ(hb.effective_max_resource(h), 9);
  EXPECT_EQ(hb.n_brackets(9), 3);
  EXPECT_TRUE(prune_with(*pruner, h, make_trial(2, TrialState::Running, {{0, 0.0}, {1, kNaN}})));
}

TEST(MakePruner, NamesAndValidation) {
  PrunerConfig c;
  EXPECT_EQ(make_pruner(c)->name(), "none");
  EXPECT_FALSE(make_pruner(c)->prune(StudyHistory{}, make_trial(0, TrialState::Running, {{1, kNaN}})));
  c.name = "asha";
  EXPECT_EQ(make_pruner(c)->name(), "successive_halving");
  c.name = "bogus";
  EXPECT_ERROR_CONTAINS(make_pruner(c), "bogus", "median", "hyperband");

  auto invalid = [](auto edit, const std::string& field, const std::string& allowed) {
    PrunerConfig bad;
    bad.name = "median";
    edit(bad);
    EXPECT_ERROR_CONTAINS(make_pruner(bad), "pruner." + field, allowed);
  };
  invalid([](PrunerConfig& p) { p.n_startup_trials = -1; }, "n_startup_trials", ">= 0");
  invalid([](PrunerConfig& p) { p.n_warmup_steps = -2; }, "n_warmup_steps", ">= 0");
  invalid([](PrunerConfig& p) { p.interval_steps = 0; }, "interval_steps", ">= 1");
  invalid([](PrunerConfig& p) { p.percentile = 101; }, "percentile", "[0, 100]");
  invalid([](PrunerConfig& p) { p.min_resource = 0; }, "min_resource", ">= 1");
  invalid([](PrunerConfig& p) { p.reduction_factor = 1; }, "reduction_factor", ">= 2");
  invalid([](PrunerConfig& p) { p.min_early_stopping_rate = -1; }, "min_early_stopping_rate", ">= 0");
  invalid([](PrunerConfig& p) { p.bootstrap_count = -1; }, "bootstrap_count", ">= 0");
  invalid(
      [](PrunerConfig& p) {
        p.min_resource = 4;
        p.max_resource = 3;
      },
      "max_resource", ">= min_resource");
}

}  // namespace
}  // namespace nntune::tune
