// Time series: reading, gaps, windows, time-ordered splits, the forecasting transform, the
// model file, predict's timestamps and the inputs refused before training.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "nntune/data.hpp"
#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/model.hpp"
#include "nntune/onnx.hpp"
#include "nntune/series.hpp"
#include "nntune/spec.hpp"
#include "nntune/trainer.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::run_nntune;
using testing::TempDir;
using testing::write_file;

Series series_from(const TempDir& dir, const std::string& text, SeriesOptions o = {}) {
  o.path = dir.file("s.csv");
  write_file(o.path, text);
  return load_series(o);
}

// t,a,b with a = 10 * row, b = row (rows 0..n-1), times 1..n.
std::string two_columns(int n) {
  std::string text = "t,a,b\n";
  for (int r = 0; r < n; ++r) text += std::to_string(r + 1) + "," + std::to_string(10 * r) + "," + std::to_string(r) + "\n";
  return text;
}

// ------------------------------------------------------------------------------ reading

TEST(Series, ReadsTimeAndValueColumnsInHeaderOrderOfValues) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.values = {"b", "a"};
  o.targets = {"a"};
  const Series s = series_from(dir, two_columns(5), o);
  ASSERT_EQ(s.rows(), 5);
  EXPECT_EQ(s.columns, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(s.target_columns, (std::vector<int64_t>{1}));
  EXPECT_EQ(s.time.front(), "1");
  EXPECT_EQ(s.values[3 * 2 + 0], 3.0f);
  EXPECT_EQ(s.values[3 * 2 + 1], 30.0f);
}

TEST(Series, ByteOrderMarkIsNotPartOfTheFirstColumnName) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  const Series s = series_from(dir, "\xEF\xBB\xBFt,v\n1,5\n2,6\n", o);
  EXPECT_EQ(s.time_column, "t");
  EXPECT_EQ(s.values[1], 6.0f);
}

TEST(Series, InterpolatesGapsLinearlyAndHoldsTheEnds) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.missing = "interpolate";
  const Series s = series_from(dir, "t,v\n1,\n2,1\n3,\n4,\n5,4\n6,NA\n", o);
  const std::vector<float> expected = {1, 1, 2, 3, 4, 4};
  ASSERT_EQ(s.rows(), 6);
  for (int r = 0; r < 6; ++r) EXPECT_FLOAT_EQ(s.values[r], expected[static_cast<size_t>(r)]) << "row " << r;
  EXPECT_EQ(s.filled, 4);
}

TEST(Series, ReadsEveryCellATableReadsAsMissing) {
  // One rule for tables and series (is_missing_cell), blanks around a cell trimmed.
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.missing = "interpolate";
  std::string text = "t,v\n0,0\n";
  int64_t t = 1;
  for (const std::string& cell : missing_cell_texts()) text += std::to_string(t++) + ", " + cell + " \n";
  text += std::to_string(t) + "," + std::to_string(t) + "\n";
  const Series s = series_from(dir, text, o);
  ASSERT_EQ(s.rows(), t + 1);
  EXPECT_EQ(s.filled, static_cast<int64_t>(missing_cell_texts().size()));
  for (int64_t r = 0; r <= t; ++r) EXPECT_FLOAT_EQ(s.values[r], static_cast<float>(r)) << "row " << r;
  o.missing = "refuse";
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v\n1,1\n2, None\n", o), "line 3, column 2", "missing: interpolate");
}

TEST(Series, MissingValuesAreRefusedByDefaultWithLineAndColumn) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v\n1,1\n2,\n3,3\n", o), "line 3, column 2", "'v'", "missing: interpolate");
}

TEST(Series, NonNumericValueColumnIsRefusedNamingTheCell) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v,w\n1,1,a\n2,2,b\n", o), "line 2, column 3", "'a'", "'w'", "not a number");
}

TEST(Series, TimeThatDoesNotIncreaseIsRefused) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v\n2020-01-01,1\n2020-01-08,2\n2020-01-08,3\n", o), "line 4, column 1",
                        "'2020-01-08' is not after '2020-01-08'", "increase strictly");
  // Numbers compare as numbers: 10 follows 9 although "10" < "9" as text, 8 does not.
  EXPECT_NO_THROW(series_from(dir, "t,v\n9,1\n10,2\n", o));
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v\n9,1\n10,2\n8,3\n", o), "time '8' is not after '10'");
}

TEST(Series, UnknownColumnsAreNamedWithTheColumnsThatExist) {
  TempDir dir;
  SeriesOptions o;
  o.time = "date";
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v\n1,1\n2,2\n", o), "time column 'date'", "the columns are: t, v");
  o.time = "t";
  o.values = {"v"};
  o.targets = {"w"};
  EXPECT_ERROR_CONTAINS(series_from(dir, "t,v,w\n1,1,1\n2,2,2\n", o), "target column 'w'", "values");
}

TEST(Series, TimesPastTheEndFollowTheLastStep) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  Series s = series_from(dir, "t,v\n2001-12-22,1\n2001-12-29,2\n", o);
  EXPECT_EQ(s.time_at(1), "2001-12-29");
  EXPECT_EQ(s.time_at(2), "2002-01-05");
  EXPECT_EQ(s.time_at(3), "2002-01-12");
  s = series_from(dir, "t,v\n20011222,1\n20011229,2\n", o);  // statsmodels' CO2 dates
  EXPECT_EQ(s.time_at(2), "20020105");
  s = series_from(dir, "t,v\n1.5,1\n2.0,2\n", o);
  EXPECT_EQ(s.time_at(3), "3");
  s = series_from(dir, "t,v\nmon,1\ntue,2\n", o);
  EXPECT_EQ(s.time_at(3), "tue+2");
}

