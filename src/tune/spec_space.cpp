// Search spaces inside the YAML spec: distributions where scalars go, choices of whole mappings
// (conditional branches), {count, each} lists of variable length, the tune: section, and the
// mapping of a trial to a fixed training spec.
//
// One walker serves three purposes: validating the space (it is run with every distribution at
// its lower bound, at its upper bound and with each choice option in turn, and each result is
// validated as a training spec, so the schema's messages and ranges apply unchanged), sampling a
// trial (define-by-run: only the chosen branches are visited) and rebuilding a stored trial.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <cstring>
#include <set>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/metrics.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "spec/schema.hpp"
#include "spec/yaml_scalars.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/sampler_registry.hpp"
#include "tune/tune_schema.hpp"

namespace nntune::tune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
std::string indexed(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool is_distribution(const json& v) {
  return v.is_object() && (v.contains("float") || v.contains("int") || v.contains("choice"));
}
bool is_repeat(const json& v) { return v.is_object() && v.contains("each"); }

std::string label_text(const json& label) { return label.is_string() ? label.get<std::string>() : label.dump(); }

// A distribution as written in the spec, checked, with the branch labels of a choice.
struct SpecDistribution {
  Distribution distribution;
  std::string kind_key;          // float, int, choice
  std::vector<json> options;     // choice: the options as written
  std::vector<json> labels;      // choice: what the parameter stores for each option
  std::string name;              // an explicit parameter name (shared wherever it appears), or empty
};

bool integral(const json& v) {
  if (v.is_number_integer()) return true;
  return v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>();
}

SpecDistribution parse_distribution(const json& v, const std::string& at, const SpecTree& tree) {
  SpecDistribution d;
  std::vector<std::string> kinds;
  for (const char* k : {"float", "int", "choice"})
    if (v.contains(k)) kinds.push_back(k);
  if (kinds.size() > 1)
    tree.fail(at, "a distribution has exactly one of float, int or choice; this one has " + spec::join(kinds));
  d.kind_key = kinds.front();
  const std::vector<std::string> allowed = d.kind_key == "choice" ? std::vector<std::string>{"choice", "name"}
                                                                  : std::vector<std::string>{d.kind_key, "log", "step", "name"};
  for (const auto& [key, value] : v.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      tree.fail(child(at, key), "unknown key '" + key + "' in a " + d.kind_key + " distribution; allowed keys: " +
                                    spec::join(allowed), true);
  if (v.contains("name")) {
    const json& name = v.at("name");
    d.name = name.is_string() ? name.get<std::string>() : "";
    const bool valid = !d.name.empty() && std::all_of(d.name.begin(), d.name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
    if (!valid)
      tree.fail(child(at, "name"), "a parameter name is letters, digits, '_', '.' and '-' (e.g. name: lr), got " +
                                       name.dump());
  }
  const std::string body = child(at, d.kind_key);
  try {
    if (d.kind_key == "choice") {
      const json& options = v.at("choice");
      if (!options.is_array())
        tree.fail(body, "expected a list of options, e.g. {choice: [relu, tanh]}; got " + spec::json_type_name(options));
      if (options.empty()) tree.fail(body, "empty choice: give at least one option");
      d.options.assign(options.begin(), options.end());
      // Scalars stand for themselves; a mapping is labelled by its name/type ("sgd"), other
      // compound options by their index. Labels must be unique, else every compound option
      // falls back to its index.
      auto label_of = [](const json& option, size_t i, bool by_index) -> json {
        if (option.is_primitive()) return option;
        if (!by_index && option.is_object())
          for (const char* tag : {"name", "type"})
            if (option.contains(tag) && option.at(tag).is_string()) return option.at(tag);
        return static_cast<int64_t>(i);
      };
      for (bool by_index : {false, true}) {
        d.labels.clear();
        std::set<std::string> seen;
        bool unique = true;
        for (size_t i = 0; i < d.options.size(); ++i) {
          d.labels.push_back(label_of(d.options[i], i, by_index));
          unique = seen.insert(d.labels.back().dump()).second && unique;
        }
        if (unique) break;
      }
      d.distribution = Distribution::categorical(d.labels);
    } else {
      const json& range = v.at(d.kind_key);
      const bool is_int = d.kind_key == "int";
      if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number() ||
          (is_int && (!integral(range[0]) || !integral(range[1]))))
        tree.fail(body, std::string("expected [low, high] (two ") + (is_int ? "integers" : "numbers") + "), got " +
                            range.dump());
      bool log = false;
      if (v.contains("log")) {
        if (!v.at("log").is_boolean()) tree.fail(child(at, "log"), "expected true or false, got " + v.at("log").dump());
        log = v.at("log").get<bool>();
      }
      double step = is_int ? 1.0 : 0.0;
      if (v.contains("step")) {
        const json& s = v.at("step");
        if (!s.is_number() || (is_int && !integral(s)))
          tree.fail(child(at, "step"), std::string("expected ") + (is_int ? "an integer" : "a number") + ", got " + s.dump());
        step = s.get<double>();
      }
      if (is_int)
        d.distribution = Distribution::int_range(range[0].get<int64_t>(), range[1].get<int64_t>(), log,
                                                 static_cast<int64_t>(step));
      else
        d.distribution = Distribution::float_range(range[0].get<double>(), range[1].get<double>(), log, step);
    }
    d.distribution.validate();
  } catch (const Error& e) {
    const std::string what = e.what();
    // Our own located messages pass through; the distribution's own checks get located here.
    if (what.rfind(tree.source, 0) == 0 || what.rfind("--set", 0) == 0) throw;
    tree.fail(body, what);
  }
  return d;
}

// A scalar distribution put in the instance (for the schema kind check after the walk).
struct PlacedScalar {
  std::string instance_path, source_path;
  DistributionKind kind;
};

// Walks a space tree into a fixed tree. `choose` gives each distribution's external value.
class Walker {
 public:
  using Choose = std::function<json(const std::string& name, const SpecDistribution& d, const std::string& source)>;
  Walker(const SpecTree& space, Choose choose, bool external = false)
      : space_(space), choose_(std::move(choose)), external_(external) {
    out_.source = space.source;
    out_.base_dir = space.base_dir;
    out_.overrides = space.overrides;
  }

  SpecTree run() {
    out_.root = walk(space_.root, "", "", "");
    copy_marks("", "");
    return std::move(out_);
  }
  std::vector<PlacedScalar> placed;
  std::vector<std::pair<std::string, Distribution>> parameters;
  std::vector<std::string> parameter_sources;  // where each of `parameters` is written

 private:
  void copy_marks(const std::string& source, const std::string& instance) {
    if (auto it = space_.value_marks.find(source); it != space_.value_marks.end()) out_.value_marks[instance] = it->second;
    if (auto it = space_.key_marks.find(source); it != space_.key_marks.end()) out_.key_marks[instance] = it->second;
  }

  void check_tunable(const std::string& source) {
    if (external_) return;  // an external program's space has no data to protect
    // A series' window length is cut per trial from the one loaded series (run_training).
    if (source == "data.train.series.window") return;
    const std::string top = source.substr(0, source.find_first_of(".["));
    if (top == "data" || top == "output" || top == "seed")
      space_.fail(source, top == "seed" ? "the seed cannot be tuned: it also fixes the validation split, and the data "
                                          "is loaded once per study (tune train.* and model.* values instead)"
                                        : top + " cannot be tuned: the data is loaded once per study and shared by "
                                                "every trial (tune train.* and model.* values instead)");
  }

  json walk(const json& v, const std::string& source, const std::string& instance, const std::string& path_param) {
    copy_marks(source, instance);
    if (is_distribution(v)) {
      check_tunable(source);
      const SpecDistribution d = parse_distribution(v, source, space_);
      // A named distribution is one parameter wherever it appears (one value per trial).
      const std::string param = d.name.empty() ? path_param : d.name;
      parameters.emplace_back(param, d.distribution);
      parameter_sources.push_back(source);
      json chosen = choose_(param, d, source);
      if (d.kind_key == "choice") {
        size_t index = 0;
        while (index < d.labels.size() && !(d.labels[index] == chosen)) ++index;
        if (index == d.labels.size())
          space_.fail(source, "parameter '" + param + "' has the value " + chosen.dump() + ", which is not an option here");
        const std::string option_source = indexed(child(source, "choice"), index);
        const json& option = d.options[index];
        if (option.is_primitive()) {
          copy_marks(option_source, instance);
          placed.push_back({instance, option_source, DistributionKind::Categorical});
          return option;
        }
        return walk(option, option_source, instance, child(param, label_text(d.labels[index])));
      }
      const bool is_int = d.kind_key == "int";
      if (!chosen.is_number()) space_.fail(source, "parameter '" + param + "' has the non-number value " + chosen.dump());
      // Point the value at the bound it came from, when it is one (messages then show its column).
      const double x = chosen.get<double>();
      const std::string bounds = child(source, d.kind_key);
      if (x == d.distribution.low) copy_marks(indexed(bounds, 0), instance);
      else if (x == d.distribution.high) copy_marks(indexed(bounds, 1), instance);
      placed.push_back({instance, source, is_int ? DistributionKind::Int : DistributionKind::Float});
      if (is_int) return static_cast<int64_t>(std::llround(x));
      return x;
    }
    if (is_repeat(v)) {
      check_tunable(source);
      for (const auto& [key, value] : v.items())
        if (key != "count" && key != "each")
          space_.fail(child(source, key), "unknown key '" + key + "' in a repeated list; allowed keys: count, each", true);
      if (!v.contains("count"))
        space_.fail(source, "missing required key 'count' (how many times 'each' repeats, e.g. count: {int: [1, 3]})");
      const json count = walk(v.at("count"), child(source, "count"), child(instance, "count"), child(path_param, "count"));
      out_.value_marks.erase(child(instance, "count"));
      out_.key_marks.erase(child(instance, "count"));
      if (!integral(count) || count.get<double>() < 0 || count.get<double>() > 10000)
        space_.fail(child(source, "count"), "expected an integer between 0 and 10000, got " + count.dump());
      json list = json::array();
      for (int64_t i = 0; i < count.get<int64_t>(); ++i)
        list.push_back(walk(v.at("each"), child(source, "each"), indexed(instance, static_cast<size_t>(i)),
                            child(path_param, std::to_string(i))));
      return list;
    }
    if (v.is_object()) {
      json out = json::object();
      for (const auto& [key, value] : v.items()) out[key] = walk(value, child(source, key), child(instance, key), child(path_param, key));
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i) out.push_back(walk(v[i], indexed(source, i), indexed(instance, i), indexed(path_param, i)));
      return out;
    }
    return v;
  }

  const SpecTree& space_;
  Choose choose_;
  bool external_ = false;
  SpecTree out_;
};

// The schema node a value of the instance sits in (after OneOf resolution), or null.
const spec::Node* schema_at(const json& root, const std::string& path) {
  const spec::Node* node = &spec::root_schema();
  const json* value = &root;
  size_t i = 0;
  while (i < path.size() && node) {
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      const size_t index = std::stoul(path.substr(i + 1, close - i - 1));
      const spec::Node* list = spec::as_list(*node, *value);
      if (!list || !value->is_array() || index >= value->size()) return nullptr;
      node = list->item.get();
      value = &(*value)[index];
      i = close + 1;
    } else {
      if (path[i] == '.') ++i;
      const size_t end = path.find_first_of(".[", i);
      const std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      const spec::Node* map = spec::as_map(*node, *value);
      if (!map || !value->is_object() || !value->contains(key)) return nullptr;
      const spec::Field* field = spec::find_field(*map, *value, key);
      if (!field && !map->values) return nullptr;
      node = field ? field->node.get() : map->values.get();  // free keys: the values' schema
      value = &value->at(key);
      i = end == std::string::npos ? path.size() : end;
    }
  }
  if (node && node->kind == spec::Kind::OneOf) node = spec::pick_alternative(*node, *value);
  return node;
}

