// 1-D convolution over sequences of shape (steps, channels), bias and activation fused: conv2d
// over the sequence as an image of height 1 (lifted1d.hpp), so the same im2col + GEMM path and
// the same initialisers (fan-in = channels/groups * kernel).
#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/lifted1d.hpp"

namespace nntune::layers {
namespace {

const std::vector<schema::Field>& conv1d_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      req("filters", integer(1.0), "output channels"),
      kernel1d_key(),
      stride1d_key("step of the window in steps; default 1"),
      padding1d_key(),
      dilation1d_key(),
      opt("groups", integer(1.0), 1, "channel groups (depthwise: groups = input channels); must divide both"),
      opt("activation", one_of_names("activation", activation_kind_names()), "linear", "fused activation"),
      opt("kernel_init", initializer_node(), nullptr,
          "kernel initialiser (fan-in = channels/groups * kernel); default he_normal after relu-like, else xavier_uniform"),
      opt("bias_init", initializer_node(), "zeros", "bias initialiser"),
      opt("use_bias", boolean(), true, "add a learned bias per filter"),
  };
  return keys;
}

std::unique_ptr<Layer> make_conv1d(const nlohmann::json& config, const std::string&) {
  // Every key is read here so that a bad value is reported for conv1d, not for the conv2d it runs.
  ConfigReader reader(config, "conv1d", conv1d_keys());
  const int64_t filters = reader.integer("filters");
  if (!reader.has("kernel")) reader.fail("kernel", "is required (a positive integer: steps)");
  reader.integer("kernel");
  if (reader.has("stride")) reader.integer("stride");
  reader.integer("dilation");
  check_padding1d(config, reader);
  const int64_t groups = reader.integer("groups");
  if (filters % groups != 0)
    reader.fail("groups", std::to_string(groups) + " does not divide 'filters' " + std::to_string(filters) +
                              "; each group needs the same number of filters");
  reader.choice("activation");
  reader.initializer("kernel_init", Initializer{});
  reader.initializer("bias_init", Initializer{});
  reader.boolean("use_bias");
  nlohmann::json c = config;
  c["type"] = "conv1d";
  return make_lifted1d(c);
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_conv1d) {
  nntune::layer_registry().add({.name = "conv1d",
                                .help = "1-D convolution over (steps, channels) sequences, bias and activation fused",
                                .keys = nntune::layers::conv1d_keys(),
                                .order = 14,
                                .example = {{"filters", 8}, {"kernel", 3}}},
                               nntune::layers::make_conv1d);
}
