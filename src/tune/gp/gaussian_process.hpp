#pragma once
// Gaussian-process regression for the GP sampler: a Matern 5/2 kernel with one length scale per
// input dimension (ARD), a signal variance and a noise variance, fitted by maximising the log
// marginal likelihood plus weak log-normal priors on the (log) hyperparameters.
//
// Inputs are rows of X. Numeric dimensions live in [0, 1] (the sampler normalises them);
// categorical dimensions hold the choice index and enter the kernel through a Hamming term:
// their contribution to the scaled distance is 1 / lengthscale^2 when the indices differ and 0
// when they agree (Optuna's GPSampler and CoCaBO-style kernels do the same), so no one-hot
// expansion is needed and the acquisition optimiser treats them as discrete coordinates.
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <vector>

namespace nntune::tune::gp {

// Hyperparameters, all in log space so that an unconstrained (boxed) optimiser can fit them.
struct KernelParams {
  Eigen::VectorXd log_lengthscales;
  double log_signal_variance = 0.0;
  double log_noise_variance = -9.2;  // about 1e-4 of the standardised output variance

  static KernelParams defaults(Eigen::Index dims, double lengthscale);
  Eigen::VectorXd pack() const;  // [log l_1..l_d, log signal, log noise]
  static KernelParams unpack(const Eigen::VectorXd& packed);
};

// Unit-variance Matern 5/2 as a function of the squared scaled distance r2, and d k / d r2
// (finite at r2 = 0, which is why the kernel is written in r2).
double matern52(double r2);
double matern52_derivative(double r2);

// Squared scaled distances between the rows of A and B.
Eigen::MatrixXd scaled_squared_distances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                         const std::vector<bool>& categorical, const Eigen::VectorXd& log_lengthscales);
// Signal variance times Matern 5/2 of those distances (no noise term).
Eigen::MatrixXd kernel_matrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const std::vector<bool>& categorical,
                              const KernelParams& params);

// Weak priors on the log hyperparameters: independent normals (log-normal on the values).
struct HyperPrior {
  double log_lengthscale_mean = -0.7;
  double log_lengthscale_sd = 1.0;
  double log_signal_mean = 0.0;
  double log_signal_sd = 1.0;
  double log_noise_mean = -9.2;
  double log_noise_sd = 2.5;
  // Box for the fit (log space); the noise floor keeps the Cholesky factor well conditioned.
  double min_log_lengthscale = -5.3, max_log_lengthscale = 4.6;  // 0.005 .. 100
  double min_log_signal = -4.6, max_log_signal = 4.6;            // 0.01 .. 100
  double min_log_noise = -13.8, max_log_noise = 0.0;             // 1e-6 .. 1
};

// Negative log marginal likelihood of y under the GP, and optionally its gradient with respect
// to KernelParams::pack(). Returns +infinity when the kernel matrix cannot be factorised.
// Precomputes per-dimension squared differences once, so repeated evaluations during a fit are
// O(n^3) for the factorisation plus O(n^2 d) for the gradient.
class MarginalLikelihood {
 public:
  MarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, std::vector<bool> categorical);
  double negative_log_likelihood(const Eigen::VectorXd& packed, Eigen::VectorXd* gradient) const;
  // Adds the prior's negative log density (and gradient).
  double negative_log_posterior(const Eigen::VectorXd& packed, Eigen::VectorXd* gradient,
                                const HyperPrior& prior) const;

 private:
  Eigen::VectorXd y_;
  std::vector<Eigen::MatrixXd> squared_differences_;  // one n x n matrix per dimension
};

struct FitOptions {
  HyperPrior prior;
  int max_iterations = 60;
};

// Maximises the log posterior of the hyperparameters from each start; returns the best and,
// in `negative_log_posterior`, its objective value (to compare models of warped outputs).
KernelParams fit_kernel_params(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const std::vector<bool>& categorical,
                               const std::vector<KernelParams>& starts, const FitOptions& options,
                               double* negative_log_posterior = nullptr);

// The posterior of the latent function given noisy observations (X, y).
class GaussianProcess {
 public:
  // Factorises K + noise I, adding jitter if the factorisation fails.
  GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<bool> categorical, KernelParams params);

  // Posterior mean and variance of f at each row of `points`.
  void predict(const Eigen::MatrixXd& points, Eigen::VectorXd& mean, Eigen::VectorXd& variance) const;
  // At one point, with gradients with respect to the numeric coordinates (0 for categorical).
  void predict_with_gradient(const Eigen::VectorXd& point, double& mean, double& variance, Eigen::VectorXd& mean_gradient,
                             Eigen::VectorXd& variance_gradient) const;

  const KernelParams& params() const { return params_; }
  const Eigen::MatrixXd& inputs() const { return x_; }
  Eigen::Index size() const { return x_.rows(); }

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  std::vector<bool> categorical_;
  KernelParams params_;
  Eigen::VectorXd inverse_squared_lengthscales_;
  Eigen::LLT<Eigen::MatrixXd> cholesky_;
  Eigen::VectorXd alpha_;  // (K + noise I)^-1 y
};

}  // namespace nntune::tune::gp
