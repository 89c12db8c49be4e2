#pragma once
// The initialiser family: each initialiser declares itself in its own file under
// src/nn/initializers/ (its name, help and fill) with the published formula; initialize(),
// initializer_names() and the spec's enumeration are derived from these declarations.
#include <functional>

#include "core/registry.hpp"
#include "nntune/layer.hpp"

namespace nntune {

// Fills the `size` values of one parameter block; fan_in / fan_out as the layer counts them.
using InitializerFill =
    std::function<void(const Initializer& init, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng)>;
// The layers' declared keys list initializer_names() while they register: initialisers register
// first because the build calls registrations in the order of their ids (initializer_* sorts
// before layer_*); tests/layers_test.cpp checks the full list.
Registry<InitializerFill>& initializer_registry();

namespace init_detail {
// The project's own transforms of the 64-bit Mersenne twister: the standard distributions are
// not specified bit for bit, so the same seed gives the same weights with every standard library.
void fill_uniform(float* values, int64_t size, double limit, Rng& rng);  // in [-limit, limit)
void fill_normal(float* values, int64_t size, double stddev, Rng& rng);  // Box-Muller, not truncated
// Throws a clear Error when a fan the formula divides by is not positive.
void require_fans(const std::string& name, int64_t fan_in, int64_t fan_out, bool needs_fan_out);
}  // namespace init_detail

}  // namespace nntune
