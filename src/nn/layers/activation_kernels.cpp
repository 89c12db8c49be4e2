// Activation names, and the run-time choice of the kernels' instruction set (nn/simd.hpp).
#include "nn/layers/activation_kernels_impl.hpp"  // the baseline kernels

#include <algorithm>

namespace nntune::layers {

const std::vector<std::string>& activation_kind_names() {
  static const std::vector<std::string> names = {"linear",     "relu", "sigmoid", "tanh",
                                                 "leaky_relu", "elu",  "gelu",    "softmax"};
  return names;
}

std::string activation_name(ActivationKind kind) { return activation_kind_names()[static_cast<size_t>(kind)]; }

bool parse_activation_kind(const std::string& name, ActivationKind& kind) {
  const auto& names = activation_kind_names();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return false;
  kind = static_cast<ActivationKind>(it - names.begin());
  return true;
}

bool absorb_elementwise_activation(const nlohmann::json& activation_config, Activation& applied) {
  if (applied.kind != ActivationKind::Linear) return false;
  if (!activation_config.is_object() || activation_config.value("type", "") != "activation") return false;
  const auto name = activation_config.find("name");
  if (name == activation_config.end() || !name->is_string()) return false;
  Activation parsed;
  if (!parse_activation_kind(name->get<std::string>(), parsed.kind) || parsed.kind == ActivationKind::Softmax)
    return false;
  parsed.slope = activation_config.value("slope", parsed.slope);
  parsed.alpha = activation_config.value("alpha", parsed.alpha);
  applied = parsed;
  return true;
}

std::string declared_output_activation(const Activation& declared) {
  return declared.kind == ActivationKind::Linear ? "" : activation_name(declared.kind);
}

std::string default_kernel_initializer_name(ActivationKind kind) {
  // He initialisation keeps the activation variance constant through ReLU-like units, which
  // zero about half their inputs; Glorot's (Xavier) assumes a linear/symmetric unit such as
  // tanh, sigmoid or the identity.
  switch (kind) {
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu:
    case ActivationKind::Elu:
    case ActivationKind::Gelu: return "he_normal";
    default: return "xavier_uniform";
  }
}

bool derivative_from_output(const Activation& act) {
  switch (act.kind) {
    case ActivationKind::Gelu: return false;  // not monotonic: y does not determine z
    case ActivationKind::LeakyRelu: return act.slope >= 0.0f;  // then sign(y) == sign(z)
    case ActivationKind::Elu: return act.alpha > 0.0f;         // then sign(y) == sign(z), f' = y + alpha
    default: return true;
  }
}

const ActivationKernels& activation_kernels(simd::Level level) {
  switch (level) {
    case simd::Level::Avx512: return avx512::table;
    case simd::Level::Avx2: return avx2::table;
    default: return baseline::table;
  }
}

namespace {
const ActivationKernels& chosen() {
  static const ActivationKernels& kernels = activation_kernels(simd::level());
  return kernels;
}
}  // namespace

void activation_forward(const Activation& act, const float* z, const float* bias, float* y, int64_t rows,
                        int64_t cols) {
  chosen().forward(act, z, bias, y, rows, cols);
}

float* pre_activation_buffer(const Activation& act, const Shape& shape, Tensor& out, Tensor& pre_activation, bool& keep_z) {
  keep_z = !derivative_from_output(act);
  if (!keep_z) return out.data();
  pre_activation.resize(shape);
  return pre_activation.data();
}

void bias_activation_forward(const Activation& act, float* z, const float* bias, float* y, int64_t rows, int64_t cols,
                             bool keep_z) {
  if (keep_z) {
    if (bias) activation_forward({ActivationKind::Linear}, z, bias, z, rows, cols);
    activation_forward(act, z, nullptr, y, rows, cols);
  } else if (bias || act.kind != ActivationKind::Linear) {
    activation_forward(act, z, bias, y, rows, cols);
  }
}

void activation_backward(const Activation& act, const float* z, const float* y, const float* dy, float* dz,
                         float* bias_grad, int64_t rows, int64_t cols) {
  chosen().backward(act, z, y, dy, dz, bias_grad, rows, cols);
}

void column_sums(const float* m, int64_t rows, int64_t cols, float* sums) { chosen().column_sums(m, rows, cols, sums); }

void dropout_apply(const float* x, float* y, int64_t size, const DropoutKey& key) { chosen().dropout(x, y, size, key); }

}  // namespace nntune::layers
