#pragma once
// 2-D max pooling over NHWC images, as the max_pool2d layer runs it and as conv2d runs it on
// each chunk of its own output when it has taken over the max_pool2d layer after it
// (Layer::absorb_max_pool: the pooling then reads the chunk while it is in cache).
#include <cstdint>

#include "nn/layers/window2d.hpp"

namespace nntune::layers {

struct MaxPoolGeometry {
  Window2d window;
  WindowPlan plan;
  int64_t channels = 0;
  // Windows that tile the image exactly (2x2 stride 2 on 28x28) cover every input pixel once,
  // so backward can write each input gradient directly instead of zeroing and adding.
  bool tiles = false;
  int64_t in_sample() const { return plan.in_h * plan.in_w * channels; }
  int64_t out_sample() const { return plan.out_h * plan.out_w * channels; }
};

// The window and plan of a max_pool2d config on images of `input_sample_shape` (throws Error
// as the layer's build does).
MaxPoolGeometry max_pool_geometry(const Window2d& window, const Shape& input_sample_shape);

// out = the max of each window, per channel, of `count` images; argmax = where each came from
// (offset within its image; ties go to the first pixel of the window, row by row, as PyTorch).
void max_pool_forward(const MaxPoolGeometry& g, const float* in, int64_t count, float* out, int32_t* argmax);

// grad_in of `count` images: each output's gradient routed to where its max came from.
void max_pool_backward(const MaxPoolGeometry& g, const float* grad_out, const int32_t* argmax, int64_t count,
                       float* grad_in);

}  // namespace nntune::layers
