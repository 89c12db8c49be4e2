#include "tune/parzen_estimator.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "tune/sampling_util.hpp"

namespace nntune::tune::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kInvSqrt2 = 0.70710678118654752440;

// Standard normal by Box-Muller from our own uniforms: the same stream gives the same numbers
// on every standard library (std::normal_distribution is implementation-defined).
double standard_normal(std::mt19937_64& rng) {
  double u1 = uniform01(rng);
  while (u1 <= 0.0) u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

// A normal(mu, sigma) draw truncated to [low, high], by rejection (the kernels' means lie in
// the range and sigma <= range, so at least about a third of the draws are accepted).
double truncated_normal(std::mt19937_64& rng, double mu, double sigma, double low, double high) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const double x = mu + sigma * standard_normal(rng);
    if (x >= low && x <= high) return x;
  }
  return std::clamp(mu, low, high);
}

// exp(x) for x <= 0 (the shifted terms of a log-sum-exp), written so the compiler can
// vectorise the loop around it; relative error below 1e-13.
inline double exp_nonpositive(double x) {
  x = std::max(x, -700.0);
  const double n = std::nearbyint(x * 1.4426950408889634074);
  const double r = (x - n * 0.693145751953125) - n * 1.42860682030941723212e-6;
  // Taylor series of exp(r) for |r| <= 0.347 (11 terms).
  double p = 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const int64_t bits = (static_cast<int64_t>(n) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// log(sum exp(values)). The reductions run in 8 independent lanes so the compiler vectorises
// them without -ffast-math (a single accumulator would force strict left-to-right order).
double log_sum_exp(const double* values, size_t n) {
  constexpr size_t kLanes = 8;
  const size_t blocked = n - n % kLanes;
  double lane_max[kLanes];
  for (size_t l = 0; l < kLanes; ++l) lane_max[l] = -kInf;
  for (size_t j = 0; j < blocked; j += kLanes)
    for (size_t l = 0; l < kLanes; ++l) lane_max[l] = values[j + l] > lane_max[l] ? values[j + l] : lane_max[l];
  double top = -kInf;
  for (size_t l = 0; l < kLanes; ++l) top = std::max(top, lane_max[l]);
  for (size_t j = blocked; j < n; ++j) top = std::max(top, values[j]);
  if (!std::isfinite(top)) return top;
  double lane_sum[kLanes] = {};
  for (size_t j = 0; j < blocked; j += kLanes)
    for (size_t l = 0; l < kLanes; ++l) lane_sum[l] += exp_nonpositive(values[j + l] - top);
  double total = 0.0;
  for (size_t l = 0; l < kLanes; ++l) total += lane_sum[l];
  for (size_t j = blocked; j < n; ++j) total += exp_nonpositive(values[j] - top);
  return top + std::log(total);
}

}  // namespace

double log_gauss_mass(double a, double b) {
  // Phi(z) = erfc(-z / sqrt 2) / 2; use the tail where the mass lies so nothing cancels.
  if (b <= 0) return std::log(0.5 * (std::erfc(-b * kInvSqrt2) - std::erfc(-a * kInvSqrt2)));
  if (a >= 0) return std::log(0.5 * (std::erfc(a * kInvSqrt2) - std::erfc(b * kInvSqrt2)));
  return std::log1p(-0.5 * (std::erfc(-a * kInvSqrt2) + std::erfc(b * kInvSqrt2)));
}

ModelDimension ModelDimension::of(const Distribution& d) {
  ModelDimension m;
  if (d.kind == DistributionKind::Categorical) {
    m.categorical = true;
    m.n_choices = static_cast<int64_t>(d.choices.size());
    return m;
  }
  m.log = d.log;
  if (d.log) {
    // Log ints: every integer owns [k - 0.5, k + 0.5] before the log (a continuous model,
    // rounded on the way back).
    const double pad = d.kind == DistributionKind::Int ? 0.5 : 0.0;
    m.low = std::log(d.low - pad);
    m.high = std::log(d.high + pad);
  } else if (d.kind == DistributionKind::Int || d.step != 0) {
    m.bin = d.step;
    m.low = d.low - 0.5 * d.step;
    m.high = d.high + 0.5 * d.step;
  } else {
    m.low = d.low;
    m.high = d.high;
  }
  return m;
}

double ModelDimension::to_model(double internal) const {
  if (categorical) return internal;
  return log ? std::log(internal) : internal;
}

double ModelDimension::to_internal(double model, const Distribution& d) const {
  if (categorical) return d.snap(model);
  return d.snap(log ? std::exp(model) : model);
}

std::vector<double> default_tpe_weights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n < 25) return w;
  const size_t ramp = n - 25;  // the oldest observations: linspace(1/n, 1, ramp)
  const double start = 1.0 / static_cast<double>(n);
  for (size_t i = 0; i < ramp; ++i)
    w[i] = ramp == 1 ? start : start + (1.0 - start) * static_cast<double>(i) / static_cast<double>(ramp - 1);
  return w;
}