// Every choice of the space (source path, number of options), branches and repeats included.
void collect_choices(const json& v, const std::string& source, std::vector<std::pair<std::string, size_t>>& out) {
  if (is_distribution(v) && v.contains("choice") && v.at("choice").is_array()) {
    out.emplace_back(source, v.at("choice").size());
    for (size_t i = 0; i < v.at("choice").size(); ++i) collect_choices(v.at("choice")[i], indexed(child(source, "choice"), i), out);
    return;
  }
  if (v.is_object())
    for (const auto& [key, value] : v.items()) collect_choices(value, child(source, key), out);
  if (v.is_array())
    for (size_t i = 0; i < v.size(); ++i) collect_choices(v[i], indexed(source, i), out);
}

bool inside(const std::string& path, const std::string& prefix) {
  return path.rfind(prefix, 0) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[');
}

// Blocks of layers: a list inside model.layers (what {count, each: [...]} or a choice of lists
// gives) is spliced into it, so `each: [{type: conv2d, ...}, {type: max_pool2d}]` repeats a
// block. The source marks follow their layers to the new indices.
using PathMoves = std::vector<std::pair<std::string, std::string>>;  // old path of a layer -> its new path

std::string moved_path(const std::string& path, const PathMoves& moves) {
  for (const auto& [old_prefix, new_prefix] : moves)
    if (inside(path, old_prefix)) return new_prefix + path.substr(old_prefix.size());
  return path;
}

PathMoves splice_layer_blocks(SpecTree& tree) {
  if (!tree.root.is_object() || !tree.root.contains("model") || !tree.root["model"].is_object() ||
      !tree.root["model"].contains("layers") || !tree.root["model"]["layers"].is_array())
    return {};
  json& layers = tree.root["model"]["layers"];
  const std::string base = "model.layers";
  json flat = json::array();
  PathMoves moved;
  std::set<std::string> blocks;  // paths of the lists spliced away (their marks go with them)
  auto flatten = [&](auto& self, const json& list, const std::string& path) -> void {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (list[i].is_array()) {
        blocks.insert(at);
        self(self, list[i], at);
        continue;
      }
      moved.emplace_back(at, base + "[" + std::to_string(flat.size()) + "]");
      flat.push_back(list[i]);
    }
  };
  flatten(flatten, layers, base);
  if (blocks.empty()) return {};
  layers = std::move(flat);
  auto remap = [&](std::map<std::string, SourceMark>& marks) {
    std::map<std::string, SourceMark> out;
    for (auto& [path, mark] : marks)
      if (!blocks.count(path)) out.emplace(moved_path(path, moved), mark);
    marks = std::move(out);
  };
  remap(tree.value_marks);
  remap(tree.key_marks);
  return moved;
}

