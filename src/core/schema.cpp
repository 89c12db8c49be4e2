// The description language of keys (see schema.hpp) and the one validator that walks it.
#include "core/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace nntune::schema {

using nlohmann::json;

NodePtr boolean() {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Bool;
  return n;
}
NodePtr integer(std::optional<double> min, std::optional<double> max) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Int;
  n->min = min;
  n->max = max;
  return n;
}
NodePtr real(std::optional<double> min, bool min_exclusive, std::optional<double> max, bool max_exclusive) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Float;
  n->min = min;
  n->max = max;
  n->min_exclusive = min_exclusive;
  n->max_exclusive = max_exclusive;
  return n;
}
NodePtr text() {
  auto n = std::make_shared<Node>();
  n->kind = Kind::String;
  return n;
}
NodePtr one_of_names(std::string what, std::vector<std::string> choices) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Enum;
  n->what = std::move(what);
  n->choices = std::move(choices);
  return n;
}
std::shared_ptr<Node> mapping(std::vector<Field> fields) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Map;
  n->fields = std::move(fields);
  return n;
}
NodePtr list_of(NodePtr item) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::List;
  n->item = std::move(item);
  return n;
}
NodePtr map_of(NodePtr value) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Map;
  n->values = std::move(value);
  return n;
}
NodePtr any_of(std::vector<NodePtr> alternatives) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::OneOf;
  n->alternatives = std::move(alternatives);
  return n;
}
Field opt(std::string key, NodePtr node, nlohmann::json default_value, std::string help) {
  return Field{std::move(key), std::move(node), false, std::move(default_value), std::move(help)};
}
Field req(std::string key, NodePtr node, std::string help) {
  return Field{std::move(key), std::move(node), true, nullptr, std::move(help)};
}

