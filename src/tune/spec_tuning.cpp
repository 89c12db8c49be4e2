// Tuning a spec (nntune/tune/spec_tuning.hpp): the study set-up that `nntune tune` does, the
// join that `nntune worker` does, the trial loop both run, and ensembles of trials' models.
// A trial = materialize the spec's search space through the trial (define-by-run), validate the
// fixed spec, run_training on data loaded once per process (or run the external program),
// report the monitored metric each epoch to the pruner.
#include "nntune/tune/spec_tuning.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/metrics.hpp"
#include "nntune/trainer.hpp"
#include "nntune/tune/ensemble.hpp"
#include "nntune/tune/external.hpp"
#include "tune/process_info.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/sampler_registry.hpp"
#include "tune/samplers.hpp"

namespace nntune::tune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* kWorkerPlan = "worker_plan";  // study system attr: the spec text, overrides, directory
const char* kGridPoints = "grid_points";  // study system attr: the grid was enqueued (its size)

// A grid is enqueued as one Waiting trial per point, so this many points at most.
constexpr int64_t kMaxEnqueuedGrid = 100'000;

// Writes a study attribute only when its value changes: many processes open the same study, and
// a write is a lock on the storage.
void set_if_changed(Storage& storage, const StudySummary& summary, const std::string& key, const json& value) {
  if (!summary.system_attrs.contains(key) || summary.system_attrs.at(key) != value)
    storage.set_study_system_attr(summary.id, key, value);
}

// The grid sampler enumerates finite values only: refuse a continuous float up front.
void check_grid_space(const TuneSpec& spec) {
  std::string continuous;
  for (const auto& [name, d] : space_parameters(spec.space, spec.external()))
    if (d.cardinality() == 0 && !spec.config.sampler.grid.count(name)) continuous += (continuous.empty() ? "" : ", ") + name;
  if (!continuous.empty())
    throw Error(spec.space.source + ": the grid sampler cannot enumerate the continuous parameters " + continuous +
                ": give them a step ({float: [lo, hi], step: s}) or a choice, or use another sampler (random, sobol, tpe)");
}

// Stores what a worker needs to run the study's trials without the spec file: the spec's text,
// its overrides and its directory (relative paths resolve against it on every host). No
// credentials are stored: the override naming the storage is left out, and a storage URL
// written in the spec is stored redacted.
void store_worker_plan(Storage& storage, int64_t study_id, const std::string& spec_path,
                       const std::vector<std::string>& overrides, const std::string& storage_url) {
  std::ifstream in(spec_path, std::ios::binary);
  if (!in) throw Error("cannot read the spec '" + spec_path + "' (does the file exist?)");
  std::stringstream text;
  text << in.rdbuf();
  std::string spec_text = text.str();
  if (!storage_url_password(storage_url).empty()) {
    const std::string redacted = redact_storage_url(storage_url);
    for (size_t at = spec_text.find(storage_url); at != std::string::npos; at = spec_text.find(storage_url, at))
      spec_text.replace(at, storage_url.size(), redacted);
  }
  std::vector<std::string> kept;
  for (const std::string& o : overrides)
    if (o.rfind("tune.storage=", 0) != 0) kept.push_back(o);
  const fs::path absolute = fs::absolute(spec_path).lexically_normal();
  storage.set_study_system_attr(study_id, kWorkerPlan,
                                {{"spec_text", spec_text},
                                 {"spec_path", absolute.string()},
                                 {"base_dir", absolute.parent_path().string()},
                                 {"overrides", kept}});
}

