#pragma once
// Samplers are functions of the stored history (Optuna's few sharp hooks): a relative
// (joint) proposal over the parameters seen before, and an independent proposal for any
// parameter on its own. Everything is in the internal float space (distribution.hpp).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "nntune/tune/distribution.hpp"
#include "nntune/tune/trial.hpp"

namespace nntune::tune {

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string name() const = 0;
  // The joint space to sample relatively for `trial` (empty: sample everything independently).
  virtual SearchSpace infer_relative_search_space(const StudyHistory& history, const FrozenTrial& trial) {
    return {};
  }
  virtual std::map<std::string, double> sample_relative(const StudyHistory& history, const FrozenTrial& trial,
                                                        const SearchSpace& space) {
    return {};
  }
  // One parameter on its own (define-by-run asks for parameters one at a time).
  virtual double sample_independent(const StudyHistory& history, const FrozenTrial& trial,
                                    const std::string& name, const Distribution& distribution) = 0;
  virtual void after_trial(const StudyHistory& history, const FrozenTrial& trial) {}
  // True when the sampler has nothing new left to propose (an exhausted grid: every point is
  // taken by a trial of the history, running ones included). A study checks it before asking
  // for a new trial and ends cleanly.
  virtual bool is_exhausted(const StudyHistory& history) const { return false; }
};

struct SamplerConfig {
  // auto (the default: gp while trials are few and the space numeric, else tpe), random, grid,
  // sobol (qmc), tpe, tpe-mv, gp: see src/tune/*_sampler.cpp, each declares itself.
  std::string name = "auto";
  uint64_t seed = 0;
  // tpe
  bool multivariate = false;
  int64_t n_startup_trials = 10;
  int64_t n_ei_candidates = 24;
  bool constant_liar = true;
  // gp
  int64_t gp_startup_trials = 10;
  // grid: explicit values per parameter (otherwise derived from each distribution)
  std::map<std::string, std::vector<nlohmann::json>> grid;
};

std::unique_ptr<Sampler> make_sampler(const SamplerConfig& config);

}  // namespace nntune::tune
