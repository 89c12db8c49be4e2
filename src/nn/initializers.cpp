// The initialiser family (initializer_registry.hpp) and the random fills its members share.
// Normals are plain (not truncated), as in the papers and PyTorch. Random numbers come from the
// 64-bit Mersenne twister through our own uniform/Box-Muller transforms, because the standard
// distributions are not specified bit-for-bit: the same seed gives the same weights with every
// compiler and standard library.
#include <cmath>

#include "nn/initializer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune {

Registry<InitializerFill>& initializer_registry() {
  static Registry<InitializerFill> registry("initializer");
  return registry;
}

namespace init_detail {
namespace {
// Uniform in [0, 1) from the top 53 bits.
double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
}  // namespace

void fill_uniform(float* values, int64_t size, double limit, Rng& rng) {
  for (int64_t i = 0; i < size; ++i) values[i] = static_cast<float>((2.0 * uniform01(rng) - 1.0) * limit);
}

void fill_normal(float* values, int64_t size, double stddev, Rng& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < size; i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform01(rng)));  // 1 - u is in (0, 1]
    const double angle = kTwoPi * uniform01(rng);
    values[i] = static_cast<float>(stddev * radius * std::cos(angle));
    if (i + 1 < size) values[i + 1] = static_cast<float>(stddev * radius * std::sin(angle));
  }
}

void require_fans(const std::string& name, int64_t fan_in, int64_t fan_out, bool needs_fan_out) {
  if (fan_in <= 0 || (needs_fan_out && fan_out <= 0))
    throw Error("initializer \"" + name + "\" needs positive fan-in and fan-out, got fan_in=" + std::to_string(fan_in) +
                ", fan_out=" + std::to_string(fan_out));
}
}  // namespace init_detail

const std::vector<std::string>& initializer_names() {
  // Registration first: the layers' registrations call this function (their keys list these
  // names), which must not happen inside the initialisation of `names` below.
  register_all_components();
  static const std::vector<std::string> names = initializer_registry().names();
  return names;
}

void initialize(const Initializer& init, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const auto* entry = initializer_registry().find(init.name);
  if (!entry) {
    std::string allowed;
    for (const auto& n : initializer_names()) allowed += (allowed.empty() ? "" : ", ") + n;
    throw Error("unknown initializer \"" + init.name + "\"; allowed: " + allowed);
  }
  entry->factory(init, values, size, fan_in, fan_out, rng);
}

}  // namespace nntune
