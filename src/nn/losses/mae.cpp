// Mean absolute error over every output value (regression): robust to outliers, its gradient
// is the sign of the error (0 where the prediction is exact).
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

class MeanAbsoluteError final : public Loss {
 public:
  std::string name() const override { return "mae"; }

  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    return elementwise_error_loss(
        *this, output, target, grad, [](const Eigen::ArrayXf& e) { return e.cast<double>().abs(); },
        [](const Eigen::ArrayXf& e) { return e.sign(); });
  }
};

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_mae) {
  nntune::loss_registry().add({.name = "mae",
                               .help = "mean absolute error (regression): less pulled by outliers than mse; no output link",
                               .order = 3,
                               .aliases = {"mean_absolute_error"}},
                              [] { return std::make_unique<nntune::losses::MeanAbsoluteError>(); });
}
