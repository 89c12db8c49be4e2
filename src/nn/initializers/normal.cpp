// The normal initialiser: normal with standard deviation `scale`.
#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_normal) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "normal", .help = "normal with standard deviation `scale`", .order = 2},
      [](const Initializer& init, float* values, int64_t size, int64_t /*fan_in*/, int64_t /*fan_out*/, Rng& rng) {
        init_detail::fill_normal(values, size, init.scale, rng);
      });
}
