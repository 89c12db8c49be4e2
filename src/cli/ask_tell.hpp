#pragma once
// `nntune ask` / `nntune tell`: the ask/tell API for shell loops. `ask` creates a trial, samples
// the spec's search space and prints the parameters; the caller runs its own program and
// `tell`s the result (or intermediate values, and asks whether to prune). See docs/tuning.md.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nntune::cli {

struct AskArgs {
  std::string spec;
  std::string storage, study;  // empty: as the spec's tune section says
  std::string format = "json";  // json, env or shell
};

struct TellArgs {
  std::string study;
  int64_t trial = -1;
  std::string value;  // empty: none given
  std::string state;  // "", "pruned" or "failed"
  std::string error;
  std::vector<std::string> intermediate;  // "STEP=VALUE"
  bool should_prune = false;
  std::string storage = "sqlite:///nntune.db";
};

class AskTellCommands {
 public:
  explicit AskTellCommands(CLI::App& app);
  // Runs ask or tell and returns the exit code; nullopt when another command was chosen.
  std::optional<int> run();

 private:
  AskArgs ask_args_;
  TellArgs tell_args_;
  CLI::App *ask_ = nullptr, *tell_ = nullptr;
};

int cmd_ask(const AskArgs& args);
int cmd_tell(const TellArgs& args);

}  // namespace nntune::cli