namespace {

// FailFunction throws; this makes that visible to the compiler (and a hook that returns a bug).
[[noreturn]] void raise(const FailFunction& fail, const std::string& path, const std::string& message, bool at_key) {
  fail(path, message, at_key);
  throw std::logic_error("schema: the fail function returned for " + path + ": " + message);
}

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string range_text_of(const Node& n) {
  std::string lo, hi;
  if (n.min) lo = (n.min_exclusive ? "> " : ">= ") + format_number(*n.min);
  if (n.max) hi = (n.max_exclusive ? "< " : "<= ") + format_number(*n.max);
  if (!lo.empty() && !hi.empty()) return lo + " and " + hi;
  return lo + hi;
}

std::string short_value(const json& v) {
  // Text that is not UTF-8 (a --set value, a key from a hand-edited file) is shown with U+FFFD
  // instead of making the message itself throw.
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const std::vector<Field>* variant_fields(const Node& n, const std::string& tag) {
  for (const auto& [name, fields] : n.variants)
    if (name == tag) return &fields;
  return nullptr;
}

std::vector<std::string> variant_names(const Node& n) {
  std::vector<std::string> names;
  for (const auto& [name, fields] : n.variants) names.push_back(name);
  return names;
}

// The tag's value of a tagged map (or its default); "" when missing or not a string.
std::string tag_of(const Node& n, const json& value) {
  if (n.tag_key.empty()) return "";
  if (value.is_object() && value.contains(n.tag_key)) {
    const json& t = value.at(n.tag_key);
    return t.is_string() ? t.get<std::string>() : "";
  }
  return n.tag_default;
}

std::string child_path(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

void validate_scalar(const Node& node, const json& value, const std::string& path, const FailFunction& fail) {
  switch (node.kind) {
    case Kind::Bool:
      if (!value.is_boolean()) raise(fail, path, "expected true or false, got " + short_value(value), false);
      return;
    case Kind::Int: {
      // A float counts when it is a whole number an int64 can hold (2^63 itself cannot).
      const bool integral = value.is_number_integer() ||
                            (value.is_number_float() && std::isfinite(value.get<double>()) &&
                             std::floor(value.get<double>()) == value.get<double>() &&
                             std::fabs(value.get<double>()) < 9223372036854775808.0);
      if (!integral || value.is_boolean())
        raise(fail, path, "expected an integer" + (range_text_of(node).empty() ? "" : " " + range_text_of(node)) + ", got " +
                            short_value(value), false);
      break;
    }
    case Kind::Float:
      if (!value.is_number() || !std::isfinite(value.get<double>()))
        raise(fail, path, "expected a number" + (range_text_of(node).empty() ? "" : " " + range_text_of(node)) + ", got " +
                            short_value(value), false);
      break;
    case Kind::String:
      if (!value.is_string()) raise(fail, path, "expected a string, got " + short_value(value), false);
      return;
    case Kind::Enum: {
      if (!value.is_string())
        raise(fail, path, "expected the name of a " + node.what + " (one of: " + join(node.choices) + "), got " +
                            short_value(value), false);
      const std::string name = value.get<std::string>();
      if (std::find(node.choices.begin(), node.choices.end(), name) == node.choices.end()) {
        const std::string guess = closest(name, node.choices);
        raise(fail, path, "unknown " + node.what + " '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                            "; allowed: " + join(node.choices), false);
      }
      return;
    }
    default:
      return;
  }
  // Numbers: the range.
  const double v = value.get<double>();
  const bool below = node.min && (node.min_exclusive ? !(v > *node.min) : !(v >= *node.min));
  const bool above = node.max && (node.max_exclusive ? !(v < *node.max) : !(v <= *node.max));
  if (below || above) raise(fail, path, "must be " + range_text_of(node) + ", got " + short_value(value), false);
}

}  // namespace

std::string range_text(const Node& node) { return range_text_of(node); }

std::string number_text(double value) { return format_number(value); }

bool in_range(const Node& node, double x) {
  const bool below = node.min && (node.min_exclusive ? !(x > *node.min) : !(x >= *node.min));
  const bool above = node.max && (node.max_exclusive ? !(x < *node.max) : !(x <= *node.max));
  return !std::isnan(x) && !below && !above;
}

std::string bounds_text(const Node& node) {
  if (node.min && node.max)
    return "in " + std::string(node.min_exclusive ? "(" : "[") + format_number(*node.min) + ", " +
           format_number(*node.max) + (node.max_exclusive ? ")" : "]");
  const std::string range = range_text_of(node);
  return range.empty() ? "any number" : range;
}

bool names_field(const Field& field, const std::string& key) {
  return field.key == key || std::find(field.aliases.begin(), field.aliases.end(), key) != field.aliases.end();
}

const nlohmann::json* field_value(const Field& field, const nlohmann::json& map) {
  if (!map.is_object()) return nullptr;
  if (auto it = map.find(field.key); it != map.end()) return &*it;
  for (const std::string& alias : field.aliases)
    if (auto it = map.find(alias); it != map.end()) return &*it;
  return nullptr;
}

const Field* find_field(const std::vector<Field>& fields, const std::string& key) {
  for (const Field& f : fields)
    if (names_field(f, key)) return &f;
  return nullptr;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : separator) + item;
  return s;
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (best.empty() && word.size() >= 3)  // "batch" -> "batch_size"
    for (const auto& c : candidates)
      if (c.rfind(word, 0) == 0) return c;
  return best;
}

std::string json_type_name(const json& v) {
  if (v.is_null()) return "nothing (null)";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  return "a mapping";
}

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::Bool: return "true or false";
    case Kind::Int: return "an integer";
    case Kind::Float: return "a number";
    case Kind::String: return "a string";
    case Kind::Enum: return "a name";
    case Kind::Map: return "a mapping";
    case Kind::List: return "a list";
    case Kind::OneOf: return "one of several forms";
  }
  return "?";
}

std::vector<std::string> allowed_keys(const Node& n, const json& value) {
  std::vector<std::string> keys;
  if (!n.tag_key.empty()) keys.push_back(n.tag_key);
  for (const Field& f : n.fields) keys.push_back(f.key);
  if (const auto* extra = variant_fields(n, tag_of(n, value)))
    for (const Field& f : *extra) keys.push_back(f.key);
  return keys;
}

const Field* find_field(const Node& n, const json& value, const std::string& key) {
  for (const Field& f : n.fields)
    if (names_field(f, key)) return &f;
  if (const auto* extra = variant_fields(n, tag_of(n, value)))
    for (const Field& f : *extra)
      if (names_field(f, key)) return &f;
  return nullptr;
}

const Node* pick_alternative(const Node& node, const json& value) {
  for (const NodePtr& alt : node.alternatives) {
    const Kind k = alt->kind;
    const bool fits = (value.is_object() && k == Kind::Map) || (value.is_array() && k == Kind::List) ||
                      (value.is_string() && (k == Kind::String || k == Kind::Enum)) ||
                      (value.is_boolean() && k == Kind::Bool) ||
                      (value.is_number() && (k == Kind::Int || k == Kind::Float));
    if (fits) return alt.get();
  }
  return nullptr;
}

const Node* as_map(const Node& node, const json& value) {
  if (node.kind == Kind::Map) return &node;
  if (node.kind == Kind::OneOf)
    for (const NodePtr& alt : node.alternatives)
      if (alt->kind == Kind::Map) return alt.get();
  return nullptr;
}

