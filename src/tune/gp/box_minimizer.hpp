#pragma once
// A limited-memory BFGS minimiser over a box (L-BFGS-B, from LBFGS++): the GP sampler uses it
// both to fit kernel hyperparameters (log space, with bounds) and to refine acquisition maxima
// inside the unit cube. LBFGS++ stays out of this header, so its users compile as before.
#include <Eigen/Core>
#include <functional>

namespace nntune::tune::gp {

// Returns f(x) and writes its gradient into `gradient` (same size as x).
using ObjectiveWithGradient = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

struct BoxMinimizerOptions {
  int max_iterations = 100;
  int memory = 10;                      // (s, y) pairs kept
  double projected_gradient_tol = 1e-6; // stop when max_i |P(x - g)_i - x_i| is this small (P: into the box)
  double relative_value_tol = 1e-10;    // stop when f improves by less than this (relative)
};

struct BoxMinimizerResult {
  Eigen::VectorXd x;
  double value = 0.0;
  int iterations = 0;   // LBFGS++ iterations of the runs that ended normally
  int evaluations = 0;  // objective calls, the start included
};

// Minimises `objective` from x0 (clamped into [lower, upper]); coordinates with lower == upper
// stay fixed. The result is the best point evaluated. A non-finite value makes the search back
// off (it restarts from the best point with a shorter step), so an objective may signal
// "outside the usable region" that way; a non-finite value at x0 gives value +infinity.
BoxMinimizerResult minimize_in_box(const ObjectiveWithGradient& objective, const Eigen::VectorXd& x0,
                                   const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                   const BoxMinimizerOptions& options = {});

}  // namespace nntune::tune::gp
