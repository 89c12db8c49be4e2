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
};

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_binary_crossentropy) {
  nntune::loss_registry().add(
      {.name = "binary_crossentropy", .help = "two classes, one output; applies the sigmoid itself", .order = 1},
      [] { return std::make_unique<nntune::losses::BinaryCrossEntropy>(); });
}
