// The data behind the report's plots (study_plots, training_report) and the pages' contents:
// hand-computed values; the pictures themselves are checked in report_browser_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "nntune/layer.hpp"
#include "report/html.hpp"
#include "report/study_plots.hpp"
#include "report/study_report.hpp"
#include "report/training_report.hpp"
#include "test_util.hpp"

namespace nntune::report {
namespace {

using nlohmann::json;
using tune::Direction;
using tune::Distribution;
using tune::FrozenTrial;
using tune::StudyHistory;
using tune::TrialState;

FrozenTrial trial(int64_t number, TrialState state, std::optional<double> value, std::map<std::string, double> params = {},
                  double start = 1000.0, double end = 0.0) {
  FrozenTrial t;
  t.id = number;
  t.number = number;
  t.state = state;
  t.value = value;
  t.start_time = start + static_cast<double>(number);
  t.end_time = end > 0 ? end : t.start_time + 1.0;
  for (const auto& [name, v] : params) {
    t.params[name] = v;
    t.distributions[name] = name == "opt" ? Distribution::categorical({"sgd", "adam", "rmsprop"})
                            : name == "lr" ? Distribution::float_range(1e-4, 1e-1, true)
                                           : Distribution::float_range(0.0, 1.0);
  }
  return t;
}

StudyHistory history_of(Direction d, std::vector<FrozenTrial> trials) {
  StudyHistory h;
  h.direction = d;
  h.trials = std::move(trials);
  return h;
}

// ---- optimisation history ----

TEST(OptimizationHistory, BestSoFarWhenMinimising) {
  const auto h = optimization_history(history_of(
      Direction::Minimize, {trial(0, TrialState::Complete, 5.0), trial(1, TrialState::Complete, 7.0),
                            trial(2, TrialState::Failed, std::nullopt), trial(3, TrialState::Complete, 2.0),
                            trial(4, TrialState::Pruned, 0.5), trial(5, TrialState::Complete, 3.0)}));
  ASSERT_EQ(h.points.size(), 4u);  // complete trials only: a pruned trial's value is not a result
  EXPECT_EQ(h.points[2].number, 3);
  ASSERT_EQ(h.best_by_number.size(), 2u);
  EXPECT_EQ(h.best_by_number[0].number, 0);
  EXPECT_DOUBLE_EQ(h.best_by_number[0].value, 5.0);
  EXPECT_EQ(h.best_by_number[1].number, 3);
  EXPECT_DOUBLE_EQ(h.best_by_number[1].value, 2.0);
  EXPECT_DOUBLE_EQ(h.best_by_number[1].x, 3.0);
  for (const auto& p : h.points) EXPECT_EQ(p.best, p.number == 3);
}

TEST(OptimizationHistory, BestSoFarWhenMaximising) {
  const auto h = optimization_history(history_of(
      Direction::Maximize, {trial(0, TrialState::Complete, 0.5), trial(1, TrialState::Complete, 0.7),
                            trial(2, TrialState::Complete, 0.6), trial(3, TrialState::Complete, 0.9)}));
  ASSERT_EQ(h.best_by_number.size(), 3u);
  EXPECT_DOUBLE_EQ(h.best_by_number[0].value, 0.5);
  EXPECT_DOUBLE_EQ(h.best_by_number[1].value, 0.7);
  EXPECT_DOUBLE_EQ(h.best_by_number[2].value, 0.9);
  EXPECT_TRUE(h.points[3].best);
}

TEST(OptimizationHistory, BestByTimeFollowsEndTimesNotNumbers) {
  // Two jobs: trial 1 (the best) finishes before trial 0.
  const auto h = optimization_history(
      history_of(Direction::Minimize, {trial(0, TrialState::Complete, 3.0, {}, 100.0, 150.0),
                                       trial(1, TrialState::Complete, 1.0, {}, 100.0, 120.0)}));
  ASSERT_EQ(h.best_by_time.size(), 1u);  // trial 0 arrives later and is worse: no second step
  EXPECT_EQ(h.best_by_time[0].number, 1);
  EXPECT_DOUBLE_EQ(h.best_by_time[0].x, 20.0);  // seconds after the first start (100)
  ASSERT_EQ(h.best_by_number.size(), 2u);
  EXPECT_DOUBLE_EQ(h.points[0].seconds, 50.0);
}

TEST(StudyOverview, CountsStatesTimesAndTheBest) {
  const auto o = study_overview(history_of(
      Direction::Maximize, {trial(0, TrialState::Complete, 0.5, {}, 10.0, 20.0),
                            trial(1, TrialState::Pruned, 0.1, {}, 10.0, 15.0), trial(2, TrialState::Failed, std::nullopt),
                            trial(3, TrialState::Complete, 0.8, {}, 10.0, 40.0), trial(4, TrialState::Running, std::nullopt)}));
  EXPECT_EQ(o.complete, 2);
  EXPECT_EQ(o.pruned, 1);
  EXPECT_EQ(o.failed, 1);
  EXPECT_EQ(o.running, 1);
  ASSERT_TRUE(o.best);
  EXPECT_EQ(o.best->number, 3);
  EXPECT_DOUBLE_EQ(o.first_start, 10.0);
}

// ---- curves and thinning ----

TEST(IntermediateCurves, KeepStepsInOrderAndMarkPrunedTrials) {
  FrozenTrial a = trial(0, TrialState::Complete, 0.2), b = trial(1, TrialState::Pruned, std::nullopt),
              c = trial(2, TrialState::Failed, std::nullopt);
  a.intermediate = {{3, 0.2}, {1, 0.5}, {2, 0.3}};
  b.intermediate = {{1, 0.9}, {2, std::nan("")}};
  const auto curves = intermediate_curves(history_of(Direction::Minimize, {a, b, c}));
  ASSERT_EQ(curves.size(), 2u);  // c reported nothing
  EXPECT_EQ(curves[0].steps, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(curves[0].values, (std::vector<double>{0.5, 0.3, 0.2}));
  EXPECT_FALSE(curves[0].pruned());
  EXPECT_TRUE(curves[1].pruned());
  EXPECT_EQ(curves[1].steps, (std::vector<int64_t>{1}));  // the NaN is dropped
}

TEST(Thinning, KeepsEverythingWhenItFits) {
  EXPECT_EQ(thin_indices({3, 1, 2}, Direction::Minimize, 5, 1), (std::vector<size_t>{0, 1, 2}));
}

TEST(Thinning, KeepsTheExtremesAndTheBestAndRespectsTheLimit) {
  std::vector<double> scores;
  for (int i = 0; i < 1000; ++i) scores.push_back(std::sin(i * 0.37) * 10 + i * 0.001);
  scores[617] = -50;  // the best when minimising
  scores[42] = 80;    // the worst
  for (Direction d : {Direction::Minimize, Direction::Maximize}) {
    const auto kept = thin_indices(scores, d, 50, 10);
    EXPECT_EQ(kept.size(), 50u);
    EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
    EXPECT_NE(std::find(kept.begin(), kept.end(), 617u), kept.end());
    EXPECT_NE(std::find(kept.begin(), kept.end(), 42u), kept.end());
    // The ten best by the direction are all there.
    std::vector<size_t> order(scores.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return d == Direction::Minimize ? scores[a] < scores[b] : scores[a] > scores[b];
    });
    for (size_t r = 0; r < 10; ++r) EXPECT_NE(std::find(kept.begin(), kept.end(), order[r]), kept.end()) << r;
  }
}

TEST(Thinning, CurvesKeepTheBestTrialsCurve) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 400; ++i) {
    FrozenTrial t = trial(i, i % 3 ? TrialState::Pruned : TrialState::Complete, 1.0 + (i * 7919 % 400) / 100.0);
    t.intermediate = {{1, 5.0}, {2, *t.value}};
    trials.push_back(t);
  }
  trials[123].value = 0.01;  // the best
  const auto h = history_of(Direction::Minimize, trials);
  const auto curves = intermediate_curves(h);
  const auto kept = thin_curves(curves, h, 40);
  EXPECT_EQ(kept.size(), 40u);
  EXPECT_NE(std::find(kept.begin(), kept.end(), 123u), kept.end());
}

