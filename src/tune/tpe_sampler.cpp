// Tree-structured Parzen Estimator (Bergstra et al. 2011), with Optuna's published defaults as
// the starting point: 10 startup trials, 24 expected-improvement candidates,
// gamma(n) = min(ceil(n / 10), 25) "good" trials, the default weight ramp, prior weight 1,
// magic clip on, endpoints off. Independent mode models each parameter on its own;
// multivariate mode models the joint space shared by every completed trial and draws one
// candidate set for all of its parameters.
//
// Ranking of the history (as Optuna does): completed trials by loss first, then pruned trials
// by how far they got (higher last step first) and then by their last intermediate value,
// then pruned trials without any report. With the constant liar on, trials still running
// (other than the one being sampled) join the "above" group as the worst of all, so parallel
// workers spread out instead of proposing the same point. Failed trials are ignored.
//
// Departures from Optuna 3.1, each measured with bench/run_sampler_bench.sh: the startup trials
// come from the scrambled Sobol sequence instead of plain random sampling (better coverage of
// the space: lower median regret on 4 of the 5 benchmark functions over 50 seeds); the Parzen
// estimator keeps Optuna 3.1's kernel heights (see ParzenOptions::kernel_heights_scaled).
//
// Speed: a per-trial cache of rank keys and parameter columns (finished trials never change)
// keeps map lookups out of the loops, only the best gamma(n) trials are selected (no full sort),
// and the mixture log-densities are computed over flat arrays.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>

#include "nntune/error.hpp"
#include "tune/parzen_estimator.hpp"
#include "tune/samplers.hpp"
#include "tune/search_space.hpp"
#include "tune/sampling_util.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::tune {
namespace {

using detail::ModelDimension;
using detail::ParzenEstimator;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

int64_t default_gamma(int64_t n) { return std::min<int64_t>((n + 9) / 10, 25); }

// What the sampler keeps of one trial of the history.
struct CachedTrial {
  int64_t id = -1;
  int64_t number = -1;
  TrialState state = TrialState::Running;
  double start_time = 0;
  bool usable = false;  // Complete with a value, Pruned, or Running
  bool running = false;
  double rank_key = 0;  // completed -inf, pruned -last step (1 without reports), running +inf
  double rank_loss = 0;
};

class TpeSampler : public Sampler {
 public:
  explicit TpeSampler(const SamplerConfig& config) : config_(config) {
    if (config.n_ei_candidates < 1)
      throw Error("tpe n_ei_candidates must be >= 1, got " + std::to_string(config.n_ei_candidates));
    if (config.n_startup_trials < 0)
      throw Error("tpe n_startup_trials must be >= 0, got " + std::to_string(config.n_startup_trials));
    startup_ = make_sobol_sampler(config);
  }
  std::string name() const override { return config_.multivariate ? "tpe-mv" : "tpe"; }

  SearchSpace infer_relative_search_space(const StudyHistory& history, const FrozenTrial& trial) override {
    if (!config_.multivariate) return {};
    return detail::intersection_search_space(history);
  }

  std::map<std::string, double> sample_relative(const StudyHistory& history, const FrozenTrial& trial,
                                                const SearchSpace& space) override {
    if (space.empty()) return {};
    std::vector<std::string> names;
    std::vector<Distribution> dists;
    for (const auto& [name, d] : space) {
      names.push_back(name);
      dists.push_back(d);
    }
    auto rng = detail::proposal_rng(config_.seed, trial.number, "tpe/relative");
    auto proposal = propose(history, trial, names, dists, rng);
    std::map<std::string, double> out;
    if (!proposal) return out;  // still in the startup phase: sampled independently
    for (size_t d = 0; d < names.size(); ++d) out[names[d]] = (*proposal)[d];
    return out;
  }

  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    if (distribution.single()) return distribution.snap(distribution.kind == DistributionKind::Categorical ? 0 : distribution.low);
    auto rng = detail::proposal_rng(config_.seed, trial.number, "tpe/" + name);
    auto proposal = propose(history, trial, {name}, {distribution}, rng);
    if (!proposal) return startup_->sample_independent(history, trial, name, distribution);
    return (*proposal)[0];
  }

