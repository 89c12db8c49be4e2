// Mean squared error over every output value (regression).
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

class MeanSquaredError final : public Loss {
 public:
  std::string name() const override { return "mse"; }

  double forward_backward(const Tensor& output, const Tensor& target, Tensor* grad) const override {
    return elementwise_error_loss(
        *this, output, target, grad, [](const Eigen::ArrayXf& e) { return e.cast<double>().square(); },
        [](const Eigen::ArrayXf& e) { return 2.0f * e; });
  }
};

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_mse) {
  nntune::loss_registry().add({.name = "mse",
                               .help = "mean squared error (regression); no output link",
                               .order = 0,
                               .aliases = {"mean_squared_error"}},
                              [] { return std::make_unique<nntune::losses::MeanSquaredError>(); });
}
