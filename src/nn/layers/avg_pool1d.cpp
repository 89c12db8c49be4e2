// 1-D average pooling over sequences of shape (steps, channels), each channel on its own:
// avg_pool2d over the sequence as an image of height 1 (lifted1d.hpp); padding is not
// counted in a window's mean, as in avg_pool2d.
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/lifted1d.hpp"

namespace nntune::layers {
namespace {

const std::vector<schema::Field>& avg_pool1d_keys() {
  static const std::vector<schema::Field> keys = {kernel1d_key(), stride1d_key("default: the kernel"), padding1d_key()};
  return keys;
}

std::unique_ptr<Layer> make_avg_pool1d(const nlohmann::json& config, const std::string&) {
  ConfigReader reader(config, "avg_pool1d", avg_pool1d_keys());
  if (!reader.has("kernel")) reader.fail("kernel", "is required (a positive integer: steps)");
  reader.integer("kernel");
  if (reader.has("stride")) reader.integer("stride");
  check_padding1d(config, reader);
  nlohmann::json c = config;
  c["type"] = "avg_pool1d";
  return make_lifted1d(c);
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_avg_pool1d) {
  nntune::layer_registry().add({.name = "avg_pool1d",
                                .help = "1-D average pooling over (steps, channels) sequences, per channel",
                                .keys = nntune::layers::avg_pool1d_keys(),
                                .order = 15,
                                .example = {{"kernel", 2}}},
                               nntune::layers::make_avg_pool1d);
}
