#pragma once
// Losses work on the network's raw output (logits): the loss owns its output link
// (softmax for categorical cross-entropy, sigmoid for binary), fused for stability.
#include <memory>
#include <string>
#include <vector>

#include "nntune/tensor.hpp"

namespace nntune {

// How a loss is weighted while training (Keras' and PyTorch's meanings).
struct LossOptions {
  // One weight per class (empty: 1 each). Each sample's loss is multiplied by its class's weight
  // (soft or one-hot targets: sum_k t_k w_k) and the batch loss stays the mean over samples
  // (Keras' class_weight; PyTorch's `weight` divides by the sum of weights instead).
  std::vector<double> class_weights;
  // Targets become t (1 - eps) + eps / K (K classes; 2 for binary cross-entropy), in [0, 1).
  double label_smoothing = 0.0;
};

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
  // The inverse of link: predictions (probabilities or values) back to outputs the loss takes
  // (log p for softmax, the logit for sigmoid). In place; probabilities of 0 or 1 are clamped.
  virtual void unlink(Tensor& predictions) const {}
  // The link's name for messages and exporters: "softmax", "sigmoid", or "" for the identity.
  virtual std::string link_name() const { return ""; }
  virtual bool is_classification() const { return false; }
  // The outputs per sample this loss needs: the class count, or the target's columns (regression).
  virtual int64_t output_width(int64_t num_classes, int64_t target_columns) const {
    return is_classification() ? num_classes : target_columns;
  }
  // The number of classes this loss is made for (2 for a one-output binary loss); 0: any.
  virtual int64_t required_classes() const { return 0; }
  // Class weights and label smoothing: the cross-entropies take them; any other loss throws
  // Error naming what it cannot use.
  virtual void configure(const LossOptions& options);
};

// Names: mse (mean_squared_error), binary_crossentropy, categorical_crossentropy.
// Throws Error naming the unknown loss and the allowed ones.
std::unique_ptr<Loss> make_loss(const std::string& name);
// The loss configured with class weights / label smoothing (see LossOptions); throws Error when
// the loss cannot use them or a value is out of range.
std::unique_ptr<Loss> make_loss(const std::string& name, const LossOptions& options);
const std::vector<std::string>& loss_names();
// The loss a spec gets when it names none: the first declared loss of the task that takes any
// number of classes (categorical_crossentropy, mse).
std::string default_loss_name(bool classification);
// The losses of a task (classification or regression), in declaration order.
std::vector<std::string> loss_names_for(bool classification);

}  // namespace nntune