// Whether the study's grid was enqueued; waits (up to a minute) while the process that created
// the study is still enqueuing it.
bool wait_for_enqueued_grid(Storage& storage, const StudySummary& summary) {
  if (summary.system_attrs.contains(kGridPoints)) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const std::vector<FrozenTrial> trials = storage.get_all_trials(summary.id);
    bool waiting = false;
    for (const auto& t : trials) waiting = waiting || t.state == TrialState::Waiting;
    // Trials but none enqueued: a grid study from before grids were enqueued; its grid sampler
    // hands out points in this process.
    if (!trials.empty() && !waiting) return false;
    if (storage.get_study(summary.id).system_attrs.contains(kGridPoints)) return true;
    if (std::chrono::steady_clock::now() > deadline)
      throw Error("study '" + summary.name + "' uses the grid sampler but its grid was not fully enqueued within a minute " +
                  "(did the nntune tune that created it stop early?): delete it (nntune delete " + summary.name +
                  " --storage " + storage.url() + ") and run nntune tune again");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

std::unique_ptr<Pruner> pruner_of(const TuneConfig& config) {
  return config.pruner.name == "none" ? nullptr : make_pruner(config.pruner);
}

// ---- the objective ----

// Reports the monitored metric at each epoch end and stops training when the pruner says so or
// the caller asks to stop.
class TrialReporter : public Callback {
 public:
  TrialReporter(Trial& trial, std::string metric, const std::function<std::string()>& interruption)
      : trial_(trial), metric_(std::move(metric)), interruption_(interruption) {}
  void on_train_begin(TrainState& state) override {
    if (std::find(state.metric_names.begin(), state.metric_names.end(), metric_) != state.metric_names.end()) return;
    std::string reported;
    for (const auto& m : state.metric_names) reported += (reported.empty() ? "" : ", ") + m;
    throw Error("the objective metric '" + metric_ + "' is not reported by this training (it reports: " + reported +
                "); set tune.objective.metric");
  }
  bool on_epoch_end(TrainState&, const EpochLog& log) override {
    if (interruption_) {
      interrupted_by_ = interruption_();
      if (!interrupted_by_.empty()) return true;
    }
    const auto it = log.metrics.find(metric_);
    if (it == log.metrics.end()) return false;
    trial_.report(it->second, log.epoch);
    if (trial_.should_prune()) {
      pruned_ = true;
      return true;
    }
    return false;
  }
  std::vector<std::string> watched_metrics() const override { return {metric_}; }
  bool pruned() const { return pruned_; }
  const std::string& interrupted_by() const { return interrupted_by_; }

 private:
  Trial& trial_;
  std::string metric_;
  const std::function<std::string()>& interruption_;
  bool pruned_ = false;
  std::string interrupted_by_;
};

// The trial's value: the best epoch's metric when early stopping restored it, else the last.
double final_value(const TrainingSpec& spec, const History& history, const std::string& metric) {
  if (history.epochs.empty()) throw Error("training ran no epoch");
  const EpochLog* epoch = &history.epochs.back();
  if (history.best_epoch > 0 && spec.early_stopping && spec.early_stopping->restore_best &&
      history.best_epoch <= static_cast<int64_t>(history.epochs.size()))
    epoch = &history.epochs[static_cast<size_t>(history.best_epoch - 1)];
  const auto it = epoch->metrics.find(metric);
  if (it == epoch->metrics.end()) throw Error("the metric '" + metric + "' was not reported at epoch " + std::to_string(epoch->epoch));
  return it->second;
}

// The objective of a spec's trials: a network trained on shared data, or the external program.
class SpecObjective {
 public:
  SpecObjective(const TuneSpec& spec, const SpecTrialOptions& options) : spec_(spec), options_(options) {
    const TuneConfig& config = spec.config;
    if (spec.external() || config.objective.cv_folds >= 2) return;
    // The data, once: every trial shares it (data.* cannot be tuned).
    const SpecTree first = materialize(spec.space, [](const std::string&, const Distribution& d) -> json {
      return d.kind == DistributionKind::Categorical ? d.choices.front() : d.to_external(d.low);
    });
    data_ = load_spec_data(training_spec_of(first));
  }

  const SpecData* data() const { return data_ ? &*data_ : nullptr; }

  std::string interruption() const { return options_.interruption ? options_.interruption() : std::string(); }

  double operator()(Trial& trial) const {
    if (const std::string why = interruption(); !why.empty()) throw Error("interrupted (" + why + ") before it started");
    return spec_.external() ? run_external(trial) : run_network(trial);
  }

 private:
  double run_external(Trial& trial) const {
    const TuneConfig& config = spec_.config;
    const SpecTree fixed = materialize(
        spec_.space, [&](const std::string& name, const Distribution& d) { return trial.suggest(name, d); }, true);
    // {name} placeholders: the trial's parameters by name, and the fixed values of space:.
    json params = trial.frozen().external_params();
    for (const auto& [key, value] : fixed.root.items())
      if (!params.contains(key)) params[key] = value;
    ExternalCommand command;
    command.command = config.objective.command;
    command.timeout_seconds = config.objective.command_timeout_seconds;
    command.working_dir = config.objective.working_dir;
    std::string stopped_by;
    command.should_stop = [&] {
      stopped_by = interruption();
      return !stopped_by.empty();
    };
    const ExternalResult result = run_external_objective(
        command, params,
        [&](int64_t step, double value) {
          trial.report(value, step);
          return trial.should_prune();
        },
        trial.number());
    if (result.stopped) throw Error("interrupted (" + stopped_by + ")");
    if (result.state == TrialState::Pruned) throw TrialPruned();
    if (result.state != TrialState::Complete || !result.value) throw Error(result.error);
    return *result.value;
  }

  double run_network(Trial& trial) const {
    const std::string& metric = spec_.config.objective.metric;
    TrainingSpec spec = training_spec_of(materialize_trial(spec_.space, trial));
    if (spec_.config.objective.cv_folds >= 2) {
      // Each fold's validation metrics must include the objective's.
      spec.train.metrics.push_back(metric.rfind("val_", 0) == 0 ? metric.substr(4) : metric);
      const auto cv = run_cross_validation(spec, spec_.config.objective.cv_folds);
      const std::string key = metric.rfind("val_", 0) == 0 ? metric.substr(4) : metric;
      const auto it = cv.mean.find(key);
      if (it == cv.mean.end()) throw Error("cross-validation does not report '" + key + "'");
      return it->second;
    }
    TrialReporter reporter(trial, metric, options_.interruption);
    TrainingOptions training;
    training.data = &*data_;
    training.save = !options_.save_models.empty();
    if (training.save) training.output_dir = trial_model_dir(options_.save_models, trial.number());
    const TrainingResult result = run_training(spec, {&reporter}, training);
    if (!reporter.interrupted_by().empty()) throw Error("interrupted (" + reporter.interrupted_by() + ")");
    if (reporter.pruned()) throw TrialPruned();
    return final_value(spec, result.history, metric);
  }

  const TuneSpec& spec_;
  const SpecTrialOptions& options_;
  std::optional<SpecData> data_;
};

}  // namespace

