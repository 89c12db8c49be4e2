// "auto": picks a sampler per trial from what the stored history shows of the study (so every
// worker picks the same), the default of tune.sampler.
//
// The Gaussian process is the better optimiser while trials are few and the space is numeric
// (docs/benchmarks.md: after 100 trials it beats Optuna's best sampler on five test functions
// where TPE is at Optuna's TPE level), but it models only the parameters every trial has, treats
// a categorical choice as a crude one-hot corner, and costs O(n^3) in the trials. So: GP while
//   - fewer than kMaxGpTrials trials are complete (its proposal cost stays in milliseconds),
//   - at most half of the common parameters are categorical, and
//   - the space is not conditional (no complete trial has a parameter outside the common set);
// TPE otherwise (conditional and categorical spaces, long studies). Both start from the same
// Sobol points, so the switch is seamless; the rule and its measurements are in docs/tuning.md.
#include <map>
#include <mutex>

#include "nntune/error.hpp"
#include "tune/sampler_registry.hpp"
#include "tune/search_space.hpp"

namespace nntune::tune {
namespace {

// Measured (docs/benchmarks.md, "The `auto` sampler's switch"): from 300 to 500 trials the GP
// kept improving (12 of 15 runs better, none worse) where TPE, taking over at 300, improved none,
// and a proposal at 500 trials costs ~0.15 CPU s. Past 500 it was not measured.
constexpr int64_t kMaxGpTrials = 500;

class AutoSampler final : public Sampler {
 public:
  explicit AutoSampler(const SamplerConfig& config) {
    SamplerConfig tpe = config, gp = config;
    tpe.name = "tpe";
    gp.name = "gp";
    tpe_ = make_sampler(tpe);
    gp_ = make_sampler(gp);
  }

  std::string name() const override { return "auto"; }

  SearchSpace infer_relative_search_space(const StudyHistory& history, const FrozenTrial& trial) override {
    return pick(history, trial).infer_relative_search_space(history, trial);
  }
  std::map<std::string, double> sample_relative(const StudyHistory& history, const FrozenTrial& trial,
                                                const SearchSpace& space) override {
    return pick(history, trial).sample_relative(history, trial, space);
  }
  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    return pick(history, trial).sample_independent(history, trial, name, distribution);
  }
  void after_trial(const StudyHistory& history, const FrozenTrial& trial) override {
    tpe_->after_trial(history, trial);
    gp_->after_trial(history, trial);
  }

  // The rule itself, on the history as stored (public to the tests through the registry's name).
  static bool prefers_gp(const StudyHistory& history) {
    int64_t complete = 0;
    for (const FrozenTrial& t : history.trials) complete += t.state == TrialState::Complete ? 1 : 0;
    if (complete >= kMaxGpTrials) return false;
    const SearchSpace common = detail::intersection_search_space(history);
    const SearchSpace all = detail::union_search_space(history);
    for (const auto& [name, d] : all)
      if (!d.single() && !common.count(name)) return false;  // conditional
    size_t categorical = 0;
    for (const auto& [name, d] : common) categorical += d.kind == DistributionKind::Categorical ? 1 : 0;
    return 2 * categorical <= common.size();
  }

 private:
  // One choice per trial, made at its first question, so its relative and independent
  // parameters come from the same sampler even if other trials finish meanwhile.
  Sampler& pick(const StudyHistory& history, const FrozenTrial& trial) {
    std::lock_guard lock(mutex_);
    auto found = choice_.find(trial.number);
    if (found == choice_.end()) {
      if (choice_.size() > 4096) choice_.erase(choice_.begin());  // old trials are done
      found = choice_.emplace(trial.number, prefers_gp(history)).first;
    }
    return found->second ? *gp_ : *tpe_;
  }

  std::unique_ptr<Sampler> tpe_, gp_;
  std::mutex mutex_;
  std::map<int64_t, bool> choice_;  // trial number -> GP (true) or TPE
};

}  // namespace
}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_auto) {
  nntune::tune::declare_sampler(
      {.name = "auto",
       .help = "gp while under 500 trials in a mostly numeric, unconditional space, else tpe (takes both one's keys)",
       .order = 6},
      {[](const nntune::tune::SamplerConfig& config) { return std::make_unique<nntune::tune::AutoSampler>(config); }, {}});
}