ParzenEstimator::ParzenEstimator(const std::vector<ModelDimension>& dims,
                                 const std::vector<std::vector<double>>& observations,
                                 const std::vector<double>& weights, const ParzenOptions& options,
                                 const std::vector<std::vector<size_t>>* sorted_orders)
    : dims_(dims) {
  const size_t n = weights.size();
  const size_t k = n + 1;  // the prior is the last component
  weights_.assign(weights.begin(), weights.end());
  weights_.push_back(options.prior_weight);
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  log_weights_.resize(k);
  cumulative_.resize(k);
  double running = 0.0;
  for (size_t j = 0; j < k; ++j) {
    weights_[j] /= total;
    log_weights_[j] = std::log(weights_[j]);
    running += weights_[j];
    cumulative_[j] = running;
  }
  cumulative_.back() = 1.0;

  const double n_params = static_cast<double>(dims.size());
  kernels_.resize(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    const ModelDimension& dim = dims[d];
    Kernels& kern = kernels_[d];
    const std::vector<double>& obs = observations[d];
    if (dim.categorical) {
      kern.a = options.prior_weight / static_cast<double>(n + 1);
      kern.choice.resize(k);
      for (size_t j = 0; j < n; ++j) kern.choice[j] = static_cast<int64_t>(obs[j]);
      kern.choice[n] = -1;
      continue;
    }
    const double range = dim.high - dim.low;
    kern.mu.assign(obs.begin(), obs.end());
    kern.mu.push_back(0.5 * (dim.low + dim.high));
    kern.sigma.resize(k);
    if (options.multivariate) {
      const double sigma0 = 0.2 * std::pow(std::max<double>(static_cast<double>(n), 1.0), -1.0 / (n_params + 4.0));
      std::fill(kern.sigma.begin(), kern.sigma.end(), sigma0 * range);
    } else {
      // Each kernel as wide as the larger gap to its sorted neighbours (prior mean included).
      std::vector<std::pair<double, size_t>> sorted(k);
      const std::vector<size_t>* known = sorted_orders && d < sorted_orders->size() && !(*sorted_orders)[d].empty()
                                             ? &(*sorted_orders)[d] : nullptr;
      if (known) {
        // Observations come sorted: merge the prior mean in (O(n) instead of a sort).
        const double prior_mu = kern.mu[n];
        size_t r = 0;
        bool prior_placed = false;
        for (size_t j : *known) {
          if (!prior_placed && prior_mu < kern.mu[j]) {
            sorted[r++] = {prior_mu, n};
            prior_placed = true;
          }
          sorted[r++] = {kern.mu[j], j};
        }
        if (!prior_placed) sorted[r++] = {prior_mu, n};
      } else {
        for (size_t j = 0; j < k; ++j) sorted[j] = {kern.mu[j], j};
        std::sort(sorted.begin(), sorted.end());
      }
      std::vector<size_t> order(k);
      for (size_t r = 0; r < k; ++r) order[r] = sorted[r].second;
      for (size_t r = 0; r < k; ++r) {
        const double left = r == 0 ? dim.low : sorted[r - 1].first;
        const double right = r + 1 == k ? dim.high : sorted[r + 1].first;
        const double here = sorted[r].first;
        kern.sigma[order[r]] = std::max(here - left, right - here);
      }
      if (!options.endpoints && k >= 2) {
        kern.sigma[order[0]] = kern.mu[order[1]] - kern.mu[order[0]];
        kern.sigma[order[k - 1]] = kern.mu[order[k - 1]] - kern.mu[order[k - 2]];
      }
    }
    const double max_sigma = range;
    const double min_sigma = options.magic_clip ? range / std::min(100.0, 1.0 + static_cast<double>(k)) : 1e-12;
    for (double& s : kern.sigma) s = std::clamp(s, min_sigma, max_sigma);
    kern.sigma[n] = range;  // the prior
    kern.inv_sigma.resize(k);
    kern.log_accept.resize(k);
    kern.log_norm.resize(k);
    double last_sigma = -1, last_log_sigma = 0;  // most sigmas are the clip value: log it once
    for (size_t j = 0; j < k; ++j) {
      if (kern.sigma[j] != last_sigma) {
        last_sigma = kern.sigma[j];
        last_log_sigma = std::log(last_sigma);
      }
      kern.inv_sigma[j] = 1.0 / kern.sigma[j];
      const double a = (dim.low - kern.mu[j]) * kern.inv_sigma[j], b = (dim.high - kern.mu[j]) * kern.inv_sigma[j];
      // Kernels more than 9 sigma from both bounds lose under 1e-19 of their mass.
      kern.log_accept[j] = a <= -9.0 && b >= 9.0 ? 0.0 : log_gauss_mass(a, b);
      kern.log_norm[j] = (options.kernel_heights_scaled ? -last_log_sigma : 0.0) - kLogSqrt2Pi - kern.log_accept[j];
    }
  }
}

