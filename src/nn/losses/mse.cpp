// Mean squared error over every output value (regression).
#include "nn/loss_registry.hpp"
#include "nn/losses/loss_util.hpp"

namespace nntune::losses {
namespace {

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

}  // namespace
}  // namespace nntune::losses

NNTUNE_REGISTER_COMPONENTS(loss_mse) {
  nntune::loss_registry().add({.name = "mse",
                               .help = "mean squared error (regression); no output link",
                               .order = 0,
                               .aliases = {"mean_squared_error"}},
                              [] { return std::make_unique<nntune::losses::MeanSquaredError>(); });
}
