#include "cli/storage_commands.hpp"

#include <cstdio>
#include <cstdlib>

#include "cli/study_option.hpp"
#include "nntune/error.hpp"
#include "nntune/tune/storage.hpp"

namespace nntune::cli {

StorageCommands::StorageCommands(CLI::App& app) {
  storage_ = app.add_subcommand("storage", "maintain a study storage (upgrade its schema)");
  storage_->require_subcommand(1);
  upgrade_ = storage_->add_subcommand(
      "upgrade", "migrate a storage written by an older nntune to this nntune's schema (back it up first)");
  upgrade_->add_option("url", upgrade_url_, "the storage URL (same as --storage)");
  // Not envname: the environment must not override a URL given as the positional argument.
  upgrade_->add_option("--storage", upgrade_url_,
                       std::string("sqlite:///FILE.db or postgresql://user@host:port/db (default: $") + kStorageEnv +
                           " when set; no other default: say which)");
}

std::optional<int> StorageCommands::run() {
  if (!*storage_) return std::nullopt;
  if (*upgrade_) {
    if (upgrade_url_.empty())
      if (const char* env = std::getenv(kStorageEnv); env && *env) upgrade_url_ = env;
    if (upgrade_url_.empty())
      throw Error("nntune storage upgrade: which storage? give --storage sqlite:///FILE.db or postgresql://...");
    const tune::StorageUpgrade upgrade = tune::upgrade_storage(upgrade_url_);
    const std::string shown = tune::redact_storage_url(upgrade_url_);
    if (upgrade.from_version == upgrade.to_version)
      std::printf("%s has schema version %d already: nothing to do\n", shown.c_str(), upgrade.to_version);
    else
      std::printf("upgraded %s from schema version %d to %d\n", shown.c_str(), upgrade.from_version,
                  upgrade.to_version);
    return 0;
  }
  return std::nullopt;
}

}  // namespace nntune::cli
