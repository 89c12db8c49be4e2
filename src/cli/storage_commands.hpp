#pragma once
// Storage maintenance on the command line: `nntune storage upgrade --storage URL` migrates a
// database written by an older nntune to the schema this one reads.
// main.cpp creates one StorageCommands on its CLI::App and asks it to run after parsing.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace nntune::cli {

class StorageCommands {
 public:
  explicit StorageCommands(CLI::App& app);
  // Runs the chosen storage command and returns its exit code; nullopt when another command was chosen.
  std::optional<int> run();

 private:
  std::string upgrade_url_;
  CLI::App *storage_ = nullptr, *upgrade_ = nullptr;
};

}  // namespace nntune::cli
