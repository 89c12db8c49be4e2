#include "tune/gp/gaussian_process.hpp"

#include <cmath>
#include <limits>
#include <numbers>

#include "nntune/error.hpp"
#include "tune/gp/box_minimizer.hpp"

namespace nntune::tune::gp {
namespace {

const double kSqrt5 = std::sqrt(5.0);

double category_difference(double a, double b) { return std::abs(a - b) > 0.5 ? 1.0 : 0.0; }

// Factorises `matrix` (symmetric positive definite in exact arithmetic), adding growing jitter to
// the diagonal when rounding makes it fail. Returns false when even large jitter fails.
bool factorise_with_jitter(Eigen::MatrixXd matrix, Eigen::LLT<Eigen::MatrixXd>& cholesky) {
  cholesky.compute(matrix);
  if (cholesky.info() == Eigen::Success) return true;
  const double scale = std::max(1e-12, matrix.diagonal().mean());
  for (double jitter = 1e-9; jitter <= 1e-3; jitter *= 10) {
    matrix.diagonal().array() += jitter * scale;
    cholesky.compute(matrix);
    if (cholesky.info() == Eigen::Success) return true;
  }
  return false;
}

}  // namespace

KernelParams KernelParams::defaults(Eigen::Index dims, double lengthscale) {
  KernelParams p;
  p.log_lengthscales = Eigen::VectorXd::Constant(dims, std::log(lengthscale));
  return p;
}

Eigen::VectorXd KernelParams::pack() const {
  Eigen::VectorXd packed(log_lengthscales.size() + 2);
  packed.head(log_lengthscales.size()) = log_lengthscales;
  packed[log_lengthscales.size()] = log_signal_variance;
  packed[log_lengthscales.size() + 1] = log_noise_variance;
  return packed;
}

KernelParams KernelParams::unpack(const Eigen::VectorXd& packed) {
  KernelParams p;
  const Eigen::Index dims = packed.size() - 2;
  p.log_lengthscales = packed.head(dims);
  p.log_signal_variance = packed[dims];
  p.log_noise_variance = packed[dims + 1];
  return p;
}

double matern52(double r2) {
  const double r = std::sqrt(r2);
  return (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2) * std::exp(-kSqrt5 * r);
}

double matern52_derivative(double r2) {
  const double r = std::sqrt(r2);
  return -(5.0 / 6.0) * (1.0 + kSqrt5 * r) * std::exp(-kSqrt5 * r);
}

Eigen::MatrixXd scaled_squared_distances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                         const std::vector<bool>& categorical, const Eigen::VectorXd& log_lengthscales) {
  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(a.rows(), b.rows());
  for (Eigen::Index k = 0; k < a.cols(); ++k) {
    const double weight = std::exp(-2.0 * log_lengthscales[k]);
    for (Eigen::Index j = 0; j < b.rows(); ++j) {
      const double bj = b(j, k);
      if (categorical[k]) {
        for (Eigen::Index i = 0; i < a.rows(); ++i) r2(i, j) += weight * category_difference(a(i, k), bj);
      } else {
        for (Eigen::Index i = 0; i < a.rows(); ++i) {
          const double d = a(i, k) - bj;
          r2(i, j) += weight * d * d;
        }
      }
    }
  }
  return r2;
}

Eigen::MatrixXd kernel_matrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const std::vector<bool>& categorical,
                              const KernelParams& params) {
  const double signal = std::exp(params.log_signal_variance);
  return scaled_squared_distances(a, b, categorical, params.log_lengthscales).unaryExpr([signal](double r2) {
    return signal * matern52(r2);
  });
}

MarginalLikelihood::MarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                       std::vector<bool> categorical)
    : y_(y) {
  const Eigen::Index n = x.rows();
  squared_differences_.reserve(static_cast<size_t>(x.cols()));
  for (Eigen::Index k = 0; k < x.cols(); ++k) {
    Eigen::MatrixXd d2(n, n);
    for (Eigen::Index j = 0; j < n; ++j)
      for (Eigen::Index i = 0; i < n; ++i) {
        const double d = x(i, k) - x(j, k);
        d2(i, j) = categorical[k] ? category_difference(x(i, k), x(j, k)) : d * d;
      }
    squared_differences_.push_back(std::move(d2));
  }
}

