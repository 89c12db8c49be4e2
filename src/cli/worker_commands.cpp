// nntune worker / stop, and the trial loop shared with nntune tune.
// A trial = materialize the spec's search space through the trial (define-by-run), validate the
// fixed spec, run_training on data loaded once per process (or run the external program),
// report the monitored metric each epoch to the pruner. Ctrl-C, SIGTERM or SIGHUP stops after
// the current epoch; a second signal exits at once. Every worker of a study obeys the budget stored in the study.
#include "cli/worker_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/format.hpp"
#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "tune/process_info.hpp"

namespace nntune::cli {
namespace {

using nlohmann::json;
using tune::Direction;
using tune::FrozenTrial;
using tune::TrialState;
namespace fs = std::filesystem;

const char* kWorkerPlan = "worker_plan";   // study system attr: the spec text, overrides, directory
const char* kGridPoints = "grid_points";   // study system attr: the grid was enqueued (its size)

// ---- Ctrl-C, SIGTERM, SIGHUP ----
// timeout, systemd, Slurm, Kubernetes and Docker stop a process with SIGTERM, and a closed
// terminal sends SIGHUP: each is handled as Ctrl-C is, so that no trial is left running and no
// external objective is orphaned. A second signal quits at once.

std::atomic<int> g_interrupts{0};
std::atomic<int> g_signal{0};  // the first signal received

extern "C" void on_stop_signal(int sig) {
  if (g_interrupts.fetch_add(1) == 0) {
    g_signal.store(sig);
    const char* message = sig == SIGINT ? "\nnntune: stopping after the current epoch (Ctrl-C again to quit at once)\n"
                          : sig == SIGTERM ? "\nnntune: SIGTERM: stopping after the current epoch (a second signal quits at once)\n"
                                           : "\nnntune: SIGHUP: stopping after the current epoch (a second signal quits at once)\n";
    [[maybe_unused]] auto n = write(STDERR_FILENO, message, std::strlen(message));
    return;
  }
  _exit(128 + sig);
}

bool interrupted() { return g_interrupts.load() > 0; }

// "Ctrl-C", "SIGTERM" or "SIGHUP": what interrupted the run, for messages.
std::string interruption() {
  const int sig = g_signal.load();
  return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "Ctrl-C";
}

struct StopSignalGuard {
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction previous[3] {};
  StopSignalGuard() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &action, &previous[i]);
  }
  ~StopSignalGuard() {
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &previous[i], nullptr);
  }
};

// ---- formatting ----

std::string value_text(const json& v) { return v.is_number_float() ? short_number(v.get<double>()) : v.is_string() ? v.get<std::string>() : v.dump(); }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
using tune::host_name;
using tune::unix_now;

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

// One line per finished trial (this process's), with the study's counts over every worker;
// on a terminal the lines scroll above a live status line.
class TrialProgress {
 public:
  TrialProgress(tune::Study& study, bool live, bool quiet) : study_(study), live_(live), quiet_(quiet), start_(Clock::now()) {
    refresh();
    done_at_start_ = done();
    ticker_ = std::thread([this] { tick(); });
  }
  ~TrialProgress() { stop(); }
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
    ++finished_here_;
    refresh();
    if (quiet_) return;
    std::string line = "trial " + std::to_string(t.number) + " ";
    if (t.system_attrs.contains("retry_of"))
      line += "(retry of " + t.system_attrs["retry_of"].dump() + ") ";
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
  std::string counts() const {
    std::string text = "done " + std::to_string(done()) + " pruned " + std::to_string(pruned_ + pruned_recent_) +
                       " failed " + std::to_string(failed_ + failed_recent_);
    if (running_ > 0) text += " running " + std::to_string(running_);
    return text;
  }

 private:
  using Clock = std::chrono::steady_clock;
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  int64_t done() const {
    return complete_ + pruned_ + failed_ + complete_recent_ + pruned_recent_ + failed_recent_;
  }

