// The lecun_normal initialiser: LeCun (1998): normal, std sqrt(1 / fan_in).
#include <cmath>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_lecun_normal) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "lecun_normal", .help = "LeCun (1998): normal, std sqrt(1 / fan_in)", .order = 8},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
        init_detail::require_fans("lecun_normal", fan_in, fan_out, false);
        init_detail::fill_normal(values, size, std::sqrt(1.0 / static_cast<double>(fan_in)), rng);
      });
}
