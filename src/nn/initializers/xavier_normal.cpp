// The xavier_normal initialiser: Glorot/Xavier (2010): normal, std sqrt(2 / (fan_in + fan_out)).
#include <cmath>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_xavier_normal) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "xavier_normal", .help = "Glorot/Xavier (2010): normal, std sqrt(2 / (fan_in + fan_out))", .order = 4},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
        init_detail::require_fans("xavier_normal", fan_in, fan_out, true);
        init_detail::fill_normal(values, size, std::sqrt(2.0 * (1.0 / static_cast<double>(fan_in + fan_out))), rng);
      });
}