// ---- axes, parallel coordinates, slices ----

TEST(ParameterAxes, LogAndCategoricalPositions) {
  const auto axes = parameter_axes(history_of(
      Direction::Minimize, {trial(0, TrialState::Complete, 1.0, {{"lr", 1e-3}, {"opt", 2}}),
                            trial(1, TrialState::Complete, 2.0, {{"lr", 1e-2}, {"opt", 0}})}));
  ASSERT_EQ(axes.size(), 2u);
  const ParameterAxis& lr = axes[0];
  EXPECT_EQ(lr.name, "lr");
  EXPECT_TRUE(lr.log);
  EXPECT_NEAR(lr.position(1e-4), 0.0, 1e-12);
  EXPECT_NEAR(lr.position(1e-3), 1.0 / 3.0, 1e-12);  // one decade of three
  EXPECT_NEAR(lr.internal_at(2.0 / 3.0), 1e-2, 1e-12);
  const ParameterAxis& opt = axes[1];
  EXPECT_TRUE(opt.categorical);
  EXPECT_EQ(opt.labels, (std::vector<std::string>{"sgd", "adam", "rmsprop"}));
  EXPECT_DOUBLE_EQ(opt.position(1), 0.5);
  EXPECT_EQ(opt.text(2), "rmsprop");
}

TEST(ParallelCoordinates, OneLinePerCompleteTrialWithGapsForMissingParameters) {
  const auto pc = parallel_coordinates(history_of(
      Direction::Minimize, {trial(0, TrialState::Complete, 1.0, {{"lr", 1e-4}, {"opt", 1}}),
                            trial(1, TrialState::Complete, 3.0, {{"opt", 2}}), trial(2, TrialState::Pruned, 0.1, {{"opt", 0}})}));
  ASSERT_EQ(pc.axes.size(), 2u);
  ASSERT_EQ(pc.lines.size(), 2u);
  EXPECT_DOUBLE_EQ(pc.value_low, 1.0);
  EXPECT_DOUBLE_EQ(pc.value_high, 3.0);
  EXPECT_NEAR(*pc.lines[0].positions[0], 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(*pc.lines[0].positions[1], 0.5);
  EXPECT_FALSE(pc.lines[1].positions[0].has_value());
  EXPECT_DOUBLE_EQ(*pc.lines[1].positions[1], 1.0);
}

TEST(Slices, OneSlicePerParameterThinnedKeepingTheBest) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 300; ++i) trials.push_back(trial(i, TrialState::Complete, std::abs(i - 250.0), {{"x", i / 300.0}}));
  const auto s = slices(history_of(Direction::Minimize, trials), 30);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].total_points, 300u);
  EXPECT_EQ(s[0].points.size(), 30u);
  EXPECT_TRUE(std::any_of(s[0].points.begin(), s[0].points.end(), [](const SlicePoint& p) { return p.number == 250; }));
  EXPECT_TRUE(std::any_of(s[0].points.begin(), s[0].points.end(), [](const SlicePoint& p) { return p.number == 0; }));
}