// ------------------------------------------------------------------------------ windows

TEST(SeriesWindows, WindowHorizonStrideAndColumnsMatchAHandBuiltExample) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.targets = {"a"};
  const Series s = series_from(dir, two_columns(10), o);  // a = 10r, b = r
  std::vector<int64_t> first;
  const Dataset d = make_windows(s, 3, 2, 2, 0, 10, &first);
  // Targets start at rows 3, 5, 7 (7 + 2 <= 10; 9 + 2 > 10).
  EXPECT_EQ(first, (std::vector<int64_t>{3, 5, 7}));
  ASSERT_EQ(d.x.shape(), (Shape{3, 3, 2}));
  ASSERT_EQ(d.y.shape(), (Shape{3, 2}));
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t t = first[static_cast<size_t>(i)];
    for (int64_t step = 0; step < 3; ++step) {
      const int64_t row = t - 3 + step;
      EXPECT_EQ(d.x[(i * 3 + step) * 2 + 0], 10.0f * row);
      EXPECT_EQ(d.x[(i * 3 + step) * 2 + 1], 1.0f * row);
    }
    EXPECT_EQ(d.y[i * 2 + 0], 10.0f * t);
    EXPECT_EQ(d.y[i * 2 + 1], 10.0f * (t + 1));
  }
}

TEST(SeriesWindows, MultiColumnTargetsAreStepMajor) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  const Series s = series_from(dir, two_columns(6), o);
  const Dataset d = make_windows(s, 2, 2, 1, 0, 6);
  ASSERT_EQ(d.y.shape(), (Shape{3, 4}));
  // Window 0: targets at rows 2, 3: (a2, b2, a3, b3).
  EXPECT_EQ(d.y[0], 20.0f);
  EXPECT_EQ(d.y[1], 2.0f);
  EXPECT_EQ(d.y[2], 30.0f);
  EXPECT_EQ(d.y[3], 3.0f);
}

TEST(SeriesWindows, ForecastWindowsEndAtTheLastRowAndReachPastIt) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.targets = {"a"};
  const Series s = series_from(dir, two_columns(6), o);
  std::vector<int64_t> first;
  const Dataset d = forecast_windows(s, 3, 2, 1, &first);
  EXPECT_EQ(first, (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(d.y[2 * 2 + 0], 50.0f);  // window 2: target rows 5 (known) and 6 (past the end)
  EXPECT_TRUE(std::isnan(d.y[2 * 2 + 1]));
  EXPECT_TRUE(std::isnan(d.y[3 * 2 + 0]));
}

// The windows as make_windows copied them before they became views: rows [t - window, t) of
// every column for each window end t, one after the other.
std::vector<float> copied_windows(const Series& s, int64_t window, const std::vector<int64_t>& ends,
                                  const std::vector<int64_t>& order) {
  const int64_t columns = s.values.features();
  std::vector<float> out;
  for (int64_t i : order) {
    const int64_t t = ends[static_cast<size_t>(i)];
    for (int64_t r = t - window; r < t; ++r)
      for (int64_t c = 0; c < columns; ++c) out.push_back(s.values[r * columns + c]);
  }
  return out;
}

std::vector<float> values_of(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.size()); }

// A three-column series with values that are not simple functions of the row.
std::shared_ptr<const Series> wiggly_series(int64_t rows) {
  auto s = std::make_shared<Series>();
  s->columns = {"a", "b", "c"};
  s->target_columns = {2, 0};
  s->values = Tensor({rows, 3});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < 3; ++c) s->values[r * 3 + c] = std::sin(0.37f * static_cast<float>(r) + static_cast<float>(c)) * (c + 1.5f);
  return s;
}

