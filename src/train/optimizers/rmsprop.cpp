// RMSprop (Hinton's lecture 6e; PyTorch's formula):
//   v = rho v + (1 - rho) g^2;  w -= lr g / (sqrt(v) + eps)
//   (with momentum mu: b = mu b + g / (sqrt(v) + eps); w -= lr b)
#include "train/optimizer_registry.hpp"
#include "train/optimizer_kernels.hpp"
#include "train/optimizers/optimizer_util.hpp"

namespace nntune::optimizers {
namespace {

class RmsProp final : public Optimizer {
 public:
  explicit RmsProp(const OptimizerConfig& c)
      : rho_(static_cast<float>(c.rho)), epsilon_(static_cast<float>(c.epsilon)),
        momentum_(static_cast<float>(c.momentum)), weight_decay_(c) {}
  std::string name() const override { return "rmsprop"; }
  void reset() override {
    mean_square_.clear();
    buffer_.clear();
  }

  void step(float* params, const float* grads, int64_t size, double lr) override {
    check_size("rmsprop", mean_square_, size, 0.0f);
    if (momentum_ > 0.0f) check_size("rmsprop", buffer_, size, 0.0f);
    const float rate = static_cast<float>(lr), rho = rho_, eps = epsilon_, mu = momentum_;
    const auto& kernels = optimizer_kernels::kernels();
    for_each_chunk(size, [&](int64_t b, int64_t n) {
      const float* g = weight_decay_.gradient(grads + b, params + b, n);
      weight_decay_.decay(params + b, n, lr);
      kernels.rmsprop(params + b, mean_square_.data() + b, mu > 0.0f ? buffer_.data() + b : nullptr, g, n, rate, rho,
                      eps, mu);
    });
  }

 private:
  float rho_, epsilon_, momentum_;
  WeightDecay weight_decay_;
  std::vector<float> mean_square_, buffer_;
};


}  // namespace
}  // namespace nntune::optimizers

NNTUNE_REGISTER_COMPONENTS(optimizer_rmsprop) {
  using namespace nntune;
  using namespace nntune::optimizers;
  using namespace nntune::schema;
  std::vector<Option<OptimizerConfig>> options = common_options(true);
  options.push_back(bind_option(&OptimizerConfig::rho, opt("rho", real(0.0, false, 1.0, true), nullptr,
                                                           "decay of the squared-gradient average")));
  options.push_back(bind_option(&OptimizerConfig::momentum, opt("momentum", real(0.0, false, 1.0, true), nullptr,
                                                                "momentum on the scaled step (0: none)")));
  options.push_back(bind_option(&OptimizerConfig::epsilon, opt("epsilon", real(0.0, true), nullptr,
                                                               "added to the denominator")));
  declare_optimizer({.name = "rmsprop", .help = "per-parameter rates from a running average of squared gradients",
                     .order = 4},
                    {[](const OptimizerConfig& c) -> std::unique_ptr<Optimizer> { return std::make_unique<RmsProp>(c); },
                     options});
}
