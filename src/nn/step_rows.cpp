#include "nn/step_rows.hpp"

#include <cstring>

#include "nntune/error.hpp"

namespace nntune {

void StepRows::gather(const Tensor& output, const Tensor& target, const Tensor* mask) {
  const int64_t n = output.batch(), steps = output.shape()[1], features = output.shape()[2];
  const int64_t target_width = target.batch() == n && target.features() == steps            ? 1
                               : target.batch() == n && target.features() == steps * features ? features
                                                                                                : 0;
  if (target_width == 0) {
    const bool one_per_sample = target.batch() == n && steps > 1 && (target.features() == 1 || target.features() == features);
    throw Error("targets have samples of shape " + shape_string(target.sample_shape()) +
                " but the network outputs sequences of shape " + shape_string(output.sample_shape()) +
                " (a row of " + std::to_string(features) + " outputs per step); give targets per step: a class index per step (" +
                std::to_string(n) + ", " + std::to_string(steps) + ") or a value per output per step (" + std::to_string(n) +
                ", " + std::to_string(steps) + ", " + std::to_string(features) + ")" +
                (one_per_sample ? "; for one target per sequence end the model with a recurrent layer without "
                                  "return_sequences (or a global pooling layer)"
                                : ""));
  }
  if (mask && (mask->batch() != n || mask->features() != steps))
    throw Error("the step mask has shape " + shape_string(mask->shape()) + " but the outputs have " +
                std::to_string(n) + " sequences of " + std::to_string(steps) + " steps");
  kept_.clear();
  if (!mask) {
    rows_shape_ = {n * steps, features};
    target_rows_shape_ = {n * steps, target_width};
    out_.resize(rows_shape_);
    target_.resize(target_rows_shape_);
    std::memcpy(out_.data(), output.data(), sizeof(float) * static_cast<size_t>(output.size()));
    std::memcpy(target_.data(), target.data(), sizeof(float) * static_cast<size_t>(target.size()));
    return;
  }
  for (int64_t i = 0; i < n * steps; ++i)
    if ((*mask)[i] != 0.0f) kept_.push_back(i);
  const int64_t rows = static_cast<int64_t>(kept_.size());
  rows_shape_ = {rows, features};
  target_rows_shape_ = {rows, target_width};
  out_.resize(rows_shape_);
  target_.resize(target_rows_shape_);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t step = kept_[static_cast<size_t>(r)];
    std::memcpy(out_.data() + r * features, output.data() + step * features, sizeof(float) * static_cast<size_t>(features));
    std::memcpy(target_.data() + r * target_width, target.data() + step * target_width,
                sizeof(float) * static_cast<size_t>(target_width));
  }
}

double StepRows::loss(const Loss& loss, const Tensor& output, const Tensor& target, const Tensor* mask, Tensor* grad) {
  if (!per_step(output)) return loss.forward_backward(output, target, grad);
  gather(output, target, mask);
  if (!mask) {
    // Every step is a row, in order: the rows' gradient is the output's, reshaped.
    const double value = loss.forward_backward(out_, target_, grad);
    if (grad) grad->reshape(output.shape());
    return value;
  }
  const int64_t features = output.shape()[2];
  if (out_.batch() == 0) {  // only padding: nothing to learn from this batch
    if (grad) {
      grad->resize(output.shape());
      grad->set_zero();
    }
    return 0.0;
  }
  const double value = loss.forward_backward(out_, target_, grad ? &row_grad_ : nullptr);
  if (grad) {
    grad->resize(output.shape());
    grad->set_zero();
    for (size_t r = 0; r < kept_.size(); ++r)
      std::memcpy(grad->data() + kept_[r] * features, row_grad_.data() + static_cast<int64_t>(r) * features,
                  sizeof(float) * static_cast<size_t>(features));
  }
  return value;
}

}  // namespace nntune
