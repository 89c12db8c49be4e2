#include "nn/layers/window2d.hpp"

#include <algorithm>
#include <cmath>

#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

bool integral(const nlohmann::json& v) {
  return v.is_number_integer() ||
         (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
}

std::string pair_string(Pair p) { return "[" + std::to_string(p.h) + ", " + std::to_string(p.w) + "]"; }

}  // namespace

Pair read_pair(const nlohmann::json& config, const ConfigReader& reader, const std::string& key, Pair fallback,
               int64_t min_value) {
  if (!config.contains(key)) return fallback;
  const nlohmann::json& v = config.at(key);
  const std::string what = min_value == 0 ? "an integer >= 0" : "a positive integer";
  auto one = [&](const nlohmann::json& x) {
    if (!integral(x) || x.get<double>() < static_cast<double>(min_value))
      reader.fail(key, "must be " + what + " or [height, width] of them, got " + v.dump());
    if (x.get<double>() > 1e6) reader.fail(key, "is too large (at most 1000000), got " + v.dump());
    return static_cast<int64_t>(x.get<double>());
  };
  if (v.is_array()) {
    if (v.size() != 2) reader.fail(key, "must be " + what + " or [height, width] of them, got " + v.dump());
    return {one(v[0]), one(v[1])};
  }
  const int64_t x = one(v);
  return {x, x};
}

void read_padding(const nlohmann::json& config, const ConfigReader& reader, Window2d& window, PaddingMode fallback) {
  window.padding = fallback;
  window.pad = {0, 0};
  if (!config.contains("padding")) return;
  const nlohmann::json& v = config.at("padding");
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "valid") window.padding = PaddingMode::Valid;
    else if (s == "same") window.padding = PaddingMode::Same;
    else reader.fail("padding", "must be \"valid\", \"same\", an integer >= 0 or [height, width] of them, got " + v.dump());
    return;
  }
  if (!v.is_number() && !v.is_array())
    reader.fail("padding", "must be \"valid\", \"same\", an integer >= 0 or [height, width] of them, got " + v.dump());
  window.padding = PaddingMode::Explicit;
  window.pad = read_pair(config, reader, "padding", {0, 0}, 0);
}

namespace {
schema::NodePtr pair_node(double min) { return schema::any_of({schema::integer(min), schema::list_of(schema::integer(min))}); }
}  // namespace

schema::Field kernel_key() { return schema::req("kernel", pair_node(1.0), "window size: an integer or [height, width]"); }
schema::Field stride_key(const std::string& help) { return schema::opt("stride", pair_node(1.0), nullptr, help); }
schema::Field dilation_key() {
  return schema::opt("dilation", pair_node(1.0), 1, "spacing between the kernel's taps: an integer or [height, width]");
}
schema::Field padding_key(const std::string& default_padding) {
  return schema::opt("padding",
                     schema::any_of({schema::one_of_names("padding", {"valid", "same"}), schema::integer(0.0),
                                     schema::list_of(schema::integer(0.0))}),
                     default_padding,
                     "valid (none), same (output size = input size / stride, the odd pixel at the bottom/right), or "
                     "zeros per side: an integer or [height, width]");
}
const std::vector<schema::Field>& pool_keys() {
  static const std::vector<schema::Field> keys = {kernel_key(), stride_key("default: the kernel"), padding_key("valid")};
  return keys;
}

Window2d read_pool_window(const nlohmann::json& config, const ConfigReader& reader) {
  if (!reader.has("kernel")) reader.fail("kernel", "is required (a positive integer or [height, width])");
  Window2d window;
  window.kernel = read_pair(config, reader, "kernel", {});
  window.stride = read_pair(config, reader, "stride", window.kernel);
  read_padding(config, reader, window);
  return window;
}

nlohmann::json pool_config(const std::string& type, const Window2d& window) {
  return {{"type", type},
          {"kernel", pair_config(window.kernel)},
          {"stride", pair_config(window.stride)},
          {"padding", padding_config(window)}};
}

nlohmann::json pair_config(Pair p) { return nlohmann::json::array({p.h, p.w}); }

nlohmann::json padding_config(const Window2d& window) {
  switch (window.padding) {
    case PaddingMode::Valid: return "valid";
    case PaddingMode::Same: return "same";
    default: return pair_config(window.pad);
  }
}

std::string padding_string(const Window2d& window) {
  switch (window.padding) {
    case PaddingMode::Valid: return "\"valid\"";
    case PaddingMode::Same: return "\"same\"";
    default: return pair_string(window.pad);
  }
}

Shape image_shape_or_throw(const std::string& layer_type, const Shape& s) {
  if (s.size() != 3)
    throw Error(layer_type + " layer: input samples have shape " + shape_string(s) + " but " + layer_type +
                " needs images of shape (height, width, channels); give gray images a channel axis of 1 "
                "(e.g. 28x28 -> (28, 28, 1))");
  if (s[0] < 1 || s[1] < 1 || s[2] < 1)
    throw Error(layer_type + " layer: input samples have shape " + shape_string(s) +
                "; every axis of (height, width, channels) must be at least 1");
  return s;
}

WindowPlan plan_window(const std::string& type, const Window2d& win, const Shape& input_sample_shape, bool pooling) {
  const Shape s = image_shape_or_throw(type, input_sample_shape);
  WindowPlan plan;
  plan.in_h = s[0];
  plan.in_w = s[1];
  const std::string where = " (input " + shape_string(s) + ", kernel " + pair_string(win.kernel) + ", stride " +
                            pair_string(win.stride) + (pooling ? "" : ", dilation " + pair_string(win.dilation)) +
                            ", padding " + padding_string(win) + ")";
  auto axis = [&](int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pad, int64_t& out, int64_t& before,
                  const char* name) {
    const int64_t extent = dil * (k - 1) + 1;  // input pixels one window spans
    if (win.padding == PaddingMode::Same) {
      out = (in + stride - 1) / stride;
      const int64_t total = std::max<int64_t>((out - 1) * stride + extent - in, 0);
      before = total / 2;
      return;
    }
    if (pooling && 2 * pad > k)
      throw Error(type + " layer: 'padding' " + std::to_string(pad) + " on the " + name +
                  " axis is more than half the kernel, so some windows would hold only padding" + where +
                  "; use padding <= kernel / 2");
    if (in + 2 * pad < extent)
      throw Error(type + " layer: 'kernel' spans " + std::to_string(extent) + " pixels on the " + name +
                  " axis but the padded input has only " + std::to_string(in + 2 * pad) + where +
                  "; use a smaller kernel or dilation, more padding, or padding \"same\"");
    out = (in + 2 * pad - extent) / stride + 1;
    before = pad;
  };
  axis(plan.in_h, win.kernel.h, win.stride.h, win.dilation.h, win.pad.h, plan.out_h, plan.pad_top, "height");
  axis(plan.in_w, win.kernel.w, win.stride.w, win.dilation.w, win.pad.w, plan.out_w, plan.pad_left, "width");
  if (plan.out_h < 1 || plan.out_w < 1)
    throw Error(type + " layer: the window leaves no output pixel" + where);
  return plan;
}

}  // namespace nntune::layers
