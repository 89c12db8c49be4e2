#include "nn/simd.hpp"

#include <cstdlib>
#include <string>

namespace nntune::simd {
namespace {

Level detect() {
  Level best = Level::Baseline;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Level::Avx2;
  if (best == Level::Avx2 && cpu_has_avx512()) best = Level::Avx512;
  return best;
}

}  // namespace

bool supported(Level wanted) {
  static const Level best = detect();
  return static_cast<int>(wanted) <= static_cast<int>(best);
}

Level level() {
  static const Level chosen = [] {
    Level best = detect();
    if (const char* forced = std::getenv("NNTUNE_SIMD")) {
      const std::string want = forced;
      for (Level l : {Level::Baseline, Level::Avx2, Level::Avx512})
        if (want == name(l) && supported(l)) best = l;  // never above what the CPU runs
    }
    return best;
  }();
  return chosen;
}

bool cpu_has_avx512() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return supported;
}

std::string name(Level level) {
  switch (level) {
    case Level::Avx2: return "avx2";
    case Level::Avx512: return "avx512";
    default: return "baseline";
  }
}

}  // namespace nntune::simd
