// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), PyTorch's formulas:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   w -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)   (eps outside the sqrt)
//   adamw: w -= lr wd w, then the adam step
#include "train/optimizer_registry.hpp"
#include "train/optimizer_kernels.hpp"
#include "train/optimizers/optimizer_util.hpp"

namespace nntune::optimizers {
namespace {

// Adam and AdamW differ in the name and in that adamw is always decoupled (weight_decay is 0
// for plain adam unless the user asks for it).
class Adam final : public Optimizer {
 public:
  Adam(std::string name, const OptimizerConfig& c)
      : name_(std::move(name)), beta1_(c.beta1), beta2_(c.beta2), epsilon_(static_cast<float>(c.epsilon)),
        weight_decay_(c) {}
  std::string name() const override { return name_; }
  void reset() override {
    m_.clear();
    v_.clear();
    steps_ = 0;
  }

  void step(float* params, const float* grads, int64_t size, double lr) override {
    check_size(name_, m_, size, 0.0f);
    check_size(name_, v_, size, 0.0f);
    ++steps_;
    // Bias corrections in double: 1 - beta^t loses digits in float for beta2 near 1.
    const double correction1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
    const double correction2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
    const float step_size = static_cast<float>(lr / correction1);
    const float inv_sqrt_correction2 = static_cast<float>(1.0 / std::sqrt(correction2));
    const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
    const float c1 = static_cast<float>(1.0 - beta1_), c2 = static_cast<float>(1.0 - beta2_);
    const float eps = epsilon_;
    const auto& kernels = optimizer_kernels::kernels();
    for_each_chunk(size, [&](int64_t b, int64_t n) {
      const float* g = weight_decay_.gradient(grads + b, params + b, n);
      weight_decay_.decay(params + b, n, lr);
      kernels.adam(params + b, m_.data() + b, v_.data() + b, g, n, step_size, inv_sqrt_correction2, b1, c1, b2, c2,
                   eps);
    });
  }

 private:
  std::string name_;
  double beta1_, beta2_;
  float epsilon_;
  WeightDecay weight_decay_;
  std::vector<float> m_, v_;
  int64_t steps_ = 0;
};

std::vector<Option<OptimizerConfig>> adam_options(bool adamw) {
  using namespace schema;
  // adamw is decoupled by definition (so it has no decoupled_weight_decay key) and decays by
  // 0.01 unless told otherwise, as PyTorch's AdamW.
  std::vector<Option<OptimizerConfig>> options = common_options(!adamw);
  if (adamw)
    options[1] = bind_option(&OptimizerConfig::weight_decay,
                             opt("weight_decay", real(0.0), 0.01, "decoupled weight decay (w -= lr wd w)"));
  options.push_back(bind_option(&OptimizerConfig::beta1, opt("beta1", real(0.0, false, 1.0, true), nullptr,
                                                             "decay of the gradient average")));
  options.push_back(bind_option(&OptimizerConfig::beta2, opt("beta2", real(0.0, false, 1.0, true), nullptr,
                                                             "decay of the squared-gradient average")));
  options.push_back(bind_option(&OptimizerConfig::epsilon, opt("epsilon", real(0.0, true), nullptr,
                                                               "added to the denominator")));
  return options;
}
}  // namespace
}  // namespace nntune::optimizers

NNTUNE_REGISTER_COMPONENTS(optimizer_adam) {
  using namespace nntune;
  using namespace nntune::optimizers;
  declare_optimizer({.name = "adam", .help = "Adam: bias-corrected moment estimates (the default)", .order = 5},
                    {[](const OptimizerConfig& c) -> std::unique_ptr<Optimizer> { return std::make_unique<Adam>("adam", c); },
                     adam_options(false)});
  declare_optimizer({.name = "adamw", .help = "Adam with decoupled weight decay (0.01 unless given)", .order = 6},
                    {[](const OptimizerConfig& c) -> std::unique_ptr<Optimizer> {
                       if (!c.decoupled_weight_decay)
                         throw Error("optimizer 'adamw': decoupled_weight_decay = false is invalid; adamw is adam with "
                                     "decoupled weight decay: use adam with decoupled_weight_decay: false for PyTorch's "
                                     "coupled (L2) form");
                       return std::make_unique<Adam>("adamw", c);
                     },
                     adam_options(true)});
}