  // Reads the trials from the first unfinished one on (all workers' trials) and the budget.
  // Storage trouble leaves the last counts: progress never stops a study.
  void refresh() {
    try {
      std::vector<FrozenTrial> fresh = study_.storage().get_trials_from(study_.id(), scan_from_);
      complete_recent_ = pruned_recent_ = failed_recent_ = running_ = 0;
      bool leading = true;
      for (const FrozenTrial& t : fresh) {
        leading = leading && tune::is_finished(t.state);
        count(t, leading);
        if (leading) scan_from_ = t.number + 1;
      }
      budget_ = study_.stored_budget();
    } catch (const std::exception&) {
    }
  }

  void count(const FrozenTrial& t, bool settled) {
    int64_t& complete = settled ? complete_ : complete_recent_;
    int64_t& pruned = settled ? pruned_ : pruned_recent_;
    int64_t& failed = settled ? failed_ : failed_recent_;
    if (t.state == TrialState::Complete) ++complete;
    if (t.state == TrialState::Pruned) ++pruned;
    // A failed trial that was retried is not counted as failed work: its retry is.
    if (t.state == TrialState::Failed && !t.system_attrs.contains("retried_as")) ++failed;
    if (t.state == TrialState::Running) ++running_;
    if (t.state == TrialState::Complete && t.value && (!best_ || tune::is_better(study_.direction(), *t.value, *best_->value)))
      best_ = t;
  }

  std::string time_left() const {
    const double left = seconds_left();
    return left < 0 ? "" : short_duration(left) + " left";
  }
  // Seconds until the budget (deadline, or trials at the rate so far) is spent; -1: unknown.
  double seconds_left() const {
    double left = -1.0;
    if (budget_.deadline > 0) left = std::max(0.0, budget_.deadline - unix_now());
    const int64_t done_since_start = done() - done_at_start_;
    if (budget_.n_trials > 0 && done_since_start > 0) {
      const int64_t remaining = std::max<int64_t>(0, budget_.n_trials - done());
      const double estimate = elapsed() / static_cast<double>(done_since_start) * static_cast<double>(remaining);
      left = left < 0 ? estimate : std::min(left, estimate);
    }
    return left;
  }
  // How much of the budget is spent: trials done of n_trials, or time elapsed of the deadline.
  double fraction_done() const {
    double fraction = -1.0;
    if (budget_.n_trials > 0) fraction = static_cast<double>(done()) / static_cast<double>(budget_.n_trials);
    const double left = seconds_left();
    if (budget_.deadline > 0 && left >= 0) fraction = std::max(fraction, elapsed() / std::max(1e-9, elapsed() + left));
    return fraction;
  }

  void draw() {
    std::string status = short_duration(elapsed()) + " ";
    if (const double fraction = fraction_done(); fraction >= 0) status += text_bar(fraction) + " ";
    status += counts();
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
    auto last_refresh = Clock::now();
    while (!done_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (interrupted()) study_.stop();
      // The counts change when a trial starts too (here or in another worker), not only when
      // one ends: re-read them about once a second for the status line.
      if (live_ && !quiet_ && !done_ && Clock::now() - last_refresh > std::chrono::seconds(1)) {
        refresh();
        last_refresh = Clock::now();
      }
      if (live_ && !quiet_ && !done_) draw();
    }
  }

  tune::Study& study_;
  bool live_, quiet_;
  Clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread ticker_;
  int64_t scan_from_ = 0;  // trials below it are finished and counted in the settled counts
  int64_t complete_ = 0, pruned_ = 0, failed_ = 0;                      // settled
  int64_t complete_recent_ = 0, pruned_recent_ = 0, failed_recent_ = 0;  // finished past the first unfinished one
  int64_t running_ = 0, finished_here_ = 0, done_at_start_ = 0;
  tune::StudyBudget budget_;
  std::optional<FrozenTrial> best_;
};

