#pragma once
// Test helpers that build inputs: .npy files and one forward pass of a layer (defined in
// test_util.cpp, the nntune_test_util library). Apart from test_util.hpp so that a test that
// needs none of them does not rebuild when they change.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "nntune/layer.hpp"

namespace nntune::testing {

// .npy files (NumPy's format, version `major`.0): the bytes of one holding `data` (raw values,
// see raw_bytes) as `descr` ("<f4") of `shape`, a Python tuple ("(2, 3)", "(4,)").
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data, int major = 1,
                      const std::string& fortran = "False");
// The bytes of `count` values in memory order (little-endian on every target nntune builds for).
template <typename T>
std::string raw_bytes(const T* values, size_t count) {
  std::string out(count * sizeof(T), '\0');
  if (count > 0) std::memcpy(out.data(), values, out.size());
  return out;
}
template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return raw_bytes(values.data(), values.size());
}
// A float32 .npy file of `shape` holding `values`.
void write_npy(const std::string& path, const Shape& shape, const std::vector<float>& values);

// One forward pass of `layer` with a generator of its own (dropout draws its mask from it).
Tensor run_forward(Layer& layer, const Tensor& in, bool training = true, uint64_t seed = 1);

}  // namespace nntune::testing
