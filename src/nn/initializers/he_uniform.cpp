// The he_uniform initialiser: He/Kaiming (2015): uniform, limit sqrt(6 / fan_in).
#include <cmath>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_he_uniform) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "he_uniform", .help = "He/Kaiming (2015): uniform, limit sqrt(6 / fan_in)", .order = 7},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
        init_detail::require_fans("he_uniform", fan_in, fan_out, false);
        init_detail::fill_uniform(values, size, std::sqrt(6.0 * (1.0 / static_cast<double>(fan_in))), rng);
      });
}
