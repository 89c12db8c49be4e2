#pragma once
// Layers that only change the shape of each sample (flatten, reshape): storage is row-major and
// contiguous, and the layer interface gives every layer its own output tensor, so the values
// are copied once each way (a memcpy, no arithmetic).
#include <cstring>

#include "nntune/tensor.hpp"

namespace nntune::layers {

// out = in with the shape batch_shape (batch_shape[0] is set to the batch here).
inline void copy_with_shape(const Tensor& in, Tensor& out, Shape& batch_shape) {
  batch_shape[0] = in.batch();
  out.resize(batch_shape);
  std::memcpy(out.data(), in.data(), sizeof(float) * static_cast<size_t>(in.size()));
}

// grad_in = grad_out with the input's shape; nothing when the caller needs no input gradient.
inline void copy_gradient_back(const Tensor& in, const Tensor& grad_out, Tensor* grad_in) {
  if (!grad_in) return;
  grad_in->resize(in.shape());
  std::memcpy(grad_in->data(), grad_out.data(), sizeof(float) * static_cast<size_t>(grad_out.size()));
}

}  // namespace nntune::layers
