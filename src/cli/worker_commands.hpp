#pragma once
// Many workers, many machines (docs/many-machines.md): `nntune worker` joins a study that
// `nntune tune` created and runs its trials until the study's stored budget is spent, its grid
// is exhausted or `nntune stop` asks every worker to stop. Also the trial loop itself (objective,
// progress, Ctrl-C), which `nntune tune` shares.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nntune/tune/records.hpp"

namespace nntune::tune {
enum class Direction;
struct FrozenTrial;
class Storage;
class Study;
struct StudySummary;
struct TuneSpec;
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

// Stores what a worker needs to run the study's trials without the spec file: the spec's text,
// its overrides and its directory (relative paths resolve against it on every host), and
// whether the grid was enqueued. `nntune tune` calls it on every run. No credentials are stored:
// the storage override is left out and `storage_url` (the study's storage) appears redacted.
void store_worker_plan(tune::Storage& storage, int64_t study_id, const std::string& spec_path,
                       const std::vector<std::string>& overrides, const std::string& storage_url);
// Marks the grid of a study as enqueued (every point a Waiting trial): workers then only claim.
void mark_grid_enqueued(tune::Storage& storage, int64_t study_id, int64_t points);
// Whether the study's grid was enqueued; waits (up to a minute) while the process that created
// the study is still enqueuing it.
bool wait_for_enqueued_grid(tune::Storage& storage, const tune::StudySummary& summary);

struct TrialLoopOptions {
  int64_t jobs = 1;
  std::string save_models;  // a directory: each trial's model under trial_N
  int64_t keep_best = 0;    // > 0: keep only the models of the best this many complete trials
  bool quiet = false;
  bool enqueued_grid = false;  // run only the enqueued grid points
};

struct TrialLoopResult {
  int64_t finished_here = 0;
  bool interrupted = false;     // Ctrl-C, SIGTERM or SIGHUP
  int signal = 0;               // which one, when interrupted
  bool stop_requested = false;  // nntune stop
  // 0, or 128 + the signal when interrupted (130 for Ctrl-C, 143 for SIGTERM), as a shell reports it.
  int exit_code() const { return interrupted ? 128 + signal : 0; }
};

// Runs trials of `study` (opened with the spec's sampler and pruner) until its stored budget is
// spent, its grid is exhausted or a stop is requested, with a progress line per trial (a
// status bar on a terminal), then prints the summary and the best trial.
TrialLoopResult run_trial_loop(tune::Study& study, const tune::TuneSpec& spec, const TrialLoopOptions& options);

// The complete trials with a value, best first (nntune/tune/records.hpp).
using tune::complete_trials_best_first;

// Removes DIR/trial_N of every finished trial that is not among the `keep` best complete
// trials of `trials`; leaves running and waiting trials' directories alone. A model removed
// never has to come back: the best `keep` only get better as trials finish.
void remove_models_outside_best(const std::string& dir, const std::vector<tune::FrozenTrial>& trials,
                                tune::Direction direction, int64_t keep);

// "3m12s", "1h05m", "42s"
std::string short_duration(double seconds);

}  // namespace nntune::cli
