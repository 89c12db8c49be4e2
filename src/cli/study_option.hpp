#pragma once
// How every command names its study and its storage (one rule, docs/tuning.md "Command line"):
// - a command that works on an existing study takes its name as the positional STUDY, and
//   accepts --study NAME as the same argument (so scripts written either way keep working);
//   tune and ask, whose positional is the SPEC, name the study with --study;
// - --storage URL, else the environment variable NNTUNE_STORAGE (so that a password need not be
//   on a command line: a Kubernetes Secret, a systemd EnvironmentFile), else the default.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "nntune/error.hpp"

namespace nntune::cli {

inline constexpr const char* kStorageEnv = "NNTUNE_STORAGE";

// Adds STUDY (positional) and --study to cmd; once cmd is parsed the name is in `out`. Both given
// and different is a usage error; neither is one when `required`.
inline void add_study_argument(CLI::App* cmd, std::string& out, bool required,
                               const std::string& help = "the study name (as nntune studies lists it)") {
  auto given = std::make_shared<std::pair<std::string, std::string>>();
  cmd->add_option("study", given->first,
                  help + (required ? " (required: here or as --study)" : "; optional when the storage holds only one study"));
  cmd->add_option("--study", given->second, "the same as STUDY (every command accepts either form)");
  cmd->parse_complete_callback([given, &out, required, name = cmd->get_name()] {
    const auto& [positional, option] = *given;
    if (!positional.empty() && !option.empty() && positional != option)
      throw CLI::ValidationError("study", "two study names: " + positional + " and --study " + option + ": give one");
    out = positional.empty() ? option : positional;
    if (required && out.empty())
      throw CLI::RequiredError("the study name: nntune " + name + " STUDY (or --study STUDY)");
  });
}

// --storage with the NNTUNE_STORAGE fallback, for every command that has one; `fallback` is the
// default after the environment ("" for a command that needs one of the two).
inline CLI::Option* add_storage_option(CLI::App* cmd, std::string& url, const std::string& help,
                                       const std::string& fallback = "sqlite:///nntune.db") {
  const std::string env = std::string("$") + kStorageEnv;
  CLI::Option* option = cmd->add_option(
      "--storage", url,
      help + (fallback.empty() ? " (give it here or in " + env + ")" : " (default: " + env + " when set, else " + fallback + ")"));
  option->envname(kStorageEnv);
  if (fallback.empty()) option->required();
  return option;
}

// "memory" holds a study only inside the process that created it: a command that opens an
// existing study (or hands a trial to a later process) cannot work on it.
inline void refuse_memory_storage(const std::string& url, const std::string& command) {
  if (url == "memory")
    throw Error("--storage memory keeps a study only inside the nntune tune process that runs it, so nntune " + command +
                " has nothing to read or write there; give the storage the study lives in: --storage "
                "sqlite:///FILE.db or postgresql://USER@HOST/DB (and run nntune tune with it)");
}

}  // namespace nntune::cli
