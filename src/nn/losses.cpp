// The loss family: each loss is a file of its own under src/nn/losses/ and declares itself in
// the loss registry (loss_registry.hpp).
#include "nn/loss_registry.hpp"
#include "nntune/error.hpp"

#include <cmath>

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

void Loss::configure(const LossOptions& options) {
  if (!options.class_weights.empty())
    throw Error(name() + " takes no class weights (they apply to categorical_crossentropy and binary_crossentropy)");
  if (options.label_smoothing != 0.0)
    throw Error(name() + " takes no label smoothing (it applies to categorical_crossentropy and binary_crossentropy)");
}

std::unique_ptr<Loss> make_loss(const std::string& name, const LossOptions& options) {
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0))
    throw Error("label_smoothing = " + schema::number_text(options.label_smoothing) +
                " is invalid; it must be in [0, 1) (0.1 is usual)");
  for (size_t c = 0; c < options.class_weights.size(); ++c)
    if (!(options.class_weights[c] >= 0.0) || !std::isfinite(options.class_weights[c]))
      throw Error("the weight of class " + std::to_string(c) + " is " + schema::number_text(options.class_weights[c]) +
                  "; class weights must be finite numbers >= 0");
  std::unique_ptr<Loss> loss = make_loss(name);
  loss->configure(options);
  return loss;
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
