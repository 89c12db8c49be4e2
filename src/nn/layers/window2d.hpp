#pragma once
// The sliding-window geometry shared by conv2d and the 2-D pooling layers: reading kernel /
// stride / padding / dilation from a config, resolving them against an input size, and the
// errors for windows that do not fit. Images are (height, width, channels) per sample: NHWC
// for a batch (docs/architecture.md says why).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/layers/config_check.hpp"
#include "nntune/tensor.hpp"

namespace nntune::layers {

struct Pair {
  int64_t h = 1, w = 1;
};

enum class PaddingMode { Valid, Same, Explicit };

struct Window2d {
  Pair kernel, stride, dilation;
  PaddingMode padding = PaddingMode::Valid;
  Pair pad;  // Explicit: zeros added on each side (top = bottom = pad.h, left = right = pad.w)
};

// Where a window sits on one input image.
struct WindowPlan {
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t pad_top = 0, pad_left = 0;  // "same" puts the odd pixel at the bottom/right (as Keras)
};

// The declarations of the window keys (one place for conv2d and pooling).
schema::Field kernel_key();                          // required
schema::Field stride_key(const std::string& help);  // its default depends on the layer
schema::Field dilation_key();
schema::Field padding_key(const std::string& default_padding);
// kernel, stride (default: the kernel), padding (default "valid").
const std::vector<schema::Field>& pool_keys();

// An int or [h, w] of positive integers (min_value 0 allows zeros: explicit padding).
Pair read_pair(const nlohmann::json& config, const ConfigReader& reader, const std::string& key, Pair fallback,
               int64_t min_value = 1);
// "valid", "same", an int or [h, w] of integers >= 0.
void read_padding(const nlohmann::json& config, const ConfigReader& reader, Window2d& window,
                  PaddingMode fallback = PaddingMode::Valid);
// The keys of max_pool2d / avg_pool2d: kernel (required), stride (default: the kernel),
// padding (default "valid").
Window2d read_pool_window(const nlohmann::json& config, const ConfigReader& reader);
nlohmann::json pool_config(const std::string& type, const Window2d& window);
nlohmann::json pair_config(Pair p);
nlohmann::json padding_config(const Window2d& window);
std::string padding_string(const Window2d& window);

// Checks that the input is (height, width, channels) and that the window fits it; throws Error
// naming the layer type, the offending key and the shapes. For pooling, padding may be at most
// half the kernel (as PyTorch), so every window holds at least one real pixel.
Shape image_shape_or_throw(const std::string& layer_type, const Shape& input_sample_shape);
WindowPlan plan_window(const std::string& layer_type, const Window2d& window, const Shape& input_sample_shape,
                       bool pooling);

}  // namespace nntune::layers
