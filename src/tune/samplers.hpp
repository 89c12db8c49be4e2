#pragma once
// Private factory functions of each sampler; make_sampler() in sampler_factory.cpp picks one.
#include <memory>

#include "nntune/tune/sampler.hpp"

namespace nntune::tune {

std::unique_ptr<Sampler> make_random_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_grid_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_sobol_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_tpe_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_gp_sampler(const SamplerConfig& config);

}  // namespace nntune::tune
