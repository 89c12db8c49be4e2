#pragma once
// Losses work on the network's raw output (logits): the loss owns its output link
// (softmax for categorical cross-entropy, sigmoid for binary), fused for stability.
#include <memory>
#include <string>
#include <vector>

#include "nntune/tensor.hpp"

namespace nntune {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // Mean loss over the batch. When grad is not null it receives dLoss/dOutput (same shape as
  // output, already divided by the batch size).
  // Targets: mse and binary_crossentropy take the output's shape; categorical_crossentropy
  // takes either class indices (batch, 1) stored as floats, or one-hot rows (batch, classes).
  virtual double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const = 0;
  // The output link applied at prediction time: probabilities for classification losses,
  // identity for regression. In place on a (batch x features) tensor.
  virtual void link(Tensor& output) const {}
  virtual bool is_classification() const { return false; }
};

// Names: mse (mean_squared_error), binary_crossentropy, categorical_crossentropy.
// Throws Error naming the unknown loss and the allowed ones.
std::unique_ptr<Loss> make_loss(const std::string& name);
const std::vector<std::string>& loss_names();

}  // namespace nntune
