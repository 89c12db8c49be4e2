#include "tune/gp/box_minimizer.hpp"

#include <cmath>
#include <deque>
#include <limits>

namespace nntune::tune::gp {
namespace {

// Free variables: those not pinned at a bound by a gradient that pushes outward.
Eigen::VectorXd free_mask(const Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper) {
  Eigen::VectorXd mask = Eigen::VectorXd::Ones(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if ((x[i] <= lower[i] && g[i] > 0) || (x[i] >= upper[i] && g[i] < 0) || lower[i] == upper[i]) mask[i] = 0;
  }
  return mask;
}

}  // namespace

BoxMinimizerResult minimize_in_box(const ObjectiveWithGradient& objective, const Eigen::VectorXd& x0,
                                   const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                   const BoxMinimizerOptions& options) {
  const Eigen::Index n = x0.size();
  BoxMinimizerResult result;
  Eigen::VectorXd x = x0.cwiseMax(lower).cwiseMin(upper);
  Eigen::VectorXd g(n);
  double f = objective(x, g);
  result.evaluations = 1;
  if (!std::isfinite(f)) {
    result.x = x;
    result.value = std::numeric_limits<double>::infinity();
    return result;
  }
  std::deque<Eigen::VectorXd> s_history, y_history;
  std::deque<double> rho_history;

  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    result.iterations = iteration + 1;
    const Eigen::VectorXd mask = free_mask(x, g, lower, upper);
    const Eigen::VectorXd free_gradient = g.cwiseProduct(mask);
    if (free_gradient.lpNorm<Eigen::Infinity>() < options.projected_gradient_tol) break;

    // Two-loop recursion restricted to the free variables.
    Eigen::VectorXd q = free_gradient;
    std::vector<double> alpha(s_history.size());
    for (int k = static_cast<int>(s_history.size()) - 1; k >= 0; --k) {
      alpha[k] = rho_history[k] * s_history[k].cwiseProduct(mask).dot(q);
      q -= alpha[k] * y_history[k].cwiseProduct(mask);
    }
    if (!s_history.empty()) {
      const Eigen::VectorXd& s = s_history.back();
      const Eigen::VectorXd& y = y_history.back();
      q *= s.dot(y) / y.squaredNorm();
    } else {
      q /= std::max(1.0, free_gradient.norm());  // first step: a unit-length move at most
    }
    for (size_t k = 0; k < s_history.size(); ++k) {
      const double beta = rho_history[k] * y_history[k].cwiseProduct(mask).dot(q);
      q += (alpha[k] - beta) * s_history[k].cwiseProduct(mask);
    }
    Eigen::VectorXd direction = -q.cwiseProduct(mask);
    if (direction.dot(g) >= 0) {  // not a descent direction: fall back to steepest descent
      direction = -free_gradient / std::max(1.0, free_gradient.norm());
      s_history.clear();
      y_history.clear();
      rho_history.clear();
    }

    // Backtracking (Armijo) along the projected path.
    double step = 1.0;
    Eigen::VectorXd x_new(n), g_new(n);
    double f_new = std::numeric_limits<double>::infinity();
    bool accepted = false;
    for (int trial = 0; trial < 30; ++trial) {
      x_new = (x + step * direction).cwiseMax(lower).cwiseMin(upper);
      f_new = objective(x_new, g_new);
      ++result.evaluations;
      if (std::isfinite(f_new) && f_new <= f + 1e-4 * g.dot(x_new - x)) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;

    const Eigen::VectorXd s = x_new - x, y = g_new - g;
    const double sy = s.dot(y);
    if (sy > 1e-12 * s.squaredNorm()) {
      s_history.push_back(s);
      y_history.push_back(y);
      rho_history.push_back(1.0 / sy);
      if (static_cast<int>(s_history.size()) > options.memory) {
        s_history.pop_front();
        y_history.pop_front();
        rho_history.pop_front();
      }
    }
    const double improvement = f - f_new;
    x = x_new;
    g = g_new;
    f = f_new;
    if (improvement < options.relative_value_tol * (1.0 + std::abs(f))) break;
  }
  result.x = x;
  result.value = f;
  return result;
}

}  // namespace nntune::tune::gp