 private:
  // The TPE proposal for `names` jointly (one name: the independent mode), or nothing while
  // fewer than n_startup_trials trials are finished.
  std::optional<std::vector<double>> propose(const StudyHistory& history, const FrozenTrial& trial,
                                             const std::vector<std::string>& names,
                                             const std::vector<Distribution>& dists, std::mt19937_64& rng) {
    std::lock_guard<std::mutex> lock(mutex_);  // the cache is shared by every caller
    refresh_cache(history, names);

    // Trials that take part, in chronological order; count the finished ones.
    std::vector<size_t> members;
    members.reserve(cache_.size());
    int64_t n_finished = 0;
    for (size_t i = 0; i < cache_.size(); ++i) {
      const CachedTrial& c = cache_[i];
      if (!c.usable || c.number == trial.number) continue;
      if (c.running && !config_.constant_liar) continue;
      members.push_back(i);
      if (!c.running) ++n_finished;
    }
    if (n_finished < config_.n_startup_trials) return std::nullopt;

    // The gamma(n) best form "below"; only they need ordering (nth_element, not a full sort).
    const auto n_below = static_cast<size_t>(std::min<int64_t>(default_gamma(n_finished), static_cast<int64_t>(members.size())));
    std::vector<size_t> ranked = members;
    auto better = [&](size_t x, size_t y) {
      const CachedTrial &a = cache_[x], &b = cache_[y];
      if (a.rank_key != b.rank_key) return a.rank_key < b.rank_key;
      if (a.rank_loss != b.rank_loss) return a.rank_loss < b.rank_loss;
      return x < y;
    };
    if (n_below < ranked.size()) std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n_below), ranked.end(), better);
    std::vector<char> is_below(cache_.size(), 0);
    for (size_t r = 0; r < n_below; ++r) is_below[ranked[r]] = 1;

    // Observations in model space; trials lacking a parameter (or holding a value outside
    // today's distribution) are left out, as their ranks were taken into account already.
    const size_t n_dims = names.size();
    std::vector<ModelDimension> model(n_dims);
    std::vector<const std::vector<double>*> columns(n_dims);
    for (size_t d = 0; d < n_dims; ++d) {
      model[d] = ModelDimension::of(dists[d]);
      columns[d] = &columns_.at(names[d]).values;
    }
    std::vector<std::vector<double>> below(n_dims), above(n_dims);
    std::vector<int64_t> slot(cache_.size(), -1);  // position of trial i in its group
    for (size_t i : members) {
      bool present = true;
      for (size_t d = 0; d < n_dims && present; ++d) present = holds_valid(dists[d], (*columns[d])[i]);
      if (!present) continue;
      auto& group = is_below[i] ? below : above;
      slot[i] = static_cast<int64_t>(group[0].size());
      for (size_t d = 0; d < n_dims; ++d) group[d].push_back(model[d].to_model((*columns[d])[i]));
    }

    detail::ParzenOptions options;
    options.multivariate = config_.multivariate;
    // Univariate bandwidths need the "above" observations sorted: take the finished ones in
    // the column's maintained order (the model transform is monotone) and merge the few
    // running ones in.
    std::vector<std::vector<size_t>> above_order;
    if (!config_.multivariate && n_dims == 1) {
      const Column& column = columns_.at(names[0]);
      std::vector<size_t> order, running;
      order.reserve(above[0].size());
      for (const auto& [value, i] : column.sorted_finished)
        if (slot[i] >= 0 && !is_below[i]) order.push_back(static_cast<size_t>(slot[i]));
      for (size_t i : members)
        if (cache_[i].running && slot[i] >= 0) running.push_back(static_cast<size_t>(slot[i]));
      if (!running.empty()) {
        const auto by_value = [&](size_t x, size_t y) { return above[0][x] < above[0][y] || (above[0][x] == above[0][y] && x < y); };
        std::sort(running.begin(), running.end(), by_value);
        std::vector<size_t> merged(order.size() + running.size());
        std::merge(order.begin(), order.end(), running.begin(), running.end(), merged.begin(), by_value);
        order.swap(merged);
      }
      above_order.push_back(std::move(order));
    }
    const ParzenEstimator good(model, below, detail::default_tpe_weights(below[0].size()), options);
    const ParzenEstimator bad(model, above, detail::default_tpe_weights(above[0].size()), options,
                              above_order.empty() ? nullptr : &above_order);
    std::vector<std::vector<double>> candidates;
    good.sample(rng, static_cast<int>(config_.n_ei_candidates), candidates);
    std::vector<double> log_good, log_bad;
    good.log_pdf(candidates, log_good);
    bad.log_pdf(candidates, log_bad);
    size_t best = 0;
    double best_score = -kInf;
    for (size_t s = 0; s < log_good.size(); ++s) {
      const double score = log_good[s] - log_bad[s];
      if (score > best_score) {
        best_score = score;
        best = s;
      }
    }
    std::vector<double> out(n_dims);
    for (size_t d = 0; d < n_dims; ++d) out[d] = model[d].to_internal(candidates[d][best], dists[d]);
    return out;
  }

  // Brings the per-trial cache up to date with `history` (a finished trial's entry is reused
  // as long as it is the same trial) and makes sure every name has a column.
  void refresh_cache(const StudyHistory& history, const std::vector<std::string>& names) {
    const size_t n = history.trials.size();
    bool same_study = cache_.size() <= n;
    for (size_t i = 0; i < cache_.size() && same_study; ++i) {
      const FrozenTrial& t = history.trials[i];
      const CachedTrial& c = cache_[i];
      same_study = c.id == t.id && (!is_finished(c.state) || (c.state == t.state && c.start_time == t.start_time));
    }
    if (!same_study) {  // another history than last time: start over
      cache_.clear();
      columns_.clear();
    }
    for (const auto& name : names) {
      auto [it, fresh] = columns_.try_emplace(name);
      if (!fresh) continue;
      Column& column = it->second;
      column.values.assign(cache_.size(), kMissing);
      for (size_t i = 0; i < cache_.size(); ++i) {
        column.values[i] = param_or_missing(history.trials[i], name);
        if (is_finished(cache_[i].state)) column.add_sorted(i);
      }
    }
    const size_t old_size = cache_.size();
    cache_.resize(n);
    for (auto& [name, column] : columns_) column.values.resize(n, kMissing);
    for (size_t i = 0; i < n; ++i) {
      if (i < old_size && is_finished(cache_[i].state)) continue;  // a finished trial never changes
      const FrozenTrial& t = history.trials[i];
      cache_[i] = describe(history, t);
      for (auto& [name, column] : columns_) {
        column.values[i] = param_or_missing(t, name);
        if (is_finished(t.state)) column.add_sorted(i);
      }
    }
  }

  // The stored value fits today's distribution (a study may have changed a range).
  static bool holds_valid(const Distribution& d, double v) {
    if (std::isnan(v)) return false;
    if (d.kind == DistributionKind::Categorical) return v >= 0 && v < static_cast<double>(d.choices.size());
    return v >= d.low && v <= d.high;
  }

  static double param_or_missing(const FrozenTrial& t, const std::string& name) {
    auto found = t.params.find(name);
    return found == t.params.end() ? kMissing : found->second;
  }

  static CachedTrial describe(const StudyHistory& history, const FrozenTrial& t) {
    CachedTrial c;
    c.id = t.id;
    c.number = t.number;
    c.state = t.state;
    c.start_time = t.start_time;
    switch (t.state) {
      case TrialState::Complete:
        c.usable = t.value.has_value();
        c.rank_key = -kInf;
        if (c.usable) {
          const double loss = history.loss_of(t);
          c.rank_loss = std::isnan(loss) ? kInf : loss;
        }
        break;
      case TrialState::Pruned:
        c.usable = true;
        if (t.intermediate.empty()) {
          c.rank_key = 1;
          c.rank_loss = 0;
        } else {
          const auto& [step, value] = *t.intermediate.rbegin();
          c.rank_key = -static_cast<double>(step);
          const double loss = history.direction == Direction::Minimize ? value : -value;
          c.rank_loss = std::isnan(loss) ? kInf : loss;
        }
        break;
      case TrialState::Running:
        c.usable = true;
        c.running = true;
        c.rank_key = kInf;
        c.rank_loss = kInf;
        break;
      case TrialState::Waiting:
      case TrialState::Failed:
        break;
    }
    return c;
  }

  SamplerConfig config_;
  std::unique_ptr<Sampler> startup_;  // proposals before n_startup_trials are finished
  std::mutex mutex_;
  // One parameter's values per trial (NaN: absent), and the finished trials holding it
  // sorted by value (kept up to date by insertion, so bandwidths need no sort per proposal).
  struct Column {
    std::vector<double> values;
    std::vector<std::pair<double, size_t>> sorted_finished;
    void add_sorted(size_t i) {
      if (std::isnan(values[i])) return;
      const std::pair<double, size_t> entry{values[i], i};
      sorted_finished.insert(std::lower_bound(sorted_finished.begin(), sorted_finished.end(), entry), entry);
    }
  };
  std::vector<CachedTrial> cache_;         // by position in history.trials
  std::map<std::string, Column> columns_;  // by parameter name
};

}  // namespace