const Node* as_list(const Node& node, const json& value) {
  if (node.kind == Kind::List) return &node;
  if (node.kind == Kind::OneOf)
    for (const NodePtr& alt : node.alternatives)
      if (alt->kind == Kind::List) return alt.get();
  return nullptr;
}

void validate(const Node& node, const json& value, const std::string& path, const FailFunction& fail,
              const ScalarHook& hook) {
  switch (node.kind) {
    case Kind::OneOf: {
      const Node* alt = pick_alternative(node, value);
      if (!alt) {
        std::vector<std::string> forms;
        for (const NodePtr& a : node.alternatives)
          forms.push_back(a->kind == Kind::Enum ? "a name (" + join(a->choices) + ")" : kind_name(a->kind));
        raise(fail, path, "expected " + join(forms) + "; got " + json_type_name(value), false);
      }
      validate(*alt, value, path, fail, hook);
      return;
    }
    case Kind::List: {
      if (!value.is_array()) raise(fail, path, "expected a list, got " + json_type_name(value), false);
      for (size_t i = 0; i < value.size(); ++i)
        validate(*node.item, value[i], path + "[" + std::to_string(i) + "]", fail, hook);
      return;
    }
    case Kind::Map: {
      if (!value.is_object()) {
        std::vector<std::string> keys = allowed_keys(node, json::object());
        raise(fail, path, "expected a mapping with keys among: " + join(keys) + "; got " + json_type_name(value), false);
      }
      if (node.values) {
        for (const auto& [key, child] : value.items()) validate(*node.values, child, child_path(path, key), fail, hook);
        return;
      }
      // The tag first: the other allowed keys depend on it.
      if (!node.tag_key.empty()) {
        const std::string tag_path = child_path(path, node.tag_key);
        const auto names = variant_names(node);
        if (!value.contains(node.tag_key)) {
          if (node.tag_default.empty())
            raise(fail, path, "missing required key '" + node.tag_key + "' (one of: " + join(names) + ")", false);
        } else {
          const json& tag = value.at(node.tag_key);
          const std::string what = node.tag_key == "type" ? "layer type" : node.tag_key;
          if (!tag.is_string()) raise(fail, tag_path, "expected a " + what + " name (one of: " + join(names) + ")", false);
          if (!variant_fields(node, tag.get<std::string>())) {
            const std::string name = tag.get<std::string>();
            const std::string guess = closest(name, names);
            std::string noun = what;
            if (path.find("optimizer") != std::string::npos) noun = "optimizer";
            if (path.find("schedule") != std::string::npos) noun = "schedule";
            raise(fail, tag_path, "unknown " + noun + " '" + name + "'" +
                                    (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; allowed: " + join(names), false);
          }
        }
      }
      const std::vector<std::string> keys = allowed_keys(node, value);
      for (const auto& [key, child] : value.items()) {
        const std::string p = child_path(path, key);
        if (key == node.tag_key) continue;
        const Field* field = find_field(node, value, key);
        if (!field) {
          const std::string guess = closest(key, keys);
          std::string context;
          if (!node.tag_key.empty()) context = " for " + node.tag_key + " '" + tag_of(node, value) + "'";
          raise(fail, p, "unknown key '" + key + "'" + context + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                           "; allowed keys: " + join(keys),
                    true);
        }
        // A key given twice under two of its names (lr and learning_rate): neither wins silently.
        if (!field->aliases.empty())
          for (const auto& [other, unused] : value.items())
            if (other != key && names_field(*field, other))
              raise(fail, child_path(path, std::max(key, other)),
                    "'" + std::min(key, other) + "' and '" + std::max(key, other) + "' are the same setting (" +
                        field->key + "); give only one of them",
                    true);
        validate(*field->node, child, p, fail, hook);
      }
      if (node.exactly_one) {
        std::vector<std::string> present, names;
        for (const Field& f : node.fields) {
          names.push_back(f.key);
          if (value.contains(f.key)) present.push_back(f.key);
        }
        if (present.size() != 1)
          raise(fail, path, (present.empty() ? std::string("empty") : "has " + join(present)) + "; give exactly one of: " +
                              join(names), false);
      } else {
        for (const Field& f : node.fields)
          if (f.required && !value.contains(f.key)) raise(fail, path, "missing required key '" + f.key + "'", false);
        if (const auto* extra = variant_fields(node, tag_of(node, value)))
          for (const Field& f : *extra)
            if (f.required && !value.contains(f.key))
              raise(fail, path, "missing required key '" + f.key + "' for " + node.tag_key + " '" + tag_of(node, value) + "'", false);
      }
      return;
    }
    default:
      if (hook && !value.is_primitive() && hook(node, value, path)) return;
      validate_scalar(node, value, path, fail);
  }
}

}  // namespace nntune::schema
