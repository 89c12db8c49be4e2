#pragma once
// Private factory functions of each sampler; make_sampler() in sampler_factory.cpp picks one.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/tune/sampler.hpp"

namespace nntune {
struct SpecTree;
}

namespace nntune::tune {

std::unique_ptr<Sampler> make_random_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_grid_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_sobol_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_tpe_sampler(const SamplerConfig& config);
std::unique_ptr<Sampler> make_gp_sampler(const SamplerConfig& config);

// The internal values a grid takes for one parameter: those listed in `explicit_grid` under its
// name, else every value of a finite distribution; a continuous float without a list is an Error.
std::vector<double> grid_values(const std::string& name, const Distribution& distribution,
                                const std::map<std::string, std::vector<nlohmann::json>>& explicit_grid);

// Every combination of a spec's search space, branch by branch: a choice of mappings gives
// each option's own parameters, a {count, each} each count's layers. Each point is a JSON
// object of external values ({"train.optimizer": "sgd", "train.optimizer.sgd.lr": 0.1}), in
// walk order (the first parameter varies slowest). Throws Error past max_points.
std::vector<nlohmann::json> enumerate_grid(const SpecTree& space, bool external,
                                           const std::map<std::string, std::vector<nlohmann::json>>& explicit_grid,
                                           int64_t max_points);

}  // namespace nntune::tune
