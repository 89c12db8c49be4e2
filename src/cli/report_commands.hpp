#pragma once
// nntune report: the HTML report of a study; and the training report `nntune train` writes.
// main.cpp creates one ReportCommands on its CLI::App and asks it to run after parsing.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "nntune/spec.hpp"

namespace nntune::cli {

struct ReportArgs {
  std::string storage = "sqlite:///nntune.db";
  std::string study;  // may be left out when the storage holds exactly one study
  std::string output = "report.html";
};

class ReportCommands {
 public:
  explicit ReportCommands(CLI::App& app);
  // The exit code of `nntune report`; nullopt when another command was chosen.
  std::optional<int> run();

 private:
  ReportArgs args_;
  CLI::App* report_ = nullptr;
};

int cmd_report(const ReportArgs& args);

// Writes report.html beside the model of a finished `nntune train` run (its output directory):
// curves, learning rate, and for classification a confusion matrix of the saved model on the
// raw (unscaled) data `scored`: the run's validation data when scored_is_validation, else its
// test data; null when it has neither. Returns the path written.
std::string write_training_report(const std::string& spec_path, const TrainingSpec& spec, const TrainingResult& result,
                                  const Dataset* scored, bool scored_is_validation, double seconds);

}  // namespace nntune::cli
