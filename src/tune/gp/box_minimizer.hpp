#pragma once
// A small limited-memory BFGS minimiser over a box (projected L-BFGS): the GP sampler uses it
// both to fit kernel hyperparameters (log space, with bounds) and to refine acquisition maxima
// inside the unit cube. Variables held at a bound by the gradient are frozen for the step.
#include <Eigen/Core>
#include <functional>

namespace nntune::tune::gp {

// Returns f(x) and writes its gradient into `gradient` (same size as x).
using ObjectiveWithGradient = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

struct BoxMinimizerOptions {
  int max_iterations = 100;
  int memory = 10;                      // (s, y) pairs kept
  double projected_gradient_tol = 1e-6; // stop when the largest free gradient entry is this small
  double relative_value_tol = 1e-10;    // stop when f improves by less than this (relative)
};

struct BoxMinimizerResult {
  Eigen::VectorXd x;
  double value = 0.0;
  int iterations = 0;
  int evaluations = 0;
};

// Minimises `objective` from x0 (clamped into [lower, upper]). Non-finite values are treated as
// +infinity by the line search, so an objective may signal "outside the usable region" that way.
BoxMinimizerResult minimize_in_box(const ObjectiveWithGradient& objective, const Eigen::VectorXd& x0,
                                   const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                   const BoxMinimizerOptions& options = {});

}  // namespace nntune::tune::gp
