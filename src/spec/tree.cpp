// YAML -> SpecTree (JSON + source marks), --set overrides and schema validation entry point.
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "spec/schema.hpp"
#include "spec/yaml_scalars.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using spec::is_float_text;
using spec::is_int_text;

SourceMark mark_of(const YAML::Mark& m) {
  SourceMark mark;
  if (m.line >= 0) {
    mark.line = m.line + 1;
    mark.column = m.column + 1;
  }
  return mark;
}

std::string child_path(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

// A plain scalar that looks like a number but cannot be stored as one (the message says why).
struct NumberOutOfRange {
  std::string message;
};

// A long number is cut for messages.
std::string number_excerpt(const std::string& s) { return s.size() <= 40 ? s : s.substr(0, 40) + "... (" + std::to_string(s.size()) + " characters)"; }

bool one_of(const std::string& s, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(), [&](const char* w) { return s == w; });
}

// YAML 1.2 core schema for plain scalars.
json plain_scalar(const std::string& s) {
  if (one_of(s, {"~", "null", "Null", "NULL", ""})) return nullptr;
  if (one_of(s, {"true", "True", "TRUE"})) return true;
  if (one_of(s, {"false", "False", "FALSE"})) return false;
  if (is_int_text(s)) {
    errno = 0;
    const long long value = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == ERANGE)
      throw NumberOutOfRange{"the integer " + number_excerpt(s) + " is out of range (integers must lie within +-" +
                             std::to_string(std::numeric_limits<int64_t>::max()) + ")"};
    return static_cast<int64_t>(value);
  }
  if (is_float_text(s)) {
    errno = 0;
    const double value = std::strtod(s.c_str(), nullptr);
    // Underflow gives 0 or a subnormal, as other parsers do; overflow has no usable value.
    if (errno == ERANGE && std::isinf(value))
      throw NumberOutOfRange{"the number " + number_excerpt(s) +
                             " is too large (a double reaches about 1.8e308); write a finite number"};
    return value;
  }
  if (one_of(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) return HUGE_VAL;
  if (one_of(s, {"-.inf", "-.Inf", "-.INF"})) return -HUGE_VAL;
  if (one_of(s, {".nan", ".NaN", ".NAN"})) return std::nan("");
  return s;
}

// Converts node to JSON, recording marks under path. mark_prefix_override is set for values that
// came from --set (they have no line:column in the spec file).
json convert(const YAML::Node& node, const std::string& path, SpecTree& tree, const std::string& override_text) {
  auto record = [&](std::map<std::string, SourceMark>& marks, const std::string& p, const YAML::Mark& m) {
    SourceMark mark = override_text.empty() ? mark_of(m) : SourceMark{};
    mark.override_text = override_text;
    marks[p] = mark;
  };
  record(tree.value_marks, path, node.Mark());
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      if (!spec::is_valid_utf8(node.Scalar()))
        tree.fail(path, "the text is not valid UTF-8; save the spec as UTF-8 (it may be in Latin-1 or another encoding)");
      if (node.Tag() == "?") {
        try {
          return plain_scalar(node.Scalar());
        } catch (const NumberOutOfRange& e) {
          tree.fail(path, e.message);
        }
      }
      return node.Scalar();  // quoted or explicitly tagged: a string
    case YAML::NodeType::Sequence: {
      json list = json::array();
      for (size_t i = 0; i < node.size(); ++i)
        list.push_back(convert(node[i], path + "[" + std::to_string(i) + "]", tree, override_text));
      return list;
    }
    case YAML::NodeType::Map: {
      json map = json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          tree.value_marks[path + ".?"] = mark_of(it->first.Mark());
          tree.fail(path + ".?", "keys must be plain names");
        }
        const std::string key = it->first.Scalar();
        if (!spec::is_valid_utf8(key)) {
          tree.value_marks[path + ".?"] = mark_of(it->first.Mark());
          tree.fail(path + ".?", "a key is not valid UTF-8; save the spec as UTF-8 (it may be in Latin-1 or another encoding)");
        }
        const std::string p = child_path(path, key);
        if (map.contains(key)) {
          record(tree.key_marks, p, it->first.Mark());
          tree.fail(p, "duplicate key '" + key + "' (it already appears above)", true);
        }
        record(tree.key_marks, p, it->first.Mark());
        map[key] = convert(it->second, p, tree, override_text);
      }
      return map;
    }
  }
  return nullptr;
}

// Splits "model.layers[1].units" into steps: a key (string) or an index (number).
struct PathStep {
  std::string key;
  int64_t index = -1;  // >= 0: a list index
};
std::vector<PathStep> split_path(const std::string& path, const std::string& assignment) {
  std::vector<PathStep> steps;
  size_t i = 0;
  auto bad = [&](const std::string& why) {
    throw Error("--set " + assignment + ": bad path '" + path + "': " + why +
                " (write keys separated by dots and list indices in brackets, e.g. model.layers[1].units=512)");
  };
  while (i < path.size()) {
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) bad("missing ']'");
      const std::string digits = path.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) bad("index must be a number");
      errno = 0;
      const long long index = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) bad("index is too large");
      steps.push_back({"", index});
      i = close + 1;
      if (i < path.size() && path[i] == '.') ++i;
    } else {
      const size_t end = path.find_first_of(".[", i);
      const std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (key.empty()) bad("empty key");
      steps.push_back({key, -1});
      i = end == std::string::npos ? path.size() : end;
      if (i < path.size() && path[i] == '.') {
        ++i;
        if (i == path.size()) bad("ends with '.'");
      }
    }
  }
  if (steps.empty()) bad("empty");
  return steps;
}

}  // namespace

