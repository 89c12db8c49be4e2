// Losses on raw network outputs (logits). Each returns the mean over the batch and writes
// dLoss/dOutput already divided by the batch size. Per-sample values are means over the
// output features for mse and binary cross-entropy (Keras convention), so the batch value is
// the mean over all elements; categorical cross-entropy sums over classes.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"

namespace nntune {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

// These take the Loss, not its name: name() builds a std::string, which would be a heap
// allocation on every batch.
void require_nonempty(const Loss& loss, const Tensor& output) {
  if (output.batch() == 0 || output.features() == 0)
    throw Error(loss.name() + ": empty output " + shape_string(output.shape()) + "; a batch needs at least one sample");
}

void require_same_shape(const Loss& loss, const Tensor& output, const Tensor& target) {
  if (output.batch() != target.batch() || output.features() != target.features())
    throw Error(loss.name() + ": targets have shape " + shape_string(target.shape()) + " but the network outputs " +
                shape_string(output.shape()) + "; the targets need one value per output");
}

std::string format_number(float value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void softmax_rows(Tensor& t) {
  const int64_t cols = t.features();
  for (int64_t r = 0; r < t.batch(); ++r) {
    ArrayMap row(t.data() + r * cols, cols);
    row = (row - row.maxCoeff()).exp();
    row /= row.sum();
  }
}

class MeanSquaredError final : public Loss {
 public:
  std::string name() const override { return "mse"; }

  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    require_nonempty(*this, output);
    require_same_shape(*this, output, target);
    const int64_t n = output.size();
    ConstArrayMap y(output.data(), n), t(target.data(), n);
    if (grad) {
      grad->resize(output.shape());
      ArrayMap(grad->data(), n) = (2.0f / static_cast<float>(n)) * (y - t);
    }
    return (y - t).cast<double>().square().sum() / static_cast<double>(n);
  }
};

class BinaryCrossEntropy final : public Loss {
 public:
  std::string name() const override { return "binary_crossentropy"; }

  // Per element, with logit z and target t in [0, 1]:
  //   -t log sigmoid(z) - (1-t) log(1 - sigmoid(z)) = max(z, 0) - z t + log(1 + exp(-|z|))
  // which never overflows; the gradient is sigmoid(z) - t.
  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    require_nonempty(*this, output);
    require_same_shape(*this, output, target);
    const int64_t n = output.size();
    ConstArrayMap z(output.data(), n), t(target.data(), n);
    const double total = (z.max(0.0f) - z * t + (-z.abs()).exp().log1p()).cast<double>().sum();
    if (grad) {
      grad->resize(output.shape());
      ArrayMap(grad->data(), n) = (1.0f / (1.0f + (-z).exp()) - t) * (1.0f / static_cast<float>(n));
    }
    return total / static_cast<double>(n);
  }

  void link(Tensor& output) const override {
    ArrayMap y(output.data(), output.size());
    y = 1.0f / (1.0f + (-y).exp());
  }
  bool is_classification() const override { return true; }
};

class CategoricalCrossEntropy final : public Loss {
 public:
  std::string name() const override { return "categorical_crossentropy"; }

  // Softmax fused with the log: per row, loss = logsumexp(z) - z[class] (or, for one-hot /
  // soft targets t, sum_k t_k (logsumexp(z) - z_k)); gradient = softmax(z) * sum(t) - t.
  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    require_nonempty(*this, output);
    const int64_t n = output.batch(), classes = output.features();
    const bool indices = target.batch() == n && target.features() == 1;
    if (!indices && (target.batch() != n || target.features() != classes))
      throw Error(name() + ": targets have shape " + shape_string(target.shape()) + " but the network outputs " +
                  shape_string(output.shape()) + "; give class indices (" + std::to_string(n) +
                  ", 1) or one-hot rows (" + std::to_string(n) + ", " + std::to_string(classes) + ")");
    if (grad) grad->resize(output.shape());
    const float inv_n = 1.0f / static_cast<float>(n);
    double total = 0.0;
    for (int64_t r = 0; r < n; ++r) {
      ConstArrayMap z(output.data() + r * classes, classes);
      const float max = z.maxCoeff();
      if (!grad) {
        const float log_sum_exp = max + std::log((z - max).exp().sum());
        total += indices ? static_cast<double>(log_sum_exp - z[class_index(target[r], r, classes)])
                         : row_loss_soft(target, r, z, log_sum_exp);
        continue;
      }
      // exp(z - max) goes straight into the gradient row, so the exponentials are computed once.
      ArrayMap g(grad->data() + r * classes, classes);
      g = (z - max).exp();
      const float sum = g.sum();
      const float log_sum_exp = max + std::log(sum);
      if (indices) {
        const int64_t cls = class_index(target[r], r, classes);
        total += static_cast<double>(log_sum_exp - z[cls]);
        g *= inv_n / sum;
        g[cls] -= inv_n;
      } else {
        ConstArrayMap t(target.data() + r * classes, classes);
        total += row_loss_soft(target, r, z, log_sum_exp);
        g = (g * (t.sum() / sum) - t) * inv_n;
      }
    }
    return total / static_cast<double>(n);
  }

  void link(Tensor& output) const override { softmax_rows(output); }
  bool is_classification() const override { return true; }

 private:
  int64_t class_index(float value, int64_t row, int64_t classes) const {
    const bool valid = std::isfinite(value) && value == std::floor(value) && value >= 0.0f &&
                       value < static_cast<float>(classes);
    if (!valid)
      throw Error(name() + ": target row " + std::to_string(row) + " has class " + format_number(value) +
                  ", but class indices must be whole numbers in [0, " + std::to_string(classes - 1) + "] for " +
                  std::to_string(classes) + " outputs");
    return static_cast<int64_t>(value);
  }

  // sum_k t_k (logsumexp(z) - z_k) for a one-hot or soft target row.
  static double row_loss_soft(const Tensor& target, int64_t r, const ConstArrayMap& z, float log_sum_exp) {
    ConstArrayMap t(target.data() + r * z.size(), z.size());
    return static_cast<double>(t.sum() * log_sum_exp - (t * z).sum());
  }
};

}  // namespace

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = {"mse", "binary_crossentropy", "categorical_crossentropy"};
  return names;
}

std::unique_ptr<Loss> make_loss(const std::string& name) {
  if (name == "mse" || name == "mean_squared_error") return std::make_unique<MeanSquaredError>();
  if (name == "binary_crossentropy") return std::make_unique<BinaryCrossEntropy>();
  if (name == "categorical_crossentropy") return std::make_unique<CategoricalCrossEntropy>();
  throw Error("unknown loss \"" + name +
              "\"; allowed: mse (alias mean_squared_error), binary_crossentropy, categorical_crossentropy");
}

}  // namespace nntune