// One validation pass: bounds at low or high, one choice forced to an option (its enclosing
// choices then take the branch that contains it).
SpecTree instance_for(const SpecTree& space, bool high, const std::string& forced, size_t forced_option,
                      std::vector<PlacedScalar>* placed, bool external = false) {
  Walker walker(space, [&](const std::string&, const SpecDistribution& d, const std::string& source) -> json {
    if (d.kind_key != "choice") {
      const double x = high ? d.distribution.high : d.distribution.low;
      return d.kind_key == "int" ? json(static_cast<int64_t>(x)) : json(x);
    }
    size_t option = high ? d.options.size() - 1 : 0;
    if (!forced.empty()) {
      if (source == forced) option = forced_option;
      for (size_t i = 0; i < d.options.size(); ++i)
        if (inside(forced, indexed(child(source, "choice"), i))) option = i;
    }
    return d.labels[std::min(option, d.labels.size() - 1)];
  }, external);
  SpecTree tree = walker.run();
  const PathMoves moves = external ? PathMoves{} : splice_layer_blocks(tree);
  if (placed) {
    *placed = std::move(walker.placed);
    for (PlacedScalar& p : *placed) p.instance_path = moved_path(p.instance_path, moves);
  }
  return tree;
}

// ---- the tune: section ----

