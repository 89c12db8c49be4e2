#pragma once
// Log expected improvement (Ament et al. 2023, "Unexpected Improvements to Expected
// Improvement for Bayesian Optimization") and its maximisation over a mixed box.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "tune/gp/gaussian_process.hpp"

namespace nntune::tune::gp {

// erfcx(x) = exp(x^2) erfc(x), accurate for large x where exp(x^2) would overflow.
double erfcx(double x);
// log h(z) with h(z) = phi(z) + z Phi(z), so EI = sd * h((best - mean) / sd); finite for every
// finite z (about -z^2/2 - 2 log|z| far in the tail, where the naive form underflows to -inf).
double log_h(double z);
// d log h / dz = Phi(z) / h(z), computed in log space.
double log_h_derivative(double z);
// log EI for minimisation: improvement = max(best - f, 0), f ~ N(mean, sd^2).
double log_expected_improvement(double mean, double sd, double best);

// How the acquisition optimiser treats one input coordinate (normalised space).
struct InputDimension {
  enum class Type { Continuous, Discrete, Categorical };
  Type type = Type::Continuous;
  // Discrete: nearest valid normalised value. Categorical: number of choices in `levels`.
  std::function<double(double)> snap;
  int64_t levels = 0;
  // Discrete dimensions with few values list them all, so the local search can try each one.
  std::vector<double> values;
};

struct AcquisitionOptions {
  int random_candidates = 1024;   // quasi-uniform over the box
  int local_candidates = 512;     // Gaussian perturbations of the best observed points
  int refined = 10;               // best candidates refined by local search
  int rounds = 2;                 // gradient / discrete-coordinate sweeps per refined start
  int gradient_iterations = 40;
};

// Maximises log EI of `model` (best = lowest standardised observation) and returns the point
// (discrete coordinates snapped). `incumbents` (rows) seed the local candidates.
Eigen::VectorXd maximize_log_ei(const GaussianProcess& model, double best, const std::vector<InputDimension>& dims,
                                const Eigen::MatrixXd& incumbents, std::mt19937_64& rng,
                                const AcquisitionOptions& options, double* best_log_ei = nullptr);

}  // namespace nntune::tune::gp
