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
// Outputs: the losses are modelled either as they are or log-warped; every few proposals both
// are fitted and the one with the higher marginal likelihood of the original losses (Jacobian
// included) is kept. Smooth bowls (branin, hartmann6) prefer no warp; rosenbrock's six orders of
// magnitude prefer the log (regret 200 -> 5 at 100 trials).
//
// Startup: the first gp_startup_trials proposals are points of a seed-shifted Halton sequence.
// Cost: hyperparameters are fitted on at most 250 points (the best half and a stride through the
// rest) and warm-started from the last fit; the posterior uses at most 1000 points (the best
// 500 and the 500 most recent); past 300 points the acquisition search is halved.
//
// Determinism: the random stream of a proposal depends only on the seed and the trial number.
// The one piece of state is a cache of the last fitted hyperparameters, used as an extra start
// for the next fit (a warm start that only saves time; the fit also starts from the prior mode).
#include <algorithm>
#include <cmath>
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
#include "tune/search_space.hpp"
#include "tune/sampler_registry.hpp"

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

// A rank (Gaussian-copula) warp was also tried: clearly worse on all five benchmark functions
// (it discards how much better the best points are), so only these two remain.
enum class OutputWarp { None, Log };

// Lower-is-better losses -> standardised GP targets, and log |d targets / d losses| (the
// Jacobian that makes marginal likelihoods of differently warped targets comparable).
// Heavy-tailed objectives (rosenbrock spans six orders of magnitude) fit far better after a
// log warp; smooth bowls fit better without one, so the sampler tries both and keeps the warp
// whose GP explains the original losses best.
struct WarpedTargets {
  Eigen::VectorXd y;
  Eigen::VectorXd log_derivative;  // log |d y_i / d loss_i| per point
};

WarpedTargets warp_and_standardise(const std::vector<double>& losses, OutputWarp warp) {
  const Eigen::Index n = static_cast<Eigen::Index>(losses.size());
  WarpedTargets result;
  Eigen::VectorXd& y = result.y;
  y.resize(n);
  result.log_derivative = Eigen::VectorXd::Zero(n);
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
      result.log_derivative -= logged;
      y = logged;
    }
  }
  const double mean = y.mean();
  double sd = std::sqrt((y.array() - mean).square().mean());
  if (!(sd > 0)) sd = 1.0;
  y = (y.array() - mean) / sd;
  result.log_derivative.array() -= std::log(sd);
  return result;
}

struct GpSettings {
  int64_t startup_trials = 10;
  int64_t max_training_points = 1000;  // beyond this: the best half and the most recent half
  // Warps tried per proposal; the one with the highest Jacobian-corrected evidence wins.
  std::vector<OutputWarp> warps = {OutputWarp::None, OutputWarp::Log};
  int64_t large_training_set = 300;   // beyond this the acquisition search is halved
  int warm_fit_iterations = 20;       // iterations of a warm-started fit
  int64_t max_fit_points = 250;       // hyperparameters are fitted on at most this many
  int64_t full_restart_every = 5;      // other proposals warm-start the fit from the last one
  int incumbents = 5;
  gp::FitOptions fit;
  gp::AcquisitionOptions acquisition;
};

class GpSampler : public Sampler {
 public:
  explicit GpSampler(const SamplerConfig& config) : seed_(config.seed) {
    settings_.startup_trials = std::max<int64_t>(1, config.gp_startup_trials);
  }

  std::string name() const override { return "gp"; }

