#pragma once
// Tuning a spec as a library call: what `nntune tune`, `nntune worker` and `nntune ensemble` do,
// for C++ programs. A study created from a spec stores everything its workers need (the spec's
// text and overrides, the budget, the sampler and pruner, an enqueued grid), so any process that
// can reach the storage can join it and run trials without the spec file.
//
//   nntune::tune::TuneSpecOptions options;
//   options.overrides = {"tune.trials=20"};
//   const auto result = nntune::tune::tune_spec("examples/wine_tune.yaml", options);
//   std::cout << result.best->number << " " << *result.best->value << "\n";
//
// Signals are the caller's: pass `interruption` to stop after the current epoch (the CLI turns
// Ctrl-C, SIGTERM and SIGHUP into it).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nntune/model.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/tune_spec.hpp"

namespace nntune::tune {

// A study opened for a tuning spec: the study (with the spec's sampler and pruner), the spec,
// and how its trials are handed out.
struct SpecStudy {
  Study study;
  TuneSpec spec;
  bool created = false;        // this call created the study
  bool enqueued_grid = false;  // the grid sampler's points are Waiting trials: workers only claim them
  int64_t grid_points = 0;     // points enqueued by this call (a new grid study)
  StudyBudget budget;          // the budget stored in the study, which every worker obeys
};

struct SpecStudyOptions {
  std::string spec_path;               // the spec's file: stored for workers and messages
  std::vector<std::string> overrides;  // its --set lines (tune.* too), stored for workers
};

// Creates the study a parsed tuning spec names, or joins it, and stores in it what every worker
// shares: the spec and its overrides (never a storage credential), the objective, the sampler and
// pruner configuration, and the budget: the spec's trials/timeout when it gives one; otherwise a
// study keeps the budget it has, and a new one gets 20 trials (a grid: all its points). A stop
// request is cleared (tuning resumes a stopped study). A new grid study gets its points enqueued.
SpecStudy open_spec_study(TuneSpec spec, const SpecStudyOptions& options);

// Joins a study that open_spec_study created, from the spec stored in it (what `nntune worker`
// runs on another machine). The storage URL brings its own credentials.
SpecStudy join_spec_study(const std::string& storage_url, const std::string& study_name);

struct SpecTrialOptions {
  int64_t jobs = 1;           // trials in parallel in this process (threads)
  std::string save_models;    // a directory: each trial's model under trial_N (trial_model_dir)
  int64_t keep_best = 0;      // > 0 with save_models: keep only the best this many complete trials' models
  // Polled before each trial and after each epoch; a non-empty answer (why: "Ctrl-C") stops the
  // run: the running trials fail with "interrupted (WHY)" and no new trial starts.
  std::function<std::string()> interruption;
  // Called after every finished trial of this process (progress).
  std::function<void(const Study&, const FrozenTrial&)> on_trial_end;
  // Called once before the first trial, with the data every trial of this process shares
  // (nullptr for an external program or cross-validation, which load their own).
  std::function<void(const SpecData* data)> on_start;
};

struct SpecTrialsResult {
  int64_t finished_here = 0;    // trials this process ran to the end
  bool interrupted = false;     // `interruption` said stop
  bool stop_requested = false;  // a stop request in the study (nntune stop)
};

// Runs trials of the study until its stored budget is spent, its grid is exhausted or a stop is
// requested. A trial materializes the spec through the sampler (define-by-run), trains on data
// loaded once per process (or runs the external program), reports the monitored metric each
// epoch to the pruner, and is valued by the best epoch when early stopping restores it.
SpecTrialsResult run_spec_trials(SpecStudy& study, const SpecTrialOptions& options);

struct TuneSpecOptions : SpecTrialOptions {
  std::vector<std::string> overrides;  // "tune.trials=20", "train.epochs=5", ...
};

struct TuneSpecResult {
  std::string study;                 // its name in the spec's storage
  std::optional<FrozenTrial> best;   // the best complete trial, if any
  SpecTrialsResult run;
};

// The whole of `nntune tune SPEC`: loads the spec, opens its study and runs its trials.
TuneSpecResult tune_spec(const std::string& spec_path, const TuneSpecOptions& options = {});

// ---- the models of trials ----

// DIR/trial_N: where a trial's model is saved (model.nnt and history.json inside).
std::string trial_model_dir(const std::string& dir, int64_t trial_number);

// Removes DIR/trial_N of every finished trial that is not among the `keep` best complete trials
// of `trials`; running and waiting trials' directories stay. A model removed never has to come
// back: the best `keep` only get better as trials finish.
void remove_models_outside_best(const std::string& dir, const std::vector<FrozenTrial>& trials, Direction direction,
                                int64_t keep);

struct BuildEnsembleOptions {
  std::string models;        // the save_models directory of the study's trials
  int64_t candidates = 20;   // the best this many complete trials with a saved model
  int64_t rounds = 20;       // greedy picks at most (with replacement)
  // What the selection minimises or maximises on the validation data: "loss" (the default: the
  // members' training loss, a proper scoring rule, so the mix stays calibrated; a discrete metric
  // such as accuracy lets near-constant models in at a large weight, since they move few argmaxes)
  // or a metric of the task (accuracy, f1, rmse, ...; val_ in front accepted).
  std::string metric = "loss";
};

struct EnsembleMember {
  int64_t trial = 0;
  double weight = 0.0;
  double value = 0.0;  // the trial's objective value
};

struct BuiltEnsemble {
  Model model;                          // nntune eval / predict take it like any model
  std::vector<EnsembleMember> members;  // best trial first
  int64_t candidates = 0, kept_rounds = 0;
  std::string metric;                   // the study's objective metric (the members' values)
  std::string selected_by;              // the metric the selection used
  double best_trial_value = 0.0;
  Metrics validation;                   // chosen on it, so optimistic
  int64_t validation_size = 0;
  std::optional<Metrics> test, best_single_test;  // when the spec has test data
  int64_t test_size = 0;
};

// Ensemble selection (ensemble.hpp) over the saved models of a study's best complete trials, on
// the spec's validation data (the test data stays unseen); the test scores of the ensemble and
// of the best single model are given where the spec has test data.
BuiltEnsemble build_ensemble(Storage& storage, const std::string& study, const BuildEnsembleOptions& options);

// ---- what a spec study stores (for tools that create trials themselves, as `nntune ask`) ----

// The spec file, the objective, the spec itself (or the external command) and the sampler and
// pruner configuration, so that `nntune best`, `tell --should-prune` and ensembles need no spec.
// Only what changed is written. caller_runs_objective: an external objective that the caller
// runs itself (`nntune ask` on a `space:`-only spec) stores no command.
void store_spec_study_attrs(Storage& storage, int64_t study_id, const TuneSpec& spec, const std::string& spec_path,
                            bool caller_runs_objective = false);
// The sampler and pruner configuration alone.
void store_tuner_config(Storage& storage, int64_t study_id, const TuneConfig& config);
// Creates the spec's study unless it exists. True when this call created it: that process sets
// the study up once (the spec's tune.enqueue trials, a grid's points); another process that
// created it in the meantime is no error (false).
bool create_study_if_missing(Storage& storage, const TuneConfig& config);

}  // namespace nntune::tune
