// Binary cross-entropy on one logit per sample, with the sigmoid fused in (two classes).
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

class BinaryCrossEntropy final : public Loss {
 public:
  std::string name() const override { return "binary_crossentropy"; }

  // Per element, with logit z and target t in [0, 1]:
  //   -t log sigmoid(z) - (1-t) log(1 - sigmoid(z)) = max(z, 0) - z t + log(1 + exp(-|z|))
  // which never overflows; the gradient is sigmoid(z) - t.
  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    require_nonempty(*this, output);
    require_same_shape(*this, output, target);
    if (!weights_.empty() || smoothing_ > 0.0f) return weighted_forward_backward(output, target, grad);
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
  void unlink(Tensor& predictions) const override {
    ArrayMap p(predictions.data(), predictions.size());
    p = p.max(kSmallestProbability).min(1.0f - 1e-7f);
    p = p.log() - (-p).log1p();
  }
  std::string link_name() const override { return "sigmoid"; }
  bool is_classification() const override { return true; }
  int64_t output_width(int64_t, int64_t) const override { return 1; }
  int64_t required_classes() const override { return 2; }

  void configure(const LossOptions& options) override {
    if (!options.class_weights.empty() && options.class_weights.size() != 2)
      throw Error(name() + ": " + std::to_string(options.class_weights.size()) +
                  " class weights; give two (class 0, class 1)");
    w0_ = options.class_weights.empty() ? 1.0f : static_cast<float>(options.class_weights[0]);
    w1_ = options.class_weights.empty() ? 1.0f : static_cast<float>(options.class_weights[1]);
    weights_ = options.class_weights;
    smoothing_ = static_cast<float>(options.label_smoothing);
  }

 private:
  // With class weights (w0, w1) and/or label smoothing eps, per element: t' = t (1 - eps) + eps / 2
  // (Keras), weight v = w0 (1 - t) + w1 t (of the target as given), loss v (max(z, 0) - z t' +
  // log(1 + exp(-|z|))), gradient v (sigmoid(z) - t'). Separate so the plain loss is unchanged.
  double weighted_forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const {
    const int64_t n = output.size();
    ConstArrayMap z(output.data(), n), t(target.data(), n);
    const Eigen::ArrayXf v = w0_ + (w1_ - w0_) * t;
    const Eigen::ArrayXf smoothed = t * (1.0f - smoothing_) + 0.5f * smoothing_;
    const double total = (v * (z.max(0.0f) - z * smoothed + (-z.abs()).exp().log1p())).cast<double>().sum();
    if (grad) {
      grad->resize(output.shape());
      ArrayMap(grad->data(), n) = v * (1.0f / (1.0f + (-z).exp()) - smoothed) * (1.0f / static_cast<float>(n));
    }
    return total / static_cast<double>(n);
  }

  std::vector<double> weights_;
  float w0_ = 1.0f, w1_ = 1.0f;
  float smoothing_ = 0.0f;
};

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_binary_crossentropy) {
  nntune::loss_registry().add(
      {.name = "binary_crossentropy", .help = "two classes, one output; applies the sigmoid itself; class_weight and label_smoothing apply", .order = 1},
      [] { return std::make_unique<nntune::losses::BinaryCrossEntropy>(); });
}