// ---- contour ----

TEST(ContourGrid, InverseDistanceIsExactOnTrialsAndInsideTheRange) {
  // f(x, y) = 3x + y on a 3x3 lattice of trials that falls on the 5x5 grid.
  std::vector<FrozenTrial> trials;
  int n = 0;
  for (double x : {0.0, 0.5, 1.0})
    for (double y : {0.0, 0.5, 1.0}) trials.push_back(trial(n++, TrialState::Complete, 3 * x + y, {{"a", x}, {"b", y}}));
  const auto g = contour_grid(history_of(Direction::Minimize, trials), "a", "b", 5);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->x.name, "a");
  EXPECT_EQ(g->points.size(), 9u);
  EXPECT_NEAR(g->at(0, 0), 0.0, 1e-9);
  EXPECT_NEAR(g->at(2, 2), 2.0, 1e-9);  // x = 0.5, y = 0.5
  EXPECT_NEAR(g->at(4, 0), 3.0, 1e-9);  // x = 1, y = 0: z[j * res + i] has x along i
  EXPECT_NEAR(g->at(0, 4), 1.0, 1e-9);
  EXPECT_NEAR(g->at(4, 4), 4.0, 1e-9);
  // Between trials: a weighted mean, so inside the observed range.
  for (double z : g->z) {
    EXPECT_GE(z, -1e-9);
    EXPECT_LE(z, 4.0 + 1e-9);
  }
  // At (0.25, 0.25) by hand: distance^2 1/8 to the four nearest trials (weight 8, values 0, 0.5,
  // 1.5, 2), 5/8 to four more (weight 1.6, values 1, 3, 2.5, 3.5), 9/8 to (1, 1) (weight 8/9,
  // value 4): (32 + 16 + 32/9) / (32 + 6.4 + 8/9) = 1.3122171945...
  EXPECT_NEAR(g->at(1, 1), (32 + 16 + 32.0 / 9) / (32 + 6.4 + 8.0 / 9), 1e-9);
  EXPECT_NEAR(g->z_low, 0.0, 1e-9);
}

TEST(ContourGrid, NeedsTwoTrialsWithBothParameters) {
  const auto h = history_of(Direction::Minimize, {trial(0, TrialState::Complete, 1.0, {{"a", 0.1}, {"b", 0.2}}),
                                                  trial(1, TrialState::Complete, 2.0, {{"a", 0.3}})});
  EXPECT_FALSE(contour_grid(h, "a", "b", 10));
  EXPECT_FALSE(contour_grid(h, "a", "missing", 10));
}

// ---- confusion matrix and training series ----

TEST(ConfusionMatrix, CountsArgMaxPredictionsPerTrueClass) {
  const Tensor outputs({4, 3}, {0.7f, 0.2f, 0.1f,  //
                                0.1f, 0.8f, 0.1f,  //
                                0.2f, 0.5f, 0.3f,  //
                                0.1f, 0.1f, 0.8f});
  const Tensor labels({4, 1}, {0, 1, 2, 2});
  const ConfusionMatrix m = confusion_matrix(outputs, labels);
  EXPECT_EQ(m.classes, 3);
  EXPECT_EQ(m.at(0, 0), 1);
  EXPECT_EQ(m.at(1, 1), 1);
  EXPECT_EQ(m.at(2, 1), 1);  // true 2 predicted 1
  EXPECT_EQ(m.at(2, 2), 1);
  EXPECT_EQ(m.total(), 4);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.75);
}

TEST(ConfusionMatrix, SigmoidOutputsAndBadLabels) {
  const ConfusionMatrix m = confusion_matrix(Tensor({3, 1}, {0.9f, 0.2f, 0.6f}), Tensor({3, 1}, {1, 1, 0}));
  EXPECT_EQ(m.classes, 2);
  EXPECT_EQ(m.at(1, 1), 1);
  EXPECT_EQ(m.at(1, 0), 1);
  EXPECT_EQ(m.at(0, 1), 1);
  EXPECT_ERROR_CONTAINS(confusion_matrix(Tensor({1, 3}, {1, 0, 0}), Tensor({1, 1}, {5})), "sample 0", "class 5",
                        "outside 0..2");
  EXPECT_ERROR_CONTAINS(confusion_matrix(Tensor({2, 3}), Tensor({1, 1})), "2 predictions but 1 labels");
}

