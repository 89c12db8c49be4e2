// The zeros initialiser: every value 0 (biases' default).
#include <algorithm>

#include "nn/initializer_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(initializer_zeros) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "zeros", .help = "every value 0 (biases' default)", .order = 0},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t /*fan_in*/, int64_t /*fan_out*/, Rng& /*rng*/) {
        std::fill(values, values + size, 0.0f);
      });
}
