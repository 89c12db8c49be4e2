// Adagrad (Duchi et al. 2011; PyTorch's formula):  s += g^2;  w -= lr g / (sqrt(s) + eps)
#include "train/optimizer_registry.hpp"
#include "train/optimizer_kernels.hpp"
#include "train/optimizers/optimizer_util.hpp"

namespace nntune::optimizers {
namespace {

class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(const OptimizerConfig& c)
      : epsilon_(static_cast<float>(c.epsilon)), initial_(static_cast<float>(c.initial_accumulator)),
        weight_decay_(c) {}
  std::string name() const override { return "adagrad"; }
  void reset() override { sum_squares_.clear(); }

  void step(float* params, const float* grads, int64_t size, double lr) override {
    check_size("adagrad", sum_squares_, size, initial_);
    const float rate = static_cast<float>(lr), eps = epsilon_;
    const auto& kernels = optimizer_kernels::kernels();
    for_each_chunk(size, [&](int64_t b, int64_t n) {
      const float* g = weight_decay_.gradient(grads + b, params + b, n);
      weight_decay_.decay(params + b, n, lr);
      kernels.adagrad(params + b, sum_squares_.data() + b, g, n, rate, eps);
    });
  }

 private:
  float epsilon_, initial_;
  WeightDecay weight_decay_;
  std::vector<float> sum_squares_;
};


}  // namespace
}  // namespace nntune::optimizers

NNTUNE_REGISTER_COMPONENTS(optimizer_adagrad) {
  using namespace nntune;
  using namespace nntune::optimizers;
  std::vector<Option<OptimizerConfig>> options = common_options(true);
  options.push_back(bind_option(&OptimizerConfig::epsilon,
                                schema::opt("epsilon", schema::real(0.0, true), nullptr, "added to the denominator")));
  options.push_back(bind_option(&OptimizerConfig::initial_accumulator,
                                schema::opt("initial_accumulator", schema::real(0.0), nullptr,
                                            "starting value of the sum of squared gradients")));
  declare_optimizer({.name = "adagrad", .help = "per-parameter rates from the sum of squared gradients", .order = 3},
                    {[](const OptimizerConfig& c) -> std::unique_ptr<Optimizer> { return std::make_unique<Adagrad>(c); },
                     options});
}
