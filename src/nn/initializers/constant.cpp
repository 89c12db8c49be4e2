// The constant initialiser: every value `value`.
#include <algorithm>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_constant) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "constant", .help = "every value `value`", .order = 1},
      [](const Initializer& init, float* values, int64_t size, int64_t /*fan_in*/, int64_t /*fan_out*/, Rng& /*rng*/) {
        std::fill(values, values + size, init.value);
      });
}