// ---- what a spec study stores ----

void store_tuner_config(Storage& storage, int64_t study_id, const TuneConfig& config) {
  const StudySummary summary = storage.get_study(study_id);
  set_if_changed(storage, summary, "sampler", sampler_config_json(config.sampler));
  set_if_changed(storage, summary, "pruner", pruner_config_json(config.pruner));
}

void store_spec_study_attrs(Storage& storage, int64_t study_id, const TuneSpec& spec, const std::string& spec_path,
                            bool caller_runs_objective) {
  const StudySummary summary = storage.get_study(study_id);
  set_if_changed(storage, summary, "spec_file", spec_path);
  set_if_changed(storage, summary, "objective",
                 {{"metric", spec.config.objective.metric}, {"cv_folds", spec.config.objective.cv_folds}});
  if (spec.external()) {
    set_if_changed(storage, summary, "command", caller_runs_objective ? "" : spec.config.objective.command);
  } else {
    // What `nntune best` needs to print a spec `nntune train` accepts, without the spec file.
    json spec_root = spec.space.root;
    absolutize_data_paths(spec_root, spec.space.base_dir);
    set_if_changed(storage, summary, "spec", spec_root);
  }
  store_tuner_config(storage, study_id, spec.config);
}

// ---- opening and joining ----

