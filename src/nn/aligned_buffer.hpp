#pragma once
// A grow-only, 64-byte aligned scratch buffer (the GEMM kernels' packed panels, gemm()'s staged
// operands). Keep one per thread and use (thread_local), so steady-state calls allocate nothing
// and parallel trials never share one. Private to src/nn.
#include <cstdint>
#include <cstdlib>
#include <new>

namespace nntune::detail {

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
      const auto bytes = static_cast<size_t>((count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64);
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