TEST(SeriesWindows, ViewsGatherExactlyTheWindowsThatWereCopied) {
  const std::shared_ptr<const Series> s = wiggly_series(97);
  for (const auto& [window, horizon, stride] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1, 1, 1}, {3, 2, 2}, {7, 1, 3}, {12, 4, 1}, {30, 6, 5}, {90, 3, 1}}) {
    SCOPED_TRACE("window " + std::to_string(window) + ", horizon " + std::to_string(horizon) + ", stride " +
                 std::to_string(stride));
    std::vector<int64_t> ends, copy_ends;
    const Dataset view = make_windows(s, window, horizon, stride, 5, 95, &ends);
    const Dataset copy = make_windows(*s, window, horizon, stride, 5, 95, &copy_ends);
    ASSERT_EQ(ends, copy_ends);
    // No (n, window, columns) copy: x is empty and the samples point into the series itself.
    ASSERT_TRUE(view.windowed());
    EXPECT_EQ(view.x.size(), 0);
    EXPECT_EQ(view.windows->values.get(), &s->values);
    EXPECT_FALSE(copy.windowed());
    ASSERT_EQ(view.size(), static_cast<int64_t>(ends.size()));
    ASSERT_GT(view.size(), 0);
    EXPECT_EQ(view.sample_shape(), (Shape{window, 3}));
    EXPECT_EQ(values_of(view.y), values_of(copy.y));
    std::vector<int64_t> all(ends.size());
    std::iota(all.begin(), all.end(), int64_t{0});
    EXPECT_EQ(values_of(copy.x), copied_windows(*s, window, ends, all));
    EXPECT_EQ(values_of(view.materialized_x()), values_of(copy.x));
    // Shuffled batches of several sizes, through one reused buffer as the trainer gathers them.
    std::vector<int64_t> order = all;
    Rng rng(window * 31 + stride);
    std::shuffle(order.begin(), order.end(), rng);
    Tensor batch;
    for (int64_t size : {1, 4, 9}) {
      for (int64_t begin = 0; begin < view.size(); begin += size) {
        const int64_t end = std::min(view.size(), begin + size);
        view.gather_x(order, begin, end, batch);
        ASSERT_EQ(batch.shape(), (Shape{end - begin, window, 3}));
        const std::vector<int64_t> part(order.begin() + begin, order.begin() + end);
        ASSERT_EQ(values_of(batch), copied_windows(*s, window, ends, part)) << "batch at " << begin;
      }
    }
    // Subsets and slices stay views of the same series, and hold the same samples as the copy's.
    const std::vector<int64_t> some = {static_cast<int64_t>(ends.size()) - 1, 0, static_cast<int64_t>(ends.size()) / 2};
    const Dataset sub = view.subset(some);
    EXPECT_EQ(sub.windows->values.get(), &s->values);
    EXPECT_EQ(values_of(sub.materialized_x()), values_of(copy.subset(some).x));
    EXPECT_EQ(values_of(sub.y), values_of(copy.subset(some).y));
    const Dataset sliced = view.slice(1, view.size());
    EXPECT_EQ(values_of(sliced.materialized_x()), values_of(copy.slice(1, copy.size()).x));
    // Forecast windows likewise (targets past the end are NaN in both).
    std::vector<int64_t> forecast_ends;
    const Dataset future = forecast_windows(s, window, horizon, stride, &forecast_ends);
    const Dataset future_copy = forecast_windows(*s, window, horizon, stride, nullptr);
    EXPECT_EQ(future.x.size(), 0);
    std::vector<int64_t> every(forecast_ends.size());
    std::iota(every.begin(), every.end(), int64_t{0});
    EXPECT_EQ(values_of(future.materialized_x()), copied_windows(*s, window, forecast_ends, every));
    EXPECT_EQ(values_of(future_copy.x), copied_windows(*s, window, forecast_ends, every));
    ASSERT_EQ(future.y.size(), future_copy.y.size());
    for (int64_t i = 0; i < future.y.size(); ++i)
      ASSERT_TRUE(future.y[i] == future_copy.y[i] || (std::isnan(future.y[i]) && std::isnan(future_copy.y[i]))) << i;
  }
}

TEST(SeriesSplit, LatestRowsAreTestThenValidationNoTargetShared) {
  const SeriesSplit split = split_series(2284, 0.2, 0.2);
  EXPECT_EQ(split.test_begin, 2284 - 456);  // floor(0.2 * 2284) = 456 test rows, as the anchor
  EXPECT_EQ(split.validation_begin, 1828 - 365);
  const SeriesSplit rows = split_series(100, 10, 20);
  EXPECT_EQ(rows.test_begin, 80);
  EXPECT_EQ(rows.validation_begin, 70);

  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.values = {"b"};
  const Series s = series_from(dir, two_columns(100), o);  // b = row
  const Dataset train = make_windows(s, 5, 3, 1, 0, rows.validation_begin);
  const Dataset validation = make_windows(s, 5, 3, 1, rows.validation_begin, rows.test_begin);
  const Dataset test = make_windows(s, 5, 3, 1, rows.test_begin, 100);
  float train_max = -1, validation_min = 1e9, validation_max = -1, test_min = 1e9;
  for (int64_t i = 0; i < train.y.size(); ++i) train_max = std::max(train_max, train.y[i]);
  for (int64_t i = 0; i < validation.y.size(); ++i) {
    validation_min = std::min(validation_min, validation.y[i]);
    validation_max = std::max(validation_max, validation.y[i]);
  }
  for (int64_t i = 0; i < test.y.size(); ++i) test_min = std::min(test_min, test.y[i]);
  EXPECT_EQ(train_max, 69.0f);  // the last training target is row 69
  EXPECT_EQ(validation_min, 70.0f);
  EXPECT_EQ(validation_max, 79.0f);
  EXPECT_EQ(test_min, 80.0f);
  EXPECT_EQ(test.size(), 18);  // targets 80..99 in windows of 3: first targets 80..97
}

// ------------------------------------------------------------------------------ the transform

ForecastTransform transform(int64_t window, int64_t columns, std::vector<int64_t> targets, int64_t horizon = 1) {
  ForecastTransform f;
  f.enabled = true;
  f.window = window;
  f.columns = columns;
  f.targets = std::move(targets);
  f.horizon = horizon;
  return f;
}

