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

std::vector<std::string> loss_names_for(bool classification) {
  std::vector<std::string> names;
  for (const auto& e : loss_registry().entries())
    if (e.factory()->is_classification() == classification) names.push_back(e.info.name);
  return names;
}

std::string default_loss_name(bool classification) {
  for (const auto& e : loss_registry().entries()) {
    const auto loss = e.factory();
    if (loss->is_classification() == classification && loss->required_classes() == 0) return e.info.name;
  }
  throw Error(std::string("no loss for ") + (classification ? "classification" : "regression") + " is registered");
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