spec::NodePtr node_of(spec::Kind kind, std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  auto n = std::make_shared<spec::Node>();
  n->kind = kind;
  n->min = min;
  n->max = max;
  return n;
}
spec::NodePtr names_node(const std::string& what, std::vector<std::string> choices) {
  auto n = std::make_shared<spec::Node>();
  n->kind = spec::Kind::Enum;
  n->what = what;
  n->choices = std::move(choices);
  return n;
}
spec::NodePtr map_node(std::vector<spec::Field> fields) {
  auto n = std::make_shared<spec::Node>();
  n->kind = spec::Kind::Map;
  n->fields = std::move(fields);
  return n;
}
spec::NodePtr either(std::vector<spec::NodePtr> alternatives) {
  auto n = std::make_shared<spec::Node>();
  n->kind = spec::Kind::OneOf;
  n->alternatives = std::move(alternatives);
  return n;
}

std::string metric_list() {
  std::vector<std::string> names;
  for (const MetricInfo& m : metric_catalog()) names.push_back(m.name);
  return schema::join(names);
}

}  // namespace

const spec::Node& tune_schema() {
  using spec::Kind;
  static const spec::NodePtr schema = [] {
    auto count = [](double min) { return node_of(Kind::Int, min); };
    auto duration = [](double min) { return either({node_of(Kind::String), node_of(Kind::Float, min)}); };
    using schema::opt;
    auto objective = map_node(
        {opt("metric", node_of(Kind::String), nullptr,
             "what a trial is scored by (an epoch metric: " + metric_list() +
                 ", val_ in front for validation data); default val_accuracy, or val_loss for regression"),
         opt("direction", names_node("direction", {"minimize", "maximize"}), nullptr,
             "default the metric's: maximize for accuracy, f1, auc, r2, ...; minimize for losses and errors"),
         opt("cv", map_node({schema::req("folds", count(2.0), "k of k-fold cross-validation")}), nullptr,
             "score each trial by the mean of k-fold cross-validation instead of a validation split"),
         opt("command", node_of(Kind::String), nullptr,
             "an external program as the objective ({name} placeholders; with space: instead of a network)"),
         opt("timeout", duration(1e-9), nullptr, "per external-program trial: 90, 90s, 10m; none by default"),
         opt("working_dir", node_of(Kind::String), nullptr,
             "the external program's directory, relative to the spec's; default the spec's directory")});
    // Every sampler's declared keys (src/tune/*_sampler.cpp), each once.
    std::vector<spec::Field> sampler_fields = {schema::opt("name", names_node("sampler", sampler_names()), SamplerConfig{}.name, "the sampler (Samplers below)")};
    for (const spec::Field& f : option_fields(sampler_options())) sampler_fields.push_back(f);
    auto sampler_map = map_node(sampler_fields);
    // Every pruner's declared keys (src/tune/pruners/), each once.
    std::vector<spec::Field> pruner_fields = {schema::opt("name", names_node("pruner", pruner_names()), PrunerConfig{}.name, "the pruner (Pruners below)")};
    for (const spec::Field& f : option_fields(pruner_options())) pruner_fields.push_back(f);
    auto pruner_map = map_node(pruner_fields);
    return map_node(
        {opt("objective", objective, nullptr, "what the trials optimise"),
         opt("sampler", either({names_node("sampler", sampler_names()), sampler_map}), SamplerConfig{}.name,
             "how parameters are chosen: a name or {name: ..., options}"),
         opt("pruner", either({names_node("pruner", pruner_names()), pruner_map}), PrunerConfig{}.name,
             "which trials stop early: a name or {name: ..., options}"),
         opt("trials", count(1.0), nullptr,
             "total trials of the study (resuming counts earlier ones); default 20 for a new study, a grid: all points"),
         opt("timeout", duration(1e-9), nullptr, "no trial starts after this long: 600, 600s, 10m, 1h"),
         opt("jobs", node_of(Kind::Int, 1.0, 256.0), 1, "trials in parallel in one process (threads)"),
         opt("study", node_of(Kind::String), nullptr, "the study's name; default the spec file's name"),
         opt("storage", node_of(Kind::String), "sqlite:///nntune.db",
             "where the study lives: sqlite:///FILE.db, postgresql://USER@HOST/DB, or memory"),
         opt("retries", count(0.0), 1, "a trial whose worker died runs again with the same parameters, this often"),
         opt("grace", duration(1e-3), "5m", "a running trial without a heartbeat for this long is failed"),
         opt("heartbeat", duration(1e-3), "5s", "how often running trials send a heartbeat"),
         opt("enqueue",
             schema::list_of(schema::map_of(either({node_of(Kind::Bool), node_of(Kind::Float), node_of(Kind::String)}))),
             nullptr,
             "trials to run first, before the sampler's own (a known-good start, as Optuna's enqueue_trial): a list "
             "of {parameter: value}, names as nntune trials shows them; parameters left out are sampled. Enqueued "
             "by whichever of nntune tune or nntune ask creates the study; resuming one does not enqueue them again")});
  }();
  return *schema;
}