TEST(TrainingSeries, PanelsPairTrainingAndValidationLossFirst) {
  History h;
  for (int e = 1; e <= 3; ++e) {
    EpochLog log;
    log.epoch = e;
    log.lr = 0.1 / e;
    log.metrics = {{"loss", 1.0 / e}, {"accuracy", 0.5 + 0.1 * e}, {"val_loss", 1.2 / e}, {"val_accuracy", 0.4 + 0.1 * e}};
    h.epochs.push_back(log);
  }
  const auto panels = metric_panels(h);
  ASSERT_EQ(panels.size(), 2u);
  EXPECT_EQ(panels[0].metric, "loss");
  ASSERT_EQ(panels[0].series.size(), 2u);
  EXPECT_EQ(panels[0].series[0].name, "loss");
  EXPECT_EQ(panels[0].series[1].name, "val_loss");
  EXPECT_DOUBLE_EQ(panels[0].series[1].values[2], 0.4);
  EXPECT_EQ(panels[1].metric, "accuracy");
  const auto lr = learning_rate_series(h);
  EXPECT_EQ(lr.epochs, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(lr.values[1], 0.05);
}

// ---- pages ----

int count(const std::string& s, const std::string& part) {
  int n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

tune::StudySummary summary(const std::string& name, Direction d = Direction::Minimize) {
  tune::StudySummary s;
  s.name = name;
  s.direction = d;
  s.system_attrs = {{"sampler", {{"name", "tpe"}, {"seed", 1}}}, {"pruner", {{"name", "median"}}},
                    {"objective", {{"metric", "val_loss"}}}};
  return s;
}

TEST(StudyReport, EmptyStudySaysSoInsteadOfDrawing) {
  const std::string page = study_report_html(summary("empty"), history_of(Direction::Minimize, {}));
  EXPECT_NE(page.find("This study has no trials yet"), std::string::npos);
  EXPECT_EQ(count(page, "<svg class=\"plot"), 0);
  EXPECT_NE(page.find("tpe (seed 1)"), std::string::npos);
}

TEST(StudyReport, OnlyFailedTrialsGiveTheReasonAndNoPlots) {
  FrozenTrial t = trial(0, TrialState::Failed, std::nullopt, {{"a", 0.5}});
  t.error = "the objective metric 'val_acc' is not reported\nmore";
  const std::string page = study_report_html(summary("failing"), history_of(Direction::Minimize, {t, t}));
  EXPECT_NE(page.find("No trial of this study completed (2 failed"), std::string::npos);
  EXPECT_NE(page.find("The first failure (trial 0): the objective metric &#39;val_acc&#39; is not reported"),
            std::string::npos);
  EXPECT_EQ(count(page, "<svg class=\"plot"), 0);
  EXPECT_NE(page.find("id=\"trials-table\""), std::string::npos);  // the table still lists them
}

TEST(StudyReport, SingleParameterStudyExplainsTheMissingContour) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 6; ++i) trials.push_back(trial(i, TrialState::Complete, (i - 2.0) * (i - 2.0), {{"a", i / 6.0}}));
  const std::string page = study_report_html(summary("one"), history_of(Direction::Minimize, trials));
  EXPECT_NE(page.find("The study has a single parameter (a): a contour needs two"), std::string::npos);
  EXPECT_NE(page.find("data-plot=\"slice a\""), std::string::npos);
  EXPECT_NE(page.find("data-plot=\"history by trial\""), std::string::npos);
}

TEST(StudyReport, FullStudyHasEverySectionAndEveryTrialInTheTable) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 30; ++i) {
    const double a = (i * 37 % 30) / 30.0, b = (i * 11 % 30) / 30.0;
    FrozenTrial t = trial(i, i % 5 == 4 ? TrialState::Pruned : TrialState::Complete, (a - 0.3) * (a - 0.3) + 0.1 * b,
                          {{"a", a}, {"b", b}, {"opt", i % 3}});
    t.intermediate = {{1, 1.0}, {2, *t.value + 0.1}};
    if (t.state == TrialState::Pruned) t.value.reset();
    trials.push_back(t);
  }
  tune::StudySummary s = summary("full <study>");
  const std::string page = study_report_html(s, history_of(Direction::Minimize, trials));
  for (const std::string plot : {"history by trial", "history by time", "intermediate values", "parallel coordinates",
                                 "slice a", "slice b", "slice opt", "contour", "trials table"})
    EXPECT_NE(page.find("data-plot=\"" + plot + "\""), std::string::npos) << plot;
  EXPECT_NE(page.find("fANOVA over a random forest"), std::string::npos);
  EXPECT_NE(page.find("Study full &lt;study&gt;"), std::string::npos);  // escaped
  EXPECT_NE(page.find("inverse-distance weighting"), std::string::npos);
  // No external resource: the page works offline.
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
  // Every trial is in the embedded table data.
  const json table = trials_table(history_of(Direction::Minimize, trials));
  EXPECT_EQ(table["rows"].size(), 30u);
  EXPECT_EQ(table["columns"][5], "a");
  EXPECT_EQ(table["rows"][2][7], "rmsprop");  // external value of the categorical
}

