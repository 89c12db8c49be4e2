// The activation kernels compiled for avx2 (flags in CMakeLists.txt); run only where simd::supported.
#define NNTUNE_SIMD_LEVEL_AVX2 1
#include "nn/layers/activation_kernels_impl.hpp"
