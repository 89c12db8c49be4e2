// Gaussian-process Bayesian optimisation (the "gp" sampler).
//
// Each relative proposal: take the completed trials over the joint search space, map their
// parameters into the unit cube (log dimensions through the log; integer and stepped dimensions
// padded by half a step so that every grid value owns an equal slice; categoricals keep their
// index and use a Hamming kernel term, see gp/gaussian_process.hpp), warp and standardise the
// losses, fit a Matern 5/2 ARD GP by maximum a posteriori marginal likelihood, add running
// trials as "kriging believer" observations (at the posterior mean, so their variance collapses
// and parallel workers spread out), maximise log EI, snap, and map back.
//
// Determinism: the random stream of a proposal depends only on the seed and the trial number.
// The one piece of state is a cache of the last fitted hyperparameters, used as an extra start
// for the next fit (a warm start that only saves time; the fit also starts from the prior mode).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tune/gp/acquisition.hpp"
#include "tune/gp/gaussian_process.hpp"
#include "tune/samplers.hpp"

namespace nntune::tune {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& name) {  // FNV-1a: stable across platforms and runs
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

double inverse_normal_cdf(double p) {
  // Acklam's rational approximation refined by one Newton step on erfc; |error| < 1e-12.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

// One coordinate of the joint space: internal value <-> unit-interval coordinate.
struct Coordinate {
  std::string name;
  Distribution distribution;
  bool log = false;
  double low = 0, high = 1;  // bounds of the transformed (log or not, padded) value

  static Coordinate of(const std::string& name, const Distribution& d) {
    Coordinate c{name, d};
    if (d.kind == DistributionKind::Categorical) return c;
    c.log = d.log;
    const double pad = d.step > 0 ? d.step / 2 : 0.0;
    c.low = c.transform(d.low - pad);
    c.high = c.transform(d.high + pad);
    return c;
  }
  bool categorical() const { return distribution.kind == DistributionKind::Categorical; }
  double transform(double v) const { return log ? std::log(v) : v; }
  double encode(double internal) const {
    if (categorical()) return internal;
    return std::clamp((transform(internal) - low) / (high - low), 0.0, 1.0);
  }
  double decode(double unit) const {
    if (categorical()) return distribution.snap(unit);
    const double t = low + std::clamp(unit, 0.0, 1.0) * (high - low);
    return distribution.snap(log ? std::exp(t) : t);
  }
  gp::InputDimension input_dimension() const {
    gp::InputDimension dim;
    if (categorical()) {
      dim.type = gp::InputDimension::Type::Categorical;
      dim.levels = distribution.cardinality();
      return dim;
    }
    if (distribution.step == 0) return dim;  // continuous
    dim.type = gp::InputDimension::Type::Discrete;
    dim.levels = distribution.cardinality();
    dim.snap = [self = *this](double u) { return self.encode(self.decode(u)); };
    if (dim.levels <= 16)
      for (int64_t k = 0; k < dim.levels; ++k)
        dim.values.push_back(encode(distribution.snap(distribution.low + static_cast<double>(k) * distribution.step)));
    return dim;
  }
};

enum class OutputWarp { None, Log, Rank };

// Lower-is-better losses -> standardised GP targets, and log |d targets / d losses| (the
// Jacobian that makes marginal likelihoods of differently warped targets comparable).
// Heavy-tailed objectives (rosenbrock spans six orders of magnitude) fit far better after a
// log warp; smooth bowls fit better without one, so the sampler tries both and keeps the warp
// whose GP explains the original losses best.
struct WarpedTargets {
  Eigen::VectorXd y;
  double log_jacobian = 0.0;
};

WarpedTargets warp_and_standardise(const std::vector<double>& losses, OutputWarp warp) {
  const Eigen::Index n = static_cast<Eigen::Index>(losses.size());
  WarpedTargets result;
  Eigen::VectorXd& y = result.y;
  y.resize(n);
  // Non-finite losses count as the worst finite one.
  double worst = -std::numeric_limits<double>::infinity();
  for (double v : losses)
    if (std::isfinite(v)) worst = std::max(worst, v);
  if (!std::isfinite(worst)) worst = 0;
  for (Eigen::Index i = 0; i < n; ++i) y[i] = std::isfinite(losses[static_cast<size_t>(i)]) ? losses[static_cast<size_t>(i)] : worst;

  if (warp == OutputWarp::Log) {
    std::vector<double> sorted(y.data(), y.data() + n);
    std::sort(sorted.begin(), sorted.end());
    const double lowest = sorted.front(), median = sorted[sorted.size() / 2];
    double spread = median - lowest;
    if (spread <= 0) spread = sorted.back() - lowest;
    if (spread > 0) {
      // std::log element by element: Eigen's packet log trips a GCC 12 false warning here.
      const Eigen::VectorXd logged =
          y.unaryExpr([&](double v) { return std::log(v - lowest + 1e-2 * spread); });
      result.log_jacobian -= logged.sum();
      y = logged;
    }
  } else if (warp == OutputWarp::Rank) {
    std::vector<Eigen::Index> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
    Eigen::VectorXd ranked(n);
    for (size_t r = 0; r < order.size();) {  // ties share their mean rank
      size_t end = r;
      while (end + 1 < order.size() && y[order[end + 1]] == y[order[r]]) ++end;
      const double rank = 0.5 * static_cast<double>(r + end);
      for (size_t k = r; k <= end; ++k)
        ranked[order[k]] = inverse_normal_cdf((rank + 0.5) / static_cast<double>(n));
      r = end + 1;
    }
    y = ranked;  // not differentiable: never compared by likelihood
  }
  const double mean = y.mean();
  double sd = std::sqrt((y.array() - mean).square().mean());
  if (!(sd > 0)) sd = 1.0;
  y = (y.array() - mean) / sd;
  result.log_jacobian -= static_cast<double>(n) * std::log(sd);
  return result;
}

struct GpSettings {
  int64_t startup_trials = 10;
  int64_t max_training_points = 1000;  // beyond this: the best half and the most recent half
  // Warps tried per proposal; the one with the highest Jacobian-corrected evidence wins.
  std::vector<OutputWarp> warps = {OutputWarp::None, OutputWarp::Log};
  int incumbents = 5;
  gp::FitOptions fit;
  gp::AcquisitionOptions acquisition;
};

class GpSampler : public Sampler {
 public:
  explicit GpSampler(const SamplerConfig& config) : seed_(config.seed) {
    settings_.startup_trials = std::max<int64_t>(1, config.gp_startup_trials);
    if (const char* warp = std::getenv("NNTUNE_GP_WARP")) {  // experiment hook
      const std::string w = warp;
      if (w == "none") settings_.warps = {OutputWarp::None};
      if (w == "log") settings_.warps = {OutputWarp::Log};
      if (w == "rank") settings_.warps = {OutputWarp::Rank};
    }
  }

  std::string name() const override { return "gp"; }

  SearchSpace infer_relative_search_space(const StudyHistory& history, const FrozenTrial&) override {
    SearchSpace space;
    bool first = true;
    for (const FrozenTrial& t : history.trials) {
      if (t.state != TrialState::Complete) continue;
      if (first) {
        space = t.distributions;
        first = false;
        continue;
      }
      for (auto it = space.begin(); it != space.end();) {
        auto found = t.distributions.find(it->first);
        it = found == t.distributions.end() || !(found->second == it->second) ? space.erase(it) : std::next(it);
      }
    }
    for (auto it = space.begin(); it != space.end();) it = it->second.single() ? space.erase(it) : std::next(it);
    return space;
  }

  std::map<std::string, double> sample_relative(const StudyHistory& history, const FrozenTrial& trial,
                                                const SearchSpace& space) override {
    if (space.empty()) return {};
    std::vector<Coordinate> coordinates;
    for (const auto& [name, distribution] : space) coordinates.push_back(Coordinate::of(name, distribution));
    const Eigen::Index dims = static_cast<Eigen::Index>(coordinates.size());

    std::vector<const FrozenTrial*> completed, running;
    for (const FrozenTrial& t : history.trials) {
      if (!covers(t, coordinates)) continue;
      if (t.state == TrialState::Complete && t.value) completed.push_back(&t);
      else if (t.state == TrialState::Running && t.number != trial.number) running.push_back(&t);
    }
    std::mt19937_64 rng(mix(seed_ ^ mix(static_cast<uint64_t>(trial.number) + 0x51ed)));
    if (static_cast<int64_t>(completed.size()) < settings_.startup_trials) return startup_point(coordinates, trial.number);

    std::vector<double> losses;
    for (const FrozenTrial* t : completed) losses.push_back(history.loss_of(*t));
    limit_training_set(completed, losses);
    const Eigen::Index n = static_cast<Eigen::Index>(completed.size());
    Eigen::MatrixXd x(n, dims);
    for (Eigen::Index i = 0; i < n; ++i) x.row(i) = encode(*completed[static_cast<size_t>(i)], coordinates).transpose();
    std::vector<bool> categorical;
    for (const Coordinate& c : coordinates) categorical.push_back(c.categorical());

    Eigen::VectorXd y;
    gp::KernelParams params;
    double best_evidence = -std::numeric_limits<double>::infinity();
    for (OutputWarp warp : settings_.warps) {
      WarpedTargets targets = warp_and_standardise(losses, warp);
      double negative_log_posterior = 0;
      gp::KernelParams fitted = fit(x, targets.y, categorical, coordinates, warp, rng, negative_log_posterior);
      const double evidence = -negative_log_posterior + targets.log_jacobian;
      if (y.size() == 0 || evidence > best_evidence) {
        best_evidence = evidence;
        y = std::move(targets.y);
        params = std::move(fitted);
      }
    }
    gp::GaussianProcess model(x, y, categorical, params);
    if (!running.empty()) {  // kriging believer: pending points observed at the posterior mean
      Eigen::MatrixXd pending(static_cast<Eigen::Index>(running.size()), dims);
      for (size_t i = 0; i < running.size(); ++i)
        pending.row(static_cast<Eigen::Index>(i)) = encode(*running[i], coordinates).transpose();
      Eigen::VectorXd mean, variance;
      model.predict(pending, mean, variance);
      Eigen::MatrixXd all_x(n + pending.rows(), dims);
      all_x << x, pending;
      Eigen::VectorXd all_y(n + pending.rows());
      all_y << y, mean;
      model = gp::GaussianProcess(all_x, all_y, categorical, params);
    }

    std::vector<Eigen::Index> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
    const Eigen::Index top = std::min<Eigen::Index>(settings_.incumbents, n);
    Eigen::MatrixXd incumbents(top, dims);
    for (Eigen::Index i = 0; i < top; ++i) incumbents.row(i) = x.row(order[static_cast<size_t>(i)]);

    std::vector<gp::InputDimension> inputs;
    for (const Coordinate& c : coordinates) inputs.push_back(c.input_dimension());
    const Eigen::VectorXd best_point =
        gp::maximize_log_ei(model, y.minCoeff(), inputs, incumbents, rng, settings_.acquisition);

    std::map<std::string, double> proposal;
    for (Eigen::Index k = 0; k < dims; ++k)
      proposal[coordinates[static_cast<size_t>(k)].name] = coordinates[static_cast<size_t>(k)].decode(best_point[k]);
    return proposal;
  }

  double sample_independent(const StudyHistory&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    std::mt19937_64 rng(mix(seed_ ^ mix(static_cast<uint64_t>(trial.number)) ^ hash_name(name)));
    const Coordinate c = Coordinate::of(name, distribution);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    if (c.categorical())
      return std::min(std::floor(uniform(rng) * static_cast<double>(distribution.choices.size())),
                      static_cast<double>(distribution.choices.size()) - 1);
    return c.decode(uniform(rng));
  }

 private:
  static bool covers(const FrozenTrial& t, const std::vector<Coordinate>& coordinates) {
    for (const Coordinate& c : coordinates) {
      auto p = t.params.find(c.name);
      auto d = t.distributions.find(c.name);
      if (p == t.params.end() || d == t.distributions.end() || !(d->second == c.distribution)) return false;
    }
    return true;
  }

  static Eigen::VectorXd encode(const FrozenTrial& t, const std::vector<Coordinate>& coordinates) {
    Eigen::VectorXd u(static_cast<Eigen::Index>(coordinates.size()));
    for (size_t k = 0; k < coordinates.size(); ++k)
      u[static_cast<Eigen::Index>(k)] = coordinates[k].encode(t.params.at(coordinates[k].name));
    return u;
  }

  // Startup: a Halton point indexed by trial number, shifted per seed (spread out, unlike
  // independent uniform draws, yet a pure function of seed and trial number).
  std::map<std::string, double> startup_point(const std::vector<Coordinate>& coordinates, int64_t number) const {
    static const uint64_t primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71};
    std::mt19937_64 shift_rng(mix(seed_ + 0x7a11));
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::map<std::string, double> proposal;
    for (size_t k = 0; k < coordinates.size(); ++k) {
      const double shift = uniform(shift_rng);
      double u;
      if (k < std::size(primes)) {
        u = shift;
        double fraction = 1.0 / static_cast<double>(primes[k]);
        for (uint64_t index = static_cast<uint64_t>(number) + 1; index > 0; index /= primes[k]) {
          u += static_cast<double>(index % primes[k]) * fraction;
          fraction /= static_cast<double>(primes[k]);
        }
      } else {
        std::mt19937_64 rng(mix(seed_ ^ mix(static_cast<uint64_t>(number)) ^ k));
        u = uniform(rng);
      }
      u -= std::floor(u);
      const Coordinate& c = coordinates[k];
      proposal[c.name] = c.categorical() ? std::min(std::floor(u * static_cast<double>(c.distribution.cardinality())),
                                                    static_cast<double>(c.distribution.cardinality() - 1))
                                         : c.decode(u);
    }
    return proposal;
  }

  // Keeps at most max_training_points: the best half by loss and the most recent others.
  void limit_training_set(std::vector<const FrozenTrial*>& trials, std::vector<double>& losses) const {
    const size_t limit = static_cast<size_t>(settings_.max_training_points);
    if (trials.size() <= limit) return;
    std::vector<size_t> order(trials.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const double la = std::isfinite(losses[a]) ? losses[a] : std::numeric_limits<double>::infinity();
      const double lb = std::isfinite(losses[b]) ? losses[b] : std::numeric_limits<double>::infinity();
      return la < lb;
    });
    std::vector<bool> keep(trials.size(), false);
    for (size_t i = 0; i < limit / 2; ++i) keep[order[i]] = true;
    size_t kept = limit / 2;
    for (size_t i = trials.size(); i-- > 0 && kept < limit;)
      if (!keep[i]) {
        keep[i] = true;
        ++kept;
      }
    std::vector<const FrozenTrial*> kept_trials;
    std::vector<double> kept_losses;
    for (size_t i = 0; i < trials.size(); ++i)
      if (keep[i]) {
        kept_trials.push_back(trials[i]);
        kept_losses.push_back(losses[i]);
      }
    trials.swap(kept_trials);
    losses.swap(kept_losses);
  }

