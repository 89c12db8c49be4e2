// The ONNX form of conv2d: Conv between transposes (nntune's images are NHWC, ONNX's NCHW),
// then the fused activation.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

// The layer stores group g's weights as a (kh, kw, Cg) x Fg block, groups one after another;
// ONNX wants W[f, c, ky, kx] with filter f = g * Fg + j reading its group's channels c < Cg.
std::string export_conv2d(const Layer& layer, const Shape& input_shape, const std::string& input, OnnxGraph& graph) {
  const nlohmann::json config = layer.config();
  const int64_t filters = config.at("filters").get<int64_t>(), groups = config.at("groups").get<int64_t>();
  const int64_t kh = config.at("kernel").at(0).get<int64_t>(), kw = config.at("kernel").at(1).get<int64_t>();
  const int64_t cg = input_shape.at(2) / groups, fg = filters / groups;
  const ParamBlock& weight = param_block(layer, "weight");
  if (weight.size != groups * kh * kw * cg * fg)
    throw Error("ONNX export: the conv2d weight block has the wrong size (an exporter bug)");
  std::vector<float> w(static_cast<size_t>(weight.size));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t j = 0; j < fg; ++j) {
            const int64_t from = g * kh * kw * cg * fg + ((ky * kw + kx) * cg + c) * fg + j;
            const int64_t to = (((g * fg + j) * cg + c) * kh + ky) * kw + kx;
            w[static_cast<size_t>(to)] = weight.value[from];
          }
  std::vector<std::string> operands = {to_channels_first(input, graph), graph.constant("weight", {filters, cg, kh, kw}, w)};
  if (config.value("use_bias", true))
    operands.push_back(graph.constant("bias", {filters}, block_values(param_block(layer, "bias"))));
  std::vector<Attribute> attributes = window_attributes(config, input_shape, false);
  attributes.push_back(Attribute::integer("group", groups));
  const std::string conv = to_channels_last(graph.node("Conv", operands, attributes), graph);
  return activation_nodes(activation_of(config, "activation"), conv, graph);
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_conv2d) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "conv2d"}, nntune::onnx_export::export_conv2d);
}
