#pragma once
// The loss family: each loss declares itself in its own file under src/nn/losses/ (name,
// aliases, help) beside its class. make_loss(), loss_names() and the spec's train.loss
// enumeration are derived from these declarations.
#include <functional>
#include <memory>

#include "core/registry.hpp"
#include "nntune/loss.hpp"

namespace nntune {

using LossFactory = std::function<std::unique_ptr<Loss>()>;
Registry<LossFactory>& loss_registry();

}  // namespace nntune
