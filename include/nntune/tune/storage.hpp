#pragma once
// Storage is the single source of truth of a study (Optuna's storages/_base.py): studies,
// trials, parameters, intermediate values, states. Samplers and pruners read the history from
// it, so resuming, several processes and (later) several machines come for free.
// Every method is atomic; implementations are safe to call from several threads.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nntune/tune/trial.hpp"

namespace nntune::tune {

struct StudySummary {
  int64_t id = -1;
  std::string name;
  Direction direction = Direction::Minimize;
  nlohmann::json system_attrs = nlohmann::json::object();  // search space, sampler, budget...
  nlohmann::json user_attrs = nlohmann::json::object();
  int64_t n_trials = 0;
  double created = 0.0;  // unix seconds
};

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
  virtual void record_heartbeat(int64_t trial_id) = 0;
  // Fails every Running trial whose heartbeat is older than grace_seconds; returns them.
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

// Opens (creating if needed) the storage a URL names; an unknown scheme or unusable path is an
// Error that names the URL and the schemes accepted. URLs:
//   memory
//   sqlite:///relative/path.db, sqlite:////absolute/path.db
//   postgresql://user[:password]@host[:port]/database[?schema=NAME&retry_seconds=S&...]
//     (also postgres://). The password may instead come from PGPASSWORD or ~/.pgpass. schema
//     keeps nntune's tables in a schema of their own; retry_seconds (default 60) is how long a
//     worker that lost its connection keeps reconnecting; other parameters go to libpq.
// A database written by an older nntune is refused until `nntune storage upgrade` migrates it.
std::shared_ptr<Storage> open_storage(const std::string& url);

// The URL with any password replaced by *** (what messages and logs show).
std::string redact_storage_url(const std::string& url);

struct StorageUpgrade {
  int from_version = 0;
  int to_version = 0;  // equal to from_version when nothing needed doing
};
// Migrates an SQL storage (SQLite or PostgreSQL) to the schema version this nntune reads, in one
// transaction; a fresh database is created at that version. Memory storage needs no upgrade.
StorageUpgrade upgrade_storage(const std::string& url);

}  // namespace nntune::tune
