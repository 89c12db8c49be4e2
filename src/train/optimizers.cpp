// The optimiser family (optimizer_registry.hpp) and what every update rule shares; each rule
// is a file of its own under src/train/optimizers/.
#include <Eigen/Core>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/optimizer.hpp"
#include "train/optimizer_registry.hpp"

namespace nntune {
namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;


}  // namespace

Registry<OptimizerDeclaration>& optimizer_registry() {
  static Registry<OptimizerDeclaration> registry("optimizer");
  return registry;
}

void declare_optimizer(ComponentInfo info, OptimizerDeclaration declaration) {
  info.keys = option_fields(declaration.options);
  optimizer_registry().add(std::move(info), std::move(declaration));
}

namespace optimizers {

std::vector<Option<OptimizerConfig>> common_options(bool with_coupling) {
  using namespace schema;
  std::vector<Option<OptimizerConfig>> options = {
      bind_option(&OptimizerConfig::lr, [] {
        Field f = opt("lr", real(0.0, true), nullptr, "base learning rate (the schedule scales it)");
        f.aliases = {"learning_rate"};
        return f;
      }()),
      bind_option(&OptimizerConfig::weight_decay,
                  opt("weight_decay", real(0.0), nullptr, "weight decay (decoupled unless decoupled_weight_decay: false)")),
  };
  if (with_coupling)
    options.push_back(bind_option(&OptimizerConfig::decoupled_weight_decay,
                                  opt("decoupled_weight_decay", boolean(), nullptr,
                                      "false: PyTorch's coupled form, weight_decay * w added to the gradient")));
  return options;
}

}  // namespace optimizers

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = optimizer_registry().names();
  return names;
}

void read_optimizer_config(const nlohmann::json& spec_value, OptimizerConfig& config) {
  const nlohmann::json m = spec_value.is_string() ? nlohmann::json{{"name", spec_value}} : spec_value;
  config.name = m.value("name", config.name);
  const auto* entry = optimizer_registry().find(config.name);
  if (!entry) return;  // the schema has refused it already
  // Every key it reads: from the spec, else its declared default (adamw's weight decay is 0.01).
  for (const Option<OptimizerConfig>& o : entry->factory.options)
    if (const nlohmann::json* v = schema::field_value(o.field, m)) o.read(*v, config);
    else o.read(o.field.default_value, config);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  const auto* entry = optimizer_registry().find(config.name);
  if (!entry) throw Error("unknown optimizer '" + config.name + "'; allowed: " + schema::join(optimizer_names()));
  // Every key this optimiser reads, against its declared range.
  if (const Option<OptimizerConfig>* bad = first_out_of_range(entry->factory.options, config)) {
    const double x = bad->write(config).get<double>();
    const std::string& key = bad->field.key;
    throw Error("optimizer '" + config.name + "': " + key + " = " + schema::number_text(x) + " is invalid; " + key + " must be " +
                (std::isfinite(x) ? "" : "finite and ") + schema::bounds_text(*bad->field.node));
  }
  return entry->factory.make(config);
}

double clip_grad_norm(float* grads, int64_t size, double max_norm) {
  if (!(max_norm > 0.0)) throw Error("clip_norm = " + schema::number_text(max_norm) + " is invalid; it must be > 0 (0 turns clipping off)");
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
