#pragma once
// The Sobol low-discrepancy sequence (private; the Sobol sampler and the GP sampler's
// acquisition starts may use it). The direction numbers come from Boost.Random's table (see
// sobol_sampler.cpp); this header does not include Boost, so its users compile as before.
#include <array>
#include <cstdint>
#include <vector>

namespace nntune::tune::detail {

class SobolSequence {
 public:
  // Boost's table (Joe and Kuo's new-joe-kuo-6.21201, cut at BOOST_RANDOM_SOBOL_MAX_DIMENSION);
  // sobol_sampler.cpp checks this number against Boost's at compile time.
  static constexpr int kMaxDimensions = 3667;
  static constexpr int kBits = 32;

  // scramble: random linear matrix scrambling and digital shift drawn from `seed`, independently
  // per dimension, so dimension d scrambles the same whatever `dimensions` is; unscrambled,
  // point 0 is the origin and the sequence matches the published one.
  SobolSequence(int dimensions, bool scramble, uint64_t seed);
  int dimensions() const { return dimensions_; }
  // Coordinate `dimension` (0-based) of point `index`, in [0, 1).
  double point(uint64_t index, int dimension) const;

 private:
  int dimensions_;
  std::vector<std::array<uint32_t, kBits>> directions_;
  std::vector<uint32_t> shifts_;
};

}  // namespace nntune::tune::detail