bool create_study_if_missing(Storage& storage, const TuneConfig& config) {
  if (storage.find_study(config.study)) return false;
  try {
    storage.create_study(config.study, config.objective.direction);
    return true;
  } catch (const Error&) {
    if (!storage.find_study(config.study)) throw;  // not a race with another process
    return false;
  }
}

SpecStudy open_spec_study(TuneSpec spec, const SpecStudyOptions& options) {
  const TuneConfig& config = spec.config;
  const bool grid = config.sampler.name == "grid";
  std::vector<json> grid_points;
  if (grid) {
    check_grid_space(spec);
    grid_points = enumerate_grid(spec.space, spec.external(), config.sampler.grid, kMaxEnqueuedGrid);
  }

  auto storage = open_storage(config.storage);
  const bool created = create_study_if_missing(*storage, config);
  Study study = Study::open(storage, config.study, config.objective.direction, make_sampler(config.sampler),
                            pruner_of(config));
  store_spec_study_attrs(*storage, study.id(), spec, options.spec_path);
  store_worker_plan(*storage, study.id(), options.spec_path, options.overrides, config.storage);

  // The budget every worker shares (see the header).
  StudyBudget budget = study.stored_budget();
  const bool budget_given = config.trials > 0 || config.timeout_seconds > 0;
  const bool has_budget = storage->get_study(study.id()).system_attrs.contains("n_trials");
  if (budget_given || !has_budget) {
    budget.n_trials = budget_given ? config.trials : grid ? 0 : 20;
    budget.deadline = config.timeout_seconds > 0 ? unix_now() + config.timeout_seconds : 0.0;
  }
  budget.stop_requested = false;
  study.store_budget(budget);

  SpecStudy result{std::move(study), std::move(spec)};
  result.created = created;
  result.budget = budget;
  // The spec's enqueued trials come first (waiting trials are claimed in creation order).
  if (created)
    for (const json& point : result.spec.config.enqueue) result.study.enqueue(point);
  if (grid && created) {
    for (const json& point : grid_points) result.study.enqueue(point);
    storage->set_study_system_attr(result.study.id(), kGridPoints, static_cast<int64_t>(grid_points.size()));
    result.enqueued_grid = true;
    result.grid_points = static_cast<int64_t>(grid_points.size());
  } else if (grid) {
    result.enqueued_grid = wait_for_enqueued_grid(*storage, storage->get_study(result.study.id()));
  }
  return result;
}

SpecStudy join_spec_study(const std::string& storage_url, const std::string& study_name) {
  auto storage = open_storage(storage_url);
  const StudySummary summary =
      require_study(*storage, study_name, "create it with nntune tune SPEC.yaml --storage " + storage->url());
  const auto plan = summary.system_attrs.find(kWorkerPlan);
  if (plan == summary.system_attrs.end() || !plan->is_object())
    throw Error("study '" + study_name + "' in " + storage->url() +
                " holds no spec for workers (it was not created by nntune tune, or by an older one): run nntune tune "
                "SPEC.yaml --storage " + storage->url() + " --study " + study_name + " once to store it");
  TuneSpec spec;
  try {
    spec = parse_tune_spec(plan->value("spec_text", ""), plan->value("spec_path", study_name + ".yaml"),
                           plan->value("overrides", std::vector<std::string>{}), plan->value("base_dir", ""));
  } catch (const Error& e) {
    throw Error("study '" + study_name + "': its stored spec does not read on this host: " + std::string(e.what()));
  }
  const bool enqueued_grid = spec.config.sampler.name == "grid" && wait_for_enqueued_grid(*storage, summary);
  Study study = Study::open(storage, study_name, summary.direction, make_sampler(spec.config.sampler),
                            pruner_of(spec.config));
  SpecStudy result{std::move(study), std::move(spec)};
  result.enqueued_grid = enqueued_grid;
  result.budget = result.study.stored_budget();
  return result;
}