  gp::KernelParams fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const std::vector<bool>& categorical,
                       const std::vector<Coordinate>& coordinates, OutputWarp warp, std::mt19937_64& rng,
                       double& negative_log_posterior) {
    std::string key = std::to_string(static_cast<int>(warp)) + '\n';
    for (const Coordinate& c : coordinates) key += c.name + '\n';
    const Eigen::Index dims = x.cols();
    const gp::HyperPrior& prior = settings_.fit.prior;
    std::vector<gp::KernelParams> starts;
    auto cached = last_params_.find(key);
    if (cached != last_params_.end()) starts.push_back(cached->second);
    gp::KernelParams mode = gp::KernelParams::defaults(dims, std::exp(prior.log_lengthscale_mean));
    mode.log_signal_variance = prior.log_signal_mean;
    mode.log_noise_variance = prior.log_noise_mean;
    starts.push_back(mode);
    if (x.rows() <= 300 || cached == last_params_.end()) {  // one draw from the prior for robustness
      std::normal_distribution<double> normal(0.0, 1.0);
      gp::KernelParams draw = mode;
      for (Eigen::Index k = 0; k < dims; ++k) draw.log_lengthscales[k] += prior.log_lengthscale_sd * normal(rng);
      starts.push_back(draw);
    }
    const gp::KernelParams fitted =
        gp::fit_kernel_params(x, y, categorical, starts, settings_.fit, &negative_log_posterior);
    last_params_[key] = fitted;
    return fitted;
  }

  uint64_t seed_;
  GpSettings settings_;
  std::map<std::string, gp::KernelParams> last_params_;  // warm starts, keyed by the space's names
};

}  // namespace

std::unique_ptr<Sampler> make_gp_sampler(const SamplerConfig& config) { return std::make_unique<GpSampler>(config); }

}  // namespace nntune::tune
