// Random search: every parameter independently from its prior (uniform in the internal space,
// log-uniform for log ranges, every step, integer and choice equally likely).
#include "tune/samplers.hpp"
#include "tune/sampling_util.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::tune {
namespace {

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "random"; }
  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    auto rng = detail::proposal_rng(seed_, trial.number, "random/" + name);
    return detail::value_from_unit(distribution, detail::uniform01(rng));
  }

 private:
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Sampler> make_random_sampler(const SamplerConfig& config) {
  return std::make_unique<RandomSampler>(config.seed);
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_random) {
  nntune::tune::declare_sampler({.name = "random", .help = "independent uniform draws (log-uniform on log ranges)", .order = 0},
                                {nntune::tune::make_random_sampler, {}});
}
