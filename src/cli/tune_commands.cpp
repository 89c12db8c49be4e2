// nntune tune / studies / trials / best / delete.
// A trial = materialize the spec's search space through the trial (define-by-run), validate the
// fixed spec, run_training on data loaded once per process, report the monitored metric each
// epoch to the pruner. Ctrl-C stops after the current epoch; a second Ctrl-C exits at once.
#include "cli/tune_commands.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli/format.hpp"
#include "cli/progress.hpp"
#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/tune_spec.hpp"

namespace nntune::cli {
namespace {

using nlohmann::json;
using tune::Direction;
using tune::FrozenTrial;
using tune::TrialState;
namespace fs = std::filesystem;

// ---- Ctrl-C ----

std::atomic<int> g_interrupts{0};

extern "C" void on_sigint(int) {
  if (g_interrupts.fetch_add(1) == 0) {
    const char message[] = "\nnntune: stopping after the current epoch (Ctrl-C again to quit at once)\n";
    [[maybe_unused]] auto n = write(STDERR_FILENO, message, sizeof message - 1);
    return;
  }
  _exit(130);
}

bool interrupted() { return g_interrupts.load() > 0; }

struct SigintGuard {
  struct sigaction previous {};
  SigintGuard() {
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous);
  }
  ~SigintGuard() { sigaction(SIGINT, &previous, nullptr); }
};

// ---- formatting ----

std::string value_text(const json& v) { return v.is_number_float() ? short_number(v.get<double>()) : v.is_string() ? v.get<std::string>() : v.dump(); }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
std::string direction_word(Direction d) { return d == Direction::Maximize ? "maximize" : "minimize"; }
bool better(Direction d, double a, double b) { return d == Direction::Maximize ? a > b : a < b; }

// "3m12s", "1h05m", "42s"
std::string short_duration(double seconds) {
  const long s = std::max(0L, std::lround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// ---- the objective ----

// Reports the monitored metric at each epoch end and stops training when the pruner says so
// or Ctrl-C was pressed.
class TrialReporter : public Callback {
 public:
  TrialReporter(tune::Trial& trial, std::string metric) : trial_(trial), metric_(std::move(metric)) {}
  void on_train_begin(TrainState& state) override {
    if (std::find(state.metric_names.begin(), state.metric_names.end(), metric_) == state.metric_names.end())
      throw Error("the objective metric '" + metric_ + "' is not reported by this training (it reports: " +
                  [&] {
                    std::string s;
                    for (const auto& m : state.metric_names) s += (s.empty() ? "" : ", ") + m;
                    return s;
                  }() +
                  "); set tune.objective.metric");
  }
  bool on_epoch_end(TrainState&, const EpochLog& log) override {
    if (interrupted()) {
      interrupted_ = true;
      return true;
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
  bool pruned() const { return pruned_; }
  bool was_interrupted() const { return interrupted_; }

 private:
  tune::Trial& trial_;
  std::string metric_;
  bool pruned_ = false, interrupted_ = false;
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

// ---- progress ----

class TuneProgress {
 public:
  TuneProgress(tune::Study& study, const tune::TuneConfig& config, bool live, bool quiet)
      : study_(study), config_(config), live_(live), quiet_(quiet), start_(Clock::now()) {
    for (const FrozenTrial& t : study.history().trials) count(t, false);
    ticker_ = std::thread([this] { tick(); });
  }
  ~TuneProgress() { stop(); }
  // Ends the status line (before the summary is printed).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      done_ = true;
    }
    wake_.notify_all();
    ticker_.join();
    if (live_ && !quiet_) std::fprintf(stdout, "\r\033[K");
    std::fflush(stdout);
  }

  void trial_ended(const FrozenTrial& t) {
    std::lock_guard lock(mutex_);
    count(t, true);
    if (quiet_) return;
    std::string line = "trial " + std::to_string(t.number) + " ";
    if (t.state == TrialState::Complete) {
      line += "complete value " + metric_text(*t.value);
    } else if (t.state == TrialState::Pruned) {
      line += "pruned at epoch " + std::to_string(t.intermediate.empty() ? 0 : t.intermediate.rbegin()->first);
      if (t.value) line += " value " + metric_text(*t.value);
    } else {
      line += "failed: " + first_line(t.error);
    }
    if (best_) line += " best " + metric_text(*best_->value) + " (trial " + std::to_string(best_->number) + ")";
    line += " | " + counts();
    const std::string left = time_left();
    if (!left.empty()) line += " | " + left;
    std::fprintf(stdout, "%s%s\n", live_ ? "\r\033[K" : "", line.c_str());
    if (live_) draw();
    std::fflush(stdout);
  }

  int64_t finished_here() const { return finished_here_; }
  const std::optional<FrozenTrial>& best() const { return best_; }
  std::string counts() const {
    return "done " + std::to_string(complete_ + pruned_ + failed_) + " pruned " + std::to_string(pruned_) + " failed " +
           std::to_string(failed_);
  }

 private:
  using Clock = std::chrono::steady_clock;
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  void count(const FrozenTrial& t, bool here) {
    if (t.state == TrialState::Complete) ++complete_;
    if (t.state == TrialState::Pruned) ++pruned_;
    if (t.state == TrialState::Failed) ++failed_;
    if (here && tune::is_finished(t.state)) ++finished_here_;
    if (t.state == TrialState::Complete && t.value && (!best_ || better(study_.direction(), *t.value, *best_->value)))
      best_ = t;
  }

  std::string time_left() const {
    double left = -1.0;
    if (config_.timeout_seconds > 0) left = config_.timeout_seconds - elapsed();
    if (config_.trials > 0 && finished_here_ > 0) {
      const int64_t remaining = std::max<int64_t>(0, config_.trials - (complete_ + pruned_ + failed_));
      const double estimate = elapsed() / static_cast<double>(finished_here_) * static_cast<double>(remaining);
      left = left < 0 ? estimate : std::min(left, estimate);
    }
    return left < 0 ? "" : short_duration(left) + " left";
  }

  void draw() {
    std::string status = "[" + short_duration(elapsed()) + "] " + counts();
    if (best_) status += " | best " + metric_text(*best_->value) + " (trial " + std::to_string(best_->number) + ")";
    const std::string left = time_left();
    if (!left.empty()) status += " | " + left;
    if (interrupted()) status += " | stopping after the current epoch";
    std::fprintf(stdout, "\r%s\033[K", status.c_str());
    std::fflush(stdout);
  }

  // Passes Ctrl-C on to the study (a signal handler may not call into it) and redraws the status.
  void tick() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (interrupted()) study_.stop();
      if (live_ && !quiet_ && !done_) draw();
    }
  }

  tune::Study& study_;
  const tune::TuneConfig& config_;
  bool live_, quiet_;
  Clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread ticker_;
  int64_t complete_ = 0, pruned_ = 0, failed_ = 0, finished_here_ = 0;
  std::optional<FrozenTrial> best_;
};

// ---- storage helpers for the study commands ----

tune::StudySummary find_study(tune::Storage& storage, const std::string& name) {
  const auto id = storage.find_study(name);
  if (!id) {
    std::string names;
    for (const auto& s : storage.list_studies()) names += (names.empty() ? "" : ", ") + s.name;
    throw Error("no study named '" + name + "' in " + storage.url() +
                (names.empty() ? " (it holds no study; run nntune tune first)" : " (studies there: " + names + ")"));
  }
  return storage.get_study(*id);
}

std::optional<FrozenTrial> best_of(const std::vector<FrozenTrial>& trials, Direction d) {
  std::optional<FrozenTrial> best;
  for (const auto& t : trials)
    if (t.state == TrialState::Complete && t.value && (!best || better(d, *t.value, *best->value))) best = t;
  return best;
}

std::string quote_arg(const std::string& s) { return json(s).dump(); }

// The grid sampler enumerates one fixed set of parameters: refuse up front what it cannot
// enumerate (a continuous float) or what is not fixed (parameters of only some branches).
void check_grid_space(const tune::TuneSpec& ts, const tune::SamplerConfig& sampler) {
  std::string continuous;
  for (const auto& [name, d] : tune::space_parameters(ts.space, ts.external()))
    if (d.cardinality() == 0 && !sampler.grid.count(name)) continuous += (continuous.empty() ? "" : ", ") + name;
  if (!continuous.empty())
    throw Error(ts.space.source + ": the grid sampler cannot enumerate the continuous parameters " + continuous +
                ": give them a step ({float: [lo, hi], step: s}) or a choice, or use another sampler (random, sobol, tpe)");
  std::string conditional;
  for (const auto& name : tune::conditional_parameters(ts.space, ts.external()))
    conditional += (conditional.empty() ? "" : ", ") + name;
  if (!conditional.empty())
    throw Error(ts.space.source + ": the grid sampler needs the same parameters in every trial, but " + conditional +
                " exist only on some branches (or for some counts); use another sampler (random, sobol, tpe), or one "
                "study per branch");
}

}  // namespace

int cmd_tune(const TuneArgs& a) {
  // Command-line flags are overrides of the tune section (so they are validated the same way).
  std::vector<std::string> overrides = a.overrides;
  if (a.trials > 0) overrides.push_back("tune.trials=" + std::to_string(a.trials));
  if (!a.timeout.empty()) overrides.push_back("tune.timeout=" + quote_arg(a.timeout));
  if (a.jobs > 0) overrides.push_back("tune.jobs=" + std::to_string(a.jobs));
  if (!a.sampler.empty()) overrides.push_back("tune.sampler.name=" + quote_arg(a.sampler));
  if (!a.pruner.empty()) overrides.push_back("tune.pruner.name=" + quote_arg(a.pruner));
  if (!a.storage.empty()) overrides.push_back("tune.storage=" + quote_arg(a.storage));
  if (!a.study.empty()) overrides.push_back("tune.study=" + quote_arg(a.study));
  tune::TuneSpec ts = tune::load_tune_spec(a.spec, overrides);
  tune::TuneConfig& config = ts.config;
  if (config.trials == 0 && config.timeout_seconds == 0) config.trials = 20;
  const std::string metric = config.objective.metric;

  if (config.sampler.name == "grid") check_grid_space(ts, config.sampler);

  auto storage = tune::open_storage(config.storage);
  std::unique_ptr<tune::Pruner> pruner;
  if (config.pruner.name != "none") pruner = tune::make_pruner(config.pruner);
  tune::Study study = tune::Study::open(storage, config.study, config.objective.direction,
                                        tune::make_sampler(config.sampler), std::move(pruner));
  storage->set_study_system_attr(study.id(), "spec_file", a.spec);
  storage->set_study_system_attr(study.id(), "objective", {{"metric", metric}, {"cv_folds", config.objective.cv_folds}});
  store_tuner_config(*storage, study.id(), config);  // for nntune tell --should-prune on this study
  std::optional<SpecData> data;
  if (ts.external()) {
    storage->set_study_system_attr(study.id(), "command", config.objective.command);
  } else {
    // What `nntune best` needs to print a spec `nntune train` accepts, without the spec file.
    json spec_root = ts.space.root;
    tune::absolutize_data_paths(spec_root, ts.space.base_dir);
    storage->set_study_system_attr(study.id(), "spec", spec_root);
    // The data, once: every trial shares it (data.* cannot be tuned).
    const SpecTree first = tune::materialize(ts.space, [](const std::string&, const tune::Distribution& d) -> json {
      return d.kind == tune::DistributionKind::Categorical ? d.choices.front() : d.to_external(d.low);
    });
    const TrainingSpec data_spec = tune::training_spec_of(first);
    if (config.objective.cv_folds == 0) data = load_spec_data(data_spec);
  }

  const bool live = !a.quiet && isatty(fileno(stdout));
  const int64_t before = static_cast<int64_t>(study.history().trials.size());
  if (!a.quiet) {
    std::string budget;
    if (config.trials > 0) budget += std::to_string(config.trials) + " trials";
    if (config.timeout_seconds > 0) budget += (budget.empty() ? "" : ", ") + short_duration(config.timeout_seconds);
    std::printf("study %s in %s: %s %s; %lld trials so far; budget %s; sampler %s, pruner %s, jobs %lld\n",
                config.study.c_str(), storage->url().c_str(), direction_word(config.objective.direction).c_str(),
                metric.c_str(), static_cast<long long>(before), budget.c_str(), config.sampler.name.c_str(),
                config.pruner.name.c_str(), static_cast<long long>(config.jobs));
    if (data)
      std::printf("data: %lld train, %lld validation samples (loaded once, shared by all trials)\n",
                  static_cast<long long>(data->train.size()),
                  static_cast<long long>(data->validation ? data->validation->size() : 0));
    std::fflush(stdout);
  }

  auto external_objective = [&](tune::Trial& trial) -> double {
    if (interrupted()) throw Error("interrupted (Ctrl-C) before it started");
    const SpecTree fixed = tune::materialize(
        ts.space, [&](const std::string& name, const tune::Distribution& d) { return trial.suggest(name, d); }, true);
    // {name} placeholders: the trial's parameters by name, and the fixed values of space:.
    json params = trial.frozen().external_params();
    for (const auto& [key, value] : fixed.root.items())
      if (!params.contains(key)) params[key] = value;
    tune::ExternalCommand command;
    command.command = config.objective.command;
    command.timeout_seconds = config.objective.command_timeout_seconds;
    command.working_dir = config.objective.working_dir;
    command.should_stop = [] { return interrupted(); };
    const tune::ExternalResult result = tune::run_external_objective(
        command, params,
        [&](int64_t step, double value) {
          trial.report(value, step);
          return trial.should_prune();
        },
        trial.number());
    if (result.stopped) throw Error("interrupted (Ctrl-C)");
    if (result.state == TrialState::Pruned) throw tune::TrialPruned();
    if (result.state != TrialState::Complete || !result.value) throw Error(result.error);
    return *result.value;
  };

  auto objective = [&](tune::Trial& trial) -> double {
    if (ts.external()) return external_objective(trial);
    if (interrupted()) throw Error("interrupted (Ctrl-C) before it started");
    const SpecTree fixed = tune::materialize_trial(ts.space, trial);
    const TrainingSpec spec = tune::training_spec_of(fixed);
    if (config.objective.cv_folds >= 2) {
      const auto cv = run_cross_validation(spec, config.objective.cv_folds);
      const std::string key = metric.rfind("val_", 0) == 0 ? metric.substr(4) : metric;
      const auto it = cv.mean.find(key);
      if (it == cv.mean.end()) throw Error("cross-validation does not report '" + key + "'");
      return it->second;
    }
    TrialReporter reporter(trial, metric);
    TrainingOptions options;
    options.data = &*data;
    options.save = !a.save_models.empty();
    if (options.save) options.output_dir = (fs::path(a.save_models) / ("trial_" + std::to_string(trial.number()))).string();
    const TrainingResult result = run_training(spec, {&reporter}, options);
    if (reporter.was_interrupted()) throw Error("interrupted (Ctrl-C)");
    if (reporter.pruned()) throw tune::TrialPruned();
    return final_value(spec, result.history, metric);
  };

  SigintGuard sigint;
  TuneProgress progress(study, config, live, a.quiet);
  tune::OptimizeOptions options;
  options.n_trials = config.trials;
  options.timeout_seconds = config.timeout_seconds;
  options.jobs = config.jobs;
  options.on_trial_end = [&](const tune::Study&, const FrozenTrial& t) {
    progress.trial_ended(t);
    return interrupted();
  };
  study.optimize(objective, options);
  progress.stop();

  const auto history = study.history();
  int64_t running = 0;
  for (const auto& t : history.trials) running += t.state == TrialState::Running;
  if (!a.quiet) {
    std::printf("%s: %lld new trials | %s\n", interrupted() ? "interrupted" : "finished",
                static_cast<long long>(progress.finished_here()), progress.counts().c_str());
    if (const auto best = best_of(history.trials, study.direction())) {
      std::printf("best: trial %lld %s %s\n", static_cast<long long>(best->number), metric.c_str(),
                  metric_text(*best->value).c_str());
      const json params = best->external_params();
      for (const auto& [name, value] : params.items()) std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
      if (!ts.external())
        std::printf("the fixed spec: nntune best %s --storage %s --spec-out best.yaml\n", config.study.c_str(),
                  storage->url().c_str());
    } else if (config.trials > 0 && before >= config.trials) {
      std::printf("the study already has %lld trials (budget %lld): raise --trials to run more\n",
                  static_cast<long long>(before), static_cast<long long>(config.trials));
    }
  }
  std::fflush(stdout);
  return interrupted() ? 130 : 0;
}

int cmd_studies(const StudyArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const auto studies = storage->list_studies();
  if (studies.empty()) {
    std::printf("no studies in %s\n", storage->url().c_str());
    return 0;
  }
  std::printf("%-24s %-9s %7s %9s %7s %7s %8s  %s\n", "study", "direction", "trials", "complete", "pruned", "failed",
              "running", "best");
  for (const auto& s : studies) {
    const auto trials = storage->get_all_trials(s.id);
    int64_t by_state[5] = {0, 0, 0, 0, 0};
    for (const auto& t : trials) ++by_state[static_cast<int>(t.state)];
    const auto best = best_of(trials, s.direction);
    std::printf("%-24s %-9s %7zu %9lld %7lld %7lld %8lld  %s\n", s.name.c_str(), direction_word(s.direction).c_str(),
                trials.size(), static_cast<long long>(by_state[static_cast<int>(TrialState::Complete)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Pruned)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Failed)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Running)]),
                best ? (metric_text(*best->value) + " (trial " + std::to_string(best->number) + ")").c_str() : "-");
  }
  return 0;
}

