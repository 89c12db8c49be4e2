#pragma once
// The Sobol low-discrepancy sequence (private; the Sobol sampler and the GP sampler's
// acquisition starts may use it). See sobol_sampler.cpp for the source of the direction numbers.
#include <array>
#include <cstdint>
#include <vector>

namespace nntune::tune::detail {

class SobolSequence {
 public:
  static constexpr int kMaxDimensions = 21;
  static constexpr int kBits = 32;

  // scramble: random linear matrix scrambling and digital shift drawn from `seed`;
  // unscrambled, point 0 is the origin and the sequence matches the published one.
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