TEST(StudyReport, TenThousandTrialsStayUnderTheSizeLimit) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 10000; ++i) {
    const double a = (i * 7919 % 10000) / 10000.0;
    FrozenTrial t = trial(i, TrialState::Complete, std::sin(7 * a) + (i % 17) * 0.01,
                          {{"a", a}, {"b", (i * 31 % 100) / 100.0}, {"lr", 1e-4 * std::pow(1000.0, a)}, {"opt", i % 3}});
    for (int e = 1; e <= 10; ++e) t.intermediate[e] = *t.value + 1.0 / e;
    trials.push_back(t);
  }
  StudyReportOptions options;
  const std::string page = study_report_html(summary("big"), history_of(Direction::Minimize, trials), options);
  EXPECT_LT(page.size(), 20u * 1000 * 1000);
  EXPECT_LE(count(page, "<polyline class=\"curve"), static_cast<int>(options.max_curves));
  EXPECT_LE(count(page, "class=\"pc m"), static_cast<int>(options.max_parallel_lines));
}

TEST(Html, EmbeddedJsonCannotCloseTheScriptAndTextIsEscaped) {
  EXPECT_EQ(html::script_safe_json("{\"e\":\"</script>\"}"), "{\"e\":\"<\\/script>\"}");
  EXPECT_EQ(json::parse(html::script_safe_json("{\"e\":\"</script>\"}"))["e"], "</script>");
  EXPECT_EQ(html::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

// True when `text` is well-formed UTF-8.
bool valid_utf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return false;
    i += length;
  }
  return true;
}

TEST(Html, EmbeddedJsonEscapesEveryMarkupCharacter) {
  // "<!--<script>" puts the HTML parser in a state where "</script>" no longer ends the element.
  const std::string safe = html::script_safe_json(json({{"p<!--<script>", "a&b>c"}}).dump());
  EXPECT_EQ(safe.find_first_of("<&"), std::string::npos) << safe;
  EXPECT_EQ(json::parse(safe), json({{"p<!--<script>", "a&b>c"}}));
}

TEST(Html, LongLabelsAreCutOnCharacterBoundaries) {
  EXPECT_EQ(html::shorten("short", 14), "short");
  EXPECT_EQ(html::shorten("abcdefghijklmn", 14), "abcdefghijklmn");
  EXPECT_EQ(html::shorten("abcdefghijklmno", 14), "abcdefghijklm\u2026");
  // 12 ASCII bytes then two-byte characters: a byte cut at 13 would split one.
  const std::string accented = "abcdefghijkl\u00e9\u00e9";  // 14 characters in 16 bytes
  EXPECT_EQ(html::shorten(accented, 14), accented);
  const std::string longer = accented + "\u00e9\u00e9";
  EXPECT_TRUE(valid_utf8(html::shorten(longer, 14)));
  EXPECT_EQ(html::shorten(longer, 14), "abcdefghijkl\u00e9\u2026");
  // The whole report stays valid UTF-8 with such a categorical value and a hostile name.
  FrozenTrial t = trial(0, TrialState::Complete, 1.0, {{"x", 0.5}});
  const std::string choice = "abcdefghijkl\u00e9\u00e9\u00e9\u00e9";
  t.params["p<!--<script>"] = 0;
  t.distributions["p<!--<script>"] = Distribution::categorical({choice, "b"});
  FrozenTrial u = trial(1, TrialState::Complete, 2.0, {{"x", 0.7}});
  u.params["p<!--<script>"] = 1;
  u.distributions["p<!--<script>"] = Distribution::categorical({choice, "b"});
  const std::string page = study_report_html(summary("utf8"), history_of(Direction::Minimize, {t, u}));
  EXPECT_TRUE(valid_utf8(page));
  const size_t data_start = page.find("id=\"report-data\">");
  ASSERT_NE(data_start, std::string::npos);
  const size_t data_end = page.find("</script>", data_start);
  EXPECT_EQ(page.substr(data_start + 18, data_end - data_start - 18).find('<'), std::string::npos);
}

TEST(Html, TicksAreRoundAndInsideTheRange) {
  const html::Scale linear{0.13, 0.87, false, 0, 100};
  const auto t = linear.ticks(4);
  EXPECT_EQ(t, (std::vector<double>{0.2, 0.4, 0.6, 0.8}));
  const html::Scale log{1e-4, 1e-1, true, 0, 100};
  EXPECT_EQ(log.ticks(6).size(), 4u);
  EXPECT_NEAR(log(1e-4), 0, 1e-9);
  EXPECT_NEAR(log(1e-1), 100, 1e-9);
}

TEST(Html, LogAxesAreLabelledAtEveryDecade) {
  // Six decades for about five ticks: every decade still (none skipped).
  const html::Scale wide{1e-7, 1e-2, true, 0, 100};
  EXPECT_EQ(wide.ticks(5), (std::vector<double>{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2}));
  // Thirty decades: every third, so that labels do not touch; still from a decade to a decade.
  const html::Scale huge{1e-30, 1.0, true, 0, 100};
  const auto h = huge.ticks(5);
  EXPECT_LE(h.size(), 12u);
  EXPECT_GE(h.size(), 10u);
  for (double v : h) EXPECT_NEAR(std::log10(v), std::round(std::log10(v)), 1e-9) << v;
  // Under two decades: 1, 2 and 5 of each (round, and evenly spread on the log axis).
  const html::Scale narrow{0.002, 0.05, true, 0, 100};
  const auto n = narrow.ticks(5);
  const std::vector<double> expected = {0.002, 0.005, 0.01, 0.02, 0.05};
  ASSERT_EQ(n.size(), expected.size());
  for (size_t i = 0; i < n.size(); ++i) EXPECT_NEAR(n[i], expected[i], 1e-15);
}

