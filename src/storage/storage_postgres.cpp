// PostgreSQL storage: many workers on many machines share a study through one server.
// - Correct under concurrency by the server's transactions and row locks, never by a
//   read-modify-write in the client: a new trial's number comes from its study's counter
//   (UPDATE ... RETURNING, which also locks the study row until commit), a waiting trial is
//   claimed with SELECT ... FOR UPDATE SKIP LOCKED, and finishing or failing a trial is an
//   UPDATE conditional on state = 'running' whose row count says who won.
// - Every name and value is a parameter of a prepared statement, never SQL text.
// - A worker that loses its connection (server restart, network) reconnects with back-off
//   (0.1 s doubling to 5 s, for retry_seconds in all, 60 by default) and re-runs the whole
//   transaction. A transaction whose COMMIT went unanswered may or may not have committed; the
//   retry is still safe: create_trial finds its own trial by a creation token, finish_trial
//   accepts the state it set itself, delete_study accepts a study already gone, and the rest are
//   upserts or idempotent updates. Two exceptions, documented: a claim_waiting_trial whose
//   commit was lost claims the next waiting trial (the first stays Running without heartbeats and
//   fail_stale_trials fails it), and fail_stale_trials does not return trials it failed in the
//   lost attempt.
// - Heartbeats and the stale check use the server's clock, so workers on machines with skewed
//   clocks agree on what is stale.
// - The password (from the URL, PGPASSWORD or ~/.pgpass, the last two read by libpq) never
//   appears in a message: url() and every error show postgresql://user:***@host:port/db.
// One connection per storage object, guarded by a mutex: the threads of one process (the trials
// of a Study) share it; each process opens its own.
// The schema, the statements both SQL storages share, row mapping and the retry policy are in
// sql_common.hpp; this file keeps PostgreSQL's own: connections, SKIP LOCKED, the server clock and
// reads that aggregate a trial's rows as JSON.
#include <libpq-fe.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "nntune/error.hpp"
#include "storage/sql_common.hpp"
#include "storage/storage_internal.hpp"

namespace nntune::tune {
namespace {

constexpr double kDefaultRetrySeconds = 60.0;
// Reconnecting: pauses from 0.1 s doubling to 5 s, for the URL's retry_seconds in all.
sql::RetryPolicy reconnect_policy(double retry_seconds) {
  return {std::chrono::milliseconds(100), std::chrono::milliseconds(5000), retry_seconds};
}

// The connection broke (or the server is shutting down / starting up): reconnect and retry.
struct ConnectionLost {
  std::string message;
};
// Serialization failure or deadlock: the server rolled back; retrying is always safe.
struct TransactionConflict {
  std::string message;
};
struct SchemaError : Error {
  using Error::Error;
};

// What open_storage's URL says, split into what libpq gets and what nntune keeps for itself.
struct PostgresUrl {
  std::string conninfo;  // the URL for libpq, without nntune's own parameters
  std::string redacted;  // for every message
  std::string password;  // as written in the URL (to scrub from libpq's messages too)
  std::string schema;    // empty: libpq's default search_path
  double retry_seconds = kDefaultRetrySeconds;
};

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

PostgresUrl parse_url(const std::string& url) {
  PostgresUrl parsed;
  parsed.redacted = redact_storage_url(url);
  parsed.password = storage_url_password(url);
  const size_t authority_start = url.find("://") + 3;
  const size_t query = url.find('?');
  if (url.find('/', authority_start) == std::string::npos || url.find('/', authority_start) > query)
    throw Error("storage URL " + parsed.redacted +
                " names no database: write postgresql://user@host:port/database (the database must exist)");
  parsed.conninfo = url.substr(0, query);
  if (query == std::string::npos) return parsed;
  std::string kept;  // parameters for libpq
  size_t key = query + 1;
  while (key <= url.size()) {
    size_t end = url.find('&', key);
    if (end == std::string::npos) end = url.size();
    const std::string item = url.substr(key, end - key);
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : percent_decode(item.substr(eq + 1));
    if (name == "schema") {
      const bool valid = !value.empty() && value.size() < 64 && !std::isdigit(static_cast<unsigned char>(value[0])) &&
                         value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
      if (!valid)
        throw Error("storage URL " + parsed.redacted + ": schema \"" + value +
                    "\" is not a plain name; use lower-case letters, digits and _ (not first a digit)");
      parsed.schema = value;
    } else if (name == "retry_seconds") {
      char* rest = nullptr;
      parsed.retry_seconds = std::strtod(value.c_str(), &rest);
      if (value.empty() || *rest != '\0' || !(parsed.retry_seconds >= 0))
        throw Error("storage URL " + parsed.redacted + ": retry_seconds=" + value +
                    " is not a number of seconds >= 0 (how long to keep reconnecting; default 60)");
    } else if (name == "password") {
      parsed.password = value;
      kept += (kept.empty() ? "" : "&") + item;
    } else if (!item.empty()) {
      kept += (kept.empty() ? "" : "&") + item;
    }
    key = end + 1;
  }
  if (!kept.empty()) parsed.conninfo += "?" + kept;
  return parsed;
}

// The server's clock in unix seconds (heartbeats, stale checks).
constexpr const char* kServerNow = "extract(epoch from clock_timestamp())::double precision";

// Statement parameters in libpq's text format; nullopt is SQL NULL.
class Params {
 public:
  Params& add(int64_t v) { return add_text(std::to_string(v)); }
  Params& add(int v) { return add(static_cast<int64_t>(v)); }
  Params& add(double v) {
    if (std::isnan(v)) return null();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);  // round-trips exactly; inf/-inf are accepted
    return add_text(buf);
  }
  Params& add(std::optional<double> v) { return v ? add(*v) : null(); }
  Params& add(const std::string& v) { return add_text(v); }
  Params& add(const char* v) { return add_text(v); }
  Params& null() {
    values_.emplace_back();
    return *this;
  }
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }

 private:
  Params& add_text(std::string v) {
    values_.emplace_back(std::move(v));
    return *this;
  }
  std::vector<std::optional<std::string>> values_;
};

// A query result; owns the PGresult.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  ~Result() { PQclear(result_); }
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  PGresult* get() const { return result_; }
  int rows() const { return PQntuples(result_); }
  int64_t affected() const { return std::strtoll(PQcmdTuples(result_), nullptr, 10); }
  bool is_null(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
  std::string_view text_view(int row, int col) const {
    return std::string_view(PQgetvalue(result_, row, col), static_cast<size_t>(PQgetlength(result_, row, col)));
  }
  std::string text(int row, int col) const { return std::string(text_view(row, col)); }
  int64_t integer(int row, int col) const { return std::strtoll(PQgetvalue(result_, row, col), nullptr, 10); }
  double real(int row, int col) const {
    return is_null(row, col) ? std::nan("") : std::strtod(PQgetvalue(result_, row, col), nullptr);
  }
  std::optional<double> optional_real(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return real(row, col);
  }

 private:
  PGresult* result_;
};

class PostgresStorage : public Storage, private sql::Runner {
 public:
  PostgresStorage(const std::string& url, SchemaAction action, int* version_found, StorageAccess access)
      : url_(parse_url(url)), read_only_(access == StorageAccess::ReadOnly) {
    connect_or_throw();
    try {
      // The first process to open a fresh database creates the schema; an advisory lock makes
      // the others wait and then see it.
      transaction(read_only_ ? Access::Read : Access::Write, [&] {
        if (!read_only_) exec("SELECT pg_advisory_xact_lock(7266736574)", Params());
        prepare_schema(action, version_found);
      });
    } catch (const SchemaError&) {
      throw;
    } catch (const Error& e) {
      throw Error("cannot use PostgreSQL storage " + url_.redacted + ": " + e.what());
    }
  }
  ~PostgresStorage() override {
    if (conn_) PQfinish(conn_);
  }

  std::string url() const override { return url_.redacted; }

  int64_t create_study(const std::string& name, Direction direction) override {
    return transaction(Access::Write, [&] {
      Result inserted = exec(
          "INSERT INTO studies (name, direction, created) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id",
          Params().add(name).add(to_string(direction)).add(unix_now()));
      if (inserted.rows() == 0)
        throw Error("a study named \"" + name + "\" already exists in " + url_.redacted +
                    ": open it or choose another name");
      return inserted.integer(0, 0);
    });
  }

  std::optional<int64_t> find_study(const std::string& name) override {
    return autocommit([&]() -> std::optional<int64_t> {
      Result r = exec("SELECT id FROM studies WHERE name = $1", Params().add(name));
      if (r.rows() == 0) return std::nullopt;
      return r.integer(0, 0);
    });
  }