// Trials run or running: a grid's enqueued points are waiting, not trials so far.
int64_t trials_run(const std::vector<FrozenTrial>& trials) {
  return std::count_if(trials.begin(), trials.end(), [](const FrozenTrial& t) { return t.state != TrialState::Waiting; });
}

tune::StudySummary find_study(tune::Storage& storage, const std::string& name) {
  return tune::require_study(storage, name, "create it with nntune tune SPEC.yaml --storage " + storage.url());
}

}  // namespace

std::string short_duration(double seconds) {
  const long s = std::max(0L, std::lround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// ---- the worker plan in the study ----

void store_worker_plan(tune::Storage& storage, int64_t study_id, const std::string& spec_path,
                       const std::vector<std::string>& overrides, const std::string& storage_url) {
  std::ifstream in(spec_path, std::ios::binary);
  if (!in) throw Error("cannot read the spec '" + spec_path + "' (does the file exist?)");
  std::stringstream text;
  text << in.rdbuf();
  // No credentials in the study: workers bring their own --storage URL. The override naming the
  // storage is left out, and a storage URL written in the spec is stored redacted.
  std::string spec_text = text.str();
  if (!tune::storage_url_password(storage_url).empty()) {
    const std::string redacted = tune::redact_storage_url(storage_url);
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

void mark_grid_enqueued(tune::Storage& storage, int64_t study_id, int64_t points) {
  storage.set_study_system_attr(study_id, kGridPoints, points);
}

bool wait_for_enqueued_grid(tune::Storage& storage, const tune::StudySummary& summary) {
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

// ---- the trial loop ----

TrialLoopResult run_trial_loop(tune::Study& study, const tune::TuneSpec& ts, const TrialLoopOptions& options) {
  const tune::TuneConfig& config = ts.config;
  const std::string metric = config.objective.metric;
  std::optional<SpecData> data;
  if (!ts.external()) {
    // The data, once: every trial shares it (data.* cannot be tuned).
    const SpecTree first = tune::materialize(ts.space, [](const std::string&, const tune::Distribution& d) -> json {
      return d.kind == tune::DistributionKind::Categorical ? d.choices.front() : d.to_external(d.low);
    });
    const TrainingSpec data_spec = tune::training_spec_of(first);
    if (config.objective.cv_folds == 0) data = load_spec_data(data_spec);
  }
  if (data && !options.quiet) {
    std::printf("data: %lld train, %lld validation samples (loaded once, shared by all trials)\n",
                static_cast<long long>(data->train.size()), static_cast<long long>(data->validation ? data->validation->size() : 0));
    std::fflush(stdout);
  }

  auto external_objective = [&](tune::Trial& trial) -> double {
    if (interrupted()) throw Error("interrupted (" + interruption() + ") before it started");
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
    if (result.stopped) throw Error("interrupted (" + interruption() + ")");
    if (result.state == TrialState::Pruned) throw tune::TrialPruned();
    if (result.state != TrialState::Complete || !result.value) throw Error(result.error);
    return *result.value;
  };

  auto objective = [&](tune::Trial& trial) -> double {
    if (ts.external()) return external_objective(trial);
    if (interrupted()) throw Error("interrupted (" + interruption() + ") before it started");
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
    TrainingOptions training;
    training.data = &*data;
    training.save = !options.save_models.empty();
    if (training.save)
      training.output_dir = (fs::path(options.save_models) / ("trial_" + std::to_string(trial.number()))).string();
    const TrainingResult result = run_training(spec, {&reporter}, training);
    if (reporter.was_interrupted()) throw Error("interrupted (" + interruption() + ")");
    if (reporter.pruned()) throw tune::TrialPruned();
    return final_value(spec, result.history, metric);
  };

  const bool live = !options.quiet && isatty(fileno(stdout));
  StopSignalGuard stop_signals;
  TrialProgress progress(study, live, options.quiet);
  tune::OptimizeOptions optimize;
  optimize.use_stored_budget = true;
  optimize.jobs = options.jobs;
  optimize.max_retries = config.retries;
  optimize.stale_grace_seconds = config.grace_seconds;
  optimize.heartbeat_seconds = config.heartbeat_seconds;
  optimize.enqueued_only = options.enqueued_grid;
  optimize.wait_for_other_workers = true;
  optimize.on_trial_end = [&](const tune::Study& ended_in, const FrozenTrial& t) {
    progress.trial_ended(t);
    if (options.keep_best > 0 && !options.save_models.empty())
      remove_models_outside_best(options.save_models, ended_in.history().trials, ended_in.direction(), options.keep_best);
    return interrupted();
  };
  study.optimize(objective, optimize);
  progress.stop();

  TrialLoopResult result;
  result.finished_here = progress.finished_here();
  result.interrupted = interrupted();
  result.signal = result.interrupted ? g_signal.load() : 0;
  result.stop_requested = !result.interrupted && study.stored_budget().stop_requested;
  if (!options.quiet) {
    const char* how = result.interrupted ? "interrupted" : result.stop_requested ? "stopped (nntune stop)" : "finished";
    std::printf("%s: %lld new trials | %s\n", how, static_cast<long long>(result.finished_here), progress.counts().c_str());
    if (const auto best = study.best_trial()) {
      std::printf("best: trial %lld %s %s\n", static_cast<long long>(best->number), metric.c_str(), metric_text(*best->value).c_str());
      const json params = best->external_params();
      for (const auto& [name, value] : params.items())
        std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
      if (!ts.external())
        std::printf("the fixed spec: nntune best %s --storage %s --spec-out best.yaml\n", study.name().c_str(),
                    study.storage().url().c_str());
    }
  }
  std::fflush(stdout);
  return result;
}

// ---- nntune worker ----

int cmd_worker(const WorkerArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const tune::StudySummary summary = find_study(*storage, a.study);
  const auto plan = summary.system_attrs.find(kWorkerPlan);
  if (plan == summary.system_attrs.end() || !plan->is_object())
    throw Error("study '" + a.study + "' in " + storage->url() +
                " holds no spec for workers (it was not created by nntune tune, or by an older one): run nntune tune "
                "SPEC.yaml --storage " + storage->url() + " --study " + a.study + " once to store it");
  const std::string spec_path = plan->value("spec_path", a.study + ".yaml");
  tune::TuneSpec ts;
  try {
    ts = tune::parse_tune_spec(plan->value("spec_text", ""), spec_path, plan->value("overrides", std::vector<std::string>{}),
                               plan->value("base_dir", ""));
  } catch (const Error& e) {
    throw Error("study '" + a.study + "': its stored spec does not read on this host: " + std::string(e.what()));
  }
  const bool grid = ts.config.sampler.name == "grid";
  const bool enqueued_grid = grid && wait_for_enqueued_grid(*storage, summary);
  std::unique_ptr<tune::Pruner> pruner;
  if (ts.config.pruner.name != "none") pruner = tune::make_pruner(ts.config.pruner);
  tune::Study study =
      tune::Study::open(storage, a.study, summary.direction, tune::make_sampler(ts.config.sampler), std::move(pruner));

  const tune::StudyBudget budget = study.stored_budget();
  if (budget.stop_requested) {
    std::printf("study %s has a stop request (nntune stop): nothing to run; clear it with nntune stop %s --clear "
                "--storage %s (or run nntune tune)\n",
                a.study.c_str(), a.study.c_str(), storage->url().c_str());
    return 0;
  }
  if (!a.quiet) {
    std::string limits;
    if (budget.n_trials > 0) limits += std::to_string(budget.n_trials) + " trials";
    if (budget.deadline > 0)
      limits += (limits.empty() ? "" : ", ") + short_duration(std::max(0.0, budget.deadline - unix_now())) + " left";
    if (enqueued_grid) limits += (limits.empty() ? "" : ", ") + std::string("the grid");
    std::printf("worker %s:%lld joins study %s in %s: %s %s; %lld trials so far; budget %s; sampler %s, pruner %s, jobs %lld\n",
                host_name().c_str(), static_cast<long long>(getpid()), a.study.c_str(), storage->url().c_str(),
                summary.direction == Direction::Maximize ? "maximize" : "minimize", ts.config.objective.metric.c_str(),
                static_cast<long long>(trials_run(study.history().trials)),
                limits.empty() ? "none (until nntune stop)" : limits.c_str(),
                ts.config.sampler.name.c_str(), ts.config.pruner.name.c_str(), static_cast<long long>(a.jobs));
    std::fflush(stdout);
  }
  TrialLoopOptions options;
  options.jobs = a.jobs;
  options.save_models = a.save_models;
  options.keep_best = a.keep_best;
  options.quiet = a.quiet;
  options.enqueued_grid = enqueued_grid;
  const TrialLoopResult result = run_trial_loop(study, ts, options);
  return result.exit_code();
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
    fs::remove_all(fs::path(dir) / ("trial_" + std::to_string(t.number)), ignored);
  }
}

// ---- nntune stop ----

int cmd_stop(const StopArgs& a) {
  auto storage = tune::open_storage(a.storage);
  const tune::StudySummary summary = find_study(*storage, a.study);
  tune::Study study = tune::Study::open(storage, a.study, summary.direction, tune::make_sampler({}));
  study.request_stop(!a.clear);
  if (a.clear) {
    std::printf("cleared the stop request of study %s: nntune worker runs its trials again\n", a.study.c_str());
    return 0;
  }
  int64_t running = 0;
  for (const auto& t : storage->get_all_trials(summary.id)) running += t.state == TrialState::Running;
  std::printf("asked the workers of study %s to stop: they finish their %lld running trial%s and exit (within a few "
              "seconds of that)\n",
              a.study.c_str(), static_cast<long long>(running), running == 1 ? "" : "s");
  return 0;
}

WorkerCommands::WorkerCommands(CLI::App& app) {
  WorkerArgs& w = worker_args_;
  worker_ = app.add_subcommand("worker", "join a study created by nntune tune and run its trials until its budget is "
                                         "spent or nntune stop (start one per machine; see docs/many-machines.md)");
  worker_->add_option("--storage", w.storage, "the study storage: postgresql://USER:PASSWORD@HOST/DB, sqlite:///FILE.db")
      ->required();
  worker_->add_option("--study", w.study, "the study name (as nntune studies lists it)")->required();
  worker_->add_option("--jobs,-j", w.jobs, "trials in parallel in this worker (threads)")->check(CLI::Range(1, 256));
  CLI::Option* save = worker_->add_option("--save-models", w.save_models, "save each trial's model under DIR/trial_N");
  worker_->add_option("--keep-best", w.keep_best, "with --save-models: keep only the models of the best K complete trials")
      ->check(CLI::PositiveNumber)
      ->needs(save);
  worker_->add_flag("--quiet,-q", w.quiet, "print nothing while running");

  StopArgs& s = stop_args_;
  stop_ = app.add_subcommand("stop", "ask every worker of a study (all machines) to finish its running trials and exit");
  stop_->add_option("study", s.study, "the study name")->required();
  stop_->add_option("--storage", s.storage, "the study storage (default sqlite:///nntune.db)");
  stop_->add_flag("--clear", s.clear, "withdraw the stop request, so that workers run the study again");
}

std::optional<int> WorkerCommands::run() {
  if (*worker_) return cmd_worker(worker_args_);
  if (*stop_) return cmd_stop(stop_args_);
  return std::nullopt;
}

}  // namespace nntune::cli
