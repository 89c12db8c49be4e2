#include "nntune/error.hpp"
#include "tune/samplers.hpp"

namespace nntune::tune {

std::unique_ptr<Sampler> make_sampler(const SamplerConfig& config) {
  const std::string& name = config.name;
  if (name == "random") return make_random_sampler(config);
  if (name == "grid") return make_grid_sampler(config);
  if (name == "sobol" || name == "qmc") return make_sobol_sampler(config);
  if (name == "tpe") return make_tpe_sampler(config);
  if (name == "tpe-mv") {
    SamplerConfig multivariate = config;
    multivariate.multivariate = true;
    return make_tpe_sampler(multivariate);
  }
  if (name == "gp") return make_gp_sampler(config);
  throw Error("unknown sampler \"" + name + "\" (allowed: random, grid, sobol (or qmc), tpe, tpe-mv, gp)");
}

}  // namespace nntune::tune
