#pragma once
// Losses and metrics of sequence outputs, step by step (private to the library).
//
// A network whose samples come out as sequences, shape (steps, features) (a recurrent layer with
// return_sequences, a dense layer applied per step after it, conv1d), is scored the way Keras and
// PyTorch score it: every step is one row of `features` outputs, the loss is the mean over the
// steps of every sample in the batch, and metrics count steps. Targets give one class index per
// step, (batch, steps), or one value per output per step, (batch, steps, features). With a step
// mask (an embedding with mask_zero upstream; 1 = real step) only the real steps are rows: padding
// adds nothing to the loss, its mean or the gradient, and is not counted by the metrics.
//
// Each loss stays a loss over rows (src/nn/losses/), so every loss works per step without a second
// copy of its arithmetic: StepRows gathers the rows, runs the loss on them and puts the gradient
// back at the steps it came from.
#include <string>
#include <vector>

#include "nntune/loss.hpp"
#include "nntune/tensor.hpp"

namespace nntune {

class StepRows {
 public:
  // Whether outputs of this shape (batch, sample...) are scored per step: samples of rank 2.
  static bool per_step(const Tensor& output) { return output.rank() == 3; }

  // The loss of `output` against `target`: the loss itself for flat outputs (mask ignored: a flat
  // output has no steps), else per step over the unmasked steps. grad (when not null) gets
  // dLoss/dOutput in the output's shape, 0 at masked steps. A batch with no real step has loss 0.
  // Throws Error naming both sample shapes when the targets do not fit the steps.
  double loss(const Loss& loss, const Tensor& output, const Tensor& target, const Tensor* mask, Tensor* grad);

  // The rows of the last loss() call on a sequence output (unmasked steps only): the outputs
  // (rows, features) and their targets (rows, 1 or features), for metrics.
  const Tensor& output_rows() const { return out_; }
  const Tensor& target_rows() const { return target_; }

 private:
  // The rows of a sequence output and its targets (unmasked steps only, in order).
  void gather(const Tensor& output, const Tensor& target, const Tensor* mask);

  Tensor out_, target_, row_grad_;
  std::vector<int64_t> kept_;  // per row: its index among the batch * steps steps
  Shape rows_shape_, target_rows_shape_;
};

}  // namespace nntune