  SearchSpace infer_relative_search_space(const StudyHistory& history, const FrozenTrial&) override {
    return detail::intersection_search_space(history);
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

    // Hyperparameters come from at most max_fit_points of the data (O(n^3) per likelihood
    // evaluation); the posterior then uses every training point.
    const std::vector<Eigen::Index> fit_rows = fitting_subset(losses);
    Eigen::MatrixXd x_fit(static_cast<Eigen::Index>(fit_rows.size()), dims);
    for (size_t i = 0; i < fit_rows.size(); ++i) x_fit.row(static_cast<Eigen::Index>(i)) = x.row(fit_rows[i]);
    const bool restart = trial.number % settings_.full_restart_every == 0 || n <= 40;

    Eigen::VectorXd y;
    gp::KernelParams params;
    double best_evidence = -std::numeric_limits<double>::infinity();
    std::string space_key;
    for (const Coordinate& c : coordinates) space_key += c.name + '\n';
    std::vector<OutputWarp> warps = settings_.warps;
    auto chosen = last_warp_.find(space_key);
    if (!restart && chosen != last_warp_.end()) warps = {chosen->second};  // re-chosen at restarts
    for (OutputWarp warp : warps) {
      WarpedTargets targets = warp_and_standardise(losses, warp);
      Eigen::VectorXd y_fit(x_fit.rows());
      double log_jacobian = 0;
      for (size_t i = 0; i < fit_rows.size(); ++i) {
        y_fit[static_cast<Eigen::Index>(i)] = targets.y[fit_rows[i]];
        log_jacobian += targets.log_derivative[fit_rows[i]];
      }
      double negative_log_posterior = 0;
      gp::KernelParams fitted =
          fit(x_fit, y_fit, categorical, coordinates, warp, restart, rng, negative_log_posterior);
      const double evidence = -negative_log_posterior + log_jacobian;
      if (y.size() == 0 || evidence > best_evidence) {
        best_evidence = evidence;
        last_warp_[space_key] = warp;
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
    gp::AcquisitionOptions acquisition = settings_.acquisition;
    if (model.size() > settings_.large_training_set) {  // each acquisition evaluation is O(n^2) here
      acquisition.random_candidates /= 2;
      acquisition.local_candidates /= 2;
      acquisition.refined = std::max(1, acquisition.refined / 2);
      acquisition.gradient_iterations = std::max(5, acquisition.gradient_iterations / 2);
    }
    const Eigen::VectorXd best_point = gp::maximize_log_ei(model, y.minCoeff(), inputs, incumbents, rng, acquisition);

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

  // Rows used to fit hyperparameters: all when few, else the best half of max_fit_points and
  // an even stride through the rest (deterministic).
  std::vector<Eigen::Index> fitting_subset(const std::vector<double>& losses) const {
    const size_t n = losses.size(), limit = static_cast<size_t>(settings_.max_fit_points);
    std::vector<Eigen::Index> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    if (n <= limit) return rows;
    std::stable_sort(rows.begin(), rows.end(), [&](Eigen::Index a, Eigen::Index b) {
      return losses[static_cast<size_t>(a)] < losses[static_cast<size_t>(b)];
    });
    std::vector<Eigen::Index> subset(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(limit / 2));
    const size_t rest = n - limit / 2, wanted = limit - limit / 2;
    for (size_t k = 0; k < wanted; ++k) subset.push_back(rows[limit / 2 + k * rest / wanted]);
    std::sort(subset.begin(), subset.end());
    return subset;
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
                       const std::vector<Coordinate>& coordinates, OutputWarp warp, bool restart, std::mt19937_64& rng,
                       double& negative_log_posterior) {
    std::string key = std::to_string(static_cast<int>(warp)) + '\n';
    for (const Coordinate& c : coordinates) key += c.name + '\n';
    const Eigen::Index dims = x.cols();
    const gp::HyperPrior& prior = settings_.fit.prior;
    std::vector<gp::KernelParams> starts;
    auto cached = last_params_.find(key);
    if (cached != last_params_.end()) starts.push_back(cached->second);
    if (!restart && !starts.empty()) {
      gp::FitOptions warm = settings_.fit;
      warm.max_iterations = settings_.warm_fit_iterations;
      const gp::KernelParams fitted = gp::fit_kernel_params(x, y, categorical, starts, warm, &negative_log_posterior);
      last_params_[key] = fitted;
      return fitted;
    }
    gp::KernelParams mode = gp::KernelParams::defaults(dims, std::exp(prior.log_lengthscale_mean));
    mode.log_signal_variance = prior.log_signal_mean;
    mode.log_noise_variance = prior.log_noise_mean;
    starts.push_back(mode);
    {  // one draw from the prior for robustness
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
  std::map<std::string, gp::KernelParams> last_params_;
  std::map<std::string, OutputWarp> last_warp_;  // the warp chosen at the last full restart  // warm starts, keyed by the space's names
};

}  // namespace

std::unique_ptr<Sampler> make_gp_sampler(const SamplerConfig& config) { return std::make_unique<GpSampler>(config); }

}  // namespace nntune::tune

namespace nntune::tune {

const std::vector<Option<SamplerConfig>>& gp_options() {
  static const std::vector<Option<SamplerConfig>> options = {
      bind_option(&SamplerConfig::gp_startup_trials,
                  schema::opt("gp_startup_trials", schema::integer(0.0), nullptr,
                              "Sobol points before the Gaussian process starts")),
  };
  return options;
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_gp) {
  nntune::tune::declare_sampler(
      {.name = "gp", .help = "Gaussian-process Bayesian optimisation (Matern 5/2, log expected improvement)", .order = 5},
      {nntune::tune::make_gp_sampler, nntune::tune::gp_options()});
}
