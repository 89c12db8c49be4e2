#pragma once
// Many workers, many machines (docs/many-machines.md): `nntune worker` joins a study that
// `nntune tune` created and runs its trials until the study's stored budget is spent, its grid
// is exhausted or `nntune stop` asks every worker to stop. Also the front end of the trial loop
// (progress, Ctrl-C), which `nntune tune` shares; the trials themselves are library work
// (nntune/tune/spec_tuning.hpp).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nntune::tune {
struct FrozenTrial;
struct SpecStudy;
}  // namespace nntune::tune

namespace nntune::cli {

struct WorkerArgs {
  std::string storage = "sqlite:///nntune.db";
  std::string study;
  int64_t jobs = 1;
  std::string save_models;
  int64_t keep_best = 0;
  bool quiet = false;
};

struct StopArgs {
  std::string storage = "sqlite:///nntune.db";
  std::string study;
  bool clear = false;
};

class WorkerCommands {
 public:
  explicit WorkerCommands(CLI::App& app);
  // Runs worker or stop and returns the exit code; nullopt when another command was chosen.
  std::optional<int> run();

 private:
  WorkerArgs worker_args_;
  StopArgs stop_args_;
  CLI::App *worker_ = nullptr, *stop_ = nullptr;
};

int cmd_worker(const WorkerArgs& args);
int cmd_stop(const StopArgs& args);

// ---- shared with nntune tune ----

struct TrialLoopOptions {
  int64_t jobs = 1;
  std::string save_models;  // a directory: each trial's model under trial_N
  int64_t keep_best = 0;    // > 0: keep only the models of the best this many complete trials
  bool quiet = false;
};

struct TrialLoopResult {
  int64_t finished_here = 0;
  bool interrupted = false;     // Ctrl-C, SIGTERM or SIGHUP
  int signal = 0;               // which one, when interrupted
  bool stop_requested = false;  // nntune stop
  int64_t failed_here = 0;      // of finished_here
  // 128 + the signal when interrupted (130 for Ctrl-C, 143 for SIGTERM), as a shell reports it;
  // 1 when every trial this process ran failed (a scheduler then reports the job failed: data or
  // a program missing on this machine, a broken spec); else 0, also when the study was already done.
  int exit_code() const {
    if (interrupted) return 128 + signal;
    return finished_here > 0 && failed_here == finished_here ? 1 : 0;
  }
};

// Runs the study's trials (tune::run_spec_trials) with Ctrl-C, SIGTERM and SIGHUP turned into a
// stop after the current epoch, a progress line per trial (a status bar on a terminal), then
// prints the summary and the best trial.
TrialLoopResult run_trial_loop(tune::SpecStudy& study, const TrialLoopOptions& options);

// Trials run or running: a grid's enqueued points are waiting, not trials so far.
int64_t trials_run(const std::vector<tune::FrozenTrial>& trials);

// "3m12s", "1h05m", "42s"
std::string short_duration(double seconds);

}  // namespace nntune::cli
