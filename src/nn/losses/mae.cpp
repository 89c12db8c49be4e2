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
    require_nonempty(*this, output);
    require_same_shape(*this, output, target);
    const int64_t n = output.size();
    ConstArrayMap y(output.data(), n), t(target.data(), n);
    if (grad) {
      grad->resize(output.shape());
      ArrayMap(grad->data(), n) = (1.0f / static_cast<float>(n)) * (y - t).sign();
    }
    return (y - t).cast<double>().abs().sum() / static_cast<double>(n);
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
