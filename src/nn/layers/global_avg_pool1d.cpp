// Global average pooling over sequences of shape (steps, channels): the mean of each channel
// over all steps, (channels) per sample; global_avg_pool2d over height 1 (lifted1d.hpp).
#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/layers/lifted1d.hpp"

namespace nntune::layers {
namespace {

std::unique_ptr<Layer> make_global_avg_pool1d(const nlohmann::json& config, const std::string&) {
  static const std::vector<schema::Field> no_keys;
  ConfigReader reader(config, "global_avg_pool1d", no_keys);
  return make_lifted1d({{"type", "global_avg_pool1d"}});
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_global_avg_pool1d) {
  nntune::layer_registry().add({.name = "global_avg_pool1d",
                                .help = "mean of each channel over all steps: (steps, channels) -> (channels)",
                                .order = 16},
                               nntune::layers::make_global_avg_pool1d);
}
