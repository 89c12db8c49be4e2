// The he_normal initialiser: He/Kaiming (2015): normal, std sqrt(2 / fan_in) (ReLU layers' default).
#include <cmath>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_he_normal) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "he_normal", .help = "He/Kaiming (2015): normal, std sqrt(2 / fan_in) (ReLU layers' default)", .order = 6},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
        init_detail::require_fans("he_normal", fan_in, fan_out, false);
        init_detail::fill_normal(values, size, std::sqrt(2.0 * (1.0 / static_cast<double>(fan_in))), rng);
      });
}
