#include "tune/pruners.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/error.hpp"
#include "tune/pruner_registry.hpp"

namespace nntune::tune {
namespace detail {

double nan_percentile(std::vector<double> values, double percentile) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = percentile / 100.0 * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<size_t>(std::floor(position));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  if (fraction == 0.0) return values[lower];  // also keeps infinities out of inf - inf
  return values[lower] + (values[upper] - values[lower]) * fraction;
}

}  // namespace detail

Registry<PrunerDeclaration>& pruner_registry() {
  static Registry<PrunerDeclaration> registry("pruner");
  return registry;
}

void declare_pruner(ComponentInfo info, PrunerDeclaration declaration) {
  info.keys = option_fields(declaration.options);
  pruner_registry().add(std::move(info), std::move(declaration));
}

const std::vector<Option<PrunerConfig>>& pruner_options() {
  static const std::vector<Option<PrunerConfig>> options = [] {
    std::vector<Option<PrunerConfig>> all;
    for (const auto& entry : pruner_registry().entries()) merge_options(all, entry.factory.options);
    return all;
  }();
  return options;
}

std::vector<std::string> pruner_names() { return pruner_registry().names_and_aliases(); }

void fit_pruner_to_epochs(PrunerConfig& config, int64_t epochs) {
  const auto* entry = pruner_registry().find(config.name);
  if (entry && entry->factory.fit_to_epochs) entry->factory.fit_to_epochs(config, epochs);
}

namespace {

// Every declared option's value against its declared range, whichever pruner is chosen (a bad
// value is a mistake even where it is not read); then the one rule between two fields.
void validate(const PrunerConfig& c) {
  if (const Option<PrunerConfig>* bad = first_out_of_range(pruner_options(), c)) {
    const schema::Node& node = *bad->field.node;
    const std::string allowed = node.min && node.max ? schema::bounds_text(node)
                                                     : (node.kind == schema::Kind::Int ? "an integer " : "a number ") +
                                                           schema::range_text(node);
    throw Error("pruner." + bad->field.key + " must be " + allowed + " (got " + bad->write(c).dump() + ")");
  }
  if (c.max_resource != 0 && c.max_resource < c.min_resource)
    throw Error("pruner.max_resource must be 0 (take it from the completed trials) or >= min_resource (" +
                std::to_string(c.min_resource) + ") (got " + std::to_string(c.max_resource) + ")");
}

}  // namespace

std::unique_ptr<Pruner> make_pruner(const PrunerConfig& config) {
  const auto* entry = pruner_registry().find(config.name.empty() ? "none" : config.name);
  if (!entry) {
    std::string allowed;
    for (const auto& e : pruner_registry().entries()) {
      allowed += (allowed.empty() ? "" : ", ") + e.info.name;
      if (!e.info.aliases.empty()) allowed += " (or " + schema::join(e.info.aliases) + ")";
    }
    throw Error("unknown pruner \"" + config.name + "\" (allowed: " + allowed + ")");
  }
  if (entry->info.name != "none") validate(config);
  return entry->factory.make(config);
}

nlohmann::json pruner_config_json(const PrunerConfig& config) {
  nlohmann::json stored = options_json(pruner_options(), config);
  stored["name"] = config.name;
  return stored;
}

PrunerConfig pruner_config_from_json(const nlohmann::json& stored) {
  PrunerConfig config;
  if (!stored.is_object()) return config;
  config.name = stored.value("name", config.name);
  read_options(pruner_options(), stored, config);
  return config;
}

void read_pruner_config(const nlohmann::json& spec_value, PrunerConfig& config) {
  if (spec_value.is_string()) {
    config.name = spec_value.get<std::string>();
    return;
  }
  config.name = spec_value.value("name", config.name);
  read_options(pruner_options(), spec_value, config);
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(pruner_none) {
  nntune::tune::declare_pruner(
      {.name = "none", .help = "never prunes", .order = 0},
      {[](const nntune::tune::PrunerConfig&) -> std::unique_ptr<nntune::tune::Pruner> {
         return std::make_unique<nntune::tune::detail::NopPruner>();
       },
       {}});
}
