// Categorical cross-entropy with the softmax fused in; targets are class indices or one-hot rows.
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

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
    if (!weights_.empty() || smoothing_ > 0.0f) return weighted_forward_backward(output, target, grad, indices);
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
  void unlink(Tensor& predictions) const override {
    // softmax(log p) = p for rows that sum to 1.
    ArrayMap p(predictions.data(), predictions.size());
    p = p.max(kSmallestProbability).log();
  }
  std::string link_name() const override { return "softmax"; }
  bool is_classification() const override { return true; }

  void configure(const LossOptions& options) override {
    weights_.assign(options.class_weights.begin(), options.class_weights.end());
    smoothing_ = static_cast<float>(options.label_smoothing);
  }

 private:
  // With class weights w and/or label smoothing eps, per row with target distribution t (one-hot
  // for an index) and K classes: t' = t (1 - eps) + eps / K, row weight v = sum_k t_k w_k, and
  //   loss = v sum_k t'_k (logsumexp(z) - z_k),  gradient = v (softmax(z) sum(t') - t').
  // A separate path so that the plain loss keeps its arithmetic bit for bit.
  double weighted_forward_backward(const Tensor& output, const Tensor& target, Tensor* grad, bool indices) const {
    const int64_t n = output.batch(), classes = output.features();
    if (!weights_.empty() && static_cast<int64_t>(weights_.size()) != classes)
      throw Error(name() + ": " + std::to_string(weights_.size()) + " class weights for " + std::to_string(classes) +
                  " outputs; give one weight per class");
    if (grad) grad->resize(output.shape());
    const float inv_n = 1.0f / static_cast<float>(n);
    const float spread = smoothing_ / static_cast<float>(classes);
    Eigen::ArrayXf t(classes), p(classes);
    double total = 0.0;
    for (int64_t r = 0; r < n; ++r) {
      ConstArrayMap z(output.data() + r * classes, classes);
      if (indices) {
        t.setZero();
        t[class_index(target[r], r, classes)] = 1.0f;
      } else {
        t = ConstArrayMap(target.data() + r * classes, classes);
      }
      const float v = weights_.empty() ? 1.0f : (t * ConstArrayMap(weights_.data(), classes)).sum();
      const Eigen::ArrayXf smoothed = t * (1.0f - smoothing_) + spread;
      const float max = z.maxCoeff();
      p = (z - max).exp();
      const float sum = p.sum();
      const float log_sum_exp = max + std::log(sum);
      total += static_cast<double>(v) * static_cast<double>((smoothed * (log_sum_exp - z)).sum());
      if (grad) ArrayMap(grad->data() + r * classes, classes) = v * inv_n * (p * (smoothed.sum() / sum) - smoothed);
    }
    return total / static_cast<double>(n);
  }

  std::vector<float> weights_;
  float smoothing_ = 0.0f;

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
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_categorical_crossentropy) {
  nntune::loss_registry().add({.name = "categorical_crossentropy",
                               .help = "one output per class; applies the softmax itself; takes integer labels 0..K-1 as they are (what "
                                       "Keras calls sparse_categorical_crossentropy) or one-hot rows; class_weight and "
                                       "label_smoothing apply",
                               .order = 2,
                               // Keras' name for integer labels, which this loss takes as they are.
                               .aliases = {"sparse_categorical_crossentropy"}},
                              [] { return std::make_unique<nntune::losses::CategoricalCrossEntropy>(); });
}
