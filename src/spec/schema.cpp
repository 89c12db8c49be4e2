#include "spec/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"

namespace nntune::spec {
namespace {

using nlohmann::json;

// ---- builders (the schema below reads like the spec it describes) ----

NodePtr boolean() {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Bool;
  return n;
}
NodePtr integer(std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Int;
  n->min = min;
  n->max = max;
  return n;
}
// A float in a range; the exclusive flags say whether the bound itself is allowed.
NodePtr real(std::optional<double> min = std::nullopt, bool min_exclusive = false,
             std::optional<double> max = std::nullopt, bool max_exclusive = false) {
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
NodePtr any_of(std::vector<NodePtr> alternatives) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::OneOf;
  n->alternatives = std::move(alternatives);
  return n;
}
Field opt(std::string key, NodePtr node) { return Field{std::move(key), std::move(node), false}; }
Field req(std::string key, NodePtr node) { return Field{std::move(key), std::move(node), true}; }

// The enumerations. They mirror the registries of the layer, loss, optimiser and schedule code
// (layer_types(), loss_names(), ...); spec_test checks that both agree.
const std::vector<std::string>& activations() {
  static const std::vector<std::string> v = {"linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax"};
  return v;
}
const std::vector<std::string>& initializers() {
  static const std::vector<std::string> v = {"zeros",          "constant",  "normal",    "uniform",     "xavier_normal",
                                             "xavier_uniform", "he_normal", "he_uniform", "lecun_normal"};
  return v;
}

NodePtr activation() { return one_of_names("activation", activations()); }
NodePtr initializer() { return one_of_names("initializer", initializers()); }
NodePtr penalty() { return real(0.0); }
NodePtr probability_below_one() { return real(0.0, false, 1.0, true); }

// A file source for training/validation/test data.
std::vector<Field> file_source_fields() {
  return {
      opt("idx", mapping({req("images", text()), req("labels", text())})),
      opt("csv", mapping({req("path", text()), opt("label", any_of({text(), integer(0.0)})), opt("header", boolean()),
                          opt("skip_rows", integer(0.0)), opt("delimiter", text())})),
      opt("npy", mapping({req("x", text()), req("y", text())})),
  };
}
NodePtr train_source() {
  auto n = mapping(file_source_fields());
  n->exactly_one = true;
  return n;
}
// Validation and test: a file source or a part held out of the training data.
NodePtr held_out_source() {
  std::vector<Field> fields = {opt("split", real(0.0, true, 1.0, true)), opt("last", integer(1.0))};
  for (Field& f : file_source_fields()) fields.push_back(f);
  auto n = mapping(std::move(fields));
  n->exactly_one = true;
  return n;
}

NodePtr scale() {
  auto divide = mapping({req("divide", real(0.0, true))});
  divide->exactly_one = true;
  return any_of({one_of_names("scaling", {"none", "standard", "minmax"}), divide});
}

// A dense layer's initialiser: a name, or {name, scale, value}.
NodePtr layer_initializer() {
  return any_of({initializer(), mapping({req("name", initializer()), opt("scale", real(0.0)), opt("value", real())})});
}

// Layer configs as make_layer() takes them (src/nn/layers), plus l1/l2 per layer.
NodePtr layer() {
  auto n = mapping({opt("l1", penalty()), opt("l2", penalty())});
  n->tag_key = "type";
  std::vector<std::pair<std::string, std::vector<Field>>> variants = {
      {"dense",
       {req("units", integer(1.0)), opt("activation", activation()), opt("kernel_init", layer_initializer()),
        opt("bias_init", layer_initializer()), opt("use_bias", boolean())}},
      {"activation", {req("name", activation()), opt("slope", real()), opt("alpha", real())}},
      {"dropout", {opt("rate", probability_below_one())}},
      {"batch_norm", {opt("momentum", real(0.0, false, 1.0, false)), opt("epsilon", real(0.0, true))}},
      {"flatten", {}},
  };
  // Each activation name is also a layer type of its own ({type: relu}).
  for (const std::string& name : activations()) {
    std::vector<Field> fields;
    if (name == "leaky_relu") fields.push_back(opt("slope", real()));
    if (name == "elu") fields.push_back(opt("alpha", real()));
    variants.emplace_back(name, fields);
  }
  n->variants = std::move(variants);
  return n;
}

// MLP shorthand: hidden: [256, 128] | {count: 2, units: 128} | [{units: 256, dropout: 0.2}, ...]
NodePtr hidden() {
  auto per_layer = mapping({req("units", integer(1.0)), opt("activation", activation()), opt("init", initializer()),
                            opt("dropout", probability_below_one()), opt("batch_norm", boolean()),
                            opt("l1", penalty()), opt("l2", penalty())});
  auto repeated = mapping({req("count", integer(0.0)), req("units", integer(1.0))});
  return any_of({list_of(any_of({integer(1.0), per_layer})), repeated});
}

NodePtr optimizer() {
  const auto lr = real(0.0, true);
  const auto weight_decay = real(0.0);
  const auto moment = probability_below_one();
  const auto epsilon = real(0.0, true);
  // PyTorch's coupled weight decay: every optimiser but adamw, which is decoupled by definition
  // (so the spec refuses it there with its line and column).
  const auto decoupled = opt("decoupled_weight_decay", boolean());
  auto n = mapping({opt("lr", lr), opt("weight_decay", weight_decay)});
  n->tag_key = "name";
  n->tag_default = "adam";
  n->variants = {
      {"sgd", {decoupled, opt("momentum", moment), opt("nesterov", boolean())}},
      {"momentum", {decoupled, opt("momentum", moment)}},
      {"nesterov", {decoupled, opt("momentum", moment)}},
      {"adagrad", {decoupled, opt("epsilon", epsilon), opt("initial_accumulator", real(0.0))}},
      {"rmsprop", {decoupled, opt("rho", moment), opt("momentum", moment), opt("epsilon", epsilon)}},
      {"adam", {decoupled, opt("beta1", moment), opt("beta2", moment), opt("epsilon", epsilon)}},
      {"adamw", {opt("beta1", moment), opt("beta2", moment), opt("epsilon", epsilon)}},
  };
  return any_of({one_of_names("optimizer", {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}), n});
}

NodePtr schedule() {
  auto n = mapping({opt("warmup_epochs", real(0.0))});
  n->tag_key = "name";
  n->tag_default = "constant";
  n->variants = {
      {"constant", {}},
      {"step", {opt("every", integer(1.0)), opt("factor", real(0.0, true))}},
      {"exponential", {opt("rate", real(0.0, true)), opt("decay_steps", integer(0.0))}},
      {"cosine",
       {opt("period", integer(0.0)), opt("period_mult", real(1.0)), opt("restarts", boolean()), opt("min_lr", real(0.0))}},
  };
  return any_of({one_of_names("schedule", {"constant", "step", "exponential", "cosine"}), n});
}

NodePtr monitor() {
  return one_of_names("metric", {"loss", "accuracy", "mae", "rmse", "val_loss", "val_accuracy", "val_mae", "val_rmse"});
}
NodePtr mode() { return one_of_names("mode", {"auto", "min", "max"}); }

std::shared_ptr<Node> build_root() {
  auto data = mapping({req("train", train_source()), opt("validation", held_out_source()), opt("test", held_out_source()),
                       opt("task", one_of_names("task", {"classification", "regression"})),
                       opt("num_classes", integer(2.0)), opt("scale", scale())});
  auto model = mapping({opt("layers", list_of(layer())), opt("hidden", hidden()), opt("activation", activation()),
                        opt("init", initializer()), opt("dropout", probability_below_one()),
                        opt("batch_norm", boolean()), opt("l1", penalty()), opt("l2", penalty())});
  auto early_stopping = mapping({opt("monitor", monitor()), opt("mode", mode()), opt("patience", integer(0.0)),
                                 opt("min_delta", real(0.0)), opt("restore_best", boolean())});
  auto plateau = mapping({opt("monitor", monitor()), opt("mode", mode()), opt("factor", real(0.0, true, 1.0, true)),
                          opt("patience", integer(0.0)), opt("min_delta", real(0.0)), opt("cooldown", integer(0.0)),
                          opt("min_lr", real(0.0))});
  auto train = mapping({opt("loss", one_of_names("loss", {"categorical_crossentropy", "binary_crossentropy", "mse",
                                                          "mean_squared_error"})),
                        opt("optimizer", optimizer()), opt("schedule", schedule()), opt("batch_size", integer(1.0)),
                        opt("epochs", integer(1.0)), opt("shuffle", boolean()), opt("clip_norm", real(0.0)),
                        opt("precision", one_of_names("precision", {"fp32", "bf16", "auto"})),
                        opt("early_stopping", early_stopping), opt("reduce_on_plateau", plateau)});
  auto output = mapping({opt("dir", text())});
  return mapping({opt("seed", integer(0.0)), req("data", data), req("model", model), opt("train", train),
                  opt("output", output)});
}

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string range_text(const Node& n) {
  std::string lo, hi;
  if (n.min) lo = (n.min_exclusive ? "> " : ">= ") + format_number(*n.min);
  if (n.max) hi = (n.max_exclusive ? "< " : "<= ") + format_number(*n.max);
  if (!lo.empty() && !hi.empty()) return lo + " and " + hi;
  return lo + hi;
}

std::string short_value(const json& v) {
  std::string s = v.dump();
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

void validate_scalar(const Node& node, const json& value, const std::string& path, const SpecTree& tree) {
  switch (node.kind) {
    case Kind::Bool:
      if (!value.is_boolean()) tree.fail(path, "expected true or false, got " + short_value(value));
      return;
    case Kind::Int: {
      // A float counts when it is a whole number an int64 can hold (2^63 itself cannot).
      const bool integral = value.is_number_integer() ||
                            (value.is_number_float() && std::isfinite(value.get<double>()) &&
                             std::floor(value.get<double>()) == value.get<double>() &&
                             std::fabs(value.get<double>()) < 9223372036854775808.0);
      if (!integral || value.is_boolean())
        tree.fail(path, "expected an integer" + (range_text(node).empty() ? "" : " " + range_text(node)) + ", got " +
                            short_value(value));
      break;
    }
    case Kind::Float:
      if (!value.is_number() || !std::isfinite(value.get<double>()))
        tree.fail(path, "expected a number" + (range_text(node).empty() ? "" : " " + range_text(node)) + ", got " +
                            short_value(value));
      break;
    case Kind::String:
      if (!value.is_string()) tree.fail(path, "expected a string, got " + short_value(value));
      return;
    case Kind::Enum: {
      if (!value.is_string())
        tree.fail(path, "expected the name of a " + node.what + " (one of: " + join(node.choices) + "), got " +
                            short_value(value));
      const std::string name = value.get<std::string>();
      if (std::find(node.choices.begin(), node.choices.end(), name) == node.choices.end()) {
        const std::string guess = closest(name, node.choices);
        tree.fail(path, "unknown " + node.what + " '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                            "; allowed: " + join(node.choices));
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
  if (below || above) tree.fail(path, "must be " + range_text(node) + ", got " + short_value(value));
}

}  // namespace

const Node& root_schema() {
  static const std::shared_ptr<Node> root = build_root();
  return *root;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
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
    if (f.key == key) return &f;
  if (const auto* extra = variant_fields(n, tag_of(n, value)))
    for (const Field& f : *extra)
      if (f.key == key) return &f;
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

void validate_node(const Node& node, const json& value, const std::string& path, const SpecTree& tree,
                   const ScalarHook& hook) {
  switch (node.kind) {
    case Kind::OneOf: {
      const Node* alt = pick_alternative(node, value);
      if (!alt) {
        std::vector<std::string> forms;
        for (const NodePtr& a : node.alternatives)
          forms.push_back(a->kind == Kind::Enum ? "a name (" + join(a->choices) + ")" : kind_name(a->kind));
        tree.fail(path, "expected " + join(forms) + "; got " + json_type_name(value));
      }
      validate_node(*alt, value, path, tree, hook);
      return;
    }
    case Kind::List: {
      if (!value.is_array()) tree.fail(path, "expected a list, got " + json_type_name(value));
      for (size_t i = 0; i < value.size(); ++i)
        validate_node(*node.item, value[i], path + "[" + std::to_string(i) + "]", tree, hook);
      return;
    }
    case Kind::Map: {
      if (!value.is_object()) {
        std::vector<std::string> keys = allowed_keys(node, json::object());
        tree.fail(path, "expected a mapping with keys among: " + join(keys) + "; got " + json_type_name(value));
      }
      // The tag first: the other allowed keys depend on it.
      if (!node.tag_key.empty()) {
        const std::string tag_path = child_path(path, node.tag_key);
        const auto names = variant_names(node);
        if (!value.contains(node.tag_key)) {
          if (node.tag_default.empty())
            tree.fail(path, "missing required key '" + node.tag_key + "' (one of: " + join(names) + ")");
        } else {
          const json& tag = value.at(node.tag_key);
          const std::string what = node.tag_key == "type" ? "layer type" : node.tag_key;
          if (!tag.is_string()) tree.fail(tag_path, "expected a " + what + " name (one of: " + join(names) + ")");
          if (!variant_fields(node, tag.get<std::string>())) {
            const std::string name = tag.get<std::string>();
            const std::string guess = closest(name, names);
            std::string noun = what;
            if (path.find("optimizer") != std::string::npos) noun = "optimizer";
            if (path.find("schedule") != std::string::npos) noun = "schedule";
            tree.fail(tag_path, "unknown " + noun + " '" + name + "'" +
                                    (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; allowed: " + join(names));
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
          tree.fail(p, "unknown key '" + key + "'" + context + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                           "; allowed keys: " + join(keys),
                    true);
        }
        validate_node(*field->node, child, p, tree, hook);
      }
      if (node.exactly_one) {
        std::vector<std::string> present, names;
        for (const Field& f : node.fields) {
          names.push_back(f.key);
          if (value.contains(f.key)) present.push_back(f.key);
        }
        if (present.size() != 1)
          tree.fail(path, (present.empty() ? std::string("empty") : "has " + join(present)) + "; give exactly one of: " +
                              join(names));
      } else {
        for (const Field& f : node.fields)
          if (f.required && !value.contains(f.key)) tree.fail(path, "missing required key '" + f.key + "'");
        if (const auto* extra = variant_fields(node, tag_of(node, value)))
          for (const Field& f : *extra)
            if (f.required && !value.contains(f.key))
              tree.fail(path, "missing required key '" + f.key + "' for " + node.tag_key + " '" + tag_of(node, value) + "'");
      }
      return;
    }
    default:
      if (hook && !value.is_primitive() && hook(node, value, path)) return;
      validate_scalar(node, value, path, tree);
  }
}

}  // namespace nntune::spec
