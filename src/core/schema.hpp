#pragma once
// The language in which components and the spec describe their keys: types, ranges, choices,
// defaults and one-line help. Components (layers, optimisers, samplers, ...) declare their keys
// with it in their own files; the spec schema, --set paths, the tuning schema, the stored
// sampler/pruner JSON and the spec reference are all derived from those declarations.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nntune::schema {

enum class Kind { Bool, Int, Float, String, Enum, Map, List, OneOf };

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Field {
  std::string key;
  NodePtr node;
  bool required = false;
  nlohmann::json default_value;  // null: none, or computed (the help says how)
  std::string help;              // one line, for the reference and error messages
  // Other names accepted for the key (Keras' learning_rate for lr); giving two of them is an error.
  std::vector<std::string> aliases = {};
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
  // Map with free keys (class numbers, say) whose values all follow this node; the keys
  // themselves are left to the caller's checks. Null for a map of fixed keys.
  NodePtr values;
  // List: the item schema.
  NodePtr item;
  // OneOf: alternatives, chosen by the value's JSON type (string, number, bool, list, map).
  std::vector<NodePtr> alternatives;
};

// ---- builders (a declaration reads like the spec it describes) ----
NodePtr boolean();
NodePtr integer(std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
// A float in a range; the exclusive flags say whether the bound itself is allowed.
NodePtr real(std::optional<double> min = std::nullopt, bool min_exclusive = false,
             std::optional<double> max = std::nullopt, bool max_exclusive = false);
NodePtr text();
NodePtr one_of_names(std::string what, std::vector<std::string> choices);
std::shared_ptr<Node> mapping(std::vector<Field> fields);
NodePtr list_of(NodePtr item);
// A mapping with free keys, each value following `value` ({0: 1.0, 3: 5.0}).
NodePtr map_of(NodePtr value);
NodePtr any_of(std::vector<NodePtr> alternatives);
// An optional key (with its default and help), a required one.
Field opt(std::string key, NodePtr node, nlohmann::json default_value = nullptr, std::string help = "");
Field req(std::string key, NodePtr node, std::string help = "");

// ---- reading a node ----
// Allowed keys of a map node for a given value (the tag's variant included).
std::vector<std::string> allowed_keys(const Node& map_node, const nlohmann::json& value);
const Field* find_field(const Node& map_node, const nlohmann::json& value, const std::string& key);
const Field* find_field(const std::vector<Field>& fields, const std::string& key);
// Whether `key` is the field's key or one of its aliases.
bool names_field(const Field& field, const std::string& key);
// The value a mapping gives for a field, under its key or an alias; null when absent.
const nlohmann::json* field_value(const Field& field, const nlohmann::json& map);
// For a OneOf node: the alternative matching the value's JSON type, or null.
const Node* pick_alternative(const Node& node, const nlohmann::json& value);
// The alternative/structure a path component descends into: map node for a key step.
const Node* as_map(const Node& node, const nlohmann::json& value);
const Node* as_list(const Node& node, const nlohmann::json& value);
// ">= 0 and < 1", "> 0", "" (no bounds).
std::string range_text(const Node& node);
// Whether x is within the node's bounds (NaN never is).
bool in_range(const Node& node, double x);
// "in [0, 1)", "> 0", ">= 1", "any number" (no bounds).
std::string bounds_text(const Node& node);

// ---- validation ----
// Reports one problem at a path and does not return (throws). at_key: the problem is the key
// itself (an unknown key), not its value.
using FailFunction = std::function<void(const std::string& path, const std::string& message, bool at_key)>;
// Scalar positions may hold something other than a plain scalar (tuning puts distributions
// there): when set and it returns true, the value at that path is accepted as is.
using ScalarHook = std::function<bool(const Node& scalar_schema, const nlohmann::json& value, const std::string& path)>;
void validate(const Node& node, const nlohmann::json& value, const std::string& path, const FailFunction& fail,
              const ScalarHook& hook = {});

// A number as people write it: 0.001, 1e-08, 100.
std::string number_text(double value);
// "sgd, momentum, adam" (or with another separator: "mse or huber")
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ");
// The closest candidate by edit distance when it is close enough, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
std::string json_type_name(const nlohmann::json& value);
std::string kind_name(Kind kind);

}  // namespace nntune::schema