int cmd_trials(const StudyArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const auto summary = find_study(*storage, a.study);
  const auto trials = storage->get_all_trials(summary.id);
  std::vector<std::string> names;  // every parameter, in first-seen order
  std::set<std::string> seen;
  for (const auto& t : trials)
    for (const auto& [name, v] : t.params)
      if (seen.insert(name).second) names.push_back(name);
  auto duration = [](const FrozenTrial& t) { return t.end_time > 0 ? t.end_time - t.start_time : 0.0; };

  if (a.format == "json") {
    json out = json::array();
    for (const auto& t : trials) {
      json intermediate = json::object();
      for (const auto& [step, v] : t.intermediate) intermediate[std::to_string(step)] = v;
      out.push_back({{"number", t.number},
                     {"state", tune::to_string(t.state)},
                     {"value", t.value ? json(*t.value) : json(nullptr)},
                     {"params", t.external_params()},
                     {"intermediate", intermediate},
                     {"start", t.start_time},
                     {"end", t.end_time},
                     {"seconds", duration(t)},
                     {"error", t.error},
                     {"user_attrs", t.user_attrs}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const bool csv = a.format == "csv";
  auto csv_field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"number", "state", "value", "seconds"};
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("error");
  rows.push_back(header);
  for (const auto& t : trials) {
    const json params = t.external_params();
    std::vector<std::string> row = {std::to_string(t.number), tune::to_string(t.state),
                                    t.value ? short_number(*t.value) : "", t.end_time > 0 ? metric_text(duration(t)) : ""};
    for (const auto& n : names) row.push_back(params.contains(n) ? value_text(params.at(n)) : "");
    row.push_back(first_line(t.error));
    rows.push_back(row);
  }
  if (csv) {
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) std::printf("%s%s", i ? "," : "", csv_field(row[i]).c_str());
      std::printf("\n");
    }
    return 0;
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], std::min<size_t>(row[i].size(), 60));
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i].size() > 60 ? row[i].substr(0, 57) + "..." : row[i];
      if (i + 1 < row.size()) cell.resize(width[i], ' ');
      line += (i ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int cmd_best(const StudyArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const auto summary = find_study(*storage, a.study);
  const auto best = best_of(storage->get_all_trials(summary.id), summary.direction);
  if (!best) throw Error("study '" + a.study + "' has no complete trial yet");
  if (summary.system_attrs.contains("command")) {  // an external program: its parameters and command line
    const json params = best->external_params();
    std::printf("best trial %lld: value %s\n", static_cast<long long>(best->number), short_number(*best->value).c_str());
    for (const auto& [name, value] : params.items()) std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
    return 0;
  }
  if (!summary.system_attrs.contains("spec"))
    throw Error("study '" + a.study + "' was not created by nntune tune from a spec; its best parameters: " +
                best->external_params().dump());
  SpecTree space;
  space.source = summary.system_attrs.value("spec_file", a.study + ".yaml");
  space.root = summary.system_attrs.at("spec");
  const SpecTree fixed = tune::materialize_params(space, best->external_params());
  tune::training_spec_of(fixed);  // it must be a valid training spec
  const std::string yaml = "# best trial " + std::to_string(best->number) + " of study " + a.study + ": value " +
                           short_number(*best->value) + "\n" + tune::spec_to_yaml(fixed.root);
  std::printf("best trial %lld: value %s\n", static_cast<long long>(best->number), short_number(*best->value).c_str());
  const json params = best->external_params();
  for (const auto& [name, value] : params.items()) std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
  if (a.spec_out.empty()) {
    std::printf("spec:\n%s", yaml.c_str());
  } else {
    std::ofstream out(a.spec_out, std::ios::binary);
    out << yaml;
    if (!out) throw Error("cannot write '" + a.spec_out + "' (does its directory exist?)");
    std::printf("wrote the spec to %s (train it with: nntune train %s)\n", a.spec_out.c_str(), a.spec_out.c_str());
  }
  return 0;
}

int cmd_delete(const StudyArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const auto summary = find_study(*storage, a.study);
  const size_t n = storage->get_all_trials(summary.id).size();
  if (!a.yes) {
    if (!isatty(fileno(stdin)))
      throw Error("delete study '" + a.study + "' with " + std::to_string(n) + " trials: add --yes to confirm");
    std::printf("delete study '%s' with %zu trials from %s? [y/N] ", a.study.c_str(), n, storage->url().c_str());
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "yes") {
      std::printf("kept\n");
      return 1;
    }
  }
  storage->delete_study(summary.id);
  std::printf("deleted study '%s' (%zu trials)\n", a.study.c_str(), n);
  return 0;
}