TEST(ForecastTransform, ScalingIsFittedOnTheTrainingRowsOnly) {
  ForecastTransform f = transform(2, 1, {0});
  const Tensor training_rows({4, 1}, {1, 2, 3, 4});
  const Tensor x({1, 2, 1}, {100, 200});
  const Tensor y({1, 1}, {300});
  f.fit(training_rows, "standard", 1.0f, x, y);
  EXPECT_FLOAT_EQ(f.offset[0], 2.5f);
  EXPECT_FLOAT_EQ(f.factor[0], static_cast<float>(1.0 / std::sqrt(1.25)));
}

TEST(ForecastTransform, DeltaTargetRoundTripsExactly) {
  ForecastTransform f = transform(3, 1, {0}, 2);
  f.target = "delta";
  const Tensor rows({4, 1}, {1.0f, 1.25f, 1.5f, 1.75f});
  const Tensor x({2, 3, 1}, {1.0f, 1.125f, 1.3f, 1.7f, 1.6f, 1.55f});
  const Tensor y({2, 2}, {1.31f, 1.9f, 1.51f, 1.2f});
  f.fit(rows, "none", 1.0f, x, y);
  const Tensor learned = f.network_targets(x, y);
  EXPECT_EQ(learned[0], 1.31f - 1.3f);  // the change from the last value
  EXPECT_EQ(learned[3], 1.2f - 1.55f);
  const Tensor back = f.outputs_from_network(x, learned);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(back[i], y[i]) << i;
}

TEST(ForecastTransform, PerWindowNormalisationSubtractsAndAddsBackTheReference) {
  const Tensor rows({4, 2}, {0, 0, 1, 1, 2, 2, 3, 3});
  const Tensor x({1, 3, 2}, {1, 10, 2, 20, 6, 30});
  const Tensor y({1, 1}, {40});
  ForecastTransform last = transform(3, 2, {1});
  last.normalize = "last";
  last.fit(rows, "none", 1.0f, x, y);
  Tensor z = last.network_inputs(x);
  EXPECT_EQ(z[4], 0.0f);
  EXPECT_EQ(z[5], 0.0f);
  EXPECT_EQ(z[0], 1.0f - 6.0f);
  EXPECT_EQ(z[1], 10.0f - 30.0f);
  EXPECT_EQ(last.network_targets(x, y)[0], 10.0f);  // 40 - last 30
  EXPECT_EQ(last.outputs_from_network(x, Tensor({1, 1}, {0.0f}))[0], 30.0f);

  ForecastTransform mean = transform(3, 2, {1});
  mean.normalize = "mean";
  mean.fit(rows, "none", 1.0f, x, y);
  z = mean.network_inputs(x);
  EXPECT_FLOAT_EQ(z[0] + z[2] + z[4], 0.0f);
  EXPECT_FLOAT_EQ(z[1], -10.0f);
  EXPECT_FLOAT_EQ(mean.outputs_from_network(x, Tensor({1, 1}, {1.0f}))[0], 21.0f);  // mean 20 + 1
}

// A series model's windows, as fit_forecast leaves them for the trainer: the raw windows with
// the transform applied per gathered batch, and (for comparison) the old whole transformed copy.
struct TransformedWindows {
  Dataset view, copy;
};
TransformedWindows transformed_windows(const std::shared_ptr<const Series>& s, int64_t window, int64_t horizon,
                                       const std::string& normalize, const std::string& target) {
  ForecastTransform f;
  f.enabled = true;
  f.window = window;
  f.horizon = horizon;
  f.columns = 3;
  f.targets = s->target_columns;
  f.normalize = normalize;
  f.target = target;
  const Dataset raw = make_windows(s, window, horizon, 2, 0, s->rows());
  f.fit(s->values.rows(0, 60), "standard", 1.0f, Tensor(), raw.y);
  TransformedWindows out;
  out.copy = make_windows(*s, window, horizon, 2, 0, s->rows());
  out.copy.y = f.network_targets(out.copy.x, out.copy.y);
  out.copy.x = f.network_inputs(out.copy.x);
  out.view = raw;
  out.view.y = out.copy.y;
  auto view = std::make_shared<WindowView>(*raw.windows);
  view->transform = [f](Tensor& batch) { f.transform_inputs(batch); };
  out.view.windows = view;
  return out;
}

TEST(ForecastTransform, InputsTransformedPerBatchEqualTheWholeTransformedSet) {
  const std::shared_ptr<const Series> s = wiggly_series(80);
  for (const char* normalize : {"none", "last", "mean"}) {
    const TransformedWindows w = transformed_windows(s, 9, 2, normalize, "delta");
    EXPECT_EQ(values_of(w.view.materialized_x()), values_of(w.copy.x)) << normalize;
    std::vector<int64_t> order(static_cast<size_t>(w.view.size()));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::reverse(order.begin(), order.end());
    Tensor batch, expected;
    for (int64_t begin = 0; begin < w.view.size(); begin += 5) {
      const int64_t end = std::min(w.view.size(), begin + 5);
      w.view.gather_x(order, begin, end, batch);
      w.copy.x.gather_into(order, begin, end, expected);
      ASSERT_EQ(values_of(batch), values_of(expected)) << normalize << " batch at " << begin;
    }
  }
}

