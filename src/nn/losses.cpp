// The loss family: each loss is a file of its own under src/nn/losses/ and declares itself in
// the loss registry (loss_registry.hpp).
#include "nn/loss_registry.hpp"
#include "nntune/error.hpp"

namespace nntune {

Registry<LossFactory>& loss_registry() {
  static Registry<LossFactory> registry("loss");
  return registry;
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = loss_registry().names();
  return names;
}

std::unique_ptr<Loss> make_loss(const std::string& name) {
  const auto* entry = loss_registry().find(name);
  if (!entry) {
    std::string allowed;
    for (const auto& e : loss_registry().entries()) {
      allowed += (allowed.empty() ? "" : ", ") + e.info.name;
      if (!e.info.aliases.empty()) allowed += " (alias " + schema::join(e.info.aliases) + ")";
    }
    throw Error("unknown loss \"" + name + "\"; allowed: " + allowed);
  }
  return entry->factory();
}

}  // namespace nntune