// ---- the trial loop ----

SpecTrialsResult run_spec_trials(SpecStudy& spec_study, const SpecTrialOptions& options) {
  const TuneConfig& config = spec_study.spec.config;
  const SpecObjective objective(spec_study.spec, options);
  SpecTrialsResult result;
  bool interrupted = false;
  if (options.on_start) options.on_start(objective.data());

  OptimizeOptions optimize;
  optimize.use_stored_budget = true;
  optimize.jobs = options.jobs;
  optimize.max_retries = config.retries;
  optimize.stale_grace_seconds = config.grace_seconds;
  optimize.heartbeat_seconds = config.heartbeat_seconds;
  optimize.enqueued_only = spec_study.enqueued_grid;
  optimize.wait_for_other_workers = true;
  optimize.on_trial_end = [&](const Study& study, const FrozenTrial& trial) {
    ++result.finished_here;
    if (options.on_trial_end) options.on_trial_end(study, trial);
    if (options.keep_best > 0 && !options.save_models.empty())
      remove_models_outside_best(options.save_models, study.history().trials, study.direction(), options.keep_best);
    interrupted = interrupted || !objective.interruption().empty();
    return interrupted;
  };
  spec_study.study.optimize([&](Trial& trial) { return objective(trial); }, optimize);
  result.interrupted = interrupted || !objective.interruption().empty();
  result.stop_requested = !result.interrupted && spec_study.study.stored_budget().stop_requested;
  return result;
}

TuneSpecResult tune_spec(const std::string& spec_path, const TuneSpecOptions& options) {
  SpecStudy spec_study = open_spec_study(load_tune_spec(spec_path, options.overrides), {spec_path, options.overrides});
  TuneSpecResult result;
  result.study = spec_study.study.name();
  result.run = run_spec_trials(spec_study, options);
  result.best = spec_study.study.best_trial();
  return result;
}

// ---- the models of trials ----

std::string trial_model_dir(const std::string& dir, int64_t trial_number) {
  return (fs::path(dir) / ("trial_" + std::to_string(trial_number))).string();
}

void remove_models_outside_best(const std::string& dir, const std::vector<FrozenTrial>& trials, Direction direction,
                                int64_t keep) {
  // Equal values: the earlier trial stays (it was kept when the later one ended).
  const std::vector<FrozenTrial> complete = complete_trials_best_first(trials, direction);
  std::set<int64_t> kept;
  for (size_t i = 0; i < complete.size() && static_cast<int64_t>(i) < keep; ++i) kept.insert(complete[i].number);
  for (const FrozenTrial& t : trials) {
    if (!is_finished(t.state) || kept.count(t.number)) continue;
    std::error_code ignored;  // another worker may be removing the same directory
    fs::remove_all(trial_model_dir(dir, t.number), ignored);
  }
}

