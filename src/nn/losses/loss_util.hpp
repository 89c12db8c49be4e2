#pragma once
// What the losses share (private to src/nn). Losses on raw network outputs (logits): each
// returns the mean over the batch and writes dLoss/dOutput already divided by the batch size.
// Per-sample values are means over the output features for mse and binary cross-entropy
// (Keras convention), so the batch value is the mean over all elements; categorical
// cross-entropy sums over classes.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"

namespace nntune::losses {

// A probability of 0 would make a loss infinite: unlink clamps to this.
constexpr float kSmallestProbability = 1e-12f;

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

// These take the Loss, not its name: name() builds a std::string, which would be a heap
// allocation on every batch.
inline void require_nonempty(const Loss& loss, const Tensor& output) {
  if (output.batch() == 0 || output.features() == 0)
    throw Error(loss.name() + ": empty output " + shape_string(output.shape()) + "; a batch needs at least one sample");
}

inline void require_same_shape(const Loss& loss, const Tensor& output, const Tensor& target) {
  if (output.batch() != target.batch() || output.features() != target.features())
    throw Error(loss.name() + ": targets have shape " + shape_string(target.shape()) + " but the network outputs " +
                shape_string(output.shape()) + "; the targets need one value per output");
}

inline std::string format_number(float value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// A regression loss of the error e = output - target, element by element, averaged over every
// output value: `value(e)` gives the per-element losses (as doubles), `slope(e)` their
// derivatives (as floats); the gradient is slope(e) / n.
template <typename Value, typename Slope>
double elementwise_error_loss(const Loss& loss, const Tensor& output, const Tensor& target, Tensor* grad, Value value,
                              Slope slope) {
  require_nonempty(loss, output);
  require_same_shape(loss, output, target);
  const int64_t n = output.size();
  const Eigen::ArrayXf e = ConstArrayMap(output.data(), n) - ConstArrayMap(target.data(), n);
  if (grad) {
    grad->resize(output.shape());
    ArrayMap(grad->data(), n) = (1.0f / static_cast<float>(n)) * slope(e);
  }
  return value(e).sum() / static_cast<double>(n);
}

inline void softmax_rows(Tensor& t) {
  const int64_t cols = t.features();
  for (int64_t r = 0; r < t.batch(); ++r) {
    ArrayMap row(t.data() + r * cols, cols);
    row = (row - row.maxCoeff()).exp();
    row /= row.sum();
  }
}

}  // namespace nntune::losses
