#pragma once
// Optimisers are small update rules over the network's flat parameter and gradient buffers
// (ensmallen style): they know nothing about layers. The learning rate of each step is given
// by the caller (schedules are pure functions, see schedule.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nntune {

struct OptimizerConfig {
  std::string name = "adam";  // sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw
  double lr = 1e-3;           // base learning rate (the schedule scales it)
  double momentum = 0.0;      // sgd: momentum (>0 turns on heavy-ball momentum)
  bool nesterov = false;      // sgd with momentum: Nesterov's variant
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw
  double rho = 0.9;                   // rmsprop: decay of the squared-gradient average
  double epsilon = 1e-8;              // adam/adamw/rmsprop/adagrad
  double initial_accumulator = 0.0;   // adagrad
  // Weight decay, applied by every optimiser when > 0 (adamw defaults to 0.01 when the spec
  // leaves it out). Decoupled (Loshchilov & Hutter, the default): w -= lr * weight_decay * w
  // beside the update. Coupled (decoupled_weight_decay = false, PyTorch's weight_decay for
  // sgd/adam/rmsprop/adagrad): weight_decay * w is added to the gradient, so it passes through
  // momentum and the adaptive scaling (an L2 penalty of weight_decay / 2 * |w|^2 on every
  // parameter). adamw is decoupled by definition and refuses false.
  double weight_decay = 0.0;
  bool decoupled_weight_decay = true;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One update of params from grads with learning rate lr. Sizes must match across calls.
  virtual void step(float* params, const float* grads, int64_t size, double lr) = 0;
  // Forget moment estimates and step counts.
  virtual void reset() = 0;
};

// Throws Error naming the unknown optimiser / invalid value and the allowed ones.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);
const std::vector<std::string>& optimizer_names();

// Scales grads in place so that their L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(float* grads, int64_t size, double max_norm);

}  // namespace nntune