void ParzenEstimator::sample(std::mt19937_64& rng, int count, std::vector<std::vector<double>>& out) const {
  out.assign(dims_.size(), std::vector<double>(static_cast<size_t>(count)));
  for (int s = 0; s < count; ++s) {
    const double u = uniform01(rng);
    const size_t j = std::min<size_t>(
        static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin()),
        cumulative_.size() - 1);
    for (size_t d = 0; d < dims_.size(); ++d) {
      const ModelDimension& dim = dims_[d];
      const Kernels& kern = kernels_[d];
      double value;
      if (dim.categorical) {
        const double c = static_cast<double>(dim.n_choices);
        const double own = 1.0 / (1.0 + c * kern.a);  // probability mass beyond the uniform part
        const double v = uniform01(rng);
        if (kern.choice[j] >= 0 && v < own) {
          value = static_cast<double>(kern.choice[j]);
        } else {
          value = std::min(std::floor(uniform01(rng) * c), c - 1);
        }
      } else {
        value = truncated_normal(rng, kern.mu[j], kern.sigma[j], dim.low, dim.high);
        if (dim.bin > 0) {
          // Snap to the bin centre: low + bin/2 is the first valid value.
          const double first = dim.low + 0.5 * dim.bin, last = dim.high - 0.5 * dim.bin;
          value = std::clamp(first + std::round((value - first) / dim.bin) * dim.bin, first, last);
        }
      }
      out[d][static_cast<size_t>(s)] = value;
    }
  }
}

void ParzenEstimator::log_pdf(const std::vector<std::vector<double>>& samples, std::vector<double>& out) const {
  const size_t k = log_weights_.size();
  const size_t count = samples.empty() ? 0 : samples[0].size();
  out.assign(count, 0.0);
  std::vector<double> component(k);
  for (size_t s = 0; s < count; ++s) {
    std::copy(log_weights_.begin(), log_weights_.end(), component.begin());
    for (size_t d = 0; d < dims_.size(); ++d) {
      const ModelDimension& dim = dims_[d];
      const Kernels& kern = kernels_[d];
      const double x = samples[d][s];
      if (dim.categorical) {
        const double c = static_cast<double>(dim.n_choices);
        const double log_hit = std::log((1.0 + kern.a) / (1.0 + c * kern.a));
        const double log_miss = std::log(kern.a / (1.0 + c * kern.a));
        const auto choice = static_cast<int64_t>(x);
        for (size_t j = 0; j + 1 < k; ++j) component[j] += kern.choice[j] == choice ? log_hit : log_miss;
        component[k - 1] += -std::log(c);
      } else if (dim.bin > 0) {
        const double upper = std::min(x + 0.5 * dim.bin, dim.high);
        const double lower = std::max(x - 0.5 * dim.bin, dim.low);
        for (size_t j = 0; j < k; ++j)
          component[j] += log_gauss_mass((lower - kern.mu[j]) * kern.inv_sigma[j], (upper - kern.mu[j]) * kern.inv_sigma[j]) -
                          kern.log_accept[j];
      } else {
        const double* mu = kern.mu.data();
        const double* inv_sigma = kern.inv_sigma.data();
        const double* log_norm = kern.log_norm.data();
        double* c = component.data();
        for (size_t j = 0; j < k; ++j) {
          const double z = (x - mu[j]) * inv_sigma[j];
          c[j] += log_norm[j] - 0.5 * z * z;
        }
      }
    }
    out[s] = log_sum_exp(component.data(), k);
  }
}

}  // namespace nntune::tune::detail