TEST(Html, TimeTicksAreRoundDurations) {
  EXPECT_EQ(html::time_ticks(0, 170, 6), (std::vector<double>{0, 30, 60, 90, 120, 150}));
  EXPECT_EQ(html::time_ticks(0, 600, 5), (std::vector<double>{0, 120, 240, 360, 480, 600}));
  EXPECT_EQ(html::time_ticks(-5, 7300, 6), (std::vector<double>{0, 1800, 3600, 5400, 7200}));
  EXPECT_EQ(html::time_ticks(100, 1000, 5), (std::vector<double>{300, 600, 900}));  // 5 min, from a multiple of it
  // Every tick a whole number of a round step, and inside the range, for many ranges.
  for (double hi : {7.0, 55.0, 333.0, 4000.0, 50000.0, 400000.0, 5e6}) {
    const auto t = html::time_ticks(0, hi, 6);
    ASSERT_GE(t.size(), 2u) << hi;
    EXPECT_LE(t.size(), 7u) << hi;
    EXPECT_GE(t.front(), 0);
    EXPECT_LE(t.back(), hi);
    const double step = t[1] - t[0];
    for (size_t i = 1; i < t.size(); ++i) EXPECT_DOUBLE_EQ(t[i] - t[i - 1], step) << hi;
  }
  EXPECT_EQ(html::duration_label(0), "0");
  EXPECT_EQ(html::duration_label(45), "45s");
  EXPECT_EQ(html::duration_label(90), "1m30s");
  EXPECT_EQ(html::duration_label(120), "2m");
  EXPECT_EQ(html::duration_label(3600), "1h");
  EXPECT_EQ(html::duration_label(5400), "1h30m");
  EXPECT_EQ(html::duration_label(3 * 3600 + 5), "3h");  // the two largest parts only
  EXPECT_EQ(html::duration_label(172800), "2d");
  EXPECT_EQ(html::duration_label(93784), "1d2h");
}

TEST(Html, QuantilesInterpolateBetweenOrderStatistics) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(html::quantile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(html::quantile(v, 0.25), 1.75);  // numpy.quantile([1, 2, 3, 4], 0.25)
  EXPECT_DOUBLE_EQ(html::quantile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(html::quantile(v, 1.0), 4);
  EXPECT_TRUE(std::isnan(html::quantile({}, 0.5)));
}

TEST(Html, RobustRangeLeavesOutliersOut) {
  // 19 ordinary values and a diverged one: the range is that of the 19.
  std::vector<double> v;
  for (int i = 0; i < 19; ++i) v.push_back(0.80 + 0.005 * i);
  v.push_back(1e30);
  html::RobustRange r = html::robust_range(v);
  EXPECT_DOUBLE_EQ(r.lo, 0.80);
  EXPECT_DOUBLE_EQ(r.hi, 0.80 + 0.005 * 18);
  EXPECT_EQ(r.above, 1u);
  EXPECT_EQ(r.below, 0u);
  // Ten values, one far below (a trial that learned nothing) and NaN (ignored).
  v = {0.1, 0.86, 0.87, 0.85, 0.88, 0.86, 0.84, 0.87, 0.86, 0.85, std::nan("")};
  r = html::robust_range(v);
  EXPECT_DOUBLE_EQ(r.lo, 0.84);
  EXPECT_DOUBLE_EQ(r.hi, 0.88);
  EXPECT_EQ(r.below, 1u);
  // A spread without outliers, too few values, and a constant core keep the whole range.
  for (const std::vector<double>& whole : std::vector<std::vector<double>>{
           {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 2, 1e9}, {5, 5, 5, 5, 5, 5, 1e9}}) {
    r = html::robust_range(whole);
    EXPECT_EQ(r.lo, *std::min_element(whole.begin(), whole.end()));
    EXPECT_EQ(r.hi, *std::max_element(whole.begin(), whole.end()));
    EXPECT_FALSE(r.clipped());
  }
  // Values just beyond the core by less than its width stay in.
  v = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16.5};  // the core (2nd lowest to 2nd highest) is 1..9: 16.5 is within 9 + 8
  r = html::robust_range(v);
  EXPECT_DOUBLE_EQ(r.hi, 16.5);
  v.back() = 17.5;  // 17.5 is not
  EXPECT_DOUBLE_EQ(html::robust_range(v).hi, 9);
}

