#pragma once
// The tuning commands of the command line: tune, studies, trials, best, delete (and ask, tell:
// ask_tell.hpp; worker, stop: worker_commands.hpp).
// main.cpp creates one TuneCommands on its CLI::App and asks it to run after parsing.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/ask_tell.hpp"
#include "cli/worker_commands.hpp"

namespace nntune::cli {

struct TuneArgs {
  std::string spec;
  std::vector<std::string> overrides;
  int64_t trials = 0;  // 0: as the spec says
  std::string timeout, sampler, pruner, storage, study, save_models;
  int64_t keep_best = 0;  // with save_models: keep only the best K trials' models
  int64_t jobs = 0;
  int64_t retries = -1;           // -1: as the spec says
  std::string grace, heartbeat;   // durations; empty: as the spec says
  bool create_only = false;       // set the study up for workers, run no trial
  bool quiet = false;
};

struct StudyArgs {
  std::string storage = "sqlite:///nntune.db";
  std::string study;
  std::string format = "table";
  std::string sort = "number";  // trials: number, value, state, seconds or a parameter name
  int64_t top = 0;              // trials: > 0 shows only the first this many after sorting
  std::string spec_out;
  bool refit = false;  // best: the spec that retrains on all the training data
  bool yes = false;
};

struct EnsembleArgs {
  std::string storage = "sqlite:///nntune.db";
  std::string study;
  std::string models;              // the --save-models directory of nntune tune
  std::string output = "ensemble.nnt";
  int64_t candidates = 20;         // the best this many complete trials with a saved model
  int64_t rounds = 20;             // greedy picks at most
  std::string metric = "loss";     // what the selection optimises on the validation data
};

class TuneCommands {
 public:
  explicit TuneCommands(CLI::App& app);
  // Runs the chosen tuning command and returns its exit code; nullopt when another command was chosen.
  std::optional<int> run();

 private:
  TuneArgs tune_args_;
  StudyArgs studies_args_, trials_args_, best_args_, delete_args_;
  EnsembleArgs ensemble_args_;
  CLI::App *tune_ = nullptr, *studies_ = nullptr, *trials_ = nullptr, *best_ = nullptr, *delete_ = nullptr,
           *ensemble_ = nullptr;
  std::optional<AskTellCommands> ask_tell_;  // after the others in --help
  std::optional<WorkerCommands> worker_;     // worker, stop
};

int cmd_tune(const TuneArgs& args);
int cmd_studies(const StudyArgs& args);
int cmd_trials(const StudyArgs& args);
int cmd_best(const StudyArgs& args);
int cmd_delete(const StudyArgs& args);
// Ensemble selection over the saved models of a study's best trials, on the spec's validation
// data; writes one model file that nntune eval / predict take like any other.
int cmd_ensemble(const EnsembleArgs& args);

}  // namespace nntune::cli
