# Included by CMakeLists.txt after the nntune library target is defined.
# Element-wise kernels built once per instruction set (*_avx2.cpp, *_avx512.cpp) and chosen at
# run time by CPU detection (src/nn/simd.hpp), so that a build without -march=native runs anywhere.
file(GLOB_RECURSE NNTUNE_AVX2_SOURCES CONFIGURE_DEPENDS src/*_avx2.cpp)
file(GLOB_RECURSE NNTUNE_AVX512_SOURCES CONFIGURE_DEPENDS src/*_avx512.cpp)
set_source_files_properties(${NNTUNE_AVX2_SOURCES} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma")
set_source_files_properties(${NNTUNE_AVX512_SOURCES} PROPERTIES
                            COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx2;-mfma")
# The optimizer kernels update the parameters, gradients and optimizer state, plain std::vector
# buffers whose alignment changes from one allocation to the next. Eigen runs a buffer's
# unaligned head in scalar code and the rest in vectors; with a*b + c*d contracted into an FMA
# differently in the two, a training run's result depended on where its buffers landed (two
# identical runs in one process differed). Without contraction both round every step alike.
# For the same reason the square roots must be exact in both: with EIGEN_FAST_MATH (Eigen's
# default) the AVX-512 packet sqrt is rsqrt14 plus one Newton step, 1-2 bits away from the
# scalar std::sqrt of the head, and Adam's updates again depended on the buffers' addresses. The
# rules with a sqrt are plain loops, vectorised by the compiler with the exact sqrt once errno
# is out of the way; EIGEN_FAST_MATH=0 keeps any Eigen sqrt there exact too (it is then scalar).
file(GLOB NNTUNE_OPTIMIZER_KERNEL_SOURCES CONFIGURE_DEPENDS src/train/optimizer_kernels*.cpp)
set_property(SOURCE ${NNTUNE_OPTIMIZER_KERNEL_SOURCES} APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off -fno-math-errno)
set_property(SOURCE ${NNTUNE_OPTIMIZER_KERNEL_SOURCES} APPEND PROPERTY COMPILE_DEFINITIONS EIGEN_FAST_MATH=0)

# Eigen's heap alignment is part of the ABI (Tensor's allocator follows it) and follows the -m
# flags: installed users get the library's value, so that a program compiled with other flags
# allocates and frees Tensors the same way. The portable build pins it; a native one detects it.
if(NNTUNE_NATIVE)
  include(CheckCXXSourceCompiles)
  foreach(bytes 64 32 16)
    set(CMAKE_REQUIRED_FLAGS -march=native)
    set(CMAKE_REQUIRED_INCLUDES ${EIGEN3_INCLUDE_DIRS})
    check_cxx_source_compiles("#include <Eigen/Core>
      #if EIGEN_MAX_ALIGN_BYTES != ${bytes}
      #error
      #endif
      int main() {}" NNTUNE_EIGEN_ALIGN_${bytes})
    if(NNTUNE_EIGEN_ALIGN_${bytes})
      target_compile_definitions(nntune INTERFACE $<INSTALL_INTERFACE:EIGEN_MAX_ALIGN_BYTES=${bytes}>)
      set(NNTUNE_EIGEN_ALIGN ${bytes})
      break()
    endif()
  endforeach()
  if(NOT NNTUNE_EIGEN_ALIGN)
    message(WARNING "could not tell Eigen's alignment under -march=native: programs built against the installed "
                    "library must use the same -m flags as it")
  endif()
else()
  set(NNTUNE_EIGEN_ALIGN 64)
  target_compile_definitions(nntune PUBLIC EIGEN_MAX_ALIGN_BYTES=64)
endif()
