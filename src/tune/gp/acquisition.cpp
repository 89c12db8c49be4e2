#include "tune/gp/acquisition.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "tune/gp/box_minimizer.hpp"

namespace nntune::tune::gp {
namespace {

const double kLogSqrt2Pi = 0.5 * std::log(2.0 * std::numbers::pi);
const double kLogSqrtHalfPi = 0.5 * std::log(std::numbers::pi / 2.0);
const double kInverseSqrtEpsilon = 1.0 / std::sqrt(std::numeric_limits<double>::epsilon());
const double kMinimumSd = 1e-10;

// log(1 - exp(x)) for x < 0, accurate on both sides of -log 2.
double log1mexp(double x) { return x > -std::numbers::ln2 ? std::log(-std::expm1(x)) : std::log1p(-std::exp(x)); }

// log Phi(z), finite far into the lower tail.
double log_normal_cdf(double z) {
  if (z >= 0) return std::log1p(-0.5 * std::erfc(z / std::numbers::sqrt2));
  const double x = -z / std::numbers::sqrt2;
  return -x * x + std::log(erfcx(x)) - std::numbers::ln2;
}

}  // namespace

double erfcx(double x) {
  if (x < 26.0) return std::exp(x * x) * std::erfc(x);
  // Asymptotic series: 1/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)); error O(x^-8).
  const double inverse_x2 = 1.0 / (x * x);
  const double series = 1.0 - inverse_x2 * (0.5 - inverse_x2 * (0.75 - inverse_x2 * 1.875));
  return series / (x * std::sqrt(std::numbers::pi));
}

double log_h(double z) {
  if (z > -1.0) {
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
    return std::log(pdf + z * cdf);
  }
  if (z > -kInverseSqrtEpsilon) {
    // h(z) = phi(z) (1 - |z| sqrt(pi/2) erfcx(|z|/sqrt 2)) for z < 0.
    const double inner = std::log(erfcx(-z / std::numbers::sqrt2) * std::abs(z)) + kLogSqrtHalfPi;
    return -0.5 * z * z - kLogSqrt2Pi + log1mexp(inner);
  }
  return -0.5 * z * z - kLogSqrt2Pi - 2.0 * std::log(std::abs(z));
}

double log_h_derivative(double z) {
  if (z > 0) {  // h >= z Phi(z) > 0 and the ratio is tame
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
    return cdf / (pdf + z * cdf);
  }
  if (z < -kInverseSqrtEpsilon) return -z;  // Phi/h -> |z| (1 + O(z^-2)) in the far tail
  return std::exp(log_normal_cdf(z) - log_h(z));
}

double log_expected_improvement(double mean, double sd, double best) {
  sd = std::max(sd, kMinimumSd);
  return std::log(sd) + log_h((best - mean) / sd);
}

namespace {

// Snaps the discrete and categorical coordinates of `point` to valid values.
void snap_point(Eigen::VectorXd& point, const std::vector<InputDimension>& dims) {
  for (size_t k = 0; k < dims.size(); ++k) {
    const Eigen::Index i = static_cast<Eigen::Index>(k);
    switch (dims[k].type) {
      case InputDimension::Type::Continuous:
        point[i] = std::clamp(point[i], 0.0, 1.0);
        break;
      case InputDimension::Type::Discrete:
        point[i] = dims[k].snap(std::clamp(point[i], 0.0, 1.0));
        break;
      case InputDimension::Type::Categorical:
        point[i] = std::clamp(std::round(point[i]), 0.0, static_cast<double>(dims[k].levels - 1));
        break;
    }
  }
}

Eigen::VectorXd log_ei_of_rows(const GaussianProcess& model, const Eigen::MatrixXd& points, double best) {
  Eigen::VectorXd mean, variance;
  model.predict(points, mean, variance);
  Eigen::VectorXd values(points.rows());
  for (Eigen::Index i = 0; i < points.rows(); ++i)
    values[i] = log_expected_improvement(mean[i], std::sqrt(variance[i]), best);
  return values;
}

double log_ei_at(const GaussianProcess& model, const Eigen::VectorXd& point, double best) {
  Eigen::MatrixXd row = point.transpose();
  return log_ei_of_rows(model, row, best)[0];
}

// Negative log EI and its gradient (numeric coordinates only), for the box minimiser.
double negative_log_ei(const GaussianProcess& model, double best, const Eigen::VectorXd& point,
                       Eigen::VectorXd& gradient) {
  double mean = 0, variance = 0;
  Eigen::VectorXd mean_gradient, variance_gradient;
  model.predict_with_gradient(point, mean, variance, mean_gradient, variance_gradient);
  const double sd = std::max(std::sqrt(variance), kMinimumSd);
  const double z = (best - mean) / sd;
  const double value = std::log(sd) + log_h(z);
  // d sd = d var / (2 sd); d z = (-d mean - z d sd) / sd.
  const Eigen::VectorXd sd_gradient = variance_gradient / (2.0 * sd);
  const Eigen::VectorXd z_gradient = (-mean_gradient - z * sd_gradient) / sd;
  gradient = -(sd_gradient / sd + log_h_derivative(z) * z_gradient);
  return -value;
}

// Refines `point` in place: gradient steps on continuous and many-valued discrete coordinates
// (then snapped), and exhaustive sweeps over categorical and few-valued discrete ones.
double refine(const GaussianProcess& model, double best, const std::vector<InputDimension>& dims,
              Eigen::VectorXd& point, double value, const AcquisitionOptions& options) {
  const Eigen::Index n = point.size();
  Eigen::VectorXd lower = Eigen::VectorXd::Zero(n), upper = Eigen::VectorXd::Ones(n);
  bool any_gradient_coordinate = false, any_sweep_coordinate = false;
  for (Eigen::Index k = 0; k < n; ++k) {
    const InputDimension& dim = dims[static_cast<size_t>(k)];
    const bool swept = dim.type == InputDimension::Type::Categorical || !dim.values.empty();
    any_gradient_coordinate |= !swept;
    any_sweep_coordinate |= swept;
  }
  BoxMinimizerOptions minimizer;
  minimizer.max_iterations = options.gradient_iterations;
  minimizer.projected_gradient_tol = 1e-7;
  minimizer.relative_value_tol = 1e-9;
  const ObjectiveWithGradient objective = [&](const Eigen::VectorXd& x, Eigen::VectorXd& gradient) {
    return negative_log_ei(model, best, x, gradient);
  };

  for (int round = 0; round < options.rounds; ++round) {
    const double before = value;
    if (any_gradient_coordinate) {
      for (Eigen::Index k = 0; k < n; ++k) {
        const InputDimension& dim = dims[static_cast<size_t>(k)];
        const bool swept = dim.type == InputDimension::Type::Categorical || !dim.values.empty();
        lower[k] = swept ? point[k] : 0.0;  // swept coordinates stay fixed here
        upper[k] = swept ? point[k] : 1.0;
      }
      const BoxMinimizerResult result = minimize_in_box(objective, point, lower, upper, minimizer);
      Eigen::VectorXd candidate = result.x;
      snap_point(candidate, dims);
      const double candidate_value = log_ei_at(model, candidate, best);
      if (candidate_value > value) {
        value = candidate_value;
        point = candidate;
      }
    }
    if (any_sweep_coordinate) {
      for (Eigen::Index k = 0; k < n; ++k) {
        const InputDimension& dim = dims[static_cast<size_t>(k)];
        std::vector<double> options_here = dim.values;
        if (dim.type == InputDimension::Type::Categorical) {
          options_here.resize(static_cast<size_t>(dim.levels));
          std::iota(options_here.begin(), options_here.end(), 0.0);
        }
        if (options_here.empty()) continue;
        Eigen::MatrixXd rows(static_cast<Eigen::Index>(options_here.size()), n);
        for (size_t c = 0; c < options_here.size(); ++c) {
          rows.row(static_cast<Eigen::Index>(c)) = point.transpose();
          rows(static_cast<Eigen::Index>(c), k) = options_here[c];
        }
        const Eigen::VectorXd values = log_ei_of_rows(model, rows, best);
        Eigen::Index best_row = 0;
        values.maxCoeff(&best_row);
        if (values[best_row] > value) {
          value = values[best_row];
          point[k] = options_here[static_cast<size_t>(best_row)];
        }
      }
    }
    if (!(value > before + 1e-9)) break;
  }
  return value;
}

// Van der Corput radical inverse, for a Halton sequence (a randomly shifted one per call).
double radical_inverse(uint64_t index, uint64_t base) {
  double result = 0, fraction = 1.0 / static_cast<double>(base);
  while (index > 0) {
    result += static_cast<double>(index % base) * fraction;
    index /= base;
    fraction /= static_cast<double>(base);
  }
  return result;
}

const uint64_t kPrimes[] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
                            73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151};

}  // namespace

