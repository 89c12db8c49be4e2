#pragma once
// Standard black-box test functions (minimise), the same definitions, bounds and known optima
// as ../shared/anchors/functions.py, so nntune's samplers and Optuna's are scored alike.
// Parameters are named x0, x1, ... (zero-padded past 10 dimensions would change key order;
// every function here has at most 6).
#include <cmath>
#include <functional>
#include <map>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nntune/tune/distribution.hpp"

namespace nntune::bench {

// "x<i>" (built by append: GCC 12 warns falsely on "x" + std::to_string(i) at -O3).
inline std::string param_name(size_t i) {
  std::string name = "x";
  name.append(std::to_string(i));
  return name;
}

struct TestFunction {
  std::string name;
  std::vector<std::pair<double, double>> bounds;
  std::function<double(const std::vector<double>&)> f;
  double optimum;  // known global minimum value

  // x0..x{d-1}, each a continuous float over its bounds.
  tune::SearchSpace space() const {
    tune::SearchSpace s;
    for (size_t i = 0; i < bounds.size(); ++i)
      s[param_name(i)] = tune::Distribution::float_range(bounds[i].first, bounds[i].second);
    return s;
  }
  double operator()(const std::map<std::string, double>& params) const {
    std::vector<double> x(bounds.size());
    for (size_t i = 0; i < bounds.size(); ++i) x[i] = params.at(param_name(i));
    return f(x);
  }
};

inline double branin(const std::vector<double>& x) {
  const double pi = std::numbers::pi;
  const double a = 1, b = 5.1 / (4 * pi * pi), c = 5 / pi, r = 6, s = 10, t = 1 / (8 * pi);
  const double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
  return a * u * u + s * (1 - t) * std::cos(x[0]) + s;
}

inline double hartmann6(const std::vector<double>& x) {
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  double total = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) {
      const double d = x[j] - P[i][j] * 1e-4;
      inner += A[i][j] * d * d;
    }
    total += alpha[i] * std::exp(-inner);
  }
  return -total;
}

inline double rosenbrock(const std::vector<double>& x) {
  double total = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
    total += 100 * a * a + b * b;
  }
  return total;
}

inline double styblinski(const std::vector<double>& x) {
  double total = 0;
  for (double v : x) total += v * v * v * v - 16 * v * v + 5 * v;
  return total / 2;
}

inline double ackley(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  double squares = 0, cosines = 0;
  for (double v : x) {
    squares += v * v;
    cosines += std::cos(2 * std::numbers::pi * v);
  }
  return -20 * std::exp(-0.2 * std::sqrt(squares / n)) - std::exp(cosines / n) + 20 + std::numbers::e;
}

// A plain quadratic bowl: sum (x_i - 0.5)^2 over [-5, 5]^dim (the overhead benchmark's objective).
inline TestFunction quadratic(int dim) {
  std::string name = "quadratic";
  name.append(std::to_string(dim));
  return {name,
          std::vector<std::pair<double, double>>(static_cast<size_t>(dim), {-5.0, 5.0}),
          [](const std::vector<double>& x) {
            double total = 0;
            for (double v : x) total += (v - 0.5) * (v - 0.5);
            return total;
          },
          0.0};
}

// The five functions of the quality benchmark (names as in functions.py), plus quadratic<d>.
inline TestFunction test_function(const std::string& name) {
  using Bounds = std::vector<std::pair<double, double>>;
  if (name == "branin") return {name, Bounds{{-5, 10}, {0, 15}}, branin, 0.397887};
  if (name == "hartmann6") return {name, Bounds(6, {0, 1}), hartmann6, -3.32237};
  if (name == "rosenbrock5") return {name, Bounds(5, {-5, 10}), rosenbrock, 0.0};
  if (name == "styblinski4") return {name, Bounds(4, {-5, 5}), styblinski, -39.16617 * 4};
  if (name == "ackley5") return {name, Bounds(5, {-32.768, 32.768}), ackley, 0.0};
  if (name.rfind("quadratic", 0) == 0 && name.size() > 9) return quadratic(std::stoi(name.substr(9)));
  throw std::invalid_argument("unknown test function '" + name +
                              "' (known: branin, hartmann6, rosenbrock5, styblinski4, ackley5, quadratic<dim>)");
}

inline std::vector<std::string> quality_function_names() {
  return {"branin", "hartmann6", "rosenbrock5", "styblinski4", "ackley5"};
}

}  // namespace nntune::bench