TEST(StudyReport, OneDivergedTrialDoesNotSqueezeTheScales) {
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 30; ++i) {
    const double a = (i * 37 % 30) / 30.0, b = (i * 11 % 30) / 30.0;
    const double value = i == 7 ? 1e30 : (a - 0.3) * (a - 0.3) + 0.1 * b;
    FrozenTrial t = trial(i, TrialState::Complete, value, {{"a", a}, {"b", b}});
    t.intermediate = {{1, value + 1.0}, {2, value}};
    trials.push_back(t);
  }
  const std::string page = study_report_html(summary("diverged"), history_of(Direction::Minimize, trials));
  // No axis reaches up to the diverged value; it is drawn, on the edge, in every plot of values.
  EXPECT_EQ(page.find(">1e+30<"), std::string::npos);
  EXPECT_EQ(page.find("e+29<"), std::string::npos);
  EXPECT_GE(count(page, "class=\"m outlier\" "), 2 + 1 + 1 + 2);  // history x2, curve, parallel, slices x2
  EXPECT_NE(page.find("1 trial lies far outside the others (1 above)"), std::string::npos);
  // The contour keeps its colours: many distinct cell colours, not one.
  const size_t contour = page.find("data-plot=\"contour\"");
  ASSERT_NE(contour, std::string::npos);
  std::set<std::string> colours;
  const std::regex fill("<rect x=\"[^\"]*\" y=\"[^\"]*\" width=\"[^\"]*\" height=\"[^\"]*\" fill=\"(#[0-9a-f]{6})\"");
  const std::string contour_svg = page.substr(contour, page.find("</svg>", contour) - contour);
  for (auto it = std::sregex_iterator(contour_svg.begin(), contour_svg.end(), fill); it != std::sregex_iterator(); ++it)
    colours.insert((*it)[1]);
  EXPECT_GT(colours.size(), 20u);
}

TEST(StudyReport, SummaryListsOnlyThePrunersAndSamplersOwnSettings) {
  const json stored_pruner = {{"name", "median"}, {"n_startup_trials", 5}, {"n_warmup_steps", 2}, {"interval_steps", 1},
                              {"percentile", 25.0}, {"reduction_factor", 3}, {"min_resource", 1}, {"bootstrap_count", 0}};
  const std::string median = describe_pruner(stored_pruner);
  EXPECT_EQ(median, "median (interval_steps 1, n_startup_trials 5, n_warmup_steps 2)") << median;
  json percentile = stored_pruner;
  percentile["name"] = "percentile";
  EXPECT_NE(describe_pruner(percentile).find("percentile 25"), std::string::npos);
  json hyperband = stored_pruner;
  hyperband["name"] = "hyperband";
  const std::string hb = describe_pruner(hyperband);
  EXPECT_NE(hb.find("reduction_factor 3"), std::string::npos) << hb;
  EXPECT_EQ(hb.find("n_warmup_steps"), std::string::npos) << hb;
  const json stored_sampler = {{"name", "random"}, {"seed", 4}, {"n_startup_trials", 10}, {"gp_startup_trials", 10}};
  EXPECT_EQ(describe_sampler(stored_sampler), "random (seed 4)");
  // A name this nntune does not know: everything stored is shown.
  json unknown = stored_pruner;
  unknown["name"] = "future";
  EXPECT_NE(describe_pruner(unknown).find("bootstrap_count 0"), std::string::npos);
}

TEST(ParameterTicks, CategoricalLabelsAreThinnedAndCut) {
  std::vector<std::string> choices;
  for (int i = 0; i < 30; ++i) choices.push_back("a_rather_long_choice_" + std::to_string(i));
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 30; ++i) {
    FrozenTrial t = trial(i, TrialState::Complete, i * 0.1);
    t.params["c"] = i;
    t.distributions["c"] = Distribution::categorical(std::vector<json>(choices.begin(), choices.end()));
    trials.push_back(t);
  }
  const auto axes = parameter_axes(history_of(Direction::Minimize, trials));
  ASSERT_EQ(axes.size(), 1u);
  const auto ticks = parameter_ticks(axes[0], 10, 8);
  ASSERT_EQ(ticks.size(), 30u);  // a tick per choice
  size_t named = 0;
  for (size_t i = 0; i < ticks.size(); ++i) {
    if (ticks[i].label.empty()) continue;
    ++named;
    EXPECT_LE(ticks[i].label.size(), 8u + 2) << ticks[i].label;  // 7 characters and an ellipsis (3 bytes)
    EXPECT_EQ(ticks[i].label.rfind("a_rathe", 0), 0u) << ticks[i].label;
  }
  EXPECT_LE(named, 11u);
  EXPECT_GE(named, 8u);
  EXPECT_FALSE(ticks.front().label.empty());
  EXPECT_FALSE(ticks.back().label.empty());
  // Few choices: every one named, in full.
  const auto few = parameter_ticks(axes[0], 40, 40);
  for (size_t i = 0; i < few.size(); ++i) EXPECT_EQ(few[i].label, choices[i]);
}

TEST(TrainingReport, DrawsCurvesLearningRateAndTheConfusionMatrix) {
  TrainingReport r;
  r.title = "spec.yaml";
  for (int e = 1; e <= 3; ++e) {
    EpochLog log;
    log.epoch = e;
    log.lr = 0.01;
    log.metrics = {{"loss", 1.0 / e}, {"val_loss", 1.1 / e}, {"val_accuracy", 0.5}};
    r.history.epochs.push_back(log);
  }
  r.confusion = confusion_matrix(Tensor({2, 2}, {0.9f, 0.1f, 0.3f, 0.7f}), Tensor({2, 1}, {0, 0}));
  r.confusion_source = "validation data (2 samples)";
  const std::string page = training_report_html(r);
  EXPECT_NE(page.find("data-plot=\"loss\""), std::string::npos);
  EXPECT_NE(page.find("data-plot=\"accuracy\""), std::string::npos);  // val_accuracy alone gets a panel
  EXPECT_NE(page.find("data-plot=\"learning rate\""), std::string::npos);
  EXPECT_NE(page.find("data-plot=\"confusion matrix\""), std::string::npos);
  EXPECT_NE(page.find("true 0, predicted 1: 1 (50% of 0)"), std::string::npos);
  EXPECT_NE(page.find("Accuracy 0.5"), std::string::npos);

  TrainingReport regression;
  regression.title = "boston.yaml";
  regression.confusion_source = "No confusion matrix: this is a regression task.";
  const std::string other = training_report_html(regression);
  EXPECT_NE(other.find("No epoch finished"), std::string::npos);
  EXPECT_NE(other.find("this is a regression task"), std::string::npos);
}

