// Huber loss with delta 1 (Keras' and PyTorch's default), over every output value
// (regression): squared for errors up to 1, linear beyond, so outliers pull like mae and small
// errors are smooth like mse.
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

constexpr float kDelta = 1.0f;

class Huber final : public Loss {
 public:
  std::string name() const override { return "huber"; }

  // Per element with error e = y - t: 0.5 e^2 when |e| <= delta, else delta (|e| - 0.5 delta);
  // the gradient is e clamped to [-delta, delta].
  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    return elementwise_error_loss(
        *this, output, target, grad,
        [](const Eigen::ArrayXf& e) -> Eigen::ArrayXd {
          const Eigen::ArrayXd a = e.cast<double>().abs();
          return (a <= kDelta).select(0.5 * a.square(), kDelta * (a - 0.5 * kDelta));
        },
        [](const Eigen::ArrayXf& e) { return e.max(-kDelta).min(kDelta); });
  }
};

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_huber) {
  nntune::loss_registry().add({.name = "huber",
                               .help = "Huber loss, delta 1 (regression): squared for errors up to 1, linear beyond; no output link",
                               .order = 4,
                               .aliases = {"huber_loss"}},
                              [] { return std::make_unique<nntune::losses::Huber>(); });
}
