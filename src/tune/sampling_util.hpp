#pragma once
// Helpers shared by the samplers (private to src/tune): reproducible random streams derived
// from (seed, trial number, parameter name), and the map from a unit-interval coordinate to
// a value of any distribution in the internal float space.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "nntune/tune/distribution.hpp"

namespace nntune::tune::detail {

// SplitMix64 finaliser: decorrelates nearby seeds (seed 0 and 1 give unrelated streams).
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// FNV-1a: a name hash that is the same on every platform and run (std::hash is not).
inline uint64_t stable_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The random stream of one proposal. Deriving it from the trial number (not from a stream the
// sampler advances) keeps samplers functions of the history: a resumed study or another worker
// proposes the same point for the same trial, and parallel workers never share a stream.
inline std::mt19937_64 proposal_rng(uint64_t seed, int64_t trial_number, const std::string& purpose) {
  const uint64_t key = mix64(mix64(seed) ^ mix64(static_cast<uint64_t>(trial_number) + 0x51ED27ULL) ^ stable_hash(purpose));
  return std::mt19937_64(key);
}

// Uniform double in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Maps u in [0, 1) to a value of `d` (internal representation) so that a uniform u gives the
// sampler's prior: uniform for plain ranges, log-uniform for log ranges, every step/int/choice
// equally likely (log ints: log-uniform over [low - 0.5, high + 0.5], then rounded).
inline double value_from_unit(const Distribution& d, double u) {
  if (d.single()) return d.snap(d.kind == DistributionKind::Categorical ? 0.0 : d.low);
  switch (d.kind) {
    case DistributionKind::Categorical: {
      const double n = static_cast<double>(d.choices.size());
      return d.snap(std::floor(u * n));
    }
    case DistributionKind::Int:
      if (d.log) {
        const double lo = std::log(d.low - 0.5), hi = std::log(d.high + 0.5);
        return d.snap(std::round(std::exp(lo + u * (hi - lo))));
      }
      [[fallthrough]];
    case DistributionKind::Float:
      if (d.log) return d.snap(std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low))));
      if (d.step != 0) {
        const double n = static_cast<double>(d.cardinality());
        return d.snap(d.low + std::floor(u * n) * d.step);
      }
      return d.snap(d.low + u * (d.high - d.low));
  }
  return d.low;
}

}  // namespace nntune::tune::detail
