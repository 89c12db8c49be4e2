#pragma once
// The SQL layer both SQL storages share (SQLite and PostgreSQL): the schema, the statements whose
// text is the same in both, the retry policy, writing a trial's rows and turning rows back into
// FrozenTrial and StudySummary. Each backend keeps only what is its own: SQLite's BEGIN IMMEDIATE
// and busy handling, PostgreSQL's SKIP LOCKED, server clock, JSON-aggregated reads and
// reconnection. Private to src/storage.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "nntune/error.hpp"
#include "nntune/tune/records.hpp"

namespace nntune::tune::sql {

enum class Dialect { Sqlite, Postgres };

// The tables of schema version kSchemaVersion in the dialect's types (storage_internal.hpp).
std::string schema(Dialect dialect);

// Statements are written once with PostgreSQL's numbered placeholders $1, $2, ...; SQLite reads
// the same numbers as ?1, ?2, ... (bound by position, so a number may repeat).
std::string for_dialect(std::string_view sql, Dialect dialect);

// ---- statements both backends run as written ----
inline constexpr const char* kFindStudy = "SELECT id FROM studies WHERE name = $1";
inline constexpr const char* kNextTrialNumber =
    "UPDATE studies SET next_trial_number = next_trial_number + 1 WHERE id = $1 RETURNING next_trial_number - 1";
// The highest trial number of a study (NULL when it has none): next_trial_number must be above it.
inline constexpr const char* kHighestTrialNumber = "SELECT MAX(number) FROM trials WHERE study_id = $1";
inline constexpr const char* kUpsertParam =
    "INSERT INTO trial_params (trial_id, name, internal, distribution_json) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (trial_id, name) DO UPDATE SET internal = EXCLUDED.internal, "
    "distribution_json = EXCLUDED.distribution_json";
inline constexpr const char* kUpsertValue =
    "INSERT INTO trial_values (trial_id, step, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (trial_id, step) DO UPDATE SET value = EXCLUDED.value";
inline constexpr const char* kUpsertTrialAttr =
    "INSERT INTO trial_attrs (trial_id, kind, key, value_json) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (trial_id, kind, key) DO UPDATE SET value_json = EXCLUDED.value_json";
// Running -> finished; the row count says whether this call changed it.
inline constexpr const char* kFinishTrial =
    "UPDATE trials SET state = $1, value = $2, error = $3, end_time = $4 WHERE id = $5 AND state = $6";
inline constexpr const char* kFailTrial = "UPDATE trials SET state = $1, error = $2, end_time = $3 WHERE id = $4";
// The columns every trial read starts with (TrialRows::add_trial takes them in this order).
inline constexpr const char* kTrialColumns = "t.id, t.number, t.state, t.value, t.error, t.start_time, t.end_time";

// ---- running statements ----

// A bound value: NULL, an integer, a real (NaN binds as NULL) or text.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
inline Value optional_real(std::optional<double> v) { return v ? Value(*v) : Value(nullptr); }

// What the shared row writers need of a backend: run one statement (inside the caller's
// transaction) and say how many rows it changed.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual int64_t run(const char* sql, const std::vector<Value>& params) = 0;
};

// The rows of a trial created from a template, after its trials row: parameters (each needs a
// distribution), intermediate values, user and system attributes.
void insert_trial_rows(Runner& db, const FrozenTrial& trial);
// Marks a failed trial's kind (the "failure" system attribute), in the failing transaction.
void insert_failure_kind(Runner& db, int64_t trial_id, FailureKind kind);

// ---- rows back into records ----

// Builds trials from rows: the trials row first (add_trial), then any of its parameters, values
// and attributes. Distributions and attribute values repeat across trials: each distinct JSON
// text is parsed once per reader.
class TrialRows {
 public:
  FrozenTrial& add_trial(int64_t id, int64_t number, std::string_view state, std::optional<double> value,
                         std::string error, double start_time, double end_time);
  FrozenTrial* find(int64_t trial_id);  // null when no row of that trial was added
  void add_param(FrozenTrial& trial, std::string name, double internal, std::string_view distribution_json);
  static void add_value(FrozenTrial& trial, int64_t step, double value) { trial.intermediate[step] = value; }
  void add_attr(FrozenTrial& trial, std::string_view kind, std::string key, std::string_view value_json);
  bool empty() const { return trials_.empty(); }
  std::vector<FrozenTrial> take() { return std::move(trials_); }

 private:
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<FrozenTrial> trials_;
  std::unordered_map<int64_t, size_t> index_;
  std::unordered_map<std::string, Distribution, TextHash, std::equal_to<>> distributions_;
  std::unordered_map<std::string, nlohmann::json, TextHash, std::equal_to<>> values_;
};

// A study attribute row ("user" or "system") into its summary.
void add_study_attr(StudySummary& study, std::string_view kind, const std::string& key, std::string_view value_json);

// ---- what both report the same way ----

Error no_study(const std::string& url, int64_t study_id);
Error no_trial(const std::string& url, int64_t trial_id);
Error already_finished(int64_t number, const std::string& state, const std::string& action);
// next_trial_number at or below an existing trial's number: a new trial would take that number
// again (a hand-edited or half-restored database). An ErrorKind::StorageInconsistent error.
Error next_number_taken(const std::string& url, int64_t study_id, int64_t next_number, int64_t highest);

// ---- retries ----

// How long and how often a backend retries what may pass (a lock, a lost connection): pauses
// from `first` doubling to `longest`, giving up once the next pause would pass `limit_seconds`.
struct RetryPolicy {
  std::chrono::milliseconds first{100};
  std::chrono::milliseconds longest{5000};
  double limit_seconds = 60.0;
};

class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy);
  // After a failed attempt: false when the policy gives up; else sleeps and returns true.
  bool wait();
  double waited_seconds() const;
  bool first_retry() const { return attempts_ == 0; }

 private:
  RetryPolicy policy_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds pause_;
  int attempts_ = 0;
};

}  // namespace nntune::tune::sql
