// nntune worker / stop, and the trial loop's front end shared with nntune tune: signals and
// progress lines around tune::run_spec_trials (src/tune/spec_tuning.cpp), which runs the trials.
// Ctrl-C, SIGTERM or SIGHUP stops after the current epoch; a second signal exits at once. Every
// worker of a study obeys the budget stored in the study.
#include "cli/worker_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cli/checks.hpp"
#include "cli/format.hpp"
#include "cli/study_option.hpp"
#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/spec_tuning.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "tune/process_info.hpp"

namespace nntune::cli {
namespace {

using nlohmann::json;
using tune::FrozenTrial;
using tune::TrialState;
namespace fs = std::filesystem;

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

tune::StudySummary find_study(tune::Storage& storage, const std::string& name) {
  return tune::require_study(storage, name, "create it with nntune tune SPEC.yaml --storage " + storage.url());
}

}  // namespace

int64_t trials_run(const std::vector<FrozenTrial>& trials) {
  return std::count_if(trials.begin(), trials.end(), [](const FrozenTrial& t) { return t.state != TrialState::Waiting; });
}

std::string short_duration(double seconds) {
  const long s = std::max(0L, std::lround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// ---- the trial loop ----

TrialLoopResult run_trial_loop(tune::SpecStudy& spec_study, const TrialLoopOptions& options) {
  tune::Study& study = spec_study.study;
  const std::string& metric = spec_study.spec.config.objective.metric;
  const bool live = !options.quiet && isatty(fileno(stdout));
  StopSignalGuard stop_signals;
  std::optional<TrialProgress> progress;
  tune::SpecTrialOptions run;
  run.jobs = options.jobs;
  run.save_models = options.save_models;
  run.keep_best = options.keep_best;
  run.interruption = [] { return interrupted() ? interruption() : std::string(); };
  // The progress line (and its clock) starts with the trials, after the data is loaded.
  run.on_start = [&](const SpecData* data) {
    if (data && !options.quiet) {
      std::printf("data: %lld train, %lld validation samples (loaded once, shared by all trials)\n",
                  static_cast<long long>(data->train.size()),
                  static_cast<long long>(data->validation ? data->validation->size() : 0));
      std::fflush(stdout);
    }
    progress.emplace(study, live, options.quiet);
  };
  int64_t failed_here = 0;
  std::string first_failure;
  run.on_trial_end = [&](const tune::Study&, const FrozenTrial& t) {
    if (t.state == TrialState::Failed && failed_here++ == 0) first_failure = first_line(t.error);
    progress->trial_ended(t);
  };
  const tune::SpecTrialsResult ran = tune::run_spec_trials(spec_study, run);
  progress->stop();

  TrialLoopResult result;
  result.finished_here = ran.finished_here;
  result.interrupted = ran.interrupted;
  result.signal = result.interrupted ? g_signal.load() : 0;
  result.stop_requested = ran.stop_requested;
  result.failed_here = failed_here;
  if (!options.quiet) {
    const char* how = result.interrupted ? "interrupted" : result.stop_requested ? "stopped (nntune stop)" : "finished";
    std::printf("%s: %lld new trials | %s\n", how, static_cast<long long>(result.finished_here), progress->counts().c_str());
    if (const auto best = study.best_trial()) {
      std::printf("best: trial %lld %s %s\n", static_cast<long long>(best->number), metric.c_str(), metric_text(*best->value).c_str());
      const json params = best->external_params();
      for (const auto& [name, value] : params.items())
        std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
      if (study.storage().url() == "memory") {
        // No later command can read a study in memory: the best trial's spec is printed now.
        std::printf("the study was in memory (--storage memory) and ends with this process: give --storage "
                    "sqlite:///nntune.db to keep it for nntune best, trials and report\n");
        if (!spec_study.spec.external()) {
          // Data paths made absolute, as nntune best writes them: the file may be saved anywhere.
          json fixed = tune::materialize_params(spec_study.spec.space, params).root;
          tune::absolutize_data_paths(fixed, spec_study.spec.space.base_dir);
          std::printf("the best trial's spec (save it as best.yaml, then: nntune train best.yaml):\n%s",
                      tune::spec_to_yaml(fixed).c_str());
        }
      } else if (!spec_study.spec.external()) {
        std::printf("the fixed spec: nntune best %s --storage %s --spec-out best.yaml\n", study.name().c_str(),
                    study.storage().url().c_str());
      }
    }
  }
  std::fflush(stdout);
  if (result.exit_code() == 1)
    std::fprintf(stderr, "nntune: every trial this process ran failed (%lld), the first with: %s\n",
                 static_cast<long long>(failed_here), first_failure.c_str());
  return result;
}

// ---- nntune worker ----

int cmd_worker(const WorkerArgs& a) {
  refuse_memory_storage(a.storage, "worker");
  tune::SpecStudy spec_study = tune::join_spec_study(a.storage, a.study);
  const tune::TuneSpec& ts = spec_study.spec;
  tune::Storage& storage = spec_study.study.storage();
  const tune::StudyBudget& budget = spec_study.budget;
  if (budget.stop_requested) {
    std::printf("study %s has a stop request (nntune stop): nothing to run; clear it with nntune stop %s --clear "
                "--storage %s (or run nntune tune)\n",
                a.study.c_str(), a.study.c_str(), storage.url().c_str());
    return 0;
  }
  if (!a.quiet) {
    std::string limits;
    if (budget.n_trials > 0) limits += std::to_string(budget.n_trials) + " trials";
    if (budget.deadline > 0)
      limits += (limits.empty() ? "" : ", ") + short_duration(std::max(0.0, budget.deadline - unix_now())) + " left";
    if (spec_study.enqueued_grid) limits += (limits.empty() ? "" : ", ") + std::string("the grid");
    std::printf("worker %s:%lld joins study %s in %s: %s %s; %lld trials so far; budget %s; sampler %s, pruner %s, jobs %lld\n",
                host_name().c_str(), static_cast<long long>(getpid()), a.study.c_str(), storage.url().c_str(),
                tune::to_string(spec_study.study.direction()).c_str(), ts.config.objective.metric.c_str(),
                static_cast<long long>(trials_run(spec_study.study.history().trials)),
                limits.empty() ? "none (until nntune stop)" : limits.c_str(),
                ts.config.sampler.name.c_str(), ts.config.pruner.name.c_str(), static_cast<long long>(a.jobs));
    std::fflush(stdout);
  }
  TrialLoopOptions options;
  options.jobs = a.jobs;
  options.save_models = a.save_models;
  options.keep_best = a.keep_best;
  options.quiet = a.quiet;
  return run_trial_loop(spec_study, options).exit_code();
}

// ---- nntune stop ----

int cmd_stop(const StopArgs& a) {
  refuse_memory_storage(a.storage, "stop");
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
  add_study_argument(worker_, w.study, true);
  add_storage_option(worker_, w.storage, "the study storage: postgresql://USER:PASSWORD@HOST/DB, sqlite:///FILE.db", "");
  worker_->add_option("--jobs,-j", w.jobs, "trials in parallel in this worker (threads) (default 1)")->check(CLI::Range(1, 256));
  CLI::Option* save = worker_->add_option("--save-models", w.save_models, "save each trial's model under DIR/trial_N (default: no models are kept)");
  worker_->add_option("--keep-best", w.keep_best, "with --save-models: keep only the models of the best K complete trials (default 0: keep all)")
      ->check(positive())
      ->needs(save);
  worker_->add_flag("--quiet,-q", w.quiet, "print nothing while running");

  StopArgs& s = stop_args_;
  stop_ = app.add_subcommand("stop", "ask every worker of a study (all machines) to finish its running trials and exit");
  add_study_argument(stop_, s.study, true);
  add_storage_option(stop_, s.storage, "the study storage");
  stop_->add_flag("--clear", s.clear, "withdraw the stop request, so that workers run the study again");
}

std::optional<int> WorkerCommands::run() {
  if (*worker_) return cmd_worker(worker_args_);
  if (*stop_) return cmd_stop(stop_args_);
  return std::nullopt;
}

}  // namespace nntune::cli
