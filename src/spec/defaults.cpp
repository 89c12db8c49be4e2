// The effective spec (`nntune train SPEC --print-spec`): the spec as written, overrides applied,
// with every key the schema gives a default filled in. Derived from the schema's own defaults
// (src/spec/schema.cpp and each component's declaration), so it cannot drift from them.
#include <filesystem>

#include "nntune/spec.hpp"
#include "spec/schema.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using schema::Field;
using schema::Kind;
using schema::Node;

void fill(const Node& node, json& value);

// The fields of a map node for this value: its own, then its tag's variant's.
std::vector<const Field*> fields_for(const Node& node, const json& value) {
  std::vector<const Field*> out;
  for (const std::string& key : schema::allowed_keys(node, value))
    if (const Field* f = schema::find_field(node, value, key)) out.push_back(f);
  return out;
}

void fill_map(const Node& node, json& value) {
  if (!node.tag_key.empty() && !value.contains(node.tag_key) && !node.tag_default.empty())
    value[node.tag_key] = node.tag_default;
  for (const Field* f : fields_for(node, value)) {
    if (value.contains(f->key)) {
      fill(*f->node, value[f->key]);
    } else if (!f->default_value.is_null() && !node.exactly_one) {
      // A default that is itself a mapping (or a name standing for one) gets its own defaults.
      json v = f->default_value;
      fill(*f->node, v);
      value[f->key] = std::move(v);
    }
  }
}

void fill(const Node& node, json& value) {
  switch (node.kind) {
    case Kind::Map:
      if (value.is_object()) fill_map(node, value);
      return;
    case Kind::List:
      if (value.is_array() && node.item)
        for (json& item : value) fill(*node.item, item);
      return;
    case Kind::OneOf: {
      // A component given by its name alone ("adam") is written out as the mapping it stands
      // for, so that its own keys' defaults show: {name: adam, lr: 0.001, ...}.
      if (value.is_string()) {
        for (const schema::NodePtr& alt : node.alternatives) {
          if (alt->kind != Kind::Map || alt->tag_key.empty()) continue;
          for (const auto& [tag, fields] : alt->variants)
            if (tag == value.get<std::string>()) {
              json expanded = json::object({{alt->tag_key, value}});
              fill_map(*alt, expanded);
              value = std::move(expanded);
              return;
            }
        }
      }
      if (const Node* alt = schema::pick_alternative(node, value)) fill(*alt, value);
      return;
    }
    default:
      return;
  }
}

}  // namespace

nlohmann::json effective_spec(const TrainingSpec& spec) {
  json root = spec.tree.root;
  // train: left out means every training default (unlike early_stopping or data.test, whose
  // absence means "none", so they are never created here).
  if (root.is_object() && !root.contains("train")) root["train"] = json::object();
  fill(spec::root_schema(), root);
  // An explicit layers list takes its settings per layer: the shorthand's model-wide keys (which
  // the spec refuses beside it) are not defaults there.
  if (root.contains("model") && root["model"].is_object() && root["model"].contains("layers"))
    for (const std::string& key : spec::shorthand_only_model_keys()) root["model"].erase(key);
  // The defaults that depend on other keys, as the typed spec resolved them.
  if (!root["train"].contains("loss")) root["train"]["loss"] = spec.train.loss;
  if (!root.contains("output") || !root["output"].is_object()) root["output"] = json::object();
  if (!root["output"].contains("dir")) root["output"]["dir"] = spec.output_dir;
  return root;
}

}  // namespace nntune
