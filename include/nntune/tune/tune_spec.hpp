#pragma once
// Tuning specs: a training spec (spec.hpp) where any tunable scalar may be a distribution,
// plus a `tune:` section (objective, sampler, pruner, budget, study, storage).
//
//   lr: {float: [1e-4, 1e-1], log: true}        units: {int: [32, 1024], log: true, step: 1}
//   activation: {choice: [relu, tanh]}           # a choice of scalars
//   optimizer: {choice: [{name: sgd, lr: ..., momentum: ...}, {name: adam, lr: ...}]}
//                                                # a choice of mappings: conditional branches
//   hidden: {count: {int: [1, 3]}, each: {units: ..., dropout: ...}}   # variable depth
//
// Parameter names follow the spec's paths: "train.optimizer" (the branch label, e.g. "sgd"),
// "train.optimizer.sgd.momentum" (exists only on that branch), "model.hidden.count",
// "model.hidden.0.units" (exists only while count > 0).
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/spec.hpp"
#include "nntune/tune/distribution.hpp"
#include "nntune/tune/pruner.hpp"
#include "nntune/tune/sampler.hpp"
#include "nntune/tune/trial.hpp"

namespace nntune::tune {

class Trial;

struct TuneObjective {
  std::string metric = "val_accuracy";  // an epoch metric (val_accuracy, val_loss, val_mae, ...)
  Direction direction = Direction::Maximize;
  int64_t cv_folds = 0;  // >= 2: the trial's value is the k-fold mean of the metric
  // An external program instead of a network (external.hpp): `python3 train.py --lr {lr}`. The
  // spec then holds `space:` (the parameters, same distribution forms) and `tune:` only.
  std::string command;
  double command_timeout_seconds = 0.0;  // per trial; 0: none
  std::string working_dir;               // of the program; relative to the spec's directory
};

struct TuneConfig {
  TuneObjective objective;
  SamplerConfig sampler;
  PrunerConfig pruner;
  int64_t trials = 0;            // 0: no limit (timeout must end it)
  double timeout_seconds = 0.0;  // 0: no limit
  int64_t jobs = 1;
  std::string study;    // default: the spec file's stem
  std::string storage = "sqlite:///nntune.db";
  // Many workers (docs/many-machines.md): a trial whose worker died, or sent no heartbeat for
  // grace_seconds, is run again with the same parameters up to `retries` times.
  int64_t retries = 1;
  double grace_seconds = 300.0;
  double heartbeat_seconds = 5.0;
  // Trials to run first ({parameter: external value}, others sampled): enqueued once, when the
  // study is created (Study::enqueue).
  std::vector<nlohmann::json> enqueue;
};

struct TuneSpec {
  SpecTree space;  // the training part, distributions included (tune: removed); or `space:` of an external objective
  TuneConfig config;
  bool external() const { return !config.objective.command.empty(); }
};

// Parses and validates a tuning spec: the tune section, every distribution (bounds, log, step,
// empty choices, where the schema allows one and whether its values fit the schema's range) and
// the training spec each branch can produce. Errors read "SPEC.yaml:LINE:COLUMN: path: what".
// Overrides: "tune.trials=5" sets the tune section, anything else is a training spec --set.
TuneSpec parse_tune_spec(const std::string& yaml_text, const std::string& source_name,
                         const std::vector<std::string>& overrides = {}, const std::string& base_dir = "");
TuneSpec load_tune_spec(const std::string& path, const std::vector<std::string>& overrides = {});

// Checks every distribution of a space tree (see parse_tune_spec); throws Error with line:column.
// external: the space of an external program (no training spec to validate against).
void validate_search_space(const SpecTree& space, bool external = false);

// Gives a parameter's value: name, its distribution; returns the external value (the branch
// label for a choice of mappings).
using SuggestFn = std::function<nlohmann::json(const std::string& name, const Distribution& distribution)>;

// The fixed training spec tree of one trial (define-by-run): walks the space, asks `suggest` for
// each distribution on the chosen branches only, keeps the source marks. Not yet validated.
SpecTree materialize(const SpecTree& space, const SuggestFn& suggest, bool external = false);
// The same through a trial's suggest().
SpecTree materialize_trial(const SpecTree& space, Trial& trial);
// The same from stored external parameters ({"train.optimizer": "sgd", ...}); a missing one is an Error.
SpecTree materialize_params(const SpecTree& space, const nlohmann::json& external_params);
// The fixed spec that retrains a tuned model on all of its training data (scikit-learn's
// "refit"): a validation split of the training data ({split} or {last}) goes back into it, the
// epochs become those the trial used (its best epoch when early stopping restores the best
// weights by the objective's metric; the last epoch it reported otherwise), and callbacks that
// watch validation data are dropped. `intermediate` holds the trial's reports of `metric` by
// epoch, `maximize` their direction. One line per change goes to `changes`. A validation set
// read from a file of its own is refused.
nlohmann::json refit_spec(const nlohmann::json& fixed_root, const std::map<int64_t, double>& intermediate,
                          const std::string& metric, bool maximize, std::vector<std::string>& changes);
// Validates a materialized tree as a training spec and converts it.
TrainingSpec training_spec_of(const SpecTree& fixed);

// Every parameter the space can produce, in walk order, with its distribution (all branches).
std::vector<std::pair<std::string, Distribution>> space_parameters(const SpecTree& space, bool external = false);

// The parameters that exist only on some branches (or only for some counts of a {count, each}).
std::vector<std::string> conditional_parameters(const SpecTree& space, bool external = false);

// A spec tree as YAML that parse_spec reads back to the same JSON (strings that would read as
// numbers or booleans are quoted; floats keep full precision).
std::string spec_to_yaml(const nlohmann::json& root);
// Relative data paths of a spec made absolute against base_dir (so a printed spec works anywhere).
void absolutize_data_paths(nlohmann::json& root, const std::string& base_dir);

// "90", "90s", "10m", "1h30m", "1.5h" -> seconds; Error on anything else.
double parse_duration(const std::string& text);

}  // namespace nntune::tune