BuiltEnsemble build_ensemble(Storage& storage, const std::string& study, const BuildEnsembleOptions& options) {
  const StudySummary summary = require_study(storage, study, "run nntune tune first");
  if (!summary.system_attrs.contains("spec"))
    throw Error("study '" + study + "' has no spec (an external-program study, or not created by nntune tune): an "
                "ensemble needs models nntune trained and the spec's validation data");
  const json objective = summary.system_attrs.value("objective", json::object());
  if (objective.value("cv_folds", 0) >= 2)
    throw Error("study '" + study + "' scores trials by cross-validation, which saves no model per trial: an "
                "ensemble needs a study with a validation split");
  const std::vector<FrozenTrial> complete = complete_trials_best_first(storage.get_all_trials(summary.id), summary.direction);
  // The candidates: the best complete trials whose model was saved.
  auto model_file = [&](const FrozenTrial& t) { return (fs::path(trial_model_dir(options.models, t.number)) / "model.nnt").string(); };
  std::vector<FrozenTrial> candidates;
  for (const FrozenTrial& t : complete) {
    if (static_cast<int64_t>(candidates.size()) >= options.candidates) break;
    if (fs::exists(model_file(t))) candidates.push_back(t);
  }
  if (candidates.empty())
    throw Error("no model of a complete trial of study '" + study + "' in " + options.models + " (looked for " +
                (fs::path(options.models) / "trial_N" / "model.nnt").string() + "): run nntune tune with --save-models " +
                options.models + (complete.empty() ? " (the study has no complete trial yet)" : ""));

  // The held-out data the ensemble is chosen on: the spec's validation split.
  SpecTree space;
  space.source = summary.system_attrs.value("spec_file", study + ".yaml");
  space.root = summary.system_attrs.at("spec");
  const TrainingSpec data_spec = training_spec_of(materialize_params(space, candidates.front().external_params()));
  SpecData data = load_spec_data(data_spec);
  if (!data.validation)
    throw Error(space.source + ": the spec has no validation data (data.validation), which ensemble selection needs: "
                "the test data must stay unseen");

  std::vector<Model> models;
  std::vector<Tensor> predictions;
  // Sequences: every candidate is scored on the steps all of them call real (as an ensemble of
  // them predicts), so that rounds compare on the same steps.
  Tensor step_mask, candidate_mask;
  for (const FrozenTrial& t : candidates) {
    models.push_back(load_model(model_file(t)));
    predictions.push_back(predict(models.back(), *data.validation, 1024, &candidate_mask));
    combine_step_masks(step_mask, candidate_mask);
  }
  BuiltEnsemble built;
  built.metric = objective.value("metric", std::string("val_loss"));
  built.candidates = static_cast<int64_t>(candidates.size());
  built.best_trial_value = *candidates.front().value;
  EnsembleSelectionConfig selection_config;
  selection_config.rounds = options.rounds;
  const std::string chosen_by = options.metric.empty() ? std::string("loss") : options.metric;
  selection_config.metric = chosen_by.rfind("val_", 0) == 0 ? chosen_by.substr(4) : chosen_by;
  selection_config.maximize = selection_config.metric != "loss" && metric_maximized(selection_config.metric);
  built.selected_by = selection_config.metric;
  const auto loss = make_loss(models.front().loss);
  const EnsembleSelection selection = select_ensemble(predictions, data.validation->y, *loss, selection_config, &step_mask);
  built.kept_rounds = selection.kept_rounds;

  // The best trial's model on the test data, before the members move into the ensemble.
  if (data.test) built.best_single_test = evaluate_model(models.front(), *data.test);

  std::vector<Model> members;
  std::vector<double> weights;
  json picked = json::array();
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (selection.picks[i] == 0) continue;
    built.members.push_back({candidates[i].number, selection.weights[i], *candidates[i].value});
    picked.push_back({{"trial", candidates[i].number}, {"weight", selection.weights[i]}, {"value", *candidates[i].value}});
    members.push_back(std::move(models[i]));
    weights.push_back(selection.weights[i]);
  }
  // How eval / predict read CSV files: as the members were trained (one data spec for all).
  const json data_format = members.front().metadata.value("data_format", json::object());
  built.model = make_ensemble(std::move(members), std::move(weights));
  built.validation = evaluate_model(built.model, *data.validation);
  built.validation_size = data.validation->size();
  built.model.metadata = {{"ensemble_of_study", study},
                          {"storage", storage.url()},
                          {"members", picked},
                          {"selected_on", "validation"},
                          {"validation", built.validation},
                          {"best_trial_value", built.best_trial_value},
                          {"data_format", data_format}};
  if (data.test) {
    built.test = evaluate_model(built.model, *data.test);
    built.test_size = data.test->size();
    built.model.metadata["test"] = *built.test;
  }
  return built;
}

SpecTree materialize_trial(const SpecTree& space, Trial& trial) {
  return materialize(space, [&](const std::string& name, const Distribution& d) { return trial.suggest(name, d); });
}

}  // namespace nntune::tune