namespace {

const json* find(const json& j, const std::string& key) { return j.is_object() && j.contains(key) ? &j.at(key) : nullptr; }

TuneConfig tune_config_from(const json& tune, const SpecTree& tree) {
  spec::validate_node(tune_schema(), tune, "tune", tree);
  TuneConfig c;
  if (const json* o = find(tune, "objective")) {
    if (const json* m = find(*o, "metric")) c.objective.metric = m->get<std::string>();
    if (!find(*o, "command")) {
      try {
        require_metric(c.objective.metric, "");
      } catch (const Error& e) {
        tree.fail("tune.objective.metric", e.what());
      }
    }
    c.objective.metric = canonical_metric_name(c.objective.metric);
    c.objective.direction = metric_maximized(c.objective.metric) ? Direction::Maximize : Direction::Minimize;
    if (const json* d = find(*o, "direction"))
      c.objective.direction = d->get<std::string>() == "maximize" ? Direction::Maximize : Direction::Minimize;
    if (const json* cv = find(*o, "cv")) c.objective.cv_folds = cv->at("folds").get<int64_t>();
    if (const json* command = find(*o, "command")) {
      c.objective.command = command->get<std::string>();
      if (!find(*o, "metric")) c.objective.metric = "value";
      if (!find(*o, "direction")) c.objective.direction = Direction::Minimize;
      if (c.objective.command.empty()) tree.fail("tune.objective.command", "is empty: give the program to run");
    }
    if (const json* t = find(*o, "timeout")) {
      try {
        c.objective.command_timeout_seconds = t->is_string() ? parse_duration(t->get<std::string>()) : t->get<double>();
      } catch (const Error& e) {
        tree.fail("tune.objective.timeout", e.what());
      }
    }
    if (const json* w = find(*o, "working_dir")) c.objective.working_dir = w->get<std::string>();
  }
  if (const json* s = find(tune, "sampler")) {
    read_sampler_config(*s, c.sampler);
  }
  if (const json* p = find(tune, "pruner")) {
    read_pruner_config(*p, c.pruner);
  }
  c.trials = tune.value("trials", c.trials);
  if (const json* t = find(tune, "timeout")) {
    try {
      c.timeout_seconds = t->is_string() ? parse_duration(t->get<std::string>()) : t->get<double>();
    } catch (const Error& e) {
      tree.fail("tune.timeout", e.what());
    }
  }
  c.jobs = tune.value("jobs", c.jobs);
  c.retries = tune.value("retries", c.retries);
  for (const auto& [key, seconds] : {std::pair<const char*, double*>{"grace", &c.grace_seconds}, {"heartbeat", &c.heartbeat_seconds}})
    if (const json* t = find(tune, key)) {
      try {
        *seconds = t->is_string() ? parse_duration(t->get<std::string>()) : t->get<double>();
      } catch (const Error& e) {
        tree.fail(std::string("tune.") + key, e.what());
      }
    }
  if (c.heartbeat_seconds >= c.grace_seconds)
    tree.fail(find(tune, "heartbeat") ? "tune.heartbeat" : "tune.grace",
              "the heartbeat (" + std::to_string(c.heartbeat_seconds) + " s) must be shorter than the grace period (" +
                  std::to_string(c.grace_seconds) + " s), or live trials would be failed as stale");
  if (const json* points = find(tune, "enqueue"))
    for (const json& point : *points) c.enqueue.push_back(point);
  c.study = tune.value("study", c.study);
  c.storage = tune.value("storage", c.storage);
  if (c.study.empty()) c.study = fs::path(tree.source).stem().string();
  if (c.study.empty()) c.study = "study";
  return c;
}

// "tune.trials=5": sets a value of the tune section (parsed as YAML), marked with the override.
void apply_tune_override(json& tune, SpecTree& tree, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  const std::string origin = "--set " + assignment;
  SpecTree parsed = parse_spec_tree("value: " + text, origin);
  json* at = &tune;
  std::string walked = "tune";
  std::stringstream steps(path.substr(5));
  for (std::string key; std::getline(steps, key, '.');) {
    if (key.empty()) throw Error(origin + ": bad path '" + path + "' (write e.g. tune.trials=20)");
    if (!at->is_object()) *at = json::object();
    at = &(*at)[key];
    walked = child(walked, key);
  }
  *at = parsed.root.at("value");
  tree.value_marks[walked] = SourceMark{0, 0, origin};
}

std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (std::isfinite(v) && s.find_first_of(".en") == std::string::npos) s += ".0";
  if (std::isinf(v)) s = v > 0 ? ".inf" : "-.inf";
  if (std::isnan(v)) s = ".nan";
  return s;
}

// Would this string read back as something other than a string from a plain YAML scalar?
bool needs_quotes(const std::string& s) {
  return spec::reads_as_non_string(s) || s.front() == ' ' || s.back() == ' ';
}

