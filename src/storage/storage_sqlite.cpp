// SQLite storage: the embedded default. Several threads, and several processes on one file,
// share a study safely:
// - WAL journal (readers never block the writer), a 30 s busy timeout, and on top of it a
//   retry loop that re-runs a whole transaction when SQLite still reports the file busy, so
//   workers never fail with "database is locked";
// - every read-modify-write (dense trial numbers, claiming an enqueued trial, finishing a
//   Running trial) runs in BEGIN IMMEDIATE, so it holds the write lock from its first read;
// - every change is one transaction, so a process killed at any moment leaves the last
//   committed state;
// - every name and value is a bound parameter, never SQL text.
// Within one process the connection is shared behind a mutex (SQLite work is short).
// The schema, the statements both SQL storages share, row mapping and the retry policy are in
// sql_common.hpp; this file keeps SQLite's own: the file, WAL, BEGIN IMMEDIATE, busy retries.
// Opened read-only (StorageAccess::ReadOnly), a missing file is an Error and nothing is written.
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "nntune/error.hpp"
#include "storage/sql_common.hpp"
#include "storage/storage_internal.hpp"

namespace nntune::tune {
namespace {

constexpr int kBusyTimeoutMs = 30'000;
// After the busy timeout, keep retrying this long, pausing 5 ms doubling to 0.5 s.
const sql::RetryPolicy kBusyRetry{std::chrono::milliseconds(5), std::chrono::milliseconds(500), 600.0};

// A database of another schema version: reported as is (not as a permissions problem).
struct SchemaError : Error {
  using Error::Error;
};

// SQLite said the file is locked by another connection: the transaction is retried.
struct BusyError {
  std::string message;
};

// Version 1 -> 2: the per-study trial counter (from the trials already there), creation tokens,
// and the version moves from schema_version to nntune_schema.
const char* kMigrateFrom1 = R"sql(
ALTER TABLE studies ADD COLUMN next_trial_number INTEGER NOT NULL DEFAULT 0;
UPDATE studies SET next_trial_number = COALESCE((SELECT MAX(number) + 1 FROM trials WHERE study_id = studies.id), 0);
ALTER TABLE trials ADD COLUMN create_token TEXT;
CREATE UNIQUE INDEX trials_by_create_token ON trials (create_token);
DROP TABLE schema_version;
CREATE TABLE nntune_schema (version INTEGER NOT NULL);
INSERT INTO nntune_schema (version) VALUES (2);
)sql";

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Prepared statements of one connection, kept by their text: preparing (parsing and compiling
// the SQL) every time cost about a tenth of a trial's storage CPU. A statement in use is out of
// the cache, so the same text running nested gets one of its own; it is reset and its bindings
// cleared when given back, so no read stays open between calls.
class StatementCache {
 public:
  explicit StatementCache(sqlite3*& db) : db_(db) {}
  ~StatementCache() { clear(); }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  sqlite3* db() const { return db_; }
  // A cached statement for this text, or nullptr (the caller prepares one).
  sqlite3_stmt* take(const std::string& sql) {
    std::lock_guard lock(mutex_);
    const auto it = idle_.find(sql);
    if (it == idle_.end()) return nullptr;
    sqlite3_stmt* stmt = it->second;
    idle_.erase(it);
    return stmt;
  }
  void give_back(const std::string& sql, sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::lock_guard lock(mutex_);
    if (!idle_.emplace(sql, stmt).second) sqlite3_finalize(stmt);
  }
  // Before the connection closes (a connection with statements left cannot).
  void clear() {
    std::lock_guard lock(mutex_);
    for (auto& entry : idle_) sqlite3_finalize(entry.second);
    idle_.clear();
  }

 private:
  sqlite3*& db_;
  std::mutex mutex_;
  std::unordered_map<std::string, sqlite3_stmt*> idle_;
};

// One prepared statement; bind() takes 1-based positions in order.
class Statement {
 public:
  // `sql` may use the shared statements' $1, $2, ... (read as ?1, ?2, ...).
  Statement(sqlite3* db, std::string_view sql_text, const std::string& url) : db_(db), url_(url) {
    prepare(sql::for_dialect(sql_text, sql::Dialect::Sqlite));
  }
  // The same through the connection's cache of prepared statements.
  Statement(StatementCache& cache, std::string_view sql_text, const std::string& url)
      : db_(cache.db()), cache_(&cache), sql_(sql::for_dialect(sql_text, sql::Dialect::Sqlite)), url_(url) {
    stmt_ = cache.take(sql_);
    if (!stmt_) prepare(sql_);
  }
  ~Statement() {
    if (cache_ && stmt_) cache_->give_back(sql_, stmt_);
    else sqlite3_finalize(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int64_t v) { return check_bind(sqlite3_bind_int64(stmt_, ++position_, v)); }
  Statement& bind(int v) { return bind(static_cast<int64_t>(v)); }
  Statement& bind(double v) {
    if (std::isnan(v)) return check_bind(sqlite3_bind_null(stmt_, ++position_));
    return check_bind(sqlite3_bind_double(stmt_, ++position_, v));
  }
  Statement& bind(const std::string& v) {
    return check_bind(sqlite3_bind_text(stmt_, ++position_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(std::optional<double> v) {
    if (!v) return check_bind(sqlite3_bind_null(stmt_, ++position_));
    return bind(*v);
  }
  Statement& bind(std::nullptr_t) { return check_bind(sqlite3_bind_null(stmt_, ++position_)); }
  Statement& bind(const sql::Value& v) {
    return std::visit([&](const auto& x) -> Statement& { return bind(x); }, v);
  }

  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc, "running a statement");
  }
  void run() {
    while (step()) {
    }
  }

  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  double real(int col) const { return is_null(col) ? std::nan("") : sqlite3_column_double(stmt_, col); }
  std::optional<double> optional_real(int col) const {
    if (is_null(col)) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }
  // Valid until the next step().
  std::string_view text_view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string_view();
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  Statement& check_bind(int rc) {
    if (rc != SQLITE_OK) fail(rc, "binding a value");
    return *this;
  }
  [[noreturn]] void fail(int rc, const std::string& what) const {
    const std::string message = "SQLite storage " + url_ + ": error " + what + ": " + sqlite3_errmsg(db_);
    if (is_busy(rc)) throw BusyError{message};
    throw Error(message);
  }

  void prepare(const std::string& sql) {
    const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(rc, "preparing a statement");
  }

  sqlite3* db_;
  StatementCache* cache_ = nullptr;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  int position_ = 0;
  std::string url_;
};

// A file path as the path of a file: URI (characters with a meaning in URIs percent-encoded).
std::string uri_path(const std::string& path) {
  std::string out;
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

class SqliteStorage : public Storage, private sql::Runner {
 public:
  SqliteStorage(const std::string& path, const std::string& url, SchemaAction action, int* version_found,
                StorageAccess access)
      : path_(path), url_(url), read_only_(access == StorageAccess::ReadOnly) {
    namespace fs = std::filesystem;
    const fs::path parent = fs::absolute(fs::path(path)).parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec))
      throw Error("cannot open SQLite storage " + url + ": directory " + parent.string() +
                  " does not exist; create it or choose another path");
    if (read_only_ && !fs::exists(fs::path(path), ec))
      throw Error("SQLite storage " + url + ": file " + path +
                  " does not exist (a command that only reads never creates one): check the path, or create the "
                  "study first with nntune tune SPEC.yaml --storage " + url);
    const int flags = read_only_ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK && read_only_ && (sqlite3_exec(db_, "PRAGMA schema_version", nullptr, nullptr, nullptr) & 0xff) ==
                                             SQLITE_CANTOPEN) {
      // A WAL file read-only, in a directory where its -shm file cannot be created: no connection
      // has it open (an open one keeps its -shm), and none can write it there, so it is read as
      // an immutable file.
      close_connection();
      rc = sqlite3_open_v2(("file:" + uri_path(path) + "?immutable=1").c_str(), &db_,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
    }
    if (rc != SQLITE_OK) {
      const std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      close_connection();
      throw Error("cannot open SQLite storage " + url + " (file " + path + "): " + reason +
                  (read_only_ ? "; check that the file is readable" : "; check that the directory is writable"));
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      if (!read_only_)
        with_retry([&] {
          exec("PRAGMA journal_mode=WAL");
          exec("PRAGMA synchronous=NORMAL");  // with WAL: consistent after a crash, fewer fsyncs
        });
      with_retry([&] { exec("PRAGMA foreign_keys=ON"); });
      transaction(!read_only_, [&] { prepare_schema(action, version_found); });
    } catch (const SchemaError& e) {
      close_connection();
      throw Error(e.what());
    } catch (const Error& e) {
      close_connection();
      throw Error("cannot use SQLite storage " + url + " (file " + path + "): " + e.what() +
                  (read_only_ ? " (is the file readable?)" : " (is the file and its directory writable?)"));
    }
  }
  ~SqliteStorage() override { close_connection(); }

  std::string url() const override { return url_; }

  int64_t create_study(const std::string& name, Direction direction) override {
    return transaction(true, [&] {
      Statement existing(statements_, sql::kFindStudy, url_);
      if (existing.bind(name).step())
        throw Error("a study named \"" + name + "\" already exists in " + url_ + ": open it or choose another name");
      Statement insert(statements_, "INSERT INTO studies (name, direction, created) VALUES (?, ?, ?)", url_);
      insert.bind(name).bind(to_string(direction)).bind(unix_now()).run();
      return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
    });
  }

  std::optional<int64_t> find_study(const std::string& name) override {
    return transaction(false, [&]() -> std::optional<int64_t> {
      Statement s(statements_, sql::kFindStudy, url_);
      if (s.bind(name).step()) return s.integer(0);
      return std::nullopt;
    });
  }

  StudySummary get_study(int64_t study_id) override {
    return transaction(false, [&] {
      auto studies = read_studies(study_id);
      if (studies.empty()) throw sql::no_study(url_, study_id);
      return studies.front();
    });
  }

  std::vector<StudySummary> list_studies() override {
    return transaction(false, [&] { return read_studies(std::nullopt); });
  }

  void delete_study(int64_t study_id) override {
    transaction(true, [&] {
      require_study(study_id);
      const std::string in_study = "(SELECT id FROM trials WHERE study_id = ?)";
      for (const char* table : {"trial_params", "trial_values", "trial_attrs"}) {
        Statement s(statements_, std::string("DELETE FROM ") + table + " WHERE trial_id IN " + in_study, url_);
        s.bind(study_id).run();
      }
      for (const char* table : {"trials", "study_attrs"}) {
        Statement s(statements_, std::string("DELETE FROM ") + table + " WHERE study_id = ?", url_);
        s.bind(study_id).run();
      }
      Statement s(statements_, "DELETE FROM studies WHERE id = ?", url_);
      s.bind(study_id).run();
    });
  }

  void set_study_system_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    set_study_attr(study_id, "system", key, value);
  }
  void set_study_user_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    set_study_attr(study_id, "user", key, value);
  }

  FrozenTrial create_trial(int64_t study_id, const FrozenTrial* from) override {
    return transaction(true, [&] {
      FrozenTrial trial = detail::new_trial_from_template(from);
      Statement next(statements_, sql::kNextTrialNumber, url_);
      if (!next.bind(study_id).step()) throw sql::no_study(url_, study_id);
      trial.number = next.integer(0);
      next.run();  // finish the UPDATE before the next statement
      // A number already taken (next_trial_number set back by hand) inserts nothing.
      Statement insert(statements_,
                       "INSERT INTO trials (study_id, number, state, value, error, start_time, end_time, heartbeat) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_id, number) DO NOTHING RETURNING id",
                       url_);
      const bool inserted = insert.bind(study_id)
                                .bind(trial.number)
                                .bind(to_string(trial.state))
                                .bind(trial.value)
                                .bind(trial.error)
                                .bind(trial.start_time)
                                .bind(trial.end_time)
                                .bind(unix_now())
                                .step();
      if (!inserted) {
        Statement highest(statements_, sql::kHighestTrialNumber, url_);
        highest.bind(study_id).step();
        throw sql::next_number_taken(url_, study_id, trial.number, highest.integer(0));
      }
      trial.id = insert.integer(0);
      insert.run();
      sql::insert_trial_rows(*this, trial);
      return trial;
    });
  }

  std::optional<FrozenTrial> claim_waiting_trial(int64_t study_id) override {
    return transaction(true, [&]() -> std::optional<FrozenTrial> {
      Statement oldest(statements_, "SELECT id FROM trials WHERE study_id = ? AND state = ? ORDER BY number LIMIT 1", url_);
      if (!oldest.bind(study_id).bind(to_string(TrialState::Waiting)).step()) return std::nullopt;
      const int64_t trial_id = oldest.integer(0);
      const double now = unix_now();
      Statement claim(statements_, "UPDATE trials SET state = ?, start_time = ?, heartbeat = ? WHERE id = ?", url_);
      claim.bind(to_string(TrialState::Running)).bind(now).bind(now).bind(trial_id).run();
      return read_trial(trial_id);
    });
  }

  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& distribution) override {
    transaction(true, [&] {
      require_unfinished(trial_id, "set parameter \"" + name + "\" of");
      run(sql::kUpsertParam, {trial_id, name, internal, distribution.to_json().dump()});
    });
  }