// Training on windows cut per batch gives the run on the copied windows: every epoch's metrics,
// the trained parameters and an evaluation. Within one process the two runs' buffers lie at
// different addresses, and vectorised sums that peel elements up to an aligned address then add
// in another order, so the last bits may differ (seen in about 1 of 3 runs of this binary); the
// batches themselves are compared bit for bit above, and two processes (nntune train before and
// after the views, docs/benchmarks.md) give identical histories, weights and forecasts.
TEST(ForecastTransform, TrainingOnViewsEqualsTrainingOnCopiedWindows) {
  const std::shared_ptr<const Series> s = wiggly_series(90);
  const TransformedWindows w = transformed_windows(s, 6, 2, "last", "value");
  const Dataset train_view = w.view.slice(0, 30), validation_view = w.view.slice(30, w.view.size());
  const Dataset train_copy = w.copy.slice(0, 30), validation_copy = w.copy.slice(30, w.copy.size());
  ASSERT_TRUE(train_view.windowed() && validation_view.windowed());
  ASSERT_FALSE(train_copy.windowed());
  auto run = [](const Dataset& train, const Dataset& validation) {
    Network net;
    net.add(make_layer({{"type", "lstm"}, {"units", 5}}));
    net.add(make_layer({{"type", "dense"}, {"units", 4}}));
    Rng rng(7);
    net.build({6, 3}, rng);
    TrainConfig config;
    config.loss = "mse";
    config.optimizer.name = "adam";
    config.optimizer.lr = 0.01;
    config.batch_size = 8;
    config.epochs = 3;
    config.seed = 11;
    std::vector<double> out;
    for (const EpochLog& e : fit(net, train, &validation, config).epochs)
      for (const auto& [name, value] : e.metrics) out.push_back(value);
    out.insert(out.end(), net.parameters().begin(), net.parameters().end());
    for (const auto& [name, value] : evaluate(net, *make_loss("mse"), validation, 7)) out.push_back(value);
    return out;
  };
  const std::vector<double> on_views = run(train_view, validation_view);
  const std::vector<double> on_copies = run(train_copy, validation_copy);
  ASSERT_EQ(on_views.size(), on_copies.size());
  ASSERT_GT(on_copies.size(), 3u * 6u);  // 3 epochs x 6 metrics, the parameters, 3 metrics
  // A window off by one row, or a batch transformed twice, moves these by far more.
  for (size_t i = 0; i < on_views.size(); ++i)
    ASSERT_NEAR(on_views[i], on_copies[i], 1e-5 * std::max(1.0, std::abs(on_copies[i]))) << i;
}

// Windows of 3 rows of v_t = a1 v_{t-1} + a2 v_{t-2} + c, plus a bump every 7 rows so the
// windows span the space; windows whose target row holds a bump are left out, so every kept
// target is exactly linear in its window.
Dataset autoregression_windows(float a1, float a2, float c, Tensor& rows) {
  std::vector<float> v = {1.0f, 2.0f};
  for (int t = 2; t < 60; ++t) v.push_back(a1 * v[t - 1] + a2 * v[t - 2] + c + (t % 7 == 0 ? 0.5f : 0.0f));
  Series s;
  s.columns = {"v"};
  s.target_columns = {0};
  s.values = Tensor({60, 1}, std::vector<float>(v));
  rows = s.values;
  std::vector<int64_t> first;
  const Dataset all = make_windows(s, 3, 1, 1, 0, 60, &first);
  std::vector<int64_t> keep;
  for (size_t i = 0; i < first.size(); ++i)
    if (first[i] % 7 != 0) keep.push_back(static_cast<int64_t>(i));
  return all.subset(keep);
}

void expect_skip_path_exact(const Dataset& d, const Tensor& rows, const std::string& normalize, const std::string& target) {
  ForecastTransform f = transform(3, 1, {0});
  f.skip = "linear";
  f.normalize = normalize;
  f.target = target;
  f.fit(rows, "standard", 1.0f, d.x, d.y);
  const Tensor residual = f.network_targets(d.x, d.y);
  for (int64_t i = 0; i < residual.size(); ++i)
    ASSERT_NEAR(residual[i], 0.0f, 5e-4f) << normalize << "/" << target << " window " << i;
  const Tensor out = f.outputs_from_network(d.x, Tensor(d.y.shape()));  // the network adds 0
  for (int64_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], d.y[i], 2e-3f) << normalize << "/" << target;
}

TEST(ForecastTransform, LinearSkipPathRecoversAnExactAutoregression) {
  Tensor rows;
  // Any linear autoregression on the plain window.
  const Dataset general = autoregression_windows(0.5f, 0.3f, 1.0f, rows);
  expect_skip_path_exact(general, rows, "none", "value");
  expect_skip_path_exact(general, rows, "none", "delta");
  // On a normalised window the skip path sees differences from the window's reference, so its
  // coefficients on the values sum to 1 (plus an intercept): a drifting random-walk family,
  // which the three normalisations all recover exactly.
  const Dataset drifting = autoregression_windows(0.6f, 0.4f, 0.1f, rows);
  for (const char* normalize : {"none", "last", "mean"})
    for (const char* target : {"value", "delta"}) expect_skip_path_exact(drifting, rows, normalize, target);
}