void emit(YAML::Emitter& out, const json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, value] : v.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, value);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    const bool flat = std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_primitive(); });
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const json& e : v) emit(out, e);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (needs_quotes(s)) out << YAML::DoubleQuoted;
    out << s;
  } else if (v.is_boolean()) {
    out << (v.get<bool>() ? "true" : "false");
  } else if (v.is_number_integer()) {
    out << v.dump();
  } else if (v.is_number_float()) {
    out << format_double(v.get<double>());
  } else {
    out << YAML::Null;
  }
}

std::pair<std::vector<std::pair<std::string, Distribution>>, std::vector<std::set<std::string>>> space_parameter_passes(
    const SpecTree& space, bool external);

}  // namespace

void validate_search_space(const SpecTree& space, bool external) {
  std::vector<std::pair<std::string, size_t>> choices;
  collect_choices(space.root, "", choices);
  std::vector<std::pair<std::string, size_t>> passes = {{"", 0}};
  for (const auto& [path, n] : choices)
    for (size_t i = 0; i < n; ++i) passes.emplace_back(path, i);
  for (const bool high : {false, true}) {
    for (const auto& [forced, option] : passes) {
      std::vector<PlacedScalar> placed;
      const SpecTree instance = instance_for(space, high, forced, option, &placed, external);
      if (external) continue;  // the walk itself checked every distribution
      for (const PlacedScalar& p : placed) {
        const spec::Node* node = schema_at(instance.root, p.instance_path);
        if (!node) continue;  // an unknown key: validate_spec_tree below names it
        if (node->kind == spec::Kind::String)
          space.fail(p.source_path, "free text cannot be tuned here (only numbers, booleans and names can)");
        if (node->kind == spec::Kind::Int && p.kind == DistributionKind::Float)
          space.fail(p.source_path, "expects an integer: use {int: [low, high]} instead of {float: ...}");
      }
      validate_spec_tree(instance);
    }
  }
  space_parameters(space, external);  // a named parameter keeps one distribution everywhere
}

namespace {

// Every enqueued point names parameters of the space and gives values inside their
// distributions: a typo would otherwise run a sampled value silently in place of the intended one.
void check_enqueued_points(const TuneConfig& config, const SpecTree& space, const SpecTree& marks, bool external) {
  if (config.enqueue.empty()) return;
  const auto parameters = space_parameters(space, external);
  for (size_t i = 0; i < config.enqueue.size(); ++i) {
    const std::string at = "tune.enqueue[" + std::to_string(i) + "]";
    for (const auto& item : config.enqueue[i].items()) {
      // Not a structured binding: clang before 16 cannot capture one in the lambda below.
      const std::string name = item.key();
      const json& value = item.value();
      const auto known = std::find_if(parameters.begin(), parameters.end(), [&](const auto& p) { return p.first == name; });
      if (known == parameters.end()) {
        std::string names;
        for (const auto& p : parameters) names += (names.empty() ? "" : ", ") + p.first;
        marks.fail(child(at, name), "is not a parameter of the search space (its parameters: " +
                                        (names.empty() ? std::string("none") : names) + ")", true);
      }
      try {
        known->second.to_internal(value);
      } catch (const Error& e) {
        marks.fail(child(at, name), e.what());
      }
    }
  }
}

}  // namespace

TuneSpec parse_tune_spec(const std::string& yaml_text, const std::string& source_name,
                         const std::vector<std::string>& overrides, const std::string& base_dir) try {
  SpecTree tree = parse_spec_tree(yaml_text, source_name, base_dir);
  json tune = json::object();
  if (tree.root.contains("tune")) {
    tune = tree.root.at("tune");
    tree.root.erase("tune");
  }
  for (const std::string& o : overrides) {
    if (o.rfind("tune.", 0) == 0) apply_tune_override(tune, tree, o);
    else apply_override(tree, o);
  }
  TuneSpec spec;
  spec.config = tune_config_from(tune.is_null() ? json::object() : tune, tree);
  if (spec.external()) {
    // The spec is `space:` (+ tune:); parameter names are paths inside space.
    for (const auto& [key, value] : tree.root.items())
      if (key != "space")
        tree.fail(key, "with tune.objective.command the spec holds only space: (the parameters) and tune:", true);
    if (!tree.root.contains("space") || !tree.root.at("space").is_object())
      tree.fail(tree.root.contains("space") ? "space" : "",
                "with tune.objective.command give the parameters under space:, e.g. space: {lr: {float: [1e-4, 0.1], log: true}}");
    SpecTree space;
    space.source = tree.source;
    space.base_dir = tree.base_dir;
    space.overrides = tree.overrides;
    space.root = tree.root.at("space");
    for (auto* marks : {&tree.value_marks, &tree.key_marks})
      for (const auto& [path, mark] : *marks) {
        auto& out = marks == &tree.value_marks ? space.value_marks : space.key_marks;
        if (path == "space") out[""] = mark;
        else if (path.rfind("space.", 0) == 0) out[path.substr(6)] = mark;
      }
    validate_search_space(space, true);
    // Every {placeholder} of the command must name a parameter or a fixed value of space:.
    std::vector<std::string> names;
    for (const auto& [name, d] : space_parameters(space, true)) names.push_back(name);
    for (const auto& [key, value] : space.root.items()) names.push_back(key);
    ExternalCommand command;
    command.command = spec.config.objective.command;
    try {
      check_placeholders(command, names);
    } catch (const Error& e) {
      tree.fail("tune.objective.command", e.what());
    }
    if (!spec.config.objective.working_dir.empty() && !fs::path(spec.config.objective.working_dir).is_absolute() &&
        !tree.base_dir.empty())
      spec.config.objective.working_dir = (fs::path(tree.base_dir) / spec.config.objective.working_dir).string();
    check_enqueued_points(spec.config, space, tree, true);
    spec.space = std::move(space);
    return spec;
  }
  validate_search_space(tree);
  const TrainingSpec first = training_spec_of(instance_for(tree, true, "", 0, nullptr));
  // Regression has no accuracy: its default objective is the validation loss, minimised.
  const json* objective_json = tune.is_object() ? find(tune, "objective") : nullptr;
  if (first.data.task == Task::Regression && !(objective_json && find(*objective_json, "metric"))) {
    spec.config.objective.metric = "val_loss";
    if (!(objective_json && find(*objective_json, "direction"))) spec.config.objective.direction = Direction::Minimize;
  }
  const TuneObjective& objective = spec.config.objective;
  if (const std::string problem = metric_task_problem(objective.metric, first.data.task == Task::Classification);
      !problem.empty())
    tree.fail("tune.objective.metric", problem + " (val_ in front for validation data)");
  if (objective.metric.rfind("val_", 0) == 0 && objective.cv_folds == 0 && first.data.validation.kind.empty())
    tree.fail(tree.root.contains("data") ? "data" : "", "the objective " + objective.metric +
                                                            " needs validation data: add data.validation (e.g. {split: 0.2}) "
                                                            "or use tune.objective.cv");
  fit_pruner_to_epochs(spec.config.pruner, first.train.epochs);
  check_enqueued_points(spec.config, tree, tree, false);
  spec.space = std::move(tree);
  return spec;
} catch (const nlohmann::json::exception& e) {
  // Text that is not UTF-8 (which a JSON value cannot show) is what reaches here: an error, never an abort.
  throw Error(source_name + ": the spec or a --set override holds a value nntune cannot read (" + e.what() +
              "); text must be UTF-8: save the file as UTF-8");
}