double MarginalLikelihood::negative_log_likelihood(const Eigen::VectorXd& packed, Eigen::VectorXd* gradient) const {
  const Eigen::Index n = y_.size();
  const Eigen::Index dims = static_cast<Eigen::Index>(squared_differences_.size());
  const KernelParams params = KernelParams::unpack(packed);
  const double signal = std::exp(params.log_signal_variance);
  const double noise = std::exp(params.log_noise_variance);

  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index k = 0; k < dims; ++k) r2 += std::exp(-2.0 * params.log_lengthscales[k]) * squared_differences_[k];
  Eigen::MatrixXd signal_part = r2.unaryExpr([signal](double v) { return signal * matern52(v); });
  Eigen::MatrixXd covariance = signal_part;
  covariance.diagonal().array() += noise;
  Eigen::LLT<Eigen::MatrixXd> cholesky(covariance);
  if (cholesky.info() != Eigen::Success) return std::numeric_limits<double>::infinity();

  const Eigen::VectorXd alpha = cholesky.solve(y_);
  const double log_det = 2.0 * cholesky.matrixLLT().diagonal().array().log().sum();
  const double value =
      0.5 * y_.dot(alpha) + 0.5 * log_det + 0.5 * static_cast<double>(n) * std::log(2.0 * std::numbers::pi);
  if (!gradient) return value;

  // d(-log L)/d theta = 0.5 tr(W dK/dtheta) with W = K^-1 - alpha alpha^T.
  Eigen::MatrixXd w = cholesky.solve(Eigen::MatrixXd::Identity(n, n));
  w.noalias() -= alpha * alpha.transpose();
  gradient->resize(dims + 2);
  const Eigen::MatrixXd w_times_slope =
      w.cwiseProduct(r2.unaryExpr([signal](double v) { return signal * matern52_derivative(v); }));
  for (Eigen::Index k = 0; k < dims; ++k) {
    // dK/dlog l_k = s k'(r2) * (-2 w_k D_k^2)
    const double weight = std::exp(-2.0 * params.log_lengthscales[k]);
    (*gradient)[k] = -weight * w_times_slope.cwiseProduct(squared_differences_[k]).sum();
  }
  (*gradient)[dims] = 0.5 * w.cwiseProduct(signal_part).sum();
  (*gradient)[dims + 1] = 0.5 * noise * w.trace();
  return value;
}

double MarginalLikelihood::negative_log_posterior(const Eigen::VectorXd& packed, Eigen::VectorXd* gradient,
                                                  const HyperPrior& prior) const {
  double value = negative_log_likelihood(packed, gradient);
  if (!std::isfinite(value)) return value;
  const Eigen::Index dims = packed.size() - 2;
  auto add_normal = [&](Eigen::Index i, double mean, double sd) {
    const double z = (packed[i] - mean) / sd;
    value += 0.5 * z * z;
    if (gradient) (*gradient)[i] += z / sd;
  };
  for (Eigen::Index k = 0; k < dims; ++k) add_normal(k, prior.log_lengthscale_mean, prior.log_lengthscale_sd);
  add_normal(dims, prior.log_signal_mean, prior.log_signal_sd);
  add_normal(dims + 1, prior.log_noise_mean, prior.log_noise_sd);
  return value;
}