TEST(ForecastTransform, JsonRoundTripAndMalformedSettingsRefused) {
  ForecastTransform f = transform(2, 1, {0});
  f.skip = "linear";
  f.target = "delta";
  const Tensor rows({3, 1}, {1, 2, 4});
  const Tensor x({2, 2, 1}, {1, 2, 2, 4});
  const Tensor y({2, 1}, {4, 7});
  f.fit(rows, "minmax", 1.0f, x, y);
  const ForecastTransform g = ForecastTransform::from_json(f.to_json());
  EXPECT_EQ(g.skip_weights, f.skip_weights);
  EXPECT_EQ(g.offset, f.offset);
  EXPECT_EQ(g.target, "delta");
  nlohmann::json bad = f.to_json();
  bad["skip_weights"] = std::vector<float>{1.0f};
  EXPECT_ERROR_CONTAINS(ForecastTransform::from_json(bad), "inconsistent");
  bad = f.to_json();
  bad["normalize"] = "median";
  EXPECT_ERROR_CONTAINS(ForecastTransform::from_json(bad), "inconsistent");
}

TEST(ForecastCsv, LongFormatWithTimestampsOfEachPredictedStep) {
  TempDir dir;
  SeriesOptions o;
  o.time = "t";
  o.values = {"v"};
  const Series s = series_from(dir, "t,v\n2020-01-01,1\n2020-01-08,2\n2020-01-15,3\n2020-01-22,4\n", o);
  std::vector<int64_t> first;
  const Dataset d = forecast_windows(s, 2, 2, 1, &first);  // first targets at rows 2, 3, 4
  Tensor predictions({3, 2}, {30, 40, 41, 51, 52, 62});
  std::ostringstream out;
  write_forecast_csv(out, s, first, 2, predictions);
  EXPECT_EQ(out.str(),
            "origin,time,step,v,v_actual\n"
            "2020-01-08,2020-01-15,1,30,3\n"
            "2020-01-08,2020-01-22,2,40,4\n"
            "2020-01-15,2020-01-22,1,41,4\n"
            "2020-01-15,2020-01-29,2,51,\n"
            "2020-01-22,2020-01-29,1,52,\n"
            "2020-01-22,2020-02-05,2,62,\n");
}

// ------------------------------------------------------------------------------ the spec

std::string series_spec(const std::string& series_keys, const std::string& extra = "",
                        const std::string& layers = "[{type: lstm, units: 4}, {type: dense, units: 1}]") {
  return "data:\n  train: {series: {path: s.csv, time: t, values: [a], " + series_keys +
         "}}\n  validation: {last: 0.2}\n  test: {last: 0.2}\n  scale: standard\nmodel:\n  layers: " + layers + "\n" +
         extra + "train: {epochs: 2, batch_size: 8}\n";
}

TrainingSpec parse_in(const TempDir& dir, const std::string& yaml) {
  return parse_spec(yaml, "spec.yaml", {}, dir.path().string());
}

TEST(SeriesSpec, LoadsWindowsSplitInTimeOrder) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(50));
  const TrainingSpec spec = parse_in(dir, series_spec("window: 4"));
  EXPECT_EQ(spec.data.task, Task::Regression);  // a series forecasts numbers
  const SpecData data = load_spec_data(spec);
  ASSERT_TRUE(data.series && data.validation && data.test);
  EXPECT_EQ(data.series_split.test_begin, 40);
  EXPECT_EQ(data.series_split.validation_begin, 32);
  EXPECT_EQ(data.train.size(), 32 - 4);
  EXPECT_EQ(data.validation->size(), 8);
  EXPECT_EQ(data.test->size(), 10);
  EXPECT_EQ(data.train.sample_shape(), (Shape{4, 1}));
  EXPECT_EQ(data.test->y[0], 400.0f);  // the first test target is row 40
}

TEST(SeriesSpec, EveryPartIsAViewOfTheOneLoadedSeries) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(50));
  const SpecData data = load_spec_data(parse_in(dir, series_spec("window: 4")));
  for (const Dataset* part : {&data.train, &*data.validation, &*data.test}) {
    ASSERT_TRUE(part->windowed()) << part->source;
    EXPECT_EQ(part->x.size(), 0);  // no (windows, window, columns) copy
    EXPECT_EQ(part->windows->values.get(), &data.series->values);
  }
}

// The peak memory (VmHWM) of this process since clear_refs reset it, in bytes; -1 where the
// kernel does not offer the reset.
int64_t reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return -1;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok ? 0 : -1;
}
int64_t peak_rss() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int64_t kb = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lld kB", reinterpret_cast<long long*>(&kb)) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

// Long windows of a long series: copied whole they would take 24000 x 3000 floats (288 MB);
// training, evaluating and predicting on the views must stay far below that.
TEST(SeriesWindows, TrainingAndPredictingOnViewsNeverCopiesTheWindowsWhole) {
  auto series = std::make_shared<Series>();
  series->columns = {"v"};
  series->target_columns = {0};
  series->values = Tensor({27000, 1});
  for (int64_t r = 0; r < 27000; ++r) series->values[r] = std::sin(0.01f * static_cast<float>(r));
  const std::shared_ptr<const Series> s = series;
  const Dataset windows = make_windows(s, 3000, 1, 1, 0, s->rows());
  ASSERT_EQ(windows.size(), 24000);
  const int64_t copy_bytes = windows.size() * 3000 * static_cast<int64_t>(sizeof(float));
  Model model;
  Rng rng(1);
  model.network.add(make_layer({{"type", "flatten"}}));
  model.network.add(make_layer({{"type", "dense"}, {"units", 1}}));
  model.network.build({3000, 1}, rng);
  model.loss = "mse";
  model.task = Task::Regression;
  TrainConfig config;
  config.loss = "mse";
  config.batch_size = 256;
  config.epochs = 1;
  if (reset_peak_rss() < 0 || peak_rss() < 0) GTEST_SKIP() << "no /proc/self/clear_refs to reset the peak memory";
  const int64_t before = peak_rss();
  fit(model.network, windows, &windows, config);
  const Tensor forecasts = predict(model, windows, 1024);
  const int64_t grown = peak_rss() - before;
  ASSERT_EQ(forecasts.batch(), 24000);
  EXPECT_LT(grown, copy_bytes / 4) << "peak memory grew by " << grown << " bytes; a whole copy is " << copy_bytes;
}

