// Samplers on known functions and known numbers: the Parzen estimator against Optuna 3.1's
// _ParzenEstimator (values computed with it), Sobol points against the published sequence and
// Boost.Random's generator (stratified in every dimension), grid exactness (also with parallel
// workers and after failures), random uniformity, TPE against random, the constant liar, and
// reproducibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <boost/random/sobol.hpp>

#include "../bench/functions.hpp"
#include "nntune/error.hpp"
#include "test_util.hpp"
#include "tune/optimize_loop.hpp"
#include "tune/parzen_estimator.hpp"
#include "tune/sobol_sequence.hpp"

namespace nntune::tune {
namespace {

using detail::ModelDimension;
using detail::ParzenEstimator;

std::unique_ptr<Sampler> sampler_named(const std::string& name, uint64_t seed = 0) {
  SamplerConfig config;
  config.name = name;
  config.seed = seed;
  return make_sampler(config);
}

double best_value(const StudyHistory& history) {
  double best = INFINITY;
  for (const auto& t : history.trials)
    if (t.value) best = std::min(best, *t.value);
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// ---------------------------------------------------------------- Parzen estimator vs Optuna
// Reference values from optuna 3.1.0's _ParzenEstimator (Debian python3-optuna), whose
// continuous kernels leave out the 1 / sigma factor (see ParzenOptions::kernel_heights_scaled).

// log_pdf of `xs` (one dimension) under an estimator of `observations` with default weights.
std::vector<double> univariate_log_pdf(const Distribution& d, const std::vector<double>& observations,
                                       const std::vector<double>& xs, std::vector<double>* sigmas = nullptr,
                                       detail::ParzenOptions options = {}) {
  const ModelDimension dim = ModelDimension::of(d);
  std::vector<double> model_obs, model_xs;
  for (double o : observations) model_obs.push_back(dim.to_model(o));
  for (double x : xs) model_xs.push_back(dim.to_model(x));
  const ParzenEstimator pe({dim}, {model_obs}, detail::default_tpe_weights(observations.size()), options);
  if (sigmas && !dim.categorical) *sigmas = pe.sigmas(0);
  std::vector<double> out;
  pe.log_pdf({model_xs}, out);
  return out;
}

void expect_all_near(const std::vector<double>& actual, const std::vector<double>& expected, double tol = 1e-7) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "index " << i;
}

TEST(ParzenEstimator, ContinuousMatchesOptuna) {
  std::vector<double> sigmas;
  const auto lp = univariate_log_pdf(Distribution::float_range(0, 1), {0.1, 0.5, 0.55, 0.9}, {0.2, 0.52, 0.95}, &sigmas);
  expect_all_near(sigmas, {0.4, 0.4, 0.35, 0.35, 1.0});  // the prior last
  expect_all_near(lp, {-0.72851159, -0.58886843, -0.83111142});
}

TEST(ParzenEstimator, ScaledKernelsGiveTheTrueMixtureDensity) {
  // scipy.stats.truncnorm mixture of the same five kernels, weights 1/5.
  detail::ParzenOptions options;
  options.kernel_heights_scaled = true;
  const auto lp = univariate_log_pdf(Distribution::float_range(0, 1), {0.1, 0.5, 0.55, 0.9}, {0.2, 0.52, 0.95}, nullptr, options);
  expect_all_near(lp, {-0.06760381250906917, 0.1262934041422568, -0.13868947104854534}, 1e-12);
}

TEST(ParzenEstimator, IntBinsMatchOptuna) {
  std::vector<double> sigmas;
  const auto lp = univariate_log_pdf(Distribution::int_range(1, 10), {1, 3, 3, 8}, {1, 3, 7, 10}, &sigmas);
  expect_all_near(sigmas, {2, 2, 2.5, 2.5, 10});
  expect_all_near(lp, {-1.96512252, -1.91230718, -2.61491471, -3.05233875});
}

TEST(ParzenEstimator, LogScaleMatchesOptuna) {
  std::vector<double> sigmas;
  const auto lp = univariate_log_pdf(Distribution::float_range(1e-4, 1, true), {1e-3, 1e-2, 0.5}, {1e-4, 3e-3, 0.9}, &sigmas);
  expect_all_near(sigmas, {2.30258509, 2.30258509, 3.91202301, 9.21034037});
  expect_all_near(lp, {-1.10024514, -0.6317213, -0.85414392});
}

TEST(ParzenEstimator, CategoricalMatchesOptuna) {
  const auto lp = univariate_log_pdf(Distribution::categorical({"a", "b", "c"}), {0, 2, 2}, {0, 1, 2});
  expect_all_near(lp, {-1.09861229, -1.65822808, -0.74193734});
}

TEST(ParzenEstimator, MultivariateMatchesOptuna) {
  const std::vector<ModelDimension> dims = {ModelDimension::of(Distribution::float_range(0, 1)),
                                            ModelDimension::of(Distribution::categorical({1, 2, 3}))};
  detail::ParzenOptions options;
  options.multivariate = true;
  const ParzenEstimator pe(dims, {{0.1, 0.5, 0.9}, {2, 0, 1}}, detail::default_tpe_weights(3), options);
  expect_all_near(pe.sigmas(0), {0.2, 0.2, 0.2, 1.0});
  std::vector<double> lp;
  pe.log_pdf({{0.2, 0.6}, {2, 0}}, lp);
  expect_all_near(lp, {-1.72232866, -1.84743818});
}

TEST(ParzenEstimator, DefaultWeightsRampOldObservations) {
  const auto w = detail::default_tpe_weights(30);
  ASSERT_EQ(w.size(), 30u);
  expect_all_near({w[0], w[1], w[2], w[3], w[4], w[5], w[29]}, {1.0 / 30, 0.275, 0.51666667, 0.75833333, 1, 1, 1});
  EXPECT_EQ(detail::default_tpe_weights(24), std::vector<double>(24, 1.0));
}

TEST(ParzenEstimator, LogGaussMassIsAccurateInTails) {
  EXPECT_NEAR(detail::log_gauss_mass(-1, 1), std::log(0.6826894921370859), 1e-12);
  EXPECT_NEAR(detail::log_gauss_mass(10, 11), std::log(7.619853024160527e-24 - 1.910659574498e-28), 1e-6);
  EXPECT_NEAR(detail::log_gauss_mass(-11, -10), detail::log_gauss_mass(10, 11), 1e-12);
}

// ---------------------------------------------------------------- grid

SearchSpace grid_space() {
  return {{"a", Distribution::int_range(0, 2)},
          {"b", Distribution::categorical({"x", "y"})},
          {"c", Distribution::float_range(0, 1, false, 0.5)}};
}

std::multiset<std::vector<double>> points_of(const StudyHistory& history) {
  std::multiset<std::vector<double>> points;
  for (const auto& t : history.trials) {
    std::vector<double> p;
    for (const auto& [name, v] : t.params) p.push_back(v);
    points.insert(p);
  }
  return points;
}

TEST(GridSampler, VisitsEveryCombinationOnceThenReportsExhaustion) {
  auto sampler = sampler_named("grid");
  const auto objective = [](const std::map<std::string, double>& p) { return p.at("a"); };
  const StudyHistory history = optimize(*sampler, grid_space(), objective, 100);
  ASSERT_EQ(history.trials.size(), 3u * 2u * 3u);  // stopped when exhausted, not at 100
  const auto points = points_of(history);
  EXPECT_EQ(std::set<std::vector<double>>(points.begin(), points.end()).size(), 18u);
  EXPECT_TRUE(sampler->is_exhausted(history));
}

TEST(GridSampler, ParallelRunningTrialsNeverDuplicate) {
  auto sampler = sampler_named("grid");
  const auto objective = [](const std::map<std::string, double>& p) { return p.at("a"); };
  const StudyHistory history = optimize_parallel(*sampler, grid_space(), objective, 100, 3);
  ASSERT_EQ(history.trials.size(), 18u);
  const auto points = points_of(history);
  EXPECT_EQ(std::set<std::vector<double>>(points.begin(), points.end()).size(), 18u);
}

TEST(GridSampler, ExplicitValuesForContinuousFloats) {
  SamplerConfig config;
  config.name = "grid";
  config.grid["lr"] = {0.001, 0.01, 0.1};
  auto sampler = make_sampler(config);
  const SearchSpace space = {{"lr", Distribution::float_range(1e-4, 1, true)}, {"opt", Distribution::categorical({"sgd", "adam"})}};
  const StudyHistory history = optimize(*sampler, space, [](const auto&) { return 0.0; }, 10);
  ASSERT_EQ(history.trials.size(), 6u);
  std::set<std::string> seen;
  for (const auto& t : history.trials) seen.insert(t.external_params().dump());
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(seen.count(R"({"lr":0.01,"opt":"adam"})"));
}

TEST(GridSampler, RejectsContinuousFloatWithoutValues) {
  auto sampler = sampler_named("grid");
  EXPECT_ERROR_CONTAINS(optimize(*sampler, {{"lr", Distribution::float_range(0, 1)}}, [](const auto&) { return 0.0; }, 1),
                        "continuous float parameter \"lr\"", "step");
  SamplerConfig config;
  config.name = "grid";
  config.grid["lr"] = {2.0};
  auto listed = make_sampler(config);
  EXPECT_ERROR_CONTAINS(optimize(*listed, {{"lr", Distribution::float_range(0, 1)}}, [](const auto&) { return 0.0; }, 1),
                        "grid value for parameter \"lr\"", "outside");
}

TEST(GridSampler, ResumeRetriesAFailedPointOnce) {
  auto sampler = sampler_named("grid");
  const SearchSpace space = {{"a", Distribution::int_range(0, 3)}};
  StudyHistory history;
  for (int i = 0; i < 2; ++i) tell(*sampler, history, ask(*sampler, history, space), 1.0);
  // A worker died while running point 2: the study marks it failed.
  const int64_t died = ask(*sampler, history, space);
  history.trials[died].state = TrialState::Failed;
  EXPECT_EQ(history.trials[died].params.at("a"), 2);
  std::vector<double> next;
  while (!sampler->is_exhausted(history)) {
    const int64_t n = ask(*sampler, history, space);
    next.push_back(history.trials[n].params.at("a"));
    history.trials[n].state = TrialState::Failed;  // and it fails again every time
  }
  EXPECT_EQ(next, (std::vector<double>{2, 3, 3}));  // each failed point retried once
}

// ---------------------------------------------------------------- random

TEST(RandomSampler, UniformOverBinsAndValid) {
  auto sampler = sampler_named("random", 7);
  const SearchSpace space = {{"u", Distribution::float_range(-2, 3)},
                             {"l", Distribution::float_range(1e-3, 10, true)},
                             {"i", Distribution::int_range(0, 9)},
                             {"c", Distribution::categorical({"p", "q", "r", "s", "t"})}};
  const int n = 4000;
  const StudyHistory history = optimize(*sampler, space, [](const auto&) { return 0.0; }, n);
  std::vector<int> u_bins(10), l_bins(10), i_bins(10), c_bins(5);
  for (const auto& t : history.trials) {
    for (const auto& [name, v] : t.params) EXPECT_TRUE(space.at(name).contains(v)) << name << " " << v;
    u_bins[std::min(9, static_cast<int>((t.params.at("u") + 2) / 5 * 10))]++;
    l_bins[std::min(9, static_cast<int>((std::log10(t.params.at("l")) + 3) / 4 * 10))]++;
    i_bins[static_cast<int>(t.params.at("i"))]++;
    c_bins[static_cast<int>(t.params.at("c"))]++;
  }
  // Chi-square against uniform; 30 is far in the tail for 9 degrees of freedom (p < 0.001).
  auto chi2 = [&](const std::vector<int>& bins) {
    const double expected = static_cast<double>(n) / static_cast<double>(bins.size());
    double s = 0;
    for (int b : bins) s += (b - expected) * (b - expected) / expected;
    return s;
  };
  EXPECT_LT(chi2(u_bins), 30);
  EXPECT_LT(chi2(l_bins), 30);  // log-uniform: uniform over decades
  EXPECT_LT(chi2(i_bins), 30);
  EXPECT_LT(chi2(c_bins), 20);
}

// ---------------------------------------------------------------- Sobol

TEST(SobolSequence, MatchesThePublishedSequence) {
  const detail::SobolSequence sobol(21, false, 0);
  const double first[8][3] = {{0, 0, 0},          {0.5, 0.5, 0.5},     {0.75, 0.25, 0.25},   {0.25, 0.75, 0.75},
                              {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125}, {0.625, 0.125, 0.875}, {0.125, 0.625, 0.375}};
  for (int i = 0; i < 8; ++i)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(sobol.point(static_cast<uint64_t>(i), d), first[i][d]) << i << "," << d;
  // Points 1000 and 12345 in all 21 dimensions (Joe-Kuo 21201, as scipy.stats.qmc.Sobol gives).
  const std::vector<double> p1000 = {0.2197265625, 0.0966796875, 0.5185546875, 0.6767578125, 0.2802734375, 0.9072265625,
                                     0.0458984375, 0.8994140625, 0.5009765625, 0.0693359375, 0.0849609375, 0.2548828125,
                                     0.1611328125, 0.3837890625, 0.1435546875, 0.3701171875, 0.7197265625, 0.3447265625,
                                     0.9912109375, 0.7255859375, 0.5224609375};
  const std::vector<double> p12345 = {
      0.64093017578125, 0.81341552734375, 0.16033935546875, 0.52679443359375, 0.88848876953125, 0.05889892578125,
      0.12725830078125, 0.11334228515625, 0.80181884765625, 0.42962646484375, 0.07427978515625, 0.59881591796875,
      0.93096923828125, 0.94183349609375, 0.03448486328125, 0.64080810546875, 0.06256103515625, 0.05096435546875,
      0.31939697265625, 0.34344482421875, 0.19927978515625};
  for (int d = 0; d < 21; ++d) {
    EXPECT_EQ(sobol.point(1000, d), p1000[static_cast<size_t>(d)]) << "dimension " << d;
    EXPECT_EQ(sobol.point(12345, d), p12345[static_cast<size_t>(d)]) << "dimension " << d;
  }
}

// L2-star discrepancy (Warnock's formula) of points in [0, 1]^d.
double l2_star_discrepancy(const std::vector<std::vector<double>>& x) {
  const size_t n = x.size(), d = x[0].size();
  double a = 0, b = 0;
  for (size_t i = 0; i < n; ++i) {
    double p = 1;
    for (size_t k = 0; k < d; ++k) p *= 1 - x[i][k] * x[i][k];
    a += p;
    for (size_t j = 0; j < n; ++j) {
      double q = 1;
      for (size_t k = 0; k < d; ++k) q *= 1 - std::max(x[i][k], x[j][k]);
      b += q;
    }
  }
  const double nd = static_cast<double>(n);
  return std::sqrt(std::pow(3.0, -static_cast<double>(d)) - std::pow(2.0, 1.0 - static_cast<double>(d)) / nd * a + b / (nd * nd));
}

TEST(SobolSampler, ScrambledPointsBeatRandomDiscrepancy) {
  SearchSpace space;
  for (int k = 0; k < 4; ++k) space[bench::param_name(static_cast<size_t>(k))] = Distribution::float_range(0, 1);
  auto points = [&](const std::string& name, uint64_t seed) {
    auto sampler = sampler_named(name, seed);
    const StudyHistory h = optimize(*sampler, space, [](const auto&) { return 0.0; }, 256);
    std::vector<std::vector<double>> x;
    for (const auto& t : h.trials) {
      std::vector<double> p;
      for (const auto& [name, v] : t.params) p.push_back(v);
      x.push_back(p);
    }
    return x;
  };
  for (uint64_t seed : {1, 2, 3}) {
    const double sobol = l2_star_discrepancy(points("sobol", seed));
    const double random = l2_star_discrepancy(points("random", seed));
    EXPECT_LT(sobol, 0.5 * random) << "seed " << seed;
  }
  // Scrambling depends on the seed.
  EXPECT_NE(points("sobol", 1)[0], points("sobol", 2)[0]);
}

// Boost.Random's own Sobol generator, from the same table: dimensions past the 21 that were once
// typed in by hand. Boost's engine starts at point 1 (it skips the origin) and yields integers
// of 32 bits, so its n-th draw is point n + 1 times 2^32.
TEST(SobolSequence, MatchesBoostsGeneratorIn40Dimensions) {
  constexpr int dims = 40;
  const detail::SobolSequence sobol(dims, false, 0);
  boost::random::sobol_engine<uint32_t, 32> boost_sobol(dims);
  for (uint64_t index = 1; index <= 4096; ++index)
    for (int d = 0; d < dims; ++d)
      ASSERT_EQ(sobol.point(index, d), static_cast<double>(boost_sobol()) * 0x1.0p-32) << index << "," << d;
}

// Every one-dimensional projection of a Sobol sequence is a (0, m, 1)-net: the first 2^k points
// fall one in each of 2^k equal bins. The scrambling (a unit lower-triangular matrix and a
// digital shift) maps the leading k bits one-to-one, so it keeps this; independent uniform
// draws would not (32 points in 32 bins: probability 32!/32^32, about 1e-13).
bool stratified(const std::vector<double>& u, int k) {
  std::vector<int> bins(size_t{1} << k, 0);
  for (size_t i = 0; i < bins.size(); ++i) {
    const double scaled = u[i] * static_cast<double>(bins.size());
    if (!(scaled >= 0 && scaled < static_cast<double>(bins.size()))) return false;
    if (++bins[static_cast<size_t>(scaled)] > 1) return false;
  }
  return true;
}

TEST(SobolSequence, EveryDimensionOfTheTableIsStratified) {
  for (const bool scramble : {false, true}) {
    const detail::SobolSequence sobol(detail::SobolSequence::kMaxDimensions, scramble, 7);
    for (int d = 0; d < sobol.dimensions(); ++d) {
      std::vector<double> u(1024);
      for (size_t i = 0; i < u.size(); ++i) u[i] = sobol.point(i, d);
      for (int k : {1, 5, 10}) ASSERT_TRUE(stratified(u, k)) << "dimension " << d << ", 2^" << k << " points";
    }
  }
}

TEST(SobolSampler, FortyParametersAreAllLowDiscrepancy) {
  // Zero-padded names sort in index order, so parameter pNN is dimension NN.
  SearchSpace space;
  auto name_of = [](int k) { return std::string(k < 10 ? "p0" : "p") + std::to_string(k); };
  for (int k = 0; k < 40; ++k) space[name_of(k)] = Distribution::float_range(0, 1);
  for (uint64_t seed : {1, 2}) {
    auto sampler = sampler_named("sobol", seed);
    const StudyHistory h = optimize(*sampler, space, [](const auto&) { return 0.0; }, 256);
    for (int k = 0; k < 40; ++k) {
      std::vector<double> u;
      for (const auto& t : h.trials) u.push_back(t.params.at(name_of(k)));
      for (int bits : {5, 8}) EXPECT_TRUE(stratified(u, bits)) << name_of(k) << ", seed " << seed << ", 2^" << bits;
    }
  }
  // The random sampler, drawing independently, fails the same check (the test can fail).
  auto random = sampler_named("random", 1);
  const StudyHistory h = optimize(*random, space, [](const auto&) { return 0.0; }, 256);
  std::vector<double> u;
  for (const auto& t : h.trials) u.push_back(t.params.at(name_of(30)));
  EXPECT_FALSE(stratified(u, 5));
}

// ---------------------------------------------------------------- TPE

double median_best(const std::string& sampler, const bench::TestFunction& f, int trials, int seeds) {
  std::vector<double> bests;
  for (int seed = 0; seed < seeds; ++seed) {
    auto s = sampler_named(sampler, static_cast<uint64_t>(seed));
    bests.push_back(best_value(optimize(*s, f.space(), f, trials)) - f.optimum);
  }
  return median(bests);
}

TEST(TpeSampler, BeatsRandomOnAQuadraticAndBranin) {
  for (const std::string name : {"quadratic3", "branin"}) {
    const auto f = bench::test_function(name);
    const double random = median_best("random", f, 60, 10);
    const double tpe = median_best("tpe", f, 60, 10);
    const double tpe_mv = median_best("tpe-mv", f, 60, 10);
    EXPECT_LT(tpe, 0.5 * random) << name;
    EXPECT_LT(tpe_mv, 0.5 * random) << name;
  }
}

TEST(TpeSampler, EveryKindOfParameterStaysValidAndIsLearnt) {
  const SearchSpace space = {{"i", Distribution::int_range(-3, 12)},
                             {"il", Distribution::int_range(1, 1000, true)},
                             {"s", Distribution::float_range(0, 2, false, 0.25)},
                             {"l", Distribution::float_range(1e-5, 1, true)},
                             {"c", Distribution::categorical({"relu", "tanh", "gelu"})},
                             {"one", Distribution::categorical({"only"})}};
  // Best at i = 7, il = 100, s = 1.5, l = 1e-3, c = gelu.
  const auto objective = [](const std::map<std::string, double>& p) {
    return std::abs(p.at("i") - 7) + std::abs(std::log10(p.at("il")) - 2) + std::abs(p.at("s") - 1.5) +
           std::abs(std::log10(p.at("l")) + 3) + (p.at("c") == 2 ? 0.0 : 2.0);
  };
  for (const std::string name : {"tpe", "tpe-mv"}) {
    auto sampler = sampler_named(name, 3);
    const StudyHistory history = optimize(*sampler, space, objective, 150);
    int gelu_late = 0;
    std::vector<double> i_error_late, s_error_late;
    for (const auto& t : history.trials) {
      for (const auto& [param, v] : t.params) EXPECT_TRUE(space.at(param).contains(v)) << name << " " << param << " " << v;
      if (t.number < 100) continue;
      gelu_late += t.params.at("c") == 2;
      i_error_late.push_back(std::abs(t.params.at("i") - 7));
      s_error_late.push_back(std::abs(t.params.at("s") - 1.5));
    }
    // Of the last 50 proposals, most sit at the good choice and near the best values
    // (uniform sampling would give 1/3 gelu and median errors of 4 and 0.5).
    EXPECT_GT(gelu_late, 25) << name;
    EXPECT_LE(median(i_error_late), 2) << name;
    EXPECT_LE(median(s_error_late), 0.25) << name;
  }
}

// How often a proposal repeats a point of a trial running at the same time.
int concurrent_repeats(bool constant_liar, uint64_t seed) {
  SamplerConfig config;
  config.name = "tpe";
  config.seed = seed;
  config.constant_liar = constant_liar;
  auto sampler = make_sampler(config);
  const SearchSpace space = {{"a", Distribution::int_range(0, 15)}, {"b", Distribution::int_range(0, 15)}};
  const auto objective = [](const std::map<std::string, double>& p) {
    return std::pow(p.at("a") - 5, 2) + std::pow(p.at("b") - 9, 2);
  };
  StudyHistory history;
  std::vector<int64_t> running;
  int repeats = 0;
  for (int k = 0; k < 80; ++k) {
    if (running.size() == 4) {
      const int64_t done = running.front();
      running.erase(running.begin());
      tell(*sampler, history, done, objective(history.trials[done].params));
    }
    const int64_t n = ask(*sampler, history, space);
    for (int64_t other : running) repeats += history.trials[other].params == history.trials[n].params;
    running.push_back(n);
  }
  return repeats;
}

TEST(TpeSampler, ConstantLiarSpreadsParallelProposals) {
  int with_liar = 0, without = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    with_liar += concurrent_repeats(true, seed);
    without += concurrent_repeats(false, seed);
  }
  std::printf("proposals repeating a running trial: %d with the constant liar, %d without\n", with_liar, without);
  EXPECT_LT(2 * with_liar, without);
}

TEST(TpeSampler, SameSeedSameProposals) {
  const auto f = bench::test_function("hartmann6");
  for (const std::string name : {"tpe", "tpe-mv", "random", "sobol"}) {
    auto a = sampler_named(name, 5), b = sampler_named(name, 5), c = sampler_named(name, 6);
    const auto ha = optimize(*a, f.space(), f, 30), hb = optimize(*b, f.space(), f, 30), hc = optimize(*c, f.space(), f, 30);
    for (size_t i = 0; i < ha.trials.size(); ++i) EXPECT_EQ(ha.trials[i].params, hb.trials[i].params) << name << " " << i;
    EXPECT_NE(ha.trials.back().params, hc.trials.back().params) << name;
  }
}

TEST(TpeSampler, UsesPrunedTrialsAndIgnoresFailedOnes) {
  // Trials pruned late with good intermediate values count as good; failed ones are ignored.
  auto sampler = sampler_named("tpe", 1);
  const SearchSpace space = {{"x", Distribution::float_range(0, 10)}};
  StudyHistory history;
  for (int i = 0; i < 30; ++i) {
    const int64_t n = ask(*sampler, history, space);
    FrozenTrial& t = history.trials[n];
    const double x = t.params.at("x");
    if (i % 3 == 0) {
      t.state = TrialState::Pruned;
      t.intermediate = {{1, std::abs(x - 2)}, {2, std::abs(x - 2)}};
    } else if (i % 3 == 1) {
      t.state = TrialState::Failed;
    } else {
      tell(*sampler, history, n, std::abs(x - 2));
    }
  }
  std::vector<double> late;
  for (int i = 0; i < 20; ++i) {
    const int64_t n = ask(*sampler, history, space);
    late.push_back(history.trials[n].params.at("x"));
    tell(*sampler, history, n, std::abs(late.back() - 2));
  }
  EXPECT_LT(std::abs(median(late) - 2), 1.5);
}

TEST(SamplerFactory, UnknownNameListsTheChoices) {
  EXPECT_ERROR_CONTAINS(sampler_named("annealing"), "unknown sampler \"annealing\"", "tpe", "grid");
}

}  // namespace
}  // namespace nntune::tune
