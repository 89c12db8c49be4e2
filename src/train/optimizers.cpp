// Update rules over flat float buffers (ensmallen style): no knowledge of layers.
//
// Formulas follow PyTorch's documentation so results can be checked against it:
//   sgd       v = mu v + g;  w -= lr v        (nesterov: w -= lr (g + mu v))
//   adagrad   s += g^2;      w -= lr g / (sqrt(s) + eps)
//   rmsprop   v = rho v + (1 - rho) g^2;  w -= lr g / (sqrt(v) + eps)
//             (with momentum mu: b = mu b + g / (sqrt(v) + eps); w -= lr b)
//   adam      m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//             w -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)   (eps outside the sqrt)
//   adamw     w -= lr wd w, then the adam step (Loshchilov & Hutter)
// weight_decay > 0 is decoupled by default for every optimiser (w -= lr wd w before the
// update): the decay then does not pass through the adaptive scaling, and "weight_decay" means
// the same thing whichever optimiser is chosen. decoupled_weight_decay = false gives PyTorch's
// coupled form instead (g += wd w before the update; adamw refuses it).
//
// The per-element loops run over L1-sized chunks, so a chunk of every buffer stays in cache
// while all the updates of the step are applied to it and memory is traversed once per step;
// the arithmetic of a chunk is in optimizer_kernels (one build per instruction set, chosen at
// run time).
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/optimizer.hpp"
#include "train/optimizer_kernels.hpp"

namespace nntune {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

// 1024 floats = 4 KiB per buffer; four buffers fit in L1 together.
constexpr int64_t kChunk = 1024;

template <typename Body>
void for_each_chunk(int64_t size, Body&& body) {
  for (int64_t begin = 0; begin < size; begin += kChunk) body(begin, std::min(kChunk, size - begin));
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

[[noreturn]] void invalid(const std::string& optimizer, const std::string& field, double value,
                          const std::string& allowed) {
  throw Error("optimizer '" + optimizer + "': " + field + " = " + number(value) + " is invalid; " + field +
              " must be " + allowed);
}

void check_size(const std::string& optimizer, std::vector<float>& state, int64_t size, float fill) {
  if (state.empty()) {
    state.assign(static_cast<size_t>(size), fill);
  } else if (static_cast<int64_t>(state.size()) != size) {
    throw Error("optimizer '" + optimizer + "': parameter count changed from " + std::to_string(state.size()) +
                " to " + std::to_string(size) + " between steps; call reset() or make a new optimizer");
  }
}

// The two forms of weight decay, one per optimiser, applied chunk by chunk inside the update
// loop (one pass over memory). Decoupled: w *= (1 - lr wd) before the update. Coupled: the
// update sees g + wd w, built in a chunk-sized scratch buffer (the caller's gradients stay
// untouched).
class WeightDecay {
 public:
  explicit WeightDecay(const OptimizerConfig& c)
      : decoupled_(c.decoupled_weight_decay && c.weight_decay > 0.0 ? c.weight_decay : 0.0),
        coupled_(!c.decoupled_weight_decay && c.weight_decay > 0.0 ? static_cast<float>(c.weight_decay) : 0.0f) {}

  void decay(float* params, int64_t n, double lr) const {
    if (decoupled_ <= 0.0) return;
    optimizer_kernels::kernels().scale(params, n, static_cast<float>(1.0 - lr * decoupled_));
  }

  // The gradient chunk the update uses: grads itself, or grads + wd * params.
  const float* gradient(const float* grads, const float* params, int64_t n) {
    if (coupled_ == 0.0f) return grads;
    if (static_cast<int64_t>(scratch_.size()) < n) scratch_.resize(static_cast<size_t>(n));
    optimizer_kernels::kernels().add_scaled(scratch_.data(), grads, params, n, coupled_);
    return scratch_.data();
  }

 private:
  double decoupled_;
  float coupled_;
  std::vector<float> scratch_;
};

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

void validate(const std::string& name, const OptimizerConfig& c) {
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) invalid(name, "lr", c.lr, "a finite number > 0 (e.g. 0.001)");
  if (!(c.weight_decay >= 0.0) || !std::isfinite(c.weight_decay))
    invalid(name, "weight_decay", c.weight_decay, "a finite number >= 0 (0 turns it off)");
  if (name == "adamw" && !c.decoupled_weight_decay)
    throw Error("optimizer 'adamw': decoupled_weight_decay = false is invalid; adamw is adam with decoupled "
                "weight decay: use adam with decoupled_weight_decay: false for PyTorch's coupled (L2) form");
  if (!(c.momentum >= 0.0 && c.momentum < 1.0)) invalid(name, "momentum", c.momentum, "in [0, 1)");
  if (!(c.epsilon > 0.0) || !std::isfinite(c.epsilon))
    invalid(name, "epsilon", c.epsilon, "a finite number > 0 (e.g. 1e-8)");
  if (name == "adam" || name == "adamw") {
    if (!(c.beta1 >= 0.0 && c.beta1 < 1.0)) invalid(name, "beta1", c.beta1, "in [0, 1) (e.g. 0.9)");
    if (!(c.beta2 >= 0.0 && c.beta2 < 1.0)) invalid(name, "beta2", c.beta2, "in [0, 1) (e.g. 0.999)");
  }
  if (name == "rmsprop" && !(c.rho >= 0.0 && c.rho < 1.0)) invalid(name, "rho", c.rho, "in [0, 1) (e.g. 0.9)");
  if (name == "adagrad" && !(c.initial_accumulator >= 0.0 && std::isfinite(c.initial_accumulator)))
    invalid(name, "initial_accumulator", c.initial_accumulator, "a finite number >= 0");
}

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd",     "momentum", "nesterov", "adagrad",
                                                 "rmsprop", "adam",     "adamw"};
  return names;
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  const std::string& name = config.name;
  if (std::find(optimizer_names().begin(), optimizer_names().end(), name) == optimizer_names().end()) {
    std::string allowed;
    for (const auto& n : optimizer_names()) allowed += (allowed.empty() ? "" : ", ") + n;
    throw Error("unknown optimizer '" + name + "'; allowed: " + allowed);
  }
  OptimizerConfig c = config;
  // "momentum" and "nesterov" are sgd with momentum switched on (0.9 unless given).
  if (name == "momentum" || name == "nesterov") {
    if (c.momentum == 0.0) c.momentum = 0.9;
    if (name == "nesterov") c.nesterov = true;
  }
  validate(name, c);
  if (name == "sgd" || name == "momentum" || name == "nesterov") {
    if (c.nesterov && c.momentum == 0.0)
      throw Error("optimizer '" + name + "': nesterov needs momentum > 0 (e.g. momentum: 0.9)");
    return std::make_unique<Sgd>(name, c);
  }
  if (name == "adagrad") return std::make_unique<Adagrad>(c);
  if (name == "rmsprop") return std::make_unique<RmsProp>(c);
  return std::make_unique<Adam>(name, c);  // adam, adamw
}

double clip_grad_norm(float* grads, int64_t size, double max_norm) {
  if (!(max_norm > 0.0)) throw Error("clip_norm = " + number(max_norm) + " is invalid; it must be > 0 (0 turns clipping off)");
  // Sum in double: 235k squared floats in float lose several digits.
  // Eigen's reduction is vectorised (a plain loop over a double sum is not, without -ffast-math).
  const double norm = std::sqrt(ConstArrayMap(grads, size).cast<double>().square().sum());
  if (std::isfinite(norm) && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    ArrayMap(grads, size) *= scale;
  }
  return norm;
}

}  // namespace nntune