TEST(SeriesSpec, TrainsSavesAndEvaluatesInTheDataUnitsWithScalerFromTrainingRows) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(60));
  TrainingSpec spec = parse_in(dir, series_spec("window: 5", "  forecast: {target: delta, normalize: last, skip: linear}\n"));
  TrainingOptions options;
  options.output_dir = dir.file("out");
  const TrainingResult result = run_training(spec, {}, options);
  Model model = load_model(result.model_path);
  ASSERT_TRUE(model.forecast.enabled);
  EXPECT_EQ(model.forecast.skip, "linear");
  // Standardised with the training rows 0..38 of a = 10r: mean 190, not the whole series' 295.
  EXPECT_NEAR(model.forecast.offset[0], 190.0f, 1e-3f);
  const SpecData data = load_spec_data(spec);
  // a rises by 10 a row: the skip path alone (a zero network output) forecasts the test part.
  const Tensor skip_only = model.forecast.outputs_from_network(data.test->materialized_x(), Tensor(data.test->y.shape()));
  for (int64_t i = 0; i < skip_only.size(); ++i) ASSERT_NEAR(skip_only[i], data.test->y[i], 0.05f) << i;
  // The test RMSE is measured in the data's units, on the saved model's forecasts.
  const Tensor forecast = predict(model, data.test->materialized_x());
  double squares = 0.0;
  for (int64_t i = 0; i < forecast.size(); ++i) squares += std::pow(forecast[i] - data.test->y[i], 2.0);
  ASSERT_TRUE(result.test_metrics.count("rmse"));
  EXPECT_NEAR(result.test_metrics.at("rmse"), std::sqrt(squares / static_cast<double>(forecast.size())), 1e-4);
  const Metrics again = evaluate_model(model, *data.test);
  EXPECT_DOUBLE_EQ(again.at("rmse"), result.test_metrics.at("rmse"));
  // The ONNX graph holds the forecast transform around the network (tests/onnx_export_test.py
  // checks its numbers against predict).
  const std::string onnx = export_onnx_bytes(model);
  EXPECT_NE(onnx.find("forecast/skip_weight"), std::string::npos);
}

TEST(SeriesSpec, MultiStepMultiColumnForecastTrainsAndPredictsStepMajor) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(60));
  std::string yaml = series_spec("window: 4, horizon: 3", "  forecast: {target: delta, skip: linear}\n",
                                 "[{type: gru, units: 4}, {type: dense, units: 6}]");
  yaml.replace(yaml.find("values: [a]"), 11, "values: [a, b]");
  const TrainingSpec spec = parse_in(dir, yaml);
  TrainingOptions options;
  options.save = false;
  const TrainingResult result = run_training(spec, {}, options);
  EXPECT_TRUE(result.test_metrics.count("rmse"));
  // Validation: rows 39..47 hold 9 target rows, so windows whose 3 targets fit: 7.
  EXPECT_EQ(result.validation_size, 7);
  // Six outputs per window: (a, b) at steps 1, 2, 3; a network of another width is refused.
  std::string narrow = yaml;
  narrow.replace(narrow.find("units: 6"), 8, "units: 3");
  EXPECT_ERROR_CONTAINS(run_training(parse_in(dir, narrow), {}, options), "model.layers[1]");
}

TEST(SeriesSpec, BadInputIsRefusedBeforeTrainingWithTheSpecPath) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(30));
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_in(dir, series_spec("window: 40"))), "spec.yaml", "data.train.series.window",
                        "window 40 plus horizon 1 needs 41 rows", "has 30");
  // 30 rows: test 6, validation 4, training 20: a window of 20 leaves no training target.
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_in(dir, series_spec("window: 20"))), "data.train.series.window",
                        "longer than the training part", "rows 1..20");
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_in(dir, series_spec("window: 3, horizon: 5"))), "data.validation.last",
                        "holds out 4 rows", "horizon is 5");
  write_file(dir.file("s.csv"), "t,a\n1,1\n2,x\n");
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_in(dir, series_spec("window: 1"))), "data.train.series", "line 3, column 2",
                        "not a number");
  write_file(dir.file("s.csv"), "t,a\n1,1\n3,2\n2,3\n");
  EXPECT_ERROR_CONTAINS(load_spec_data(parse_in(dir, series_spec("window: 1"))), "data.train.series", "time '2' is not after '3'");
  write_file(dir.file("s.csv"), two_columns(30));
  // Windows are sequences: a dense layer cannot take them without flatten.
  const TrainingSpec dense = parse_in(dir, series_spec("window: 3", "", "[{type: dense, units: 1}]"));
  EXPECT_ERROR_CONTAINS(check_model_shapes(dense, Shape{3, 1}, 1), "spec.yaml", "model.layers[0]");
  // Random splits and other files would put the future into training.
  std::string yaml = series_spec("window: 3");
  yaml.replace(yaml.find("validation: {last: 0.2}"), 23, "validation: {split: 0.2}");
  EXPECT_ERROR_CONTAINS(parse_in(dir, yaml), "data.validation", "time order");
  std::string images = series_spec("window: 3");
  images.replace(images.find("  scale: standard"), 17, "  channels: last");
  EXPECT_ERROR_CONTAINS(parse_in(dir, images), "data.channels", "series windows");
  EXPECT_ERROR_CONTAINS(parse_in(dir, "data:\n  train: {csv: {path: s.csv}}\n  task: regression\nmodel:\n  hidden: [4]\n"
                                      "  forecast: {target: delta}\n"),
                        "model.forecast", "series data only");
}

