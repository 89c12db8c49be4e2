#pragma once
// Storage is the single source of truth of a study (Optuna's storages/_base.py): studies,
// trials, parameters, intermediate values, states. Samplers and pruners read the history from
// it, so resuming, several processes and (later) several machines come for free.
// Every method is atomic; implementations are safe to call from several threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nntune/tune/records.hpp"

namespace nntune::tune {

class Storage {
 public:
  virtual ~Storage() = default;
  // "memory", "sqlite:///relative.db" / "sqlite:////abs/path.db" or
  // "postgresql://user:***@host:port/db": safe to print (a password is always redacted).
  virtual std::string url() const = 0;

  // Studies. create_study throws Error if the name exists.
  virtual int64_t create_study(const std::string& name, Direction direction) = 0;
  virtual std::optional<int64_t> find_study(const std::string& name) = 0;
  virtual StudySummary get_study(int64_t study_id) = 0;
  virtual std::vector<StudySummary> list_studies() = 0;
  virtual void delete_study(int64_t study_id) = 0;
  virtual void set_study_system_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) = 0;
  virtual void set_study_user_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) = 0;

  // Trials. create_trial assigns the next dense number atomically. A template (enqueue, warm
  // start) gives the initial state (Waiting for enqueued, Complete for a finished import), its
  // params/distributions, value, intermediate values and attrs.
  virtual FrozenTrial create_trial(int64_t study_id, const FrozenTrial* from = nullptr) = 0;
  // Atomically takes the oldest Waiting (enqueued) trial and marks it Running; none -> nullopt.
  virtual std::optional<FrozenTrial> claim_waiting_trial(int64_t study_id) = 0;
  virtual void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                               const Distribution& distribution) = 0;
  virtual void set_intermediate_value(int64_t trial_id, int64_t step, double value) = 0;
  virtual void set_trial_user_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) = 0;
  virtual void set_trial_system_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) = 0;
  // Running -> a finished state. Returns false (and changes nothing) if the trial had already
  // finished, e.g. failed by another worker as stale.
  virtual bool finish_trial(int64_t trial_id, TrialState state, std::optional<double> value,
                            const std::string& error = "") = 0;
  // Running -> Failed with a kind that code decides on (kept in the trial's system attr
  // "failure", written with the state in one step) and the value it ended with, if any (an
  // objective that returned inf). Returns false as finish_trial does. The default runs
  // finish_trial and then sets the attr (not atomic); the storages override it.
  virtual bool fail_trial(int64_t trial_id, FailureKind kind, const std::string& error,
                          std::optional<double> value);
  virtual void record_heartbeat(int64_t trial_id) = 0;
  // Fails every Running trial whose heartbeat is older than grace_seconds (FailureKind::
  // StaleHeartbeat); returns them.
  virtual std::vector<FrozenTrial> fail_stale_trials(int64_t study_id, double grace_seconds) = 0;

  virtual FrozenTrial get_trial(int64_t trial_id) = 0;
  // All trials of the study in number order.
  virtual std::vector<FrozenTrial> get_all_trials(int64_t study_id) = 0;
  // The trials numbered first_number and up, in number order: a reader that keeps the finished
  // trials it has seen (they no longer change, attrs aside) reads only the rest. The default
  // filters get_all_trials; implementations override it to read less.
  virtual std::vector<FrozenTrial> get_trials_from(int64_t study_id, int64_t first_number) {
    std::vector<FrozenTrial> all = get_all_trials(study_id);
    std::vector<FrozenTrial> out;
    for (auto& t : all)
      if (t.number >= first_number) out.push_back(std::move(t));
    return out;
  }
};

enum class StorageAccess {
  ReadWrite,  // create the database (and its schema) when missing
  ReadOnly,   // only read: a missing database is an Error saying so; nothing is created or written
};

// Opens (creating if needed) the storage a URL names; an unknown scheme or unusable path is an
// Error that names the URL and the schemes accepted. URLs:
//   memory
//   sqlite:///relative/path.db, sqlite:////absolute/path.db
//   postgresql://user[:password]@host[:port]/database[?schema=NAME&retry_seconds=S&...]
//     (also postgres://). The password may instead come from PGPASSWORD or ~/.pgpass. schema
//     keeps nntune's tables in a schema of their own; retry_seconds (default 60) is how long a
//     worker that lost its connection keeps reconnecting; other parameters go to libpq.
// A database written by an older nntune is refused until `nntune storage upgrade` migrates it.
// With StorageAccess::ReadOnly (the commands that only read: studies, trials, best, report) an
// SQLite file is opened read-only (so a read-only file or directory can be read) and a missing
// one is an Error that names it; PostgreSQL reads in read-only transactions.
// A PostgreSQL server that cannot be reached is retried for retry_seconds; the first retry says
// so on standard error (set_storage_notice changes where such notices go).
std::shared_ptr<Storage> open_storage(const std::string& url, StorageAccess access = StorageAccess::ReadWrite);

// Where storages send notices for people (a retry starting): standard error by default; an
// empty function silences them. Process-wide; set it before opening storages.
void set_storage_notice(std::function<void(const std::string&)> notice);

// The study named `name`, or an Error naming the storage's studies ("no study named 'x' in URL
// (studies there: a, b)"). `when_empty` says what to do when the storage holds no study at all;
// `when_others`, if given, is added after the list of names.
StudySummary require_study(Storage& storage, const std::string& name, const std::string& when_empty,
                           const std::string& when_others = "");

// The password a storage URL carries (in the authority or as password=), as libpq reads it;
// empty when none. Lets a caller keep it out of anything it stores.
std::string storage_url_password(const std::string& url);

// The URL with any password replaced by *** (what messages and logs show). The password is
// found by libpq's own parser (PQconninfoParse: URLs and key=value strings alike) and, for a
// URL libpq cannot read, by taking everything between the user name and the last '@'.
std::string redact_storage_url(const std::string& url);

struct StorageUpgrade {
  int from_version = 0;
  int to_version = 0;  // equal to from_version when nothing needed doing
};
// Migrates an SQL storage (SQLite or PostgreSQL) to the schema version this nntune reads, in one
// transaction; a fresh database is created at that version. Memory storage needs no upgrade.
StorageUpgrade upgrade_storage(const std::string& url);

}  // namespace nntune::tune
