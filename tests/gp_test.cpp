// The Gaussian-process sampler: kernel, marginal likelihood and its gradient, posterior, log EI,
// the box minimiser, and the sampler on known functions (beats random, valid proposals,
// determinism, spread across parallel workers).
#include <gtest/gtest.h>

#include <Eigen/LU>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <set>

#include "../bench/functions.hpp"
#include "tune/gp/acquisition.hpp"
#include "tune/gp/box_minimizer.hpp"
#include "tune/gp/gaussian_process.hpp"
#include "tune/optimize_loop.hpp"
#include "tune/samplers.hpp"

namespace nntune::tune {
namespace {

using gp::KernelParams;

Eigen::MatrixXd random_inputs(Eigen::Index n, Eigen::Index dims, uint64_t seed, int categorical_column = -1,
                              int levels = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Eigen::MatrixXd x(n, dims);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index k = 0; k < dims; ++k)
      x(i, k) = k == categorical_column ? std::floor(uniform(rng) * levels) : uniform(rng);
  return x;
}

TEST(GpKernel, Matern52MatchesHandComputedValues) {
  EXPECT_DOUBLE_EQ(gp::matern52(0.0), 1.0);
  // r = 1: (1 + sqrt5 + 5/3) exp(-sqrt5)
  EXPECT_NEAR(gp::matern52(1.0), 0.5239941088318203, 1e-14);
  // Derivative in r2 against central differences, including near r2 = 0.
  for (double r2 : {1e-6, 0.01, 0.3, 1.0, 4.0}) {
    const double h = 1e-7 * std::max(1.0, r2);
    const double numeric = (gp::matern52(r2 + h) - gp::matern52(r2 - std::min(h, r2))) / (h + std::min(h, r2));
    EXPECT_NEAR(gp::matern52_derivative(r2), numeric, 1e-5) << "r2 = " << r2;
  }
  EXPECT_NEAR(gp::matern52_derivative(0.0), -5.0 / 6.0, 1e-15);
}

TEST(GpKernel, ArdAndHammingTermsScaleTheDistance) {
  // Point a = (0.25, category 1), b = (0.5, category 2); lengthscales 0.5 and 2, signal 1.7:
  // r2 = (0.25 / 0.5)^2 + 1 / 2^2 = 0.5; k = 1.7 (1 + sqrt5 r + 5/3 r2) exp(-sqrt5 r).
  Eigen::MatrixXd a(1, 2), b(2, 2);
  a << 0.25, 1;
  b << 0.5, 2, 0.5, 1;
  KernelParams p;
  p.log_lengthscales = Eigen::Vector2d(std::log(0.5), std::log(2.0));
  p.log_signal_variance = std::log(1.7);
  const std::vector<bool> categorical{false, true};
  const Eigen::MatrixXd k = gp::kernel_matrix(a, b, categorical, p);
  EXPECT_NEAR(k(0, 0), 1.1942427922614656, 1e-12);
  // Same category: only the numeric term remains (r2 = 0.25).
  EXPECT_NEAR(k(0, 1), 1.7 * gp::matern52(0.25), 1e-12);
}

TEST(GpLikelihood, ValueMatchesTheDenseFormula) {
  const Eigen::MatrixXd x = random_inputs(12, 3, 1, 2);
  Eigen::VectorXd y = Eigen::VectorXd::NullaryExpr(12, [&](Eigen::Index i) { return std::sin(5 * x(i, 0)) + x(i, 1); });
  const std::vector<bool> categorical{false, false, true};
  KernelParams p = KernelParams::defaults(3, 0.4);
  p.log_signal_variance = 0.3;
  p.log_noise_variance = std::log(1e-2);
  Eigen::MatrixXd k = gp::kernel_matrix(x, x, categorical, p);
  k.diagonal().array() += 1e-2;
  const double expected = 0.5 * y.dot(k.inverse() * y) + 0.5 * std::log(k.determinant()) +
                          6.0 * std::log(2 * std::numbers::pi);
  const gp::MarginalLikelihood likelihood(x, y, categorical);
  EXPECT_NEAR(likelihood.negative_log_likelihood(p.pack(), nullptr), expected, 1e-9);
}

TEST(GpLikelihood, GradientMatchesFiniteDifferences) {
  const Eigen::MatrixXd x = random_inputs(15, 4, 2, 3);
  Eigen::VectorXd y = Eigen::VectorXd::NullaryExpr(15, [&](Eigen::Index i) {
    return std::cos(4 * x(i, 0)) * x(i, 1) + 0.3 * x(i, 2) + (x(i, 3) == 1 ? 0.5 : 0.0);
  });
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  const gp::MarginalLikelihood likelihood(x, y, {false, false, false, true});
  const gp::HyperPrior prior;
  Eigen::VectorXd packed(6);
  packed << std::log(0.3), std::log(0.8), std::log(1.5), std::log(0.7), 0.2, std::log(3e-3);
  for (bool with_prior : {false, true}) {
    Eigen::VectorXd gradient;
    auto value = [&](const Eigen::VectorXd& p, Eigen::VectorXd* g) {
      return with_prior ? likelihood.negative_log_posterior(p, g, prior) : likelihood.negative_log_likelihood(p, g);
    };
    value(packed, &gradient);
    for (Eigen::Index i = 0; i < packed.size(); ++i) {
      const double h = 1e-6;
      Eigen::VectorXd plus = packed, minus = packed;
      plus[i] += h;
      minus[i] -= h;
      const double numeric = (value(plus, nullptr) - value(minus, nullptr)) / (2 * h);
      EXPECT_NEAR(gradient[i], numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << "parameter " << i;
    }
  }
}

TEST(GpPosterior, InterpolatesNoiselessDataWithZeroVarianceThere) {
  const Eigen::MatrixXd x = random_inputs(10, 2, 3);
  const Eigen::VectorXd y = x.col(0).array().square() - x.col(1).array();
  KernelParams p = KernelParams::defaults(2, 0.5);
  p.log_noise_variance = std::log(1e-10);
  const gp::GaussianProcess model(x, y, {false, false}, p);
  Eigen::VectorXd mean, variance;
  model.predict(x, mean, variance);
  for (Eigen::Index i = 0; i < 10; ++i) {
    EXPECT_NEAR(mean[i], y[i], 1e-5);
    EXPECT_LT(variance[i], 1e-6);
  }
  // Far from the data the variance returns to the signal variance and the mean to 0.
  Eigen::MatrixXd far(1, 2);
  far << 40.0, -40.0;
  model.predict(far, mean, variance);
  EXPECT_NEAR(variance[0], 1.0, 1e-9);
  EXPECT_NEAR(mean[0], 0.0, 1e-9);
}

TEST(GpPosterior, PointGradientsMatchFiniteDifferences) {
  const Eigen::MatrixXd x = random_inputs(20, 3, 4, 2);
  const Eigen::VectorXd y = Eigen::VectorXd::NullaryExpr(20, [&](Eigen::Index i) { return std::sin(6 * x(i, 0)) + x(i, 1); });
  KernelParams p = KernelParams::defaults(3, 0.3);
  p.log_noise_variance = std::log(1e-4);
  const gp::GaussianProcess model(x, y, {false, false, true}, p);
  Eigen::Vector3d point(0.37, 0.61, 1.0);
  double mean, variance;
  Eigen::VectorXd mean_gradient, variance_gradient;
  model.predict_with_gradient(point, mean, variance, mean_gradient, variance_gradient);
  Eigen::VectorXd batch_mean, batch_variance;
  model.predict(point.transpose(), batch_mean, batch_variance);
  EXPECT_NEAR(mean, batch_mean[0], 1e-10);
  EXPECT_NEAR(variance, batch_variance[0], 1e-10);
  for (Eigen::Index k = 0; k < 2; ++k) {
    const double h = 1e-6;
    Eigen::Vector3d plus = point, minus = point;
    plus[k] += h;
    minus[k] -= h;
    double mp, vp, mm, vm;
    Eigen::VectorXd unused1, unused2;
    model.predict_with_gradient(plus, mp, vp, unused1, unused2);
    model.predict_with_gradient(minus, mm, vm, unused1, unused2);
    EXPECT_NEAR(mean_gradient[k], (mp - mm) / (2 * h), 1e-5);
    EXPECT_NEAR(variance_gradient[k], (vp - vm) / (2 * h), 1e-5);
  }
  EXPECT_EQ(mean_gradient[2], 0.0);  // categorical coordinate
}

TEST(GpAcquisition, LogEiEqualsTheClosedFormWhereThatIsStable) {
  for (double mean : {-1.0, 0.0, 0.5, 2.0})
    for (double sd : {0.1, 1.0, 3.0}) {
      const double best = 0.2;
      const double z = (best - mean) / sd;
      const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
      const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
      const double ei = (best - mean) * cdf + sd * pdf;
      EXPECT_NEAR(gp::log_expected_improvement(mean, sd, best), std::log(ei), 1e-10)
          << "mean " << mean << " sd " << sd;
    }
}

TEST(GpAcquisition, LogHStaysFiniteAndAccurateFarInTheTail) {
  // Asymptotically h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6 + ...) for z -> -inf.
  for (double z : {-40.0, -300.0, 1e5 * -1.0}) {
    const double inverse = 1.0 / (z * z);
    const double expected = -0.5 * z * z - 0.5 * std::log(2 * std::numbers::pi) - std::log(z * z) +
                            std::log1p(-3 * inverse + 15 * inverse * inverse - 105 * inverse * inverse * inverse);
    EXPECT_NEAR(gp::log_h(z), expected, 1e-9 * std::abs(expected)) << "z = " << z;
  }
  EXPECT_TRUE(std::isfinite(gp::log_h(-1e10)));
  EXPECT_TRUE(std::isfinite(gp::log_expected_improvement(1e6, 1e-3, 0.0)));
  // Continuous and increasing across the branch points at z = -1 and z = -1/sqrt(eps).
  double previous = -std::numeric_limits<double>::infinity();
  for (double z = -12.0; z < 4.0; z += 0.01) {
    const double v = gp::log_h(z);
    EXPECT_GT(v, previous);
    previous = v;
  }
  EXPECT_NEAR(gp::log_h(-1.0 - 1e-12), gp::log_h(-1.0 + 1e-12), 1e-9);
  // The derivative Phi/h against central differences, in the body and in the tail.
  for (double z : {-30.0, -5.0, -1.0, -0.3, 0.0, 0.7, 3.0}) {
    const double h = 1e-6;
    const double numeric = (gp::log_h(z + h) - gp::log_h(z - h)) / (2 * h);
    EXPECT_NEAR(gp::log_h_derivative(z), numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << "z = " << z;
  }
}

TEST(GpBoxMinimizer, FindsInteriorAndBoundMinima) {
  // Rosenbrock inside a box that contains its minimum (1, 1).
  const gp::ObjectiveWithGradient rosenbrock = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    const double a = x[1] - x[0] * x[0], b = 1 - x[0];
    g.resize(2);
    g[0] = -400 * a * x[0] - 2 * b;
    g[1] = 200 * a;
    return 100 * a * a + b * b;
  };
  gp::BoxMinimizerOptions options;
  options.max_iterations = 500;
  options.projected_gradient_tol = 1e-9;
  options.relative_value_tol = 0;
  auto result = gp::minimize_in_box(rosenbrock, Eigen::Vector2d(-1.2, 1.0), Eigen::Vector2d(-2, -2),
                                    Eigen::Vector2d(2, 2), options);
  EXPECT_NEAR(result.x[0], 1.0, 1e-4);
  EXPECT_NEAR(result.x[1], 1.0, 1e-4);
  // A bowl centred outside the box: the minimum is on the boundary, at (1, 0.3).
  Eigen::VectorXd centre(2);
  centre << 2.0, 0.3;
  const gp::ObjectiveWithGradient bowl = [&centre](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g = 2 * (x - centre);
    return (x - centre).squaredNorm();
  };
  result = gp::minimize_in_box(bowl, Eigen::Vector2d(0.1, 0.9), Eigen::Vector2d(0, 0), Eigen::Vector2d(1, 1), options);
  EXPECT_NEAR(result.x[0], 1.0, 1e-9);
  EXPECT_NEAR(result.x[1], 0.3, 1e-6);
}

TEST(GpBoxMinimizer, HoldsFixedCoordinatesAndBacksOffFromNonFiniteValues) {
  // A bowl at (0.7, 0.2, 0.4) with the middle coordinate pinned at 0.9 (lower == upper, as the
  // acquisition refinement pins swept coordinates): the others still reach the bowl's centre.
  Eigen::VectorXd centre(3);
  centre << 0.7, 0.2, 0.4;
  int calls = 0;
  const gp::ObjectiveWithGradient bowl = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    ++calls;
    g = 2 * (x - centre);
    return (x - centre).squaredNorm();
  };
  auto result = gp::minimize_in_box(bowl, Eigen::Vector3d(0.1, 0.9, 0.9), Eigen::Vector3d(0, 0.9, 0),
                                    Eigen::Vector3d(1, 0.9, 1));
  EXPECT_EQ(result.x[1], 0.9);
  EXPECT_NEAR(result.x[0], 0.7, 1e-6);
  EXPECT_NEAR(result.x[2], 0.4, 1e-6);
  EXPECT_NEAR(result.value, 0.49, 1e-10);
  EXPECT_EQ(result.evaluations, calls);

  // Undefined (NaN) past x = 0.5 while the bowl's centre is at 0.7: the search backs off from the
  // NaNs and ends at a finite point near the best reachable one, (0.5, 0.2, 0.4) with value 0.04
  // (from 0.61 at the start).
  const gp::ObjectiveWithGradient cliff = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g = 2 * (x - centre);
    return x[0] > 0.5 ? std::numeric_limits<double>::quiet_NaN() : (x - centre).squaredNorm();
  };
  result = gp::minimize_in_box(cliff, Eigen::Vector3d(0.1, 0.2, 0.9), Eigen::Vector3d(0, 0, 0),
                               Eigen::Vector3d(1, 1, 1));
  EXPECT_TRUE(std::isfinite(result.value));
  EXPECT_LE(result.x[0], 0.5);
  EXPECT_GT(result.x[0], 0.45);
  EXPECT_LT(result.value, 0.1);
  Eigen::VectorXd unused(3);
  EXPECT_EQ(result.value, cliff(result.x, unused));
  // A start where the objective is not finite: nothing to improve on.
  result = gp::minimize_in_box(cliff, Eigen::Vector3d(0.8, 0.2, 0.4), Eigen::Vector3d(0, 0, 0),
                               Eigen::Vector3d(1, 1, 1));
  EXPECT_EQ(result.value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(result.evaluations, 1);
}

double best_regret(const StudyHistory& history, double optimum) {
  double best = std::numeric_limits<double>::infinity();
  for (const FrozenTrial& t : history.trials) best = std::min(best, *t.value);
  return best - optimum;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::unique_ptr<Sampler> sampler_of(const std::string& name, uint64_t seed) {
  SamplerConfig config;
  config.name = name;
  config.seed = seed;
  return name == "gp" ? make_gp_sampler(config) : make_random_sampler(config);
}

void expect_gp_beats_random(const bench::TestFunction& function, int trials, int seeds) {
  std::vector<double> gp_regrets, random_regrets;
  for (int seed = 0; seed < seeds; ++seed)
    for (const std::string name : {"gp", "random"}) {
      auto sampler = sampler_of(name, static_cast<uint64_t>(seed));
      const StudyHistory history = optimize(*sampler, function.space(), function, trials);
      (name == "gp" ? gp_regrets : random_regrets).push_back(best_regret(history, function.optimum));
    }
  EXPECT_LT(median(gp_regrets), 0.25 * median(random_regrets)) << function.name;
}

TEST(GpSampler, BeatsRandomOnBraninAndA5dQuadratic) {
  expect_gp_beats_random(bench::test_function("branin"), 40, 5);
  expect_gp_beats_random(bench::quadratic(5), 40, 5);
}

SearchSpace mixed_space() {
  return {{"lr", Distribution::float_range(1e-4, 1e-1, true)},
          {"layers", Distribution::int_range(1, 8)},
          {"even", Distribution::int_range(0, 10, false, 2)},
          {"units", Distribution::int_range(1, 1000, true)},
          {"dropout", Distribution::float_range(0.0, 0.5, false, 0.125)},
          {"optimizer", Distribution::categorical({"sgd", "adam", "rmsprop"})}};
}

double mixed_objective(const std::map<std::string, double>& p) {
  const double lr = std::log10(p.at("lr")) + 2.5;
  return lr * lr + std::abs(p.at("layers") - 3) + 0.1 * std::abs(p.at("even") - 6) +
         std::pow(std::log(p.at("units") / 64), 2) + p.at("dropout") + (p.at("optimizer") == 1 ? 0.0 : 2.0);
}

TEST(GpSampler, ProposalsAreValidForIntLogStepAndCategorical) {
  auto sampler = sampler_of("gp", 7);
  const SearchSpace space = mixed_space();
  const StudyHistory history = optimize(*sampler, space, mixed_objective, 30);
  ASSERT_EQ(history.trials.size(), 30u);
  for (const FrozenTrial& t : history.trials)
    for (const auto& [name, distribution] : space) {
      const double v = t.params.at(name);
      EXPECT_TRUE(distribution.contains(v)) << name << " = " << v << " in trial " << t.number;
      EXPECT_EQ(distribution.snap(v), v) << name;
    }
  // The model picks up the categorical effect: most model-based proposals choose "adam".
  int adam = 0;
  for (size_t i = 15; i < history.trials.size(); ++i) adam += history.trials[i].params.at("optimizer") == 1;
  EXPECT_GE(adam, 10);
  EXPECT_LT(best_regret(history, 0.0), 1.5);
}

TEST(GpSampler, IsDeterministicForASeed) {
  const bench::TestFunction branin = bench::test_function("branin");
  auto first = sampler_of("gp", 11), second = sampler_of("gp", 11), other = sampler_of("gp", 12);
  const StudyHistory a = optimize(*first, branin.space(), branin, 15);
  const StudyHistory b = optimize(*second, branin.space(), branin, 15);
  const StudyHistory c = optimize(*other, branin.space(), branin, 15);
  for (size_t i = 0; i < a.trials.size(); ++i) EXPECT_EQ(a.trials[i].params, b.trials[i].params) << "trial " << i;
  EXPECT_NE(a.trials.back().params, c.trials.back().params);
}

TEST(GpSampler, RunningTrialsPushParallelProposalsApart) {
  const bench::TestFunction function = bench::quadratic(3);
  auto sampler = sampler_of("gp", 3);
  const StudyHistory history = optimize_parallel(*sampler, function.space(), function, 30, 4);
  // Every proposal is made while three others run: no two may coincide.
  std::set<std::map<std::string, double>> distinct;
  for (const FrozenTrial& t : history.trials) distinct.insert(t.params);
  EXPECT_EQ(distinct.size(), history.trials.size());
  EXPECT_LT(best_regret(history, 0.0), 1.0);
}

TEST(GpSampler, RelativeSpaceIsTheIntersectionWithoutSingleValues) {
  auto sampler = sampler_of("gp", 0);
  StudyHistory history;
  auto add = [&](TrialState state, std::map<std::string, Distribution> distributions) {
    FrozenTrial t;
    t.number = static_cast<int64_t>(history.trials.size());
    t.state = state;
    t.distributions = distributions;
    for (const auto& [name, d] : distributions) t.params[name] = d.low;
    t.value = 1.0;
    history.trials.push_back(t);
  };
  const Distribution x = Distribution::float_range(0, 1), y = Distribution::int_range(1, 4);
  add(TrialState::Complete, {{"x", x}, {"y", y}, {"z", x}, {"fixed", Distribution::int_range(2, 2)}});
  add(TrialState::Complete, {{"x", x}, {"y", y}, {"fixed", Distribution::int_range(2, 2)}});
  add(TrialState::Complete, {{"x", x}, {"y", Distribution::int_range(1, 5)}});
  add(TrialState::Failed, {{"w", x}});
  const SearchSpace space = sampler->infer_relative_search_space(history, history.trials.back());
  ASSERT_EQ(space.size(), 1u);
  EXPECT_EQ(space.begin()->first, "x");
}

}  // namespace
}  // namespace nntune::tune