  // One statement each (one snapshot, one round trip): no transaction needed.
  StudySummary get_study(int64_t study_id) override {
    return autocommit([&] {
      auto studies = read_studies(study_id);
      if (studies.empty()) throw sql::no_study(url_.redacted, study_id);
      return studies.front();
    });
  }

  std::vector<StudySummary> list_studies() override {
    return autocommit([&] { return read_studies(std::nullopt); });
  }

  void delete_study(int64_t study_id) override {
    transaction(Access::Write, [&] {
      // Cascades to its trials and their rows.
      Result r = exec("DELETE FROM studies WHERE id = $1", Params().add(study_id));
      if (r.affected() == 0 && !commit_outcome_unknown_) throw sql::no_study(url_.redacted, study_id);
    });
  }

  void set_study_system_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    set_study_attr(study_id, "system", key, value);
  }
  void set_study_user_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    set_study_attr(study_id, "user", key, value);
  }

  FrozenTrial create_trial(int64_t study_id, const FrozenTrial* from) override {
    const std::string token = new_create_token();
    return transaction(Access::Write, [&] {
      if (commit_outcome_unknown_) {  // the lost attempt may have created it
        Result mine = exec("SELECT id FROM trials WHERE create_token = $1", Params().add(token));
        if (mine.rows() == 1) return read_trial(mine.integer(0, 0));
      }
      FrozenTrial trial = detail::new_trial_from_template(from);
      Result next = exec(sql::kNextTrialNumber, Params().add(study_id));
      if (next.rows() == 0) throw sql::no_study(url_.redacted, study_id);
      trial.number = next.integer(0, 0);
      Result inserted = exec(std::string("INSERT INTO trials (study_id, number, state, value, error, start_time, "
                                         "end_time, heartbeat, create_token) VALUES ($1, $2, $3, $4, $5, $6, $7, ") +
                                 kServerNow + ", $8) ON CONFLICT (study_id, number) DO NOTHING RETURNING id",
                             Params()
                                 .add(study_id)
                                 .add(trial.number)
                                 .add(to_string(trial.state))
                                 .add(trial.value)
                                 .add(trial.error)
                                 .add(trial.start_time)
                                 .add(trial.end_time)
                                 .add(token));
      if (inserted.rows() == 0) {  // the number is taken: next_trial_number was set back by hand
        Result highest = exec(sql::kHighestTrialNumber, Params().add(study_id));
        throw sql::next_number_taken(url_.redacted, study_id, trial.number, highest.integer(0, 0));
      }
      trial.id = inserted.integer(0, 0);
      sql::insert_trial_rows(*this, trial);
      return trial;
    });
  }

  std::optional<FrozenTrial> claim_waiting_trial(int64_t study_id) override {
    // One statement claims (atomic on its own); reading the claimed trial back needs no lock.
    const std::optional<int64_t> claimed = autocommit([&]() -> std::optional<int64_t> {
      // SKIP LOCKED: concurrent claimers each take a different trial without waiting. Under
      // READ COMMITTED a trial claimed by another worker just before the lock drops out of
      // LIMIT 1 and leaves no row although others wait: then look again (a few times).
      // The claim and the two checks in one statement (one round trip): the checks see the
      // snapshot before the claim, and are read only when nothing was claimed.
      for (int attempt = 0; attempt < 5; ++attempt) {
        Result claim = exec(std::string("WITH claimed AS (UPDATE trials SET state = $1, start_time = $2, heartbeat = ") +
                                kServerNow +
                                " WHERE id = (SELECT id FROM trials WHERE study_id = $3 AND state = $4 "
                                "ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id) "
                                "SELECT (SELECT id FROM claimed), EXISTS (SELECT 1 FROM studies WHERE id = $3), "
                                "EXISTS (SELECT 1 FROM trials WHERE study_id = $3 AND state = $4)",
                            Params()
                                .add(to_string(TrialState::Running))
                                .add(unix_now())
                                .add(study_id)
                                .add(to_string(TrialState::Waiting)));
        if (!claim.is_null(0, 0)) return claim.integer(0, 0);
        if (claim.text_view(0, 1) != "t") throw sql::no_study(url_.redacted, study_id);
        if (claim.text_view(0, 2) != "t") break;
      }
      return std::nullopt;
    });
    if (!claimed) return std::nullopt;
    return autocommit([&] { return read_trial(*claimed); });
  }

  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& distribution) override {
    // One statement: the row goes in only while the trial is unfinished.
    autocommit([&] {
      Result r = exec(
          "INSERT INTO trial_params (trial_id, name, internal, distribution_json) "
          "SELECT id, $2, $3, $4 FROM trials WHERE id = $1 AND state IN ($5, $6) "
          "ON CONFLICT (trial_id, name) DO UPDATE SET internal = EXCLUDED.internal, "
          "distribution_json = EXCLUDED.distribution_json",
          Params()
              .add(trial_id)
              .add(name)
              .add(internal)
              .add(distribution.to_json().dump())
              .add(to_string(TrialState::Running))
              .add(to_string(TrialState::Waiting)));
      if (r.affected() == 0) throw_finished_or_missing(trial_id, "set parameter \"" + name + "\" of");
    });
  }

  void set_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    autocommit([&] {
      Result r = exec(
          "INSERT INTO trial_values (trial_id, step, value) SELECT id, $2, $3 FROM trials "
          "WHERE id = $1 AND state IN ($4, $5) ON CONFLICT (trial_id, step) DO UPDATE SET value = EXCLUDED.value",
          Params()
              .add(trial_id)
              .add(step)
              .add(value)
              .add(to_string(TrialState::Running))
              .add(to_string(TrialState::Waiting)));
      if (r.affected() == 0) throw_finished_or_missing(trial_id, "report step " + std::to_string(step) + " of");
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
    // One conditional statement: of two workers finishing (or failing) the trial, one wins.
    return autocommit([&] {
      Result r = exec(sql::kFinishTrial,
                      Params()
                          .add(to_string(state))
                          .add(value)
                          .add(error)
                          .add(unix_now())
                          .add(trial_id)
                          .add(to_string(TrialState::Running)));
      if (r.affected() == 1) return true;
      Result current = exec("SELECT state, error FROM trials WHERE id = $1", Params().add(trial_id));
      if (current.rows() == 0) throw sql::no_trial(url_.redacted, trial_id);
      // A retry after a lost answer finds the state it set itself: that was this call's doing.
      return commit_outcome_unknown_ && current.text(0, 0) == to_string(state) && current.text(0, 1) == error;
    });
  }

  bool fail_trial(int64_t trial_id, FailureKind kind, const std::string& error,
                  std::optional<double> value) override {
    // The state and its kind in one transaction: a reader never sees a failure without its kind.
    return transaction(Access::Write, [&] {
      Result r = exec(sql::kFinishTrial, Params()
                                             .add(to_string(TrialState::Failed))
                                             .add(value)
                                             .add(error)
                                             .add(unix_now())
                                             .add(trial_id)
                                             .add(to_string(TrialState::Running)));
      if (r.affected() == 1) {
        sql::insert_failure_kind(*this, trial_id, kind);
        return true;
      }
      Result current = exec("SELECT state, error FROM trials WHERE id = $1", Params().add(trial_id));
      if (current.rows() == 0) throw sql::no_trial(url_.redacted, trial_id);
      // A retry after a lost COMMIT finds the failure it wrote itself.
      return commit_outcome_unknown_ && current.text(0, 0) == to_string(TrialState::Failed) &&
             current.text(0, 1) == error;
    });
  }

  void record_heartbeat(int64_t trial_id) override {
    autocommit([&] {
      exec(std::string("UPDATE trials SET heartbeat = ") + kServerNow + " WHERE id = $1", Params().add(trial_id));
    });
  }

  std::vector<FrozenTrial> fail_stale_trials(int64_t study_id, double grace_seconds) override {
    return transaction(Access::Write, [&] {
      // SKIP LOCKED: a trial that its worker is finishing right now is not stale.
      Result stale = exec(std::string("SELECT id, ") + kServerNow +
                              " - heartbeat FROM trials WHERE study_id = $1 AND state = $2 AND heartbeat < " +
                              kServerNow + " - $3 FOR UPDATE SKIP LOCKED",
                          Params().add(study_id).add(to_string(TrialState::Running)).add(grace_seconds));
      std::vector<FrozenTrial> failed;
      const double now = unix_now();
      for (int row = 0; row < stale.rows(); ++row) {
        const int64_t trial_id = stale.integer(row, 0);
        exec(sql::kFailTrial, Params()
                                  .add(to_string(TrialState::Failed))
                                  .add(detail::stale_message(stale.real(row, 1)))
                                  .add(now)
                                  .add(trial_id));
        sql::insert_failure_kind(*this, trial_id, FailureKind::StaleHeartbeat);
        failed.push_back(read_trial(trial_id));
      }
      return failed;
    });
  }

  FrozenTrial get_trial(int64_t trial_id) override {
    return autocommit([&] { return read_trial(trial_id); });
  }

  std::vector<FrozenTrial> get_all_trials(int64_t study_id) override { return get_trials_from(study_id, 0); }

  std::vector<FrozenTrial> get_trials_from(int64_t study_id, int64_t first_number) override {
    return autocommit([&] { return read_trials(study_id, first_number); });
  }

 private:
  enum class Access { Read, Write };

  // ---- connection, statements, retries ----

  // Replaces the URL's password in a libpq message (libpq does not print it, but be sure).
  std::string scrub(std::string message) const {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    for (const std::string& secret : {url_.password, percent_decode(url_.password)}) {
      if (secret.size() < 3) continue;  // too short to scrub without mangling the message
      for (size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at))
        message.replace(at, secret.size(), "***");
    }
    return message;
  }

  // Connects; a failure is ConnectionLost (the caller decides whether to retry).
  void connect() {
    if (conn_) PQfinish(conn_);
    prepared_.clear();
    conn_ = PQconnectdb(url_.conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = scrub(PQerrorMessage(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      throw ConnectionLost{message};
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // no NOTICE chatter on stderr
    if (!url_.schema.empty()) {
      // (The name was checked to be a plain identifier.) Two processes creating it at once:
      // the loser gets a unique violation and finds it there.
      const std::string create = "CREATE SCHEMA IF NOT EXISTS \"" + url_.schema + "\"";
      Result created(PQexec(conn_, create.c_str()));
      const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
      if (!state || (std::string(state) != "23505" && std::string(state) != "42P06")) check_result(created, create);
      exec_plain(("SET search_path TO \"" + url_.schema + "\"").c_str());
    }
  }

  // The first connection. A server that refuses connections or is starting up / shutting down
  // (a restart) is waited for like a lost connection; anything else (a wrong password, no such
  // database) is reported at once.
  void connect_or_throw() {
    sql::Backoff backoff(reconnect_policy(url_.retry_seconds));
    for (;;) {
      try {
        connect();
        return;
      } catch (const ConnectionLost& lost) {
        const bool transient = lost.message.find("Connection refused") != std::string::npos ||
                               lost.message.find("starting up") != std::string::npos ||
                               lost.message.find("shutting down") != std::string::npos ||
                               lost.message.find("closed the connection unexpectedly") != std::string::npos ||
                               lost.message.find("terminating connection") != std::string::npos;
        const bool first = backoff.first_retry();
        if (transient && first && url_.retry_seconds > 0) announce_retry("cannot connect", lost.message);
        if (!transient || !backoff.wait())
          throw Error("cannot connect to PostgreSQL storage " + url_.redacted + ": " + lost.message +
                          " (check host, port, user and database; the password comes from the URL, PGPASSWORD or "
                          "~/.pgpass; the database must exist: createdb NAME)",
                      transient ? ErrorKind::StorageUnavailable : ErrorKind::Other);
      }
    }
  }

  Result exec(const std::string& sql, const Params& params) {
    auto found = prepared_.find(sql);
    if (found == prepared_.end()) {
      const std::string name = "nntune_" + std::to_string(prepared_.size());
      Result prepared(PQprepare(conn_, name.c_str(), sql.c_str(), params.size(), nullptr));
      check_result(prepared, sql);
      found = prepared_.emplace(sql, name).first;
    }
    const std::vector<const char*> values = params.pointers();
    Result result(PQexecPrepared(conn_, found->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0));
    check_result(result, sql);
    return result;
  }

  void exec_plain(const char* sql) {
    Result result(PQexec(conn_, sql));
    check_result(result, sql);
  }

  void check_result(const Result& result, const std::string& sql);

  // Runs `body` in one transaction (Read: a consistent snapshot), retrying it after a lost
  // connection or a conflict the server resolved by rolling back.
  template <typename Body>
  std::invoke_result_t<Body&> transaction(Access access, Body&& body) {
    return with_retry(true, [&]() -> std::invoke_result_t<Body&> {
      exec_plain(access == Access::Read ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
      try {
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          commit();
        } else {
          auto result = body();
          commit();
          return result;
        }
      } catch (const ConnectionLost&) {
        throw;
      } catch (...) {
        if (conn_ && PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
        throw;
      }
    });
  }

  // One statement (or a few, each atomic alone), committed on its own; re-run after a lost
  // connection, with commit_outcome_unknown_ set (the statement may have been applied).
  template <typename Body>
  std::invoke_result_t<Body&> autocommit(Body&& body) {
    return with_retry(false, body);
  }

  void commit() {
    committing_ = true;
    exec_plain("COMMIT");
    committing_ = false;
  }

  // Says once, on standard error (set_storage_notice), that and how long the server is retried.
  void announce_retry(const std::string& what, const std::string& message) const {
    detail::notice("PostgreSQL storage " + url_.redacted + ": " + what + " (" + message + "); retrying for up to " +
                   std::to_string(std::lround(url_.retry_seconds)) +
                   " s (change it with ?retry_seconds=N in the storage URL)");
  }

  template <typename Body>
  std::invoke_result_t<Body&> with_retry(bool transactional, Body&& body) {
    std::lock_guard lock(mutex_);
    sql::Backoff backoff(reconnect_policy(url_.retry_seconds));
    bool announced = false;
    commit_outcome_unknown_ = false;
    for (;;) {
      std::string failure;
      try {
        if (!conn_) connect();
        committing_ = false;
        return body();
      } catch (const ConnectionLost& lost) {
        // A COMMIT (or a lone statement) that got no answer may have been applied.
        if (committing_ || !transactional) commit_outcome_unknown_ = true;
        committing_ = false;
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        prepared_.clear();
        failure = "lost the connection: " + lost.message;
        if (!announced && url_.retry_seconds > 0) announce_retry("lost the connection", lost.message);
        announced = true;
      } catch (const TransactionConflict& conflict) {
        failure = conflict.message;
      }
      if (!backoff.wait())
        throw Error("PostgreSQL storage " + url_.redacted + ": " + failure + " (still failing after " +
                        std::to_string(static_cast<int>(std::lround(backoff.waited_seconds()))) +
                        " s of retries: check that the server runs and is reachable; wait longer with "
                        "?retry_seconds=N in the storage URL)",
                    ErrorKind::StorageUnavailable);
    }
  }

  // 128 random bits from the OS each time (a generator seeded once would repeat its tokens in
  // processes forked from one parent).
  static std::string new_create_token() {
    std::random_device random;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", random(), random(), random(), random());
    return buf;
  }

  // ---- schema ----

  void prepare_schema(SchemaAction action, int* version_found) {
    auto has_table = [&](const char* name) {
      Result r = exec("SELECT to_regclass($1) IS NOT NULL", Params().add(name));
      return r.text(0, 0) == "t";
    };
    int version = 0;
    if (has_table("nntune_schema")) {
      Result r = exec("SELECT version FROM nntune_schema", Params());
      if (r.rows() == 0) throw SchemaError("PostgreSQL storage " + url_.redacted + ": table nntune_schema is empty");
      version = static_cast<int>(r.integer(0, 0));
    } else if (has_table("studies") || has_table("trials")) {
      throw SchemaError("PostgreSQL storage " + url_.redacted +
                        " holds tables named studies/trials that nntune did not create (no nntune_schema; another "
                        "program's, e.g. Optuna's?): use a database of its own or add ?schema=nntune to the URL");
    }
    if (version_found) *version_found = version == 0 ? kSchemaVersion : version;
    if (version == 0) {
      if (read_only_)
        throw SchemaError("PostgreSQL storage " + url_.redacted +
                          " holds no nntune study (no nntune tables there): check the database and ?schema=");
      exec_plain(sql::schema(sql::Dialect::Postgres).c_str());
      exec("INSERT INTO nntune_schema (version) VALUES ($1)", Params().add(kSchemaVersion));
      return;
    }
    if (version > kSchemaVersion) throw SchemaError(detail::newer_schema_message(url_.redacted, version));
    if (version == kSchemaVersion) return;
    // PostgreSQL storage began at version 2: nothing older was ever written.
    throw SchemaError(action == SchemaAction::Upgrade
                          ? "PostgreSQL storage " + url_.redacted + " has schema version " + std::to_string(version) +
                                ", which no nntune wrote; use a database of its own"
                          : detail::older_schema_message(url_.redacted, version));
  }

  // ---- rows ----

  [[noreturn]] void throw_finished_or_missing(int64_t trial_id, const std::string& action) {
    Result r = exec("SELECT state, number FROM trials WHERE id = $1", Params().add(trial_id));
    if (r.rows() == 0) throw sql::no_trial(url_.redacted, trial_id);
    throw sql::already_finished(r.integer(0, 1), r.text(0, 0), action);
  }

  void set_study_attr(int64_t study_id, const std::string& kind, const std::string& key, const nlohmann::json& value) {
    autocommit([&] {
      Result r = exec(
          "INSERT INTO study_attrs (study_id, kind, key, value_json) SELECT id, $2, $3, $4 FROM studies WHERE id = $1 "
          "ON CONFLICT (study_id, kind, key) DO UPDATE SET value_json = EXCLUDED.value_json",
          Params().add(study_id).add(kind).add(key).add(value.dump()));
      if (r.affected() == 0) throw sql::no_study(url_.redacted, study_id);
    });
  }
  void set_trial_attr(int64_t trial_id, const std::string& kind, const std::string& key, const nlohmann::json& value) {
    autocommit([&] {
      Result r = exec(
          "INSERT INTO trial_attrs (trial_id, kind, key, value_json) SELECT id, $2, $3, $4 FROM trials WHERE id = $1 "
          "ON CONFLICT (trial_id, kind, key) DO UPDATE SET value_json = EXCLUDED.value_json",
          Params().add(trial_id).add(kind).add(key).add(value.dump()));
      if (r.affected() == 0) throw sql::no_trial(url_.redacted, trial_id);
    });
  }
  // sql::Runner: one statement of the shared layer, inside the caller's transaction.
  int64_t run(const char* sql_text, const std::vector<sql::Value>& values) override {
    Params params;
    for (const sql::Value& v : values)
      std::visit(
          [&](const auto& x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::nullptr_t>)
              params.null();
            else
              params.add(x);
          },
          v);
    return exec(sql_text, params).affected();
  }

  std::vector<StudySummary> read_studies(std::optional<int64_t> only) {
    Params params;
    if (only) params.add(*only);
    // The attributes come as a JSON array per study: one statement, one snapshot.
    Result s = exec(std::string("SELECT s.id, s.name, s.direction, s.created, "
                                "(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id), "
                                "(SELECT json_agg(json_build_array(a.kind, a.key, a.value_json)) FROM study_attrs a "
                                "WHERE a.study_id = s.id) FROM studies s") +
                        (only ? " WHERE s.id = $1" : "") + " ORDER BY s.id",
                    params);
    std::vector<StudySummary> out;
    std::unordered_map<int64_t, size_t> index;
    for (int row = 0; row < s.rows(); ++row) {
      StudySummary summary;
      summary.id = s.integer(row, 0);
      summary.name = s.text(row, 1);
      summary.direction = direction_from_string(s.text(row, 2));
      summary.created = s.real(row, 3);
      summary.n_trials = s.integer(row, 4);
      if (!s.is_null(row, 5))
        for (const auto& attr : nlohmann::json::parse(s.text_view(row, 5)))
          sql::add_study_attr(summary, attr[0].get_ref<const std::string&>(), attr[1].get<std::string>(),
                              attr[2].get_ref<const std::string&>());
      out.push_back(std::move(summary));
    }
    return out;
  }

  // Trials in one statement (one round trip, one snapshot): the shared trial columns, then each
  // trial's rows from the other tables as JSON arrays, numbers as text so that NaN and infinities
  // survive.
  static std::string trial_columns() {
    return std::string(sql::kTrialColumns) +
           ", (SELECT json_agg(json_build_array(p.name, p.internal::text, p.distribution_json)) FROM trial_params p "
           "WHERE p.trial_id = t.id), "
           "(SELECT json_agg(json_build_array(v.step, v.value::text)) FROM trial_values v WHERE v.trial_id = t.id), "
           "(SELECT json_agg(json_build_array(a.kind, a.key, a.value_json)) FROM trial_attrs a WHERE a.trial_id = t.id)";
  }

  // Adds the trial in columns [first, first + 10) of `row` (trial_columns()) to `rows`.
  static void add_trial_row(sql::TrialRows& rows, const Result& r, int row, int first) {
    FrozenTrial& trial = rows.add_trial(r.integer(row, first), r.integer(row, first + 1), r.text_view(row, first + 2),
                                        r.optional_real(row, first + 3), r.text(row, first + 4),
                                        r.real(row, first + 5), r.real(row, first + 6));
    auto number = [](const nlohmann::json& text) {
      return text.is_null() ? std::nan("") : std::strtod(text.get_ref<const std::string&>().c_str(), nullptr);
    };
    if (!r.is_null(row, first + 7))
      for (const auto& p : nlohmann::json::parse(r.text_view(row, first + 7)))
        rows.add_param(trial, p[0].get<std::string>(), number(p[1]), p[2].get_ref<const std::string&>());
    if (!r.is_null(row, first + 8))
      for (const auto& v : nlohmann::json::parse(r.text_view(row, first + 8)))
        sql::TrialRows::add_value(trial, v[0].get<int64_t>(), number(v[1]));
    if (!r.is_null(row, first + 9))
      for (const auto& a : nlohmann::json::parse(r.text_view(row, first + 9)))
        rows.add_attr(trial, a[0].get_ref<const std::string&>(), a[1].get<std::string>(),
                      a[2].get_ref<const std::string&>());
  }

  FrozenTrial read_trial(int64_t trial_id) {
    static const std::string query = "SELECT " + trial_columns() + " FROM trials t WHERE t.id = $1";
    Result r = exec(query, Params().add(trial_id));
    if (r.rows() == 0) throw sql::no_trial(url_.redacted, trial_id);
    sql::TrialRows rows;
    add_trial_row(rows, r, 0, 0);
    return std::move(rows.take().front());
  }

  // The study's trials numbered first_number and up. Joined from the study's row, so that an
  // unknown study (no row) and a study with no such trials (one row of NULLs) differ without a
  // second round trip.
  std::vector<FrozenTrial> read_trials(int64_t study_id, int64_t first_number) {
    static const std::string query = "SELECT t.id IS NULL, " + trial_columns() +
                                     " FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number >= $2 "
                                     "WHERE s.id = $1 ORDER BY t.number";
    Result r = exec(query, Params().add(study_id).add(first_number));
    if (r.rows() == 0) throw sql::no_study(url_.redacted, study_id);
    sql::TrialRows rows;
    for (int row = 0; row < r.rows(); ++row) {
      if (r.text_view(row, 0) == "t") continue;  // the study has no trials from first_number on
      add_trial_row(rows, r, row, 1);
    }
    return rows.take();
  }

  std::mutex mutex_;
  PostgresUrl url_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> prepared statement name
  bool committing_ = false;               // a COMMIT is in flight
  bool commit_outcome_unknown_ = false;   // this call is re-running after a COMMIT got no answer
  bool read_only_ = false;                // StorageAccess::ReadOnly: never create the schema
};

// Throws ConnectionLost / TransactionConflict / Error for a failed result.
void PostgresStorage::check_result(const Result& result, const std::string& sql) {
  const ExecStatusType status = PQresultStatus(result.get());  // a null result is PGRES_FATAL_ERROR
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  const char* field = result.get() ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = field ? field : "";
  std::string message = scrub(result.get() ? PQresultErrorMessage(result.get()) : "");
  if (message.empty()) message = scrub(PQerrorMessage(conn_));
  // Class 08: connection exceptions; 57P01-03: the server is shutting down or starting up.
  if (PQstatus(conn_) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03")
    throw ConnectionLost{message};
  if (sqlstate == "40001" || sqlstate == "40P01") throw TransactionConflict{message};  // rolled back: retry
  const std::string statement = sql.size() > 80 ? sql.substr(0, 80) + "..." : sql;
  throw Error("PostgreSQL storage " + url_.redacted + ": " + message + " (in: " + statement + ")");
}

}  // namespace

std::shared_ptr<Storage> make_postgres_storage(const std::string& url, SchemaAction action, int* version_found,
                                               StorageAccess access) {
  return std::make_shared<PostgresStorage>(url, action, version_found, access);
}

}  // namespace nntune::tune