std::unique_ptr<Sampler> make_tpe_sampler(const SamplerConfig& config) { return std::make_unique<TpeSampler>(config); }

}  // namespace nntune::tune

namespace nntune::tune {

const std::vector<Option<SamplerConfig>>& tpe_options() {
  using namespace schema;
  static const std::vector<Option<SamplerConfig>> options = {
      bind_option(&SamplerConfig::multivariate,
                  opt("multivariate", boolean(), nullptr, "one joint Parzen estimator over the common parameters")),
      bind_option(&SamplerConfig::n_startup_trials,
                  opt("n_startup_trials", integer(0.0), nullptr, "Sobol points before the Parzen estimators start")),
      bind_option(&SamplerConfig::n_ei_candidates,
                  opt("n_ei_candidates", integer(1.0), nullptr, "candidates drawn per proposal, best l(x)/g(x) kept")),
      bind_option(&SamplerConfig::constant_liar,
                  opt("constant_liar", boolean(), nullptr, "running trials count as bad ones (parallel workers spread out)")),
  };
  return options;
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_tpe) {
  using namespace nntune::tune;
  declare_sampler({.name = "tpe", .help = "Tree-structured Parzen Estimator (Bergstra et al. 2011, as Optuna's)", .order = 3},
                  {make_tpe_sampler, tpe_options()});
  declare_sampler({.name = "tpe-mv", .help = "tpe with multivariate: true", .order = 4},
                  {[](const SamplerConfig& config) {
                     SamplerConfig multivariate = config;
                     multivariate.multivariate = true;
                     return make_tpe_sampler(multivariate);
                   },
                   tpe_options()});
}
