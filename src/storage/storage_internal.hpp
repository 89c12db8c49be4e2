#pragma once
// Pieces shared by the storage implementations (private to src/).
#include <memory>
#include <string>

#include "nntune/tune/storage.hpp"
#include "tune/process_info.hpp"

namespace nntune::tune {

// Schema versions of the SQL storages (SQLite and PostgreSQL share the numbering):
//   1: nntune 0.1, SQLite only; its version sat in a table schema_version.
//   2: studies.next_trial_number (a per-study counter: a new trial locks only its study's row)
//      and trials.create_token (a create_trial retried after a lost connection finds its own
//      trial instead of making a second one); the version sits in nntune_schema.
// A fresh database is created at kSchemaVersion. Opening an older one is refused with the
// upgrade command to run; a newer one is refused naming both versions.
constexpr int kSchemaVersion = 2;

enum class SchemaAction {
  RequireCurrent,  // open_storage: refuse any other version
  Upgrade,         // upgrade_storage: migrate an older schema to kSchemaVersion
};

std::shared_ptr<Storage> make_memory_storage();
// `path` is the file system path, `url` the URL it came from (for messages). With
// SchemaAction::Upgrade, *version_found receives the version the file had.
// StorageAccess::ReadOnly opens an existing file read-only (a missing one is an Error).
std::shared_ptr<Storage> make_sqlite_storage(const std::string& path, const std::string& url,
                                             SchemaAction action = SchemaAction::RequireCurrent,
                                             int* version_found = nullptr,
                                             StorageAccess access = StorageAccess::ReadWrite);
// `url` is postgresql://... or postgres://... as given (it may hold a password: never print it;
// messages use the redacted form).
std::shared_ptr<Storage> make_postgres_storage(const std::string& url,
                                               SchemaAction action = SchemaAction::RequireCurrent,
                                               int* version_found = nullptr,
                                               StorageAccess access = StorageAccess::ReadWrite);

namespace detail {

// A notice for people (set_storage_notice: standard error by default).
void notice(const std::string& message);
// The trial create_trial stores: a fresh Running one, or a copy of the template's state,
// params, values and attrs (id and number are assigned by the storage).
FrozenTrial new_trial_from_template(const FrozenTrial* from);
// finish_trial accepts only Complete, Pruned and Failed.
void check_finish_state(TrialState state);
std::string stale_message(double seconds_without_heartbeat);
// The messages for a schema of another version (`url` already redacted).
std::string older_schema_message(const std::string& url, int found);
std::string newer_schema_message(const std::string& url, int found);

}  // namespace detail
}  // namespace nntune::tune