TuneSpec load_tune_spec(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read the spec '" + path + "' (does the file exist?)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_tune_spec(text.str(), path, overrides, fs::path(path).parent_path().string());
}

SpecTree materialize(const SpecTree& space, const SuggestFn& suggest, bool external) {
  Walker walker(space, [&](const std::string& name, const SpecDistribution& d, const std::string&) {
    return suggest(name, d.distribution);
  }, external);
  SpecTree fixed = walker.run();
  if (!external) splice_layer_blocks(fixed);
  return fixed;
}

SpecTree materialize_params(const SpecTree& space, const json& external_params) {
  return materialize(space, [&](const std::string& name, const Distribution&) -> json {
    if (!external_params.contains(name))
      throw Error("the trial has no value for the parameter '" + name + "' (was the spec changed after the study ran?)");
    return external_params.at(name);
  });
}

TrainingSpec training_spec_of(const SpecTree& fixed) {
  validate_spec_tree(fixed);
  return spec_from_tree(fixed);
}

json refit_spec(const json& fixed_root, const std::map<int64_t, double>& intermediate, const std::string& metric,
                bool maximize, std::vector<std::string>& changes) {
  json root = fixed_root;
  if (root.contains("data") && root["data"].contains("validation")) {
    const json& validation = root["data"]["validation"];
    if (!validation.is_object() || !(validation.contains("split") || validation.contains("last")))
      throw Error("refit: data.validation is a data set of its own, not a part of data.train; merge it into the "
                  "training data yourself, or train the spec without --refit");
    changes.push_back("data.validation " + validation.dump() + " removed: the model trains on all of data.train");
    root["data"].erase("validation");
  }
  json* train = root.contains("train") ? &root["train"] : nullptr;
  // The reports are the objective's metric: they tell the restored epoch when early stopping
  // watched that metric too.
  const bool restores_best = train && train->contains("early_stopping") &&
                             (*train)["early_stopping"].value("restore_best", false) &&
                             canonical_metric_name((*train)["early_stopping"].value("monitor", EarlyStoppingConfig{}.monitor)) ==
                                 canonical_metric_name(metric);
  for (const char* callback : {"early_stopping", "reduce_on_plateau"})
    if (train && train->contains(callback)) {
      changes.push_back(std::string("train.") + callback + " removed: it watches validation data");
      train->erase(callback);
    }
  if (!intermediate.empty()) {
    // The epoch whose weights the trial kept: its best report when early stopping restored the
    // best weights, its last report otherwise (all of its epochs, or where it stopped early).
    auto kept = restores_best ? intermediate.begin() : std::prev(intermediate.end());
    if (restores_best)  // the first best, as early stopping keeps it
      for (auto it = intermediate.begin(); it != intermediate.end(); ++it)
        if (maximize ? it->second > kept->second : it->second < kept->second) kept = it;
    const int64_t epochs = kept->first;
    if (epochs >= 1 && train) {
      changes.push_back("train.epochs " + std::to_string(epochs) + ": the epochs of the trial's " +
                        (restores_best ? "best report" : "last report"));
      (*train)["epochs"] = epochs;
      if (train->contains("schedule"))
        changes.push_back("train.schedule now spans " + std::to_string(epochs) + " epochs");
    }
  }
  return root;
}

