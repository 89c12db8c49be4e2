#include "tune/gp/box_minimizer.hpp"

#include <LBFGSB.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace nntune::tune::gp {
namespace {

// Thrown through LBFGS++ (its More-Thuente line search would interpolate with a non-finite
// value): the search restarts from the best point with a shorter longest step.
struct NonFiniteValue {};
// Thrown through LBFGS++ when the evaluation budget is spent.
struct BudgetSpent {};

}  // namespace

BoxMinimizerResult minimize_in_box(const ObjectiveWithGradient& objective, const Eigen::VectorXd& x0,
                                   const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                   const BoxMinimizerOptions& options) {
  const Eigen::Index n = x0.size();
  BoxMinimizerResult result;
  result.x = x0.cwiseMax(lower).cwiseMin(upper);
  Eigen::VectorXd full_gradient(n);
  result.value = objective(result.x, full_gradient);
  result.evaluations = 1;
  if (!std::isfinite(result.value)) {
    result.value = std::numeric_limits<double>::infinity();
    return result;
  }
  // LBFGS++ sees only the free coordinates; those with lower == upper stay where they are.
  std::vector<Eigen::Index> free;
  for (Eigen::Index i = 0; i < n; ++i)
    if (lower[i] < upper[i]) free.push_back(i);
  const Eigen::Index m = static_cast<Eigen::Index>(free.size());
  if (m == 0 || options.max_iterations <= 0) return result;
  Eigen::VectorXd z(m), z_lower(m), z_upper(m);
  auto reduce = [&](const Eigen::VectorXd& full_vector) {
    Eigen::VectorXd reduced(m);
    for (Eigen::Index k = 0; k < m; ++k) reduced[k] = full_vector[free[k]];
    return reduced;
  };
  z_lower = reduce(lower);
  z_upper = reduce(upper);

  // The best point so far (reduced coordinates, value, gradient): LBFGS++ starts each run by
  // evaluating its start, which is this point, so that call is answered from here.
  Eigen::VectorXd best_z = reduce(result.x), best_gradient = reduce(full_gradient);
  Eigen::VectorXd failed_z(m);
  bool first_call = true;
  // Evaluations allowed in all: one LBFGS++ run needs at most 1 + 21 per iteration (its line
  // search tries up to 20 steps), so only restarts can reach this.
  const int budget = 1 + 30 * options.max_iterations;
  Eigen::VectorXd full = result.x;
  auto reduced_objective = [&](const Eigen::VectorXd& point, Eigen::VectorXd& gradient) -> double {
    if (first_call && point == best_z) {
      first_call = false;
      gradient = best_gradient;
      return result.value;
    }
    first_call = false;
    if (result.evaluations >= budget) throw BudgetSpent{};
    // Clamped: a step to a bound can overshoot it by rounding.
    for (Eigen::Index k = 0; k < m; ++k) full[free[k]] = std::clamp(point[k], z_lower[k], z_upper[k]);
    const double value = objective(full, full_gradient);
    ++result.evaluations;
    if (!std::isfinite(value)) {
      failed_z = point;
      throw NonFiniteValue{};
    }
    gradient = reduce(full_gradient);
    if (value < result.value) {
      result.value = value;
      result.x = full;
      best_z = reduce(full);
      best_gradient = gradient;
    }
    return value;
  };

  LBFGSpp::LBFGSBParam<double> param;
  param.m = options.memory;
  param.epsilon = options.projected_gradient_tol;
  param.epsilon_rel = 0;
  param.past = options.relative_value_tol > 0 ? 1 : 0;
  param.delta = options.relative_value_tol;
  param.max_iterations = options.max_iterations;
  for (;;) {
    LBFGSpp::LBFGSBSolver<double> solver(param);
    z = best_z;
    first_call = true;
    double value = result.value;
    const double run_start = result.value;
    try {
      result.iterations += solver.minimize(reduced_objective, z, value, z_lower, z_upper);
      break;
    } catch (const NonFiniteValue&) {
      // Backtrack: LBFGS++'s first step from a fresh start is along a unit vector, so capping
      // the step at half the distance to the failed point keeps the next run short of it.
      param.max_step = 0.5 * (failed_z - best_z).norm();
      if (!(param.max_step > 1e-12)) break;
    } catch (const BudgetSpent&) {
      break;
    } catch (const std::exception&) {
      // LBFGS++ 0.1's line search gives up now and then (too many trials, a vanishing step, no
      // decrease along its direction), often far from a minimum: start again from the best point
      // with a fresh memory (as plain L-BFGS falls back to steepest descent) while that helps.
      if (!(result.value < run_start - options.relative_value_tol * (1.0 + std::abs(run_start)))) break;
    }
  }
  return result;
}

}  // namespace nntune::tune::gp