  void set_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    transaction(true, [&] {
      require_unfinished(trial_id, "report step " + std::to_string(step) + " of");
      run(sql::kUpsertValue, {trial_id, step, value});
    });
  }

  void set_trial_user_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) override {
    set_trial_attr(trial_id, "user", key, value);
  }
  void set_trial_system_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) override {
    set_trial_attr(trial_id, "system", key, value);
  }

  bool finish_trial(int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::string& error) override {
    detail::check_finish_state(state);
    return transaction(true, [&] { return finish_running(trial_id, state, value, error); });
  }

  bool fail_trial(int64_t trial_id, FailureKind kind, const std::string& error,
                  std::optional<double> value) override {
    return transaction(true, [&] {
      if (!finish_running(trial_id, TrialState::Failed, value, error)) return false;
      sql::insert_failure_kind(*this, trial_id, kind);
      return true;
    });
  }

  void record_heartbeat(int64_t trial_id) override {
    transaction(true, [&] {
      Statement s(statements_, "UPDATE trials SET heartbeat = ? WHERE id = ?", url_);
      s.bind(unix_now()).bind(trial_id).run();
    });
  }

  std::vector<FrozenTrial> fail_stale_trials(int64_t study_id, double grace_seconds) override {
    return transaction(true, [&] {
      const double now = unix_now();
      Statement stale(statements_, "SELECT id, heartbeat FROM trials WHERE study_id = ? AND state = ? AND heartbeat < ?", url_);
      stale.bind(study_id).bind(to_string(TrialState::Running)).bind(now - grace_seconds);
      std::vector<std::pair<int64_t, double>> found;
      while (stale.step()) found.emplace_back(stale.integer(0), stale.real(1));
      std::vector<FrozenTrial> failed;
      for (const auto& [trial_id, heartbeat] : found) {
        run(sql::kFailTrial, {to_string(TrialState::Failed), detail::stale_message(now - heartbeat), now, trial_id});
        sql::insert_failure_kind(*this, trial_id, FailureKind::StaleHeartbeat);
        failed.push_back(read_trial(trial_id));
      }
      return failed;
    });
  }

  FrozenTrial get_trial(int64_t trial_id) override {
    return transaction(false, [&] { return read_trial(trial_id); });
  }

  std::vector<FrozenTrial> get_all_trials(int64_t study_id) override {
    return transaction(false, [&] {
      require_study(study_id);
      return read_trials("t.study_id = ?", {study_id});
    });
  }

  std::vector<FrozenTrial> get_trials_from(int64_t study_id, int64_t first_number) override {
    return transaction(false, [&] {
      require_study(study_id);
      return read_trials("t.study_id = ? AND t.number >= ?", {study_id, first_number});
    });
  }

 private:
  // sql::Runner: one statement of the shared layer, inside the caller's transaction.
  int64_t run(const char* sql_text, const std::vector<sql::Value>& params) override {
    Statement s(statements_, sql_text, url_);
    for (const sql::Value& v : params) s.bind(v);
    s.run();
    return sqlite3_changes(db_);
  }

  // Inside the opening transaction: creates a fresh database at kSchemaVersion, checks the
  // version of an existing one, or (SchemaAction::Upgrade) migrates it.
  void prepare_schema(SchemaAction action, int* version_found) {
    auto has_table = [&](const char* name) {
      Statement s(statements_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", url_);
      return s.bind(std::string(name)).step();
    };
    int version = 0;
    if (has_table("nntune_schema")) {
      Statement s(statements_, "SELECT version FROM nntune_schema", url_);
      if (!s.step()) throw SchemaError("SQLite storage " + url_ + ": table nntune_schema is empty; the file is damaged");
      version = static_cast<int>(s.integer(0));
    } else if (has_table("schema_version")) {
      version = 1;  // nntune 0.1 kept its version there
    } else if (has_table("studies") || has_table("trials")) {
      throw SchemaError("SQLite storage " + url_ + " holds tables that nntune did not create (no nntune_schema): "
                        "give a new file name");
    }
    if (version_found) *version_found = version == 0 ? kSchemaVersion : version;
    if (version == 0) {
      if (read_only_)
        throw SchemaError("SQLite storage " + url_ + ": file " + path_ +
                          " holds no nntune study (it has no nntune tables): check the path");
      exec(sql::schema(sql::Dialect::Sqlite));
      Statement insert(statements_, "INSERT INTO nntune_schema (version) VALUES (?)", url_);
      insert.bind(kSchemaVersion).run();
      return;
    }
    if (version > kSchemaVersion) throw SchemaError(detail::newer_schema_message(url_, version));
    if (version == kSchemaVersion) return;
    if (action != SchemaAction::Upgrade) throw SchemaError(detail::older_schema_message(url_, version));
    if (version == 1) exec(kMigrateFrom1);
  }

  // Runs `body` as one transaction (BEGIN IMMEDIATE when it writes), re-running it while the
  // file stays busy beyond the busy timeout.
  template <typename Body>
  std::invoke_result_t<Body&> transaction(bool write, Body&& body) {
    std::lock_guard lock(mutex_);
    return with_retry([&]() -> std::invoke_result_t<Body&> {
      Statement(statements_, write ? "BEGIN IMMEDIATE" : "BEGIN", url_).run();
      try {
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          Statement(statements_, "COMMIT", url_).run();
        } else {
          auto result = body();
          Statement(statements_, "COMMIT", url_).run();
          return result;
        }
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // no-op if none is open
        throw;
      }
    });
  }

  template <typename Body>
  std::invoke_result_t<Body&> with_retry(Body&& body) {
    sql::Backoff backoff(kBusyRetry);
    for (;;) {
      try {
        return body();
      } catch (const BusyError& busy) {
        if (!backoff.wait())
          throw Error(busy.message + " (still locked after " + std::to_string(static_cast<int>(backoff.waited_seconds())) +
                          " s of retries: another process holds the database; stop it or use another file)",
                      ErrorKind::StorageUnavailable);
      }
    }
  }

  // Cached statements first: a connection with statements left open cannot close.
  void close_connection() {
    statements_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
  }

  void exec(const std::string& sql_text) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql_text.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return;
    const std::string text = "SQLite storage " + url_ + ": " + (message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    if (is_busy(rc)) throw BusyError{text};
    throw Error(text);
  }

  void require_study(int64_t study_id) {
    Statement s(statements_, "SELECT 1 FROM studies WHERE id = ?", url_);
    if (!s.bind(study_id).step()) throw sql::no_study(url_, study_id);
  }
  TrialState require_trial(int64_t trial_id) {
    Statement s(statements_, "SELECT state FROM trials WHERE id = ?", url_);
    if (!s.bind(trial_id).step()) throw sql::no_trial(url_, trial_id);
    return trial_state_from_string(s.text(0));
  }
  void require_unfinished(int64_t trial_id, const std::string& action) {
    const TrialState state = require_trial(trial_id);
    if (is_finished(state)) {
      Statement s(statements_, "SELECT number FROM trials WHERE id = ?", url_);
      s.bind(trial_id).step();
      throw sql::already_finished(s.integer(0), to_string(state), action);
    }
  }
  // Running -> `state`; false (and no change) when it is not Running.
  bool finish_running(int64_t trial_id, TrialState state, std::optional<double> value, const std::string& error) {
    const int64_t changed = run(sql::kFinishTrial, {to_string(state), sql::optional_real(value), error, unix_now(),
                                                    trial_id, to_string(TrialState::Running)});
    if (changed == 1) return true;
    require_trial(trial_id);  // a missing trial is an error, a finished one only false
    return false;
  }

  void set_study_attr(int64_t study_id, const std::string& kind, const std::string& key, const nlohmann::json& value) {
    transaction(true, [&] {
      require_study(study_id);
      Statement s(statements_, "INSERT OR REPLACE INTO study_attrs (study_id, kind, key, value_json) VALUES (?, ?, ?, ?)", url_);
      s.bind(study_id).bind(kind).bind(key).bind(value.dump()).run();
    });
  }
  void set_trial_attr(int64_t trial_id, const std::string& kind, const std::string& key, const nlohmann::json& value) {
    transaction(true, [&] {
      require_trial(trial_id);
      run(sql::kUpsertTrialAttr, {trial_id, kind, key, value.dump()});
    });
  }

  std::vector<StudySummary> read_studies(std::optional<int64_t> only) {
    const std::string where = only ? " WHERE s.id = ?" : "";
    Statement s(statements_,
                "SELECT s.id, s.name, s.direction, s.created, (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id) "
                "FROM studies s" + where + " ORDER BY s.id",
                url_);
    if (only) s.bind(*only);
    std::vector<StudySummary> out;
    std::unordered_map<int64_t, size_t> index;
    while (s.step()) {
      StudySummary summary;
      summary.id = s.integer(0);
      summary.name = s.text(1);
      summary.direction = direction_from_string(s.text(2));
      summary.created = s.real(3);
      summary.n_trials = s.integer(4);
      index[summary.id] = out.size();
      out.push_back(std::move(summary));
    }
    Statement attrs(statements_, std::string("SELECT study_id, kind, key, value_json FROM study_attrs") +
                             (only ? " WHERE study_id = ?" : ""), url_);
    if (only) attrs.bind(*only);
    while (attrs.step()) {
      auto found = index.find(attrs.integer(0));
      if (found == index.end()) continue;
      sql::add_study_attr(out[found->second], attrs.text_view(1), attrs.text(2), attrs.text_view(3));
    }
    return out;
  }

  FrozenTrial read_trial(int64_t trial_id) {
    auto trials = read_trials("t.id = ?", {trial_id});
    if (trials.empty()) throw sql::no_trial(url_, trial_id);
    return std::move(trials.front());
  }

  // The trials matching `condition` (on trials t, with `keys` bound in order), one query per table.
  std::vector<FrozenTrial> read_trials(const std::string& condition, const std::vector<int64_t>& keys) {
    auto bind_keys = [&](Statement& s) {
      for (int64_t key : keys) s.bind(key);
    };
    sql::TrialRows rows;
    {
      Statement s(statements_, std::string("SELECT ") + sql::kTrialColumns + " FROM trials t WHERE " + condition +
                           " ORDER BY t.number", url_);
      bind_keys(s);
      while (s.step())
        rows.add_trial(s.integer(0), s.integer(1), s.text_view(2), s.optional_real(3), s.text(4), s.real(5), s.real(6));
    }
    if (rows.empty()) return {};
    {
      Statement s(statements_,
                  "SELECT p.trial_id, p.name, p.internal, p.distribution_json FROM trial_params p "
                  "JOIN trials t ON t.id = p.trial_id WHERE " + condition,
                  url_);
      bind_keys(s);
      while (s.step()) rows.add_param(*rows.find(s.integer(0)), s.text(1), s.real(2), s.text_view(3));
    }
    {
      Statement s(statements_,
                  "SELECT v.trial_id, v.step, v.value FROM trial_values v JOIN trials t ON t.id = v.trial_id WHERE " +
                      condition,
                  url_);
      bind_keys(s);
      while (s.step()) sql::TrialRows::add_value(*rows.find(s.integer(0)), s.integer(1), s.real(2));
    }
    {
      Statement s(statements_,
                  "SELECT a.trial_id, a.kind, a.key, a.value_json FROM trial_attrs a JOIN trials t ON t.id = a.trial_id "
                  "WHERE " + condition,
                  url_);
      bind_keys(s);
      while (s.step()) rows.add_attr(*rows.find(s.integer(0)), s.text_view(1), s.text(2), s.text_view(3));
    }
    return rows.take();
  }

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  StatementCache statements_{db_};
  std::string path_;
  std::string url_;
  bool read_only_ = false;
};

}  // namespace

std::shared_ptr<Storage> make_sqlite_storage(const std::string& path, const std::string& url, SchemaAction action,
                                             int* version_found, StorageAccess access) {
  return std::make_shared<SqliteStorage>(path, url, action, version_found, access);
}

}  // namespace nntune::tune