TEST(SeriesSpec, LastAsAFractionHoldsOutTheLatestRowsOfATableToo) {
  TempDir dir;
  std::string csv = "x,y\n";
  for (int r = 0; r < 10; ++r) csv += std::to_string(r) + "," + std::to_string(r % 2) + "\n";
  write_file(dir.file("t.csv"), csv);
  const std::string spec = "data:\n  train: {csv: {path: t.csv}}\n  validation: {last: 0.3}\nmodel:\n  hidden: [2]\n";
  const SpecData data = load_spec_data(parse_in(dir, spec));
  ASSERT_TRUE(data.validation);
  ASSERT_EQ(data.validation->size(), 3);
  EXPECT_EQ(data.validation->x[0], 7.0f);
  EXPECT_EQ(data.train.size(), 7);
  std::string bad = spec;
  bad.replace(bad.find("0.3"), 3, "2.5");
  EXPECT_ERROR_CONTAINS(parse_in(dir, bad), "data.validation.last", "whole number of rows", "2.5");
}

TEST(SeriesCli, PredictWritesTimestampedForecastsAndEvalPrintsRmse) {
  TempDir dir;
  std::string text = "date,a\n";
  for (int r = 0; r < 40; ++r) {
    char date[16];
    std::snprintf(date, sizeof date, "2020-%02d-%02d", 1 + r / 28, 1 + r % 28);
    text += std::string(date) + "," + std::to_string(100 + r) + "\n";
  }
  write_file(dir.file("s.csv"), text);
  std::string spec = series_spec("window: 4", "  forecast: {skip: linear}\n");
  spec.replace(spec.find("time: t"), 7, "time: date");
  write_file(dir.file("spec.yaml"), spec);
  const auto train = run_nntune(dir, "train spec.yaml --output out --quiet --no-report");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto eval = run_nntune(dir, "eval out/model.nnt s.csv");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("windows: 36"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("rmse"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("mae"), std::string::npos) << eval.out;
  eval = run_nntune(dir, "eval out/model.nnt --spec spec.yaml");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("windows: 8"), std::string::npos) << eval.out;
  const auto predict = run_nntune(dir, "predict out/model.nnt s.csv -o f.csv");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  const std::string csv = testing::read_file(dir.file("f.csv"));
  EXPECT_EQ(csv.rfind("origin,time,step,a,a_actual\n2020-01-04,2020-01-05,1,", 0), 0u) << csv.substr(0, 200);
  // The last window forecasts the day after the last row (2020-02-12), with no actual value.
  const std::string last_line = csv.substr(csv.rfind('\n', csv.size() - 2) + 1);
  EXPECT_EQ(last_line.rfind("2020-02-12,2020-02-13,1,", 0), 0u) << last_line;
  EXPECT_EQ(last_line.back() == '\n' ? last_line[last_line.size() - 2] : last_line.back(), ',') << last_line;
  // With --spec: the spec's 8 test windows, from the first test row (row 33: 2020-02-05).
  const auto test_part = run_nntune(dir, "predict out/model.nnt --spec spec.yaml");
  ASSERT_EQ(test_part.exit_code, 0) << test_part.err;
  EXPECT_EQ(std::count(test_part.out.begin(), test_part.out.end(), '\n'), 9) << test_part.out;
  EXPECT_NE(test_part.out.find("\n2020-02-04,2020-02-05,1,"), std::string::npos) << test_part.out;
}

TEST(SeriesCli, TuningTheWindowRecutsTheLoadedSeriesPerTrial) {
  TempDir dir;
  write_file(dir.file("s.csv"), two_columns(60));
  std::string spec = series_spec("window: {choice: [3, 8]}", "  forecast: {skip: {choice: [none, linear]}}\n") +
                     "tune:\n  sampler: grid\n  objective: {metric: val_loss}\n  storage: sqlite:///t.db\n";
  write_file(dir.file("spec.yaml"), spec);
  const auto run = run_nntune(dir, "tune spec.yaml --trials 4 --quiet --save-models models");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // Each trial's model takes windows of its own length.
  std::set<int64_t> windows;
  for (int trial = 0; trial < 4; ++trial) {
    Model model = load_model(dir.file("models/trial_" + std::to_string(trial) + "/model.nnt"));
    EXPECT_EQ(model.input_shape()[0], model.forecast.window);
    windows.insert(model.forecast.window);
  }
  EXPECT_EQ(windows, (std::set<int64_t>{3, 8}));
}

}  // namespace
}  // namespace nntune