std::vector<std::pair<std::string, Distribution>> space_parameters(const SpecTree& space, bool external) {
  return space_parameter_passes(space, external).first;
}

std::vector<std::string> conditional_parameters(const SpecTree& space, bool external) {
  const auto [all, passes] = space_parameter_passes(space, external);
  std::vector<std::string> conditional;
  for (const auto& [name, d] : all)
    for (const auto& pass : passes)
      if (!pass.count(name)) {
        conditional.push_back(name);
        break;
      }
  return conditional;
}

namespace {
std::pair<std::vector<std::pair<std::string, Distribution>>, std::vector<std::set<std::string>>> space_parameter_passes(
    const SpecTree& space, bool external) {
  // Every branch once: the passes of the validation, parameters merged in first-seen order.
  std::vector<std::pair<std::string, size_t>> choices;
  collect_choices(space.root, "", choices);
  std::vector<std::pair<std::string, size_t>> passes = {{"", 0}};
  for (const auto& [path, n] : choices)
    for (size_t i = 0; i < n; ++i) passes.emplace_back(path, i);
  std::vector<std::pair<std::string, Distribution>> all;
  std::map<std::string, std::pair<Distribution, std::string>> seen;  // name -> distribution, where written
  std::vector<std::set<std::string>> passes_seen;
  for (const auto& pass : passes) {
    // Named copies: clang before 16 cannot capture structured bindings in a lambda.
    const std::string& forced = pass.first;
    const size_t option = pass.second;
    for (const bool high : {false, true}) {
      Walker walker(space, [&](const std::string&, const SpecDistribution& d, const std::string& source) -> json {
        if (d.kind_key != "choice") {
          const double x = high ? d.distribution.high : d.distribution.low;
          return d.kind_key == "int" ? json(static_cast<int64_t>(x)) : json(x);
        }
        size_t pick = 0;
        if (source == forced) pick = option;
        for (size_t i = 0; i < d.options.size(); ++i)
          if (inside(forced, indexed(child(source, "choice"), i))) pick = i;
        return d.labels[pick];
      }, external);
      walker.run();
      passes_seen.emplace_back();
      for (size_t k = 0; k < walker.parameters.size(); ++k) {
        const auto& [name, d] = walker.parameters[k];
        passes_seen.back().insert(name);
        const auto [it, first] = seen.emplace(name, std::make_pair(d, walker.parameter_sources[k]));
        if (first) all.emplace_back(name, d);
        else if (!(it->second.first == d))
          space.fail(walker.parameter_sources[k],
                     "parameter '" + name + "' is also written at " + it->second.second + " with " +
                         it->second.first.to_json().dump() + ", here with " + d.to_json().dump() +
                         ": a parameter has one distribution wherever it appears (make them equal, or use "
                         "different names)");
      }
    }
  }
  return {all, passes_seen};
}
}  // namespace

std::string spec_to_yaml(const json& root) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, root);
  return std::string(out.c_str()) + "\n";
}

void absolutize_data_paths(json& root, const std::string& base_dir) {
  if (!root.contains("data") || !root.at("data").is_object()) return;
  const fs::path base = fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir));
  for (const char* part : {"train", "validation", "test"}) {
    json* source = root["data"].contains(part) ? &root["data"][part] : nullptr;
    if (!source || !source->is_object()) continue;
    for (const auto& [kind, keys] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"csv", {"path"}}, {"idx", {"images", "labels"}}, {"npy", {"x", "y"}}, {"series", {"path"}}}) {
      if (!source->contains(kind) || !source->at(kind).is_object()) continue;
      for (const std::string& key : keys) {
        json& p = (*source)[kind][key];
        if (p.is_string() && !fs::path(p.get<std::string>()).is_absolute())
          p = (base / p.get<std::string>()).lexically_normal().string();
      }
    }
  }
}

double parse_duration(const std::string& text) {
  // A sequence of NUMBER[ ]UNIT parts (unit s, sec, m, min or h; none: seconds), scanned by hand
  // (std::regex recursed once per character and overflowed the stack on a long text).
  auto bad = [&]() -> double {
    throw Error("cannot read the duration '" + text + "': write seconds or a number with s, m or h, e.g. 90, 600s, 10m, 1h30m");
  };
  double seconds = 0.0;
  size_t i = 0;
  if (text.empty()) return bad();
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && spec::is_digit(text[i])) ++i;
    if (i < text.size() && text[i] == '.') ++i;
    while (i < text.size() && spec::is_digit(text[i])) ++i;
    const std::string number = text.substr(start, i - start);
    if (number.empty() || number == "." || !spec::is_float_text(number)) return bad();
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    double unit = 1.0;
    for (const auto& [name, factor] : {std::pair<const char*, double>{"sec", 1.0}, {"min", 60.0}, {"s", 1.0},
                                       {"m", 60.0}, {"h", 3600.0}}) {
      if (text.compare(i, std::strlen(name), name) == 0) {
        unit = factor;
        i += std::strlen(name);
        break;
      }
    }
    seconds += std::strtod(number.c_str(), nullptr) * unit;
  }
  if (!(seconds > 0) || !std::isfinite(seconds)) return bad();
  return seconds;
}

}  // namespace nntune::tune