// ---- the command line ----

TEST(ReportCli, TrainWritesItsReportAndReportNamesMissingStudies) {
  testing::TempDir dir;
  testing::write_file(dir.file("data.csv"), testing::two_class_csv(40));
  testing::write_file(dir.file("spec.yaml"),
                      "seed: 1\n"
                      "data: {train: {csv: {path: data.csv, label: label}}, validation: {split: 0.25}}\n"
                      "model: {hidden: [4]}\n"
                      "train: {optimizer: {name: adam, lr: 0.05}, batch_size: 8, epochs: 3}\n");
  testing::CliRun run = testing::run_nntune(dir, "train spec.yaml -o out --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("report: out/report.html"), std::string::npos) << run.out;
  const std::string page = testing::read_file(dir.file("out/report.html"));
  EXPECT_NE(page.find("data-plot=\"confusion matrix\""), std::string::npos);
  EXPECT_NE(page.find("On the validation data (10 samples, the saved model)"), std::string::npos);

  run = testing::run_nntune(dir, "train spec.yaml -o quiet --quiet --no-report");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("quiet/report.html")));

  // An empty storage (reading commands never create one: a missing file is its own error).
  ASSERT_EQ(testing::run_nntune(dir, "storage upgrade --storage sqlite:///none.db").exit_code, 0);
  run = testing::run_nntune(dir, "report --storage sqlite:///none.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no study in sqlite:///none.db (run nntune tune first"), std::string::npos) << run.err;
  run = testing::run_nntune(dir, "report --storage sqlite:///none.db --study wine");
  EXPECT_NE(run.err.find("no study named 'wine'"), std::string::npos) << run.err;
}

// The model section: every layer with its settings (initialisers left out), the shape of one
// output sample (from the layers' own shape inference) and its parameters; augmentation named.
TEST(TrainingReport, ModelSectionListsEveryLayer) {
  Network net;
  net.add(make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel", 3}, {"padding", "same"}, {"activation", "relu"}}));
  net.add(make_layer({{"type", "max_pool2d"}, {"kernel", 2}}));
  net.add(make_layer({{"type", "reshape"}, {"shape", {4, 16}}}));
  net.add(make_layer({{"type", "lstm"}, {"units", 5}, {"layers", 2}}));
  net.add(make_layer({{"type", "dense"}, {"units", 3}}));
  Rng rng(1);
  net.build({8, 8, 1}, rng);
  const std::vector<LayerRow> rows = layer_rows(net);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].kind, "conv2d");
  EXPECT_EQ(rows[0].output_shape, (Shape{8, 8, 4}));
  EXPECT_EQ(rows[0].params, 3 * 3 * 4 + 4);
  EXPECT_NE(rows[0].settings.find("padding same"), std::string::npos) << rows[0].settings;
  EXPECT_EQ(rows[0].settings.find("init"), std::string::npos) << rows[0].settings;
  EXPECT_EQ(rows[1].output_shape, (Shape{4, 4, 4}));
  EXPECT_EQ(rows[2].output_shape, (Shape{4, 16}));
  EXPECT_EQ(rows[3].output_shape, (Shape{5}));
  EXPECT_EQ(rows[3].params, 4 * 5 * (16 + 5 + 1) + 4 * 5 * (5 + 5 + 1));
  EXPECT_NE(rows[3].settings.find("layers 2"), std::string::npos) << rows[3].settings;
  int64_t total = 0;
  for (const LayerRow& r : rows) total += r.params;
  EXPECT_EQ(total, net.num_params());

  Augmentation augment;
  EXPECT_EQ(augmentation_text(augment), "");
  augment.crop_padding = 2;
  augment.erasing = 0.25;
  EXPECT_EQ(augmentation_text(augment), "random crop with 2 px padding, random erasing p=0.25");

  TrainingReport r;
  r.title = "cnn.yaml";
  r.input_shape = {8, 8, 1};
  r.layers = rows;
  r.augmentation = augmentation_text(augment);
  const std::string page = training_report_html(r);
  EXPECT_NE(page.find("<section id=\"model\""), std::string::npos);
  EXPECT_NE(page.find("Input samples of shape (8, 8, 1); training images augmented: random crop"), std::string::npos);
  EXPECT_NE(page.find("<td>max_pool2d</td>"), std::string::npos);
  r.layers.clear();
  EXPECT_EQ(training_report_html(r).find("<section id=\"model\""), std::string::npos);
}

}  // namespace
}  // namespace nntune::report
