#pragma once
// What the blocked AVX-512 GEMM kernels (gemm_fp32.cpp, gemm_bf16.cpp) share: their packing
// buffers and two small helpers. Private to src/nn.
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <new>

// The instruction sets of the fp32 AVX-512 kernels (gemm_fp32.cpp, conv_direct.cpp), compiled
// into any build and run only where simd::cpu_has_avx512() says so.
#define NNTUNE_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

namespace nntune::detail {

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// A mask of the first `count` of 16 lanes (all of them from 16 on).
__attribute__((target("avx512f"))) inline __mmask16 first_lanes(int64_t count) {
  if (count >= 16) return 0xFFFF;
  if (count <= 0) return 0;
  return static_cast<__mmask16>((1u << count) - 1u);
}

// A grow-only, 64-byte aligned buffer. Keep one per thread and use (thread_local), so
// steady-state calls allocate nothing and parallel trials never share one.
template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }
  // Room for at least `count` elements; the contents are not kept when it grows.
  T* get(int64_t count) {
    if (count > capacity_) {
      std::free(data_);
      const auto bytes = static_cast<size_t>(round_up(count * static_cast<int64_t>(sizeof(T)), 64));
      data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      capacity_ = count;
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  int64_t capacity_ = 0;
};

}  // namespace nntune::detail
