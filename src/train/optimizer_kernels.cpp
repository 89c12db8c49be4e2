// The baseline optimiser kernels and the run-time choice between the levels.
#include "train/optimizer_kernels_impl.hpp"

namespace nntune::optimizer_kernels {

const Kernels& kernels(simd::Level level) {
  switch (level) {
    case simd::Level::Avx512: return avx512::table;
    case simd::Level::Avx2: return avx2::table;
    default: return baseline::table;
  }
}

const Kernels& kernels() {
  static const Kernels& chosen = kernels(simd::level());
  return chosen;
}

}  // namespace nntune::optimizer_kernels
