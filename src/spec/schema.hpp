#pragma once
// The one description of the training spec: allowed keys, types, ranges and enumerations per
// path. Validation walks it; --set overrides use it to check paths; the tuning issue will use it
// to check that a distribution put in place of a scalar fits that scalar's type and range.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nntune/spec.hpp"

namespace nntune::spec {

enum class Kind { Bool, Int, Float, String, Enum, Map, List, OneOf };

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Field {
  std::string key;
  NodePtr node;
  bool required = false;
};

struct Node {
  Kind kind = Kind::String;
  std::string what;  // noun for messages: "optimizer", "activation", "layer type"
  // Int / Float: inclusive or exclusive bounds.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  // Enum: allowed values.
  std::vector<std::string> choices;
  // Map: fixed keys. With tag_key, the allowed keys also depend on the tag's value
  // (variants[tag]); tag_default is used when the tag is left out ("" = required).
  std::vector<Field> fields;
  std::string tag_key, tag_default;
  std::vector<std::pair<std::string, std::vector<Field>>> variants;
  bool exactly_one = false;  // exactly one of the fields must be present (data sources)
  // List: the item schema.
  NodePtr item;
  // OneOf: alternatives, chosen by the value's JSON type (string, number, bool, list, map).
  std::vector<NodePtr> alternatives;
};

// The schema of the whole spec.
const Node& root_schema();

// Allowed keys of a map node for a given value (the tag's variant included).
std::vector<std::string> allowed_keys(const Node& map_node, const nlohmann::json& value);
const Field* find_field(const Node& map_node, const nlohmann::json& value, const std::string& key);
// For a OneOf node: the alternative matching the value's JSON type, or null.
const Node* pick_alternative(const Node& node, const nlohmann::json& value);
// The alternative/structure a path component descends into: map node for a key step.
const Node* as_map(const Node& node, const nlohmann::json& value);
const Node* as_list(const Node& node, const nlohmann::json& value);

// Scalar positions may hold something other than a plain scalar (the tuning issue puts
// distributions there): when set and it returns true, the value at that path is accepted as is.
using ScalarHook = std::function<bool(const Node& scalar_schema, const nlohmann::json& value, const std::string& path)>;

// Validates value against node; throws Error located through tree.
void validate_node(const Node& node, const nlohmann::json& value, const std::string& path, const SpecTree& tree,
                   const ScalarHook& hook = {});

// "sgd, momentum, adam"
std::string join(const std::vector<std::string>& items);
// The closest candidate by edit distance when it is close enough, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
std::string json_type_name(const nlohmann::json& value);
std::string kind_name(Kind kind);

}  // namespace nntune::spec
