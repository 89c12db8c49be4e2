// The SQL both storages share (sql_common.hpp).
#include "storage/sql_common.hpp"

#include <cctype>
#include <thread>

#include "storage/storage_internal.hpp"

namespace nntune::tune::sql {
namespace {

// The current schema (version kSchemaVersion), with the dialect's words in braces. Per-trial
// rows are keyed by trial (in SQLite clustered: WITHOUT ROWID), so reading a study's history is
// one pass per table.
constexpr const char* kSchemaTemplate = R"sql(
CREATE TABLE nntune_schema (version INTEGER NOT NULL);
CREATE TABLE studies (
  id {serial},
  name TEXT NOT NULL UNIQUE,
  direction TEXT NOT NULL,
  created {real} NOT NULL,
  next_trial_number {int} NOT NULL DEFAULT 0
);
CREATE TABLE study_attrs (
  study_id {int} NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,          -- 'user' or 'system'
  key TEXT NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (study_id, kind, key)
){clustered};
CREATE TABLE trials (
  id {serial},
  study_id {int} NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  number {int} NOT NULL,
  state TEXT NOT NULL,
  value {real},
  error TEXT NOT NULL DEFAULT '',
  start_time {real} NOT NULL DEFAULT 0,
  end_time {real} NOT NULL DEFAULT 0,
  heartbeat {real} NOT NULL DEFAULT 0,
  create_token {token},
  UNIQUE (study_id, number)
);
CREATE INDEX trials_by_state ON trials (study_id, state);{token_index}
CREATE TABLE trial_params (
  trial_id {int} NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  internal {real} NOT NULL,
  distribution_json TEXT NOT NULL,
  PRIMARY KEY (trial_id, name)
){clustered};
CREATE TABLE trial_values (
  trial_id {int} NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  step {int} NOT NULL,
  value {real},                  -- NULL: NaN (a diverged step)
  PRIMARY KEY (trial_id, step)
){clustered};
CREATE TABLE trial_attrs (
  trial_id {int} NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,          -- 'user' or 'system'
  key TEXT NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (trial_id, kind, key)
){clustered};
)sql";

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

}  // namespace

std::string schema(Dialect dialect) {
  const bool lite = dialect == Dialect::Sqlite;
  std::string text = kSchemaTemplate;
  replace_all(text, "{serial}", lite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
  replace_all(text, "{int}", lite ? "INTEGER" : "BIGINT");
  replace_all(text, "{real}", lite ? "REAL" : "DOUBLE PRECISION");
  replace_all(text, "{clustered}", lite ? " WITHOUT ROWID" : "");
  replace_all(text, "{token}", lite ? "TEXT" : "TEXT UNIQUE");
  replace_all(text, "{token_index}", lite ? "\nCREATE UNIQUE INDEX trials_by_create_token ON trials (create_token);" : "");
  return text;
}

std::string for_dialect(std::string_view sql, Dialect dialect) {
  std::string out(sql);
  if (dialect == Dialect::Sqlite)
    for (size_t i = 0; i + 1 < out.size(); ++i)
      if (out[i] == '$' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '?';
  return out;
}

void insert_trial_rows(Runner& db, const FrozenTrial& trial) {
  for (const auto& [name, internal] : trial.params) {
    auto d = trial.distributions.find(name);
    if (d == trial.distributions.end()) throw Error("create_trial: parameter \"" + name + "\" has no distribution");
    db.run(kUpsertParam, {trial.id, name, internal, d->second.to_json().dump()});
  }
  for (const auto& [step, value] : trial.intermediate) db.run(kUpsertValue, {trial.id, step, value});
  for (const auto& [key, value] : trial.user_attrs.items())
    db.run(kUpsertTrialAttr, {trial.id, std::string("user"), key, value.dump()});
  for (const auto& [key, value] : trial.system_attrs.items())
    db.run(kUpsertTrialAttr, {trial.id, std::string("system"), key, value.dump()});
}

void insert_failure_kind(Runner& db, int64_t trial_id, FailureKind kind) {
  db.run(kUpsertTrialAttr, {trial_id, std::string("system"), std::string(kFailureAttr), nlohmann::json(to_string(kind)).dump()});
}

FrozenTrial& TrialRows::add_trial(int64_t id, int64_t number, std::string_view state, std::optional<double> value,
                                  std::string error, double start_time, double end_time) {
  FrozenTrial trial;
  trial.id = id;
  trial.number = number;
  trial.state = trial_state_from_string(std::string(state));
  trial.value = value;
  trial.error = std::move(error);
  trial.start_time = start_time;
  trial.end_time = end_time;
  index_[id] = trials_.size();
  trials_.push_back(std::move(trial));
  return trials_.back();
}

FrozenTrial* TrialRows::find(int64_t trial_id) {
  const auto found = index_.find(trial_id);
  return found == index_.end() ? nullptr : &trials_[found->second];
}

void TrialRows::add_param(FrozenTrial& trial, std::string name, double internal, std::string_view distribution_json) {
  auto d = distributions_.find(distribution_json);
  if (d == distributions_.end())
    d = distributions_
            .emplace(std::string(distribution_json), Distribution::from_json(nlohmann::json::parse(distribution_json)))
            .first;
  trial.params.emplace_hint(trial.params.end(), name, internal);
  trial.distributions.emplace_hint(trial.distributions.end(), std::move(name), d->second);
}

void TrialRows::add_attr(FrozenTrial& trial, std::string_view kind, std::string key, std::string_view value_json) {
  auto value = values_.find(value_json);
  if (value == values_.end()) value = values_.emplace(std::string(value_json), nlohmann::json::parse(value_json)).first;
  (kind == "user" ? trial.user_attrs : trial.system_attrs)[std::move(key)] = value->second;
}

void add_study_attr(StudySummary& study, std::string_view kind, const std::string& key, std::string_view value_json) {
  (kind == "user" ? study.user_attrs : study.system_attrs)[key] = nlohmann::json::parse(value_json);
}

Error no_study(const std::string& url, int64_t study_id) {
  return Error("no study with id " + std::to_string(study_id) + " in " + url + " (deleted?)");
}

Error no_trial(const std::string& url, int64_t trial_id) {
  return Error("no trial with id " + std::to_string(trial_id) + " in " + url + " (its study was deleted?)");
}

Error already_finished(int64_t number, const std::string& state, const std::string& action) {
  return Error("cannot " + action + " trial " + std::to_string(number) + ": it is already " + state);
}

Error next_number_taken(const std::string& url, int64_t study_id, int64_t next_number, int64_t highest) {
  return Error("storage " + url + ": study id " + std::to_string(study_id) + " would number its next trial " +
                   std::to_string(next_number) + " but it already has a trial " + std::to_string(highest) +
                   " (the database was edited by hand or partly restored): set studies.next_trial_number to " +
                   std::to_string(highest + 1) + " for that study, or restore the whole database",
               ErrorKind::StorageInconsistent);
}

Backoff::Backoff(const RetryPolicy& policy)
    : policy_(policy), start_(std::chrono::steady_clock::now()), pause_(policy.first) {}

double Backoff::waited_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Backoff::wait() {
  if (waited_seconds() + std::chrono::duration<double>(pause_).count() > policy_.limit_seconds) return false;
  std::this_thread::sleep_for(pause_);
  pause_ = std::min(pause_ * 2, policy_.longest);
  ++attempts_;
  return true;
}

}  // namespace nntune::tune::sql
