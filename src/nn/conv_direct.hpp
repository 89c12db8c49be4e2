#pragma once
// Direct (im2col-free) AVX-512 kernels for a shallow convolution: one whose kernel window holds
// few values (kh * kw * channels <= kDirectConvMaxTaps), as the first convolution of an image
// net (3x3 on one channel: 9). Lowered to a GEMM such a convolution is a product of depth 9 or
// so, where the GEMM's fixed cost per register tile and the im2col copy outweigh the 9
// multiply-adds per output value (28 GFLOP/s against 108 for the net's second convolution,
// docs/benchmarks.md). conv2d.cpp uses these instead for the forward pass and the weight
// gradient when direct_conv_available(); its input gradient stays a GEMM plus col2im.
// Private to src/nn.
#include <cstdint>
#include <vector>

#include "nn/gemm_kernel_util.hpp"

namespace nntune::detail {

constexpr int64_t kDirectConvMaxTaps = 32;

// One group's geometry (NHWC images); the padding is zeros, as conv2d's.
struct DirectConvGeometry {
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0, filters = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t taps() const { return kernel_h * kernel_w * channels; }
};

// Scratch the kernels reuse across calls: zero-padded copies of the images, the weights
// padded to whole vectors, and the offsets of the window's values.
struct DirectConvScratch {
  std::vector<float> padded;
  AlignedBuffer<float> weight;  // 64-byte aligned: the tiles load it with aligned loads
  std::vector<int32_t> taps;
};

// True when this CPU runs the kernels (AVX-512F).
bool direct_conv_available();

// z[(s, oy, ox), f] = bias[f] + sum over (ky, kx, c) of image s's value under that tap times
// weight[(ky, kx, c), f], for `count` images of in_h * in_w * channels floats from `images`;
// then max(z, 0) when `relu`. bias may be null. z has `filters` floats per output pixel.
void direct_conv_forward(const DirectConvGeometry& g, const float* images, int64_t count, const float* weight,
                         const float* bias, bool relu, float* z, DirectConvScratch& scratch);

// weight_grad[(ky, kx, c), f] = sum over the output pixels of the `count` images of the
// input value under that tap times dz[(s, oy, ox), f]; added to weight_grad when
// `accumulate`, else written.
void direct_conv_weight_grad(const DirectConvGeometry& g, const float* images, int64_t count, const float* dz,
                             bool accumulate, float* weight_grad, DirectConvScratch& scratch);

}  // namespace nntune::detail
