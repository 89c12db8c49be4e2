// The uniform initialiser: uniform in [-scale, scale).
#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_uniform) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "uniform", .help = "uniform in [-scale, scale)", .order = 3},
      [](const Initializer& init, float* values, int64_t size, int64_t /*fan_in*/, int64_t /*fan_out*/, Rng& rng) {
        init_detail::fill_uniform(values, size, init.scale, rng);
      });
}