TuneCommands::TuneCommands(CLI::App& app) {
  TuneArgs& t = tune_args_;
  tune_ = app.add_subcommand("tune", "tune the hyperparameters of a spec with distributions (see docs/tuning.md)");
  tune_->add_option("spec", t.spec, "the tuning spec (YAML with a tune: section)")->required();
  tune_->add_option("--trials,-n", t.trials, "total trials of the study (resuming counts earlier ones)")
      ->check(CLI::PositiveNumber);
  tune_->add_option("--timeout", t.timeout, "stop starting trials after this long: 600, 600s, 10m, 1h");
  tune_->add_option("--jobs,-j", t.jobs, "trials in parallel (threads)")->check(CLI::Range(1, 256));
  tune_->add_option("--sampler", t.sampler, "random, grid, sobol, tpe, tpe-mv, gp");
  tune_->add_option("--pruner", t.pruner, "none, median, percentile, asha, hyperband");
  tune_->add_option("--storage", t.storage, "sqlite:///FILE.db (default sqlite:///nntune.db) or memory");
  tune_->add_option("--study", t.study, "study name (default: the spec file's name)");
  tune_->add_option("--set", t.overrides, "override a spec value: path.to.key=value (tune.* too; repeatable)");
  tune_->add_option("--save-models", t.save_models, "save each trial's model under DIR/trial_N");
  tune_->add_flag("--quiet,-q", t.quiet, "print nothing while tuning");

  auto storage_option = [](CLI::App* cmd, StudyArgs& s) {
    cmd->add_option("--storage", s.storage, "the study storage (default sqlite:///nntune.db)");
  };
  studies_ = app.add_subcommand("studies", "list the studies of a storage with their trials and best values");
  storage_option(studies_, studies_args_);
  trials_ = app.add_subcommand("trials", "list the trials of a study");
  trials_->add_option("study", trials_args_.study, "the study name")->required();
  trials_->add_option("--format", trials_args_.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  storage_option(trials_, trials_args_);
  best_ = app.add_subcommand("best", "the best trial of a study and its fixed spec (for nntune train)");
  best_->add_option("study", best_args_.study, "the study name")->required();
  best_->add_option("--spec-out", best_args_.spec_out, "write the fixed training spec to this file");
  storage_option(best_, best_args_);
  delete_ = app.add_subcommand("delete", "delete a study and its trials");
  delete_->add_option("study", delete_args_.study, "the study name")->required();
  delete_->add_flag("--yes,-y", delete_args_.yes, "do not ask for confirmation");
  storage_option(delete_, delete_args_);
  ask_tell_.emplace(app);
}

std::optional<int> TuneCommands::run() {
  if (*tune_) return cmd_tune(tune_args_);
  if (*studies_) return cmd_studies(studies_args_);
  if (*trials_) return cmd_trials(trials_args_);
  if (*best_) return cmd_best(best_args_);
  if (*delete_) return cmd_delete(delete_args_);
  return ask_tell_->run();
}

}  // namespace nntune::cli

namespace nntune::tune {
SpecTree materialize_trial(const SpecTree& space, Trial& trial) {
  return materialize(space, [&](const std::string& name, const Distribution& d) { return trial.suggest(name, d); });
}
}  // namespace nntune::tune