Eigen::VectorXd maximize_log_ei(const GaussianProcess& model, double best, const std::vector<InputDimension>& dims,
                                const Eigen::MatrixXd& incumbents, std::mt19937_64& rng,
                                const AcquisitionOptions& options, double* best_log_ei) {
  const Eigen::Index n = static_cast<Eigen::Index>(dims.size());
  const Eigen::Index local = incumbents.rows() > 0 ? options.local_candidates : 0;
  Eigen::MatrixXd candidates(options.random_candidates + local, n);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);

  // Quasi-uniform candidates: a Halton sequence with a random shift per coordinate (primes
  // beyond the table fall back to plain uniform draws).
  const uint64_t offset = rng() % 4096;
  for (Eigen::Index k = 0; k < n; ++k) {
    const double shift = uniform(rng);
    const bool halton = k < static_cast<Eigen::Index>(std::size(kPrimes));
    for (Eigen::Index i = 0; i < options.random_candidates; ++i) {
      double u = halton ? radical_inverse(static_cast<uint64_t>(i) + offset + 1, kPrimes[k]) + shift : uniform(rng);
      u -= std::floor(u);
      if (dims[static_cast<size_t>(k)].type == InputDimension::Type::Categorical)
        u = std::floor(u * static_cast<double>(dims[static_cast<size_t>(k)].levels));
      candidates(i, k) = u;
    }
  }
  // Local candidates: perturb a random incumbent on a random subset of coordinates, at a scale
  // drawn log-uniformly between 0.1% and 30% of the range (exploits near the best points).
  for (Eigen::Index i = 0; i < local; ++i) {
    const Eigen::Index row = static_cast<Eigen::Index>(rng() % static_cast<uint64_t>(incumbents.rows()));
    const double scale = std::exp(std::log(1e-3) + uniform(rng) * (std::log(0.3) - std::log(1e-3)));
    const double change_probability = std::min(1.0, std::max(2.0, 0.5 * static_cast<double>(n)) / static_cast<double>(n));
    Eigen::VectorXd point = incumbents.row(row).transpose();
    bool changed = false;
    for (Eigen::Index k = 0; k < n; ++k) {
      if (uniform(rng) >= change_probability) continue;
      changed = true;
      const InputDimension& dim = dims[static_cast<size_t>(k)];
      if (dim.type == InputDimension::Type::Categorical)
        point[k] = std::floor(uniform(rng) * static_cast<double>(dim.levels));
      else
        point[k] += scale * normal(rng);
    }
    if (!changed) point[0] += scale * normal(rng);
    candidates.row(options.random_candidates + i) = point.transpose();
  }
  for (Eigen::Index i = 0; i < candidates.rows(); ++i) {
    Eigen::VectorXd point = candidates.row(i).transpose();
    snap_point(point, dims);
    candidates.row(i) = point.transpose();
  }

  const Eigen::VectorXd scores = log_ei_of_rows(model, candidates, best);
  std::vector<Eigen::Index> order(static_cast<size_t>(candidates.rows()));
  std::iota(order.begin(), order.end(), 0);
  const size_t refined = std::min(order.size(), static_cast<size_t>(options.refined));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(refined), order.end(),
                    [&](Eigen::Index a, Eigen::Index b) { return scores[a] > scores[b]; });

  Eigen::VectorXd best_point = candidates.row(order[0]).transpose();
  double best_value = scores[order[0]];
  for (size_t r = 0; r < refined; ++r) {
    Eigen::VectorXd point = candidates.row(order[r]).transpose();
    const double value = refine(model, best, dims, point, scores[order[r]], options);
    if (value > best_value) {
      best_value = value;
      best_point = point;
    }
  }
  if (best_log_ei) *best_log_ei = best_value;
  return best_point;
}

}  // namespace nntune::tune::gp