std::string SpecTree::where(const std::string& path, bool at_key) const {
  const std::string field = path.empty() ? "" : path + ": ";
  auto format = [&](const SourceMark& m) -> std::string {
    if (!m.override_text.empty()) return m.override_text + ": " + field;
    if (m.line > 0) return source + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": " + field;
    return "";
  };
  if (at_key) {
    auto it = key_marks.find(path);
    if (it != key_marks.end() && !format(it->second).empty()) return format(it->second);
  }
  // The nearest path with a mark: the path itself, then its parents.
  for (std::string p = path;;) {
    auto it = value_marks.find(p);
    if (it != value_marks.end() && !format(it->second).empty()) return format(it->second);
    if (p.empty()) break;
    const size_t cut = p.find_last_of(".[");
    p = cut == std::string::npos ? "" : p.substr(0, cut);
  }
  return source + ": " + field;
}

void SpecTree::fail(const std::string& path, const std::string& message, bool at_key) const {
  throw Error(where(path, at_key) + message);
}

SpecTree parse_spec_tree(const std::string& yaml_text, const std::string& source_name, const std::string& base_dir) {
  SpecTree tree;
  tree.source = source_name;
  tree.base_dir = base_dir;
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(source_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": YAML syntax error: " + e.msg);
  }
  if (!doc.IsMap()) {
    tree.value_marks[""] = mark_of(doc.Mark());
    tree.fail("", doc.IsNull() ? "the spec is empty; it needs at least data: and model: sections"
                               : "the spec must be a mapping with the keys seed, data, model, train, output");
  }
  tree.root = convert(doc, "", tree, "");
  return tree;
}

void apply_override(SpecTree& tree, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    throw Error("--set " + assignment + ": expected path=value, e.g. --set train.optimizer.lr=3e-4");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const std::vector<PathStep> steps = split_path(path, assignment);
  const std::string origin = "--set " + assignment;

  const spec::Node* schema = &spec::root_schema();
  json* value = &tree.root;
  std::string at;  // path walked so far
  for (size_t s = 0; s < steps.size(); ++s) {
    const PathStep& step = steps[s];
    const bool last = s + 1 == steps.size();
    if (step.index >= 0) {
      const spec::Node* list = schema ? spec::as_list(*schema, *value) : nullptr;
      if (!list) throw Error(origin + ": " + (at.empty() ? "the top level" : at) + " is not a list; remove [" +
                             std::to_string(step.index) + "]");
      if (!value->is_array() || step.index >= static_cast<int64_t>(value->size()))
        throw Error(origin + ": index " + std::to_string(step.index) + " is out of range: " + at + " has " +
                    std::to_string(value->is_array() ? value->size() : 0) + " entries");
      at.append("[").append(std::to_string(step.index)).append("]");
      schema = list->item.get();
      value = &(*value)[static_cast<size_t>(step.index)];
      continue;
    }
    const spec::Node* map = spec::as_map(*schema, *value);
    if (!map) throw Error(origin + ": " + (at.empty() ? "the top level" : at) + " holds " + spec::kind_name(schema->kind) +
                          ", not a mapping; it has no key '" + step.key + "'");
    // A shorthand name ("optimizer: adam") becomes its mapping form ({name: adam}) so that its
    // fields can be set.
    if (value->is_string() && !map->tag_key.empty()) *value = json{{map->tag_key, *value}};
    if (value->is_null()) *value = json::object();
    if (!value->is_object()) throw Error(origin + ": " + at + " is " + spec::json_type_name(*value) + ", not a mapping");
    const spec::Field* field = spec::find_field(*map, *value, step.key);
    if (map->values) {  // free keys ({class: weight}): any key, the values' schema
      schema = map->values.get();
      at = child_path(at, step.key);
      value = &(*value)[step.key];
      continue;
    }
    if (!field && step.key != map->tag_key) {
      const auto keys = spec::allowed_keys(*map, *value);
      const std::string guess = spec::closest(step.key, keys);
      throw Error(origin + ": unknown key '" + step.key + "' in " + (at.empty() ? "the top level" : at) +
                  (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; allowed keys: " + spec::join(keys));
    }
    static const spec::Node any_text{};
    schema = field ? field->node.get() : &any_text;
    at = child_path(at, step.key);
    value = &(*value)[step.key];
    (void)last;
  }

  YAML::Node parsed;
  try {
    parsed = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": the value is not valid YAML: " + e.msg);
  }
  // Drop the marks of what is replaced; the new values are marked with the override.
  for (auto* marks : {&tree.value_marks, &tree.key_marks})
    for (auto it = marks->lower_bound(at); it != marks->end() && it->first.rfind(at, 0) == 0;)
      it = (it->first.size() == at.size() || it->first[at.size()] == '.' || it->first[at.size()] == '[') ? marks->erase(it)
                                                                                                           : std::next(it);
  *value = convert(parsed, at, tree, origin);
  tree.key_marks[at] = SourceMark{0, 0, origin};
  tree.overrides.push_back(assignment);
}

}  // namespace nntune
