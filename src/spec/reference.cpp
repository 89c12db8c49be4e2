#include "spec/reference.hpp"

#include <sstream>

#include "core/registry.hpp"
#include "nntune/metrics.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nn/loss_registry.hpp"
#include "spec/schema.hpp"
#include "train/optimizer_registry.hpp"
#include "train/schedule_registry.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/sampler_registry.hpp"
#include "tune/tune_schema.hpp"

namespace nntune {
namespace {

using schema::Field;
using schema::Kind;
using schema::Node;

// "integer >= 1", "number in [0, 1)", "one of: a, b", "mapping", ...
std::string type_text(const Node& n) {
  switch (n.kind) {
    case Kind::Bool: return "true/false";
    case Kind::Int: return n.min || n.max ? "integer " + schema::bounds_text(n) : "integer";
    case Kind::Float: return n.min || n.max ? "number " + schema::bounds_text(n) : "number";
    case Kind::String: return "text";
    case Kind::Enum: return "one of: " + schema::join(n.choices);
    case Kind::Map: return n.values ? "mapping of " + type_text(*n.values) : "mapping";
    case Kind::List: return "list of " + type_text(*n.item);
    case Kind::OneOf: {
      std::string out;
      for (const auto& alt : n.alternatives) out += (out.empty() ? "" : ", or ") + type_text(*alt);
      return out;
    }
  }
  return "";
}

std::string cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string default_text(const Field& f) {
  if (f.required) return "required";
  if (f.default_value.is_null()) return "";
  return "`" + f.default_value.dump() + "`";
}

// One table row per key, recursing into mappings (and a mapping alternative of a OneOf).
void rows(const std::vector<Field>& fields, const std::string& prefix, std::ostringstream& out) {
  for (const Field& f : fields) {
    const std::string path = prefix.empty() ? f.key : prefix + "." + f.key;
    std::string also;
    for (const std::string& alias : f.aliases) also += (also.empty() ? " (also `" : "`, `") + alias;
    if (!also.empty()) also += "`)";
    out << "| `" << path << "`" << also << " | " << cell(type_text(*f.node)) << " | " << default_text(f) << " | " << cell(f.help)
        << " |\n";
    const Node* map = schema::as_map(*f.node, nlohmann::json::object());
    if (map && map->variants.empty()) rows(map->fields, path, out);
    if (map && !map->variants.empty() && !map->fields.empty()) rows(map->fields, path, out);
    if (f.node->kind == Kind::List && f.node->item && f.node->item->kind == Kind::Map && f.node->item->variants.empty())
      rows(f.node->item->fields, path + "[*]", out);
  }
}

template <typename Registry>
void components(const std::string& title, const std::string& intro, const Registry& registry, std::ostringstream& out) {
  out << "\n## " << title << "\n\n" << intro << "\n";
  for (const auto& entry : registry.entries()) {
    const ComponentInfo& info = entry.info;
    out << "\n### `" << info.name << "`";
    if (!info.aliases.empty()) out << " (also `" << schema::join(info.aliases) << "`)";
    out << "\n\n" << info.help << "\n";
    if (info.keys.empty()) continue;
    out << "\n| key | type | default | what it does |\n| --- | --- | --- | --- |\n";
    rows(info.keys, "", out);
  }
}

}  // namespace

std::string spec_reference_markdown() {
  std::ostringstream out;
  out << "# Spec reference\n\n"
         "Generated from the schema and from each component's own declaration (`nntune spec --reference`\n"
         "prints it; a test keeps this file equal to it). Every scalar of a tuning spec may instead be a\n"
         "distribution (see tuning.md).\n\n"
         "## The training spec\n\n"
         "| key | type | default | what it does |\n| --- | --- | --- | --- |\n";
  rows(spec::root_schema().fields, "", out);
  out << "\n## The `tune:` section\n\n| key | type | default | what it does |\n| --- | --- | --- | --- |\n";
  rows(tune::tune_schema().fields, "tune", out);
  components("Layer types (`model.layers[*].type`)",
             "Every layer also takes `l1` and `l2` (penalties on its weights).", layer_registry(), out);
  components("Losses (`train.loss`)", "The loss applies the output link itself.", loss_registry(), out);
  out << "\n## Metrics (`train.metrics`, `monitor`, `tune.objective.metric`)\n\n"
         "`val_` in front of a name means the validation data. Larger is better where the direction is max; "
         "`auto` modes and the objective's default direction follow it. See metrics.md.\n\n"
         "| metric | task | direction | what it measures | definition |\n| --- | --- | --- | --- | --- |\n";
  for (const MetricInfo& m : metric_catalog()) {
    std::string name = "`" + m.name + "`";
    for (const std::string& alias : m.aliases) name += " (also `" + alias + "`)";
    const std::string task = m.task == MetricTask::Any ? "any" : m.task == MetricTask::Classification ? "classification"
                                                                                                     : "regression";
    out << "| " << name << " | " << task << " | " << (m.maximize ? "max" : "min") << " | " << cell(m.help) << " | "
        << cell(m.definition) << " |\n";
  }
  components("Optimisers (`train.optimizer`)", "`{name: ..., key: value}`; the keys each one reads:",
             optimizer_registry(), out);
  components("Schedules (`train.schedule`)", "Every schedule also takes `warmup_epochs`.", schedule_registry(), out);
  components("Samplers (`tune.sampler`)", "Every sampler also takes `seed`.", tune::sampler_registry(), out);
  components("Pruners (`tune.pruner`)", "The resource is the epoch.", tune::pruner_registry(), out);
  return out.str();
}

}  // namespace nntune
