// The xavier_uniform initialiser: Glorot/Xavier (2010): uniform, limit sqrt(6 / (fan_in + fan_out)).
#include <cmath>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_xavier_uniform) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "xavier_uniform", .help = "Glorot/Xavier (2010): uniform, limit sqrt(6 / (fan_in + fan_out))", .order = 5},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
        init_detail::require_fans("xavier_uniform", fan_in, fan_out, true);
        init_detail::fill_uniform(values, size, std::sqrt(6.0 * (1.0 / static_cast<double>(fan_in + fan_out))), rng);
      });
}