KernelParams fit_kernel_params(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const std::vector<bool>& categorical,
                               const std::vector<KernelParams>& starts, const FitOptions& options,
                               double* negative_log_posterior) {
  const Eigen::Index dims = x.cols();
  const HyperPrior& prior = options.prior;
  Eigen::VectorXd lower(dims + 2), upper(dims + 2);
  lower.head(dims).setConstant(prior.min_log_lengthscale);
  upper.head(dims).setConstant(prior.max_log_lengthscale);
  lower[dims] = prior.min_log_signal;
  upper[dims] = prior.max_log_signal;
  lower[dims + 1] = prior.min_log_noise;
  upper[dims + 1] = prior.max_log_noise;

  const MarginalLikelihood likelihood(x, y, categorical);
  const ObjectiveWithGradient objective = [&](const Eigen::VectorXd& packed, Eigen::VectorXd& gradient) {
    return likelihood.negative_log_posterior(packed, &gradient, prior);
  };
  BoxMinimizerOptions minimizer;
  minimizer.max_iterations = options.max_iterations;
  minimizer.projected_gradient_tol = 1e-3;
  minimizer.relative_value_tol = 1e-8;

  KernelParams best = starts.empty() ? KernelParams::defaults(dims, 0.5) : starts.front();
  double best_value = std::numeric_limits<double>::infinity();
  for (const KernelParams& start : starts) {
    const BoxMinimizerResult result = minimize_in_box(objective, start.pack(), lower, upper, minimizer);
    if (result.value < best_value) {
      best_value = result.value;
      best = KernelParams::unpack(result.x);
    }
  }
  if (negative_log_posterior) *negative_log_posterior = best_value;
  return best;
}

GaussianProcess::GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<bool> categorical,
                                 KernelParams params)
    : x_(std::move(x)), y_(std::move(y)), categorical_(std::move(categorical)), params_(std::move(params)) {
  inverse_squared_lengthscales_ = (-2.0 * params_.log_lengthscales.array()).exp().matrix();
  Eigen::MatrixXd covariance = kernel_matrix(x_, x_, categorical_, params_);
  covariance.diagonal().array() += std::exp(params_.log_noise_variance);
  if (!factorise_with_jitter(std::move(covariance), cholesky_))
    throw Error("GP sampler: the kernel matrix could not be factorised even with jitter (duplicate points with "
                "non-finite values?); report this with the study's trials");
  alpha_ = cholesky_.solve(y_);
}

void GaussianProcess::predict(const Eigen::MatrixXd& points, Eigen::VectorXd& mean, Eigen::VectorXd& variance) const {
  const Eigen::MatrixXd cross = kernel_matrix(points, x_, categorical_, params_);  // m x n
  mean = cross * alpha_;
  const Eigen::MatrixXd half = cholesky_.matrixL().solve(cross.transpose());  // n x m
  const double signal = std::exp(params_.log_signal_variance);
  variance = (signal - half.colwise().squaredNorm().transpose().array()).max(0.0).matrix();
}

void GaussianProcess::predict_with_gradient(const Eigen::VectorXd& point, double& mean, double& variance,
                                            Eigen::VectorXd& mean_gradient, Eigen::VectorXd& variance_gradient) const {
  const Eigen::Index n = x_.rows(), dims = x_.cols();
  const double signal = std::exp(params_.log_signal_variance);
  Eigen::VectorXd cross(n), slope(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    double r2 = 0;
    for (Eigen::Index k = 0; k < dims; ++k) {
      const double d = categorical_[k] ? category_difference(point[k], x_(i, k)) : point[k] - x_(i, k);
      r2 += inverse_squared_lengthscales_[k] * d * d;
    }
    cross[i] = signal * matern52(r2);
    slope[i] = signal * matern52_derivative(r2);
  }
  // d cross_i / d x_k = slope_i * 2 w_k (x_k - X_ik) for numeric k.
  Eigen::MatrixXd cross_gradient(n, dims);
  for (Eigen::Index k = 0; k < dims; ++k) {
    if (categorical_[k]) {
      cross_gradient.col(k).setZero();
      continue;
    }
    cross_gradient.col(k) =
        (2.0 * inverse_squared_lengthscales_[k]) * slope.cwiseProduct((point[k] - x_.col(k).array()).matrix());
  }
  mean = cross.dot(alpha_);
  mean_gradient = cross_gradient.transpose() * alpha_;
  const Eigen::VectorXd solved = cholesky_.solve(cross);
  variance = signal - cross.dot(solved);
  variance_gradient = -2.0 * (cross_gradient.transpose() * solved);
  if (variance < 0) {
    variance = 0;
    variance_gradient.setZero();
  }
}

}  // namespace nntune::tune::gp
