// Stochastic gradient descent, with heavy-ball or Nesterov momentum (PyTorch's formulas):
//   v = mu v + g;  w -= lr v        (nesterov: w -= lr (g + mu v))
#include "train/optimizer_registry.hpp"
#include "train/optimizer_kernels.hpp"
#include "train/optimizers/optimizer_util.hpp"

namespace nntune::optimizers {
namespace {

class Sgd final : public Optimizer {
 public:
  Sgd(std::string name, const OptimizerConfig& c)
      : name_(std::move(name)), momentum_(static_cast<float>(c.momentum)), nesterov_(c.nesterov),
        weight_decay_(c) {}
  std::string name() const override { return name_; }
  void reset() override { velocity_.clear(); }

  void step(float* params, const float* grads, int64_t size, double lr) override {
    const float rate = static_cast<float>(lr);
    if (momentum_ > 0.0f) check_size(name_, velocity_, size, 0.0f);
    const float mu = momentum_;
    const auto& kernels = optimizer_kernels::kernels();
    for_each_chunk(size, [&](int64_t b, int64_t n) {
      const float* g = weight_decay_.gradient(grads + b, params + b, n);
      weight_decay_.decay(params + b, n, lr);
      kernels.sgd(params + b, mu == 0.0f ? nullptr : velocity_.data() + b, g, n, rate, mu, nesterov_);
    });
  }

 private:
  std::string name_;
  float momentum_;
  bool nesterov_;
  WeightDecay weight_decay_;
  std::vector<float> velocity_;
};


std::vector<Option<OptimizerConfig>> sgd_options(bool with_nesterov, double default_momentum) {
  using namespace schema;
  std::vector<Option<OptimizerConfig>> options = common_options(true);
  options.push_back(bind_option(&OptimizerConfig::momentum,
                                opt("momentum", real(0.0, false, 1.0, true), default_momentum,
                                    "velocity kept per step (0: plain sgd)")));
  if (with_nesterov)
    options.push_back(bind_option(&OptimizerConfig::nesterov,
                                  opt("nesterov", boolean(), false, "Nesterov's momentum (needs momentum > 0)")));
  return options;
}

std::unique_ptr<Optimizer> make_sgd(std::string name, OptimizerConfig c) {
  // "momentum" and "nesterov" are sgd with momentum switched on (0.9 unless given).
  if (name == "momentum" || name == "nesterov") {
    if (c.momentum == 0.0) c.momentum = 0.9;
    if (name == "nesterov") c.nesterov = true;
  }
  if (c.nesterov && c.momentum == 0.0)
    throw Error("optimizer '" + name + "': nesterov needs momentum > 0 (e.g. momentum: 0.9)");
  return std::make_unique<Sgd>(std::move(name), c);
}
}  // namespace
}  // namespace nntune::optimizers

NNTUNE_REGISTER_COMPONENTS(optimizer_sgd) {
  using namespace nntune;
  using namespace nntune::optimizers;
  declare_optimizer({.name = "sgd", .help = "stochastic gradient descent, optionally with momentum / nesterov", .order = 0},
                    {[](const OptimizerConfig& c) { return make_sgd("sgd", c); }, sgd_options(true, 0.0)});
  declare_optimizer({.name = "momentum", .help = "sgd with heavy-ball momentum (0.9 unless given)", .order = 1},
                    {[](const OptimizerConfig& c) { return make_sgd("momentum", c); }, sgd_options(false, 0.9)});
  declare_optimizer({.name = "nesterov", .help = "sgd with Nesterov momentum (0.9 unless given)", .order = 2},
                    {[](const OptimizerConfig& c) { return make_sgd("nesterov", c); }, sgd_options(false, 0.9)});
}
