// One suite run against every storage (a parameter per backend), then backend-specific checks:
// reopening a file, URLs and redaction, schema versions and upgrades, a PostgreSQL restart in
// the middle of a sequence of calls, speed.
// The PostgreSQL cases run when NNTUNE_TEST_POSTGRES_URL names a database (scripts/test.sh does
// that in CI through scripts/with_postgres.sh); otherwise they are reported as skipped. Each test
// gets a schema of its own (?schema=...), dropped afterwards, so tests may run in parallel.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "nntune/error.hpp"
#include "nntune/tune/storage.hpp"
#include "nntune/tune/study.hpp"
#include "test_util.hpp"

namespace nntune::tune {
namespace {

using nntune::testing::TempDir;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

constexpr const char* kHowToEnablePostgres =
    "PostgreSQL tests need a server: set NNTUNE_TEST_POSTGRES_URL=postgresql://user:password@host:port/db "
    "or run them under scripts/with_postgres.sh (scripts/test.sh does)";

// A PostgreSQL URL whose tables live in a fresh schema; the schema is dropped at scope exit.
class PostgresSchema {
 public:
  PostgresSchema() {
    static std::atomic<int> counter{0};
    name_ = "nntune_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    const std::string base = env("NNTUNE_TEST_POSTGRES_URL");
    url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "schema=" + name_;
  }
  ~PostgresSchema() { run_sql("DROP SCHEMA IF EXISTS " + name_ + " CASCADE"); }
  const std::string& url() const { return url_; }
  // Raw SQL for a test's setup, through psql (the storage keeps SQL to itself); retried for a
  // few seconds while a parallel test restarts the server.
  int run_sql(const std::string& sql) const {
    const std::string command = "psql -X -q \"" + env("NNTUNE_TEST_POSTGRES_URL") + "\" -c \"SET search_path TO " +
                                name_ + "; " + sql + "\" >/dev/null 2>&1";
    int status = -1;
    for (int attempt = 0; attempt < 20 && status != 0; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
      status = std::system(command.c_str());
    }
    return status;
  }

 private:
  std::string name_, url_;
};

class StorageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (env("NNTUNE_TEST_POSTGRES_URL").empty()) GTEST_SKIP() << kHowToEnablePostgres;
      schema_ = std::make_unique<PostgresSchema>();
    }
    storage_ = connect();
  }

  std::string url() const {
    if (GetParam() == "sqlite") return "sqlite:///" + dir_.file("study.db");  // absolute: sqlite:////tmp/...
    if (GetParam() == "postgresql") return schema_->url();
    return GetParam();
  }
  // Another connection to the same data (as another process would have); memory has one.
  std::shared_ptr<Storage> connect() {
    if (GetParam() == "memory") return storage_ ? storage_ : open_storage("memory");
    return open_storage(url());
  }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> schema_;
  std::shared_ptr<Storage> storage_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, ::testing::Values("memory", "sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST_P(StorageTest, CreatesFindsListsAndDeletesStudies) {
  EXPECT_FALSE(storage_->find_study("a").has_value());
  const int64_t a = storage_->create_study("a", Direction::Minimize);
  const int64_t b = storage_->create_study("b", Direction::Maximize);
  EXPECT_NE(a, b);
  EXPECT_EQ(storage_->find_study("a"), a);
  EXPECT_EQ(storage_->find_study("b"), b);
  storage_->set_study_system_attr(a, "space", {{"lr", 1}});
  storage_->set_study_user_attr(a, "owner", "me");
  storage_->create_trial(a);

  StudySummary summary = storage_->get_study(a);
  EXPECT_EQ(summary.name, "a");
  EXPECT_EQ(summary.direction, Direction::Minimize);
  EXPECT_EQ(summary.system_attrs["space"]["lr"], 1);
  EXPECT_EQ(summary.user_attrs["owner"], "me");
  EXPECT_EQ(summary.n_trials, 1);
  EXPECT_GT(summary.created, 1.6e9);
  EXPECT_EQ(storage_->get_study(b).direction, Direction::Maximize);

  std::vector<StudySummary> all = storage_->list_studies();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[1].name, "b");

  storage_->delete_study(a);
  EXPECT_FALSE(storage_->find_study("a").has_value());
  EXPECT_EQ(storage_->list_studies().size(), 1u);
  EXPECT_ERROR_CONTAINS(storage_->get_study(a), "no study with id");
  EXPECT_ERROR_CONTAINS(storage_->get_all_trials(a), "no study with id");
}

TEST_P(StorageTest, DuplicateStudyNameIsAnError) {
  storage_->create_study("mnist", Direction::Minimize);
  EXPECT_ERROR_CONTAINS(storage_->create_study("mnist", Direction::Maximize), "\"mnist\" already exists",
                        "choose another name");
}

TEST_P(StorageTest, TrialNumbersAreDenseUnderConcurrentCreation) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::vector<FrozenTrial>> created(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t, connection = connect()] {
      for (int i = 0; i < kPerThread; ++i) created[t].push_back(connection->create_trial(study));
    });
  for (auto& t : threads) t.join();

  std::set<int64_t> numbers, ids;
  for (const auto& list : created)
    for (const auto& trial : list) {
      numbers.insert(trial.number);
      ids.insert(trial.id);
      EXPECT_EQ(trial.state, TrialState::Running);
    }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), kThreads * kPerThread - 1);  // no gaps
  const std::vector<FrozenTrial> all = storage_->get_all_trials(study);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].number, static_cast<int64_t>(i));
}

TEST_P(StorageTest, ParamsIntermediateValuesAndAttrsRoundTrip) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  const FrozenTrial trial = storage_->create_trial(study);
  const Distribution lr = Distribution::float_range(1e-4, 1e-1, true);
  const Distribution units = Distribution::int_range(16, 256, false, 16);
  const Distribution optimizer = Distribution::categorical({"sgd", "adam", nlohmann::json{{"name", "rmsprop"}}});
  storage_->set_trial_param(trial.id, "lr", 0.00123, lr);
  storage_->set_trial_param(trial.id, "units", 64, units);
  storage_->set_trial_param(trial.id, "optimizer", 2, optimizer);
  storage_->set_intermediate_value(trial.id, 0, 0.9);
  storage_->set_intermediate_value(trial.id, 1, 0.5);
  storage_->set_intermediate_value(trial.id, 2, std::nan(""));  // a diverged step stays recorded
  storage_->set_intermediate_value(trial.id, 1, 0.4);            // a step reported again: latest wins
  storage_->set_trial_user_attr(trial.id, "note", {{"a", {1, 2}}});
  storage_->set_trial_system_attr(trial.id, "worker", {{"pid", 42}});
  ASSERT_TRUE(storage_->finish_trial(trial.id, TrialState::Complete, 0.25, ""));

  const FrozenTrial stored = connect()->get_trial(trial.id);
  EXPECT_EQ(stored.number, 0);
  EXPECT_EQ(stored.state, TrialState::Complete);
  EXPECT_EQ(stored.value, 0.25);
  EXPECT_DOUBLE_EQ(stored.params.at("lr"), 0.00123);
  EXPECT_EQ(stored.params.at("units"), 64);
  EXPECT_EQ(stored.distributions.at("lr"), lr);
  EXPECT_EQ(stored.distributions.at("units"), units);
  EXPECT_EQ(stored.distributions.at("optimizer"), optimizer);
  EXPECT_EQ(stored.external_params()["optimizer"], (nlohmann::json{{"name", "rmsprop"}}));
  ASSERT_EQ(stored.intermediate.size(), 3u);
  EXPECT_EQ(stored.intermediate.at(0), 0.9);
  EXPECT_EQ(stored.intermediate.at(1), 0.4);
  EXPECT_TRUE(std::isnan(stored.intermediate.at(2)));
  EXPECT_EQ(stored.user_attrs["note"]["a"][1], 2);
  EXPECT_EQ(stored.system_attrs["worker"]["pid"], 42);
  EXPECT_GT(stored.start_time, 1.6e9);
  EXPECT_GE(stored.end_time, stored.start_time);
  EXPECT_EQ(storage_->get_all_trials(study).at(0).params, stored.params);
}

TEST_P(StorageTest, FinishTrialOnlyOnce) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  const FrozenTrial trial = storage_->create_trial(study);
  EXPECT_TRUE(storage_->finish_trial(trial.id, TrialState::Failed, std::nullopt, "boom"));
  EXPECT_FALSE(storage_->finish_trial(trial.id, TrialState::Complete, 1.0, ""));
  const FrozenTrial stored = storage_->get_trial(trial.id);
  EXPECT_EQ(stored.state, TrialState::Failed);
  EXPECT_EQ(stored.error, "boom");
  EXPECT_FALSE(stored.value.has_value());
  EXPECT_ERROR_CONTAINS(storage_->set_trial_param(trial.id, "x", 1.0, Distribution::float_range(0, 2)),
                        "parameter \"x\"", "trial 0", "already failed");
  EXPECT_ERROR_CONTAINS(storage_->set_intermediate_value(trial.id, 3, 1.0), "step 3", "already failed");
  EXPECT_ERROR_CONTAINS(storage_->finish_trial(trial.id, TrialState::Running, std::nullopt, ""),
                        "complete, pruned or failed");
}

TEST_P(StorageTest, ClaimsEachWaitingTrialExactlyOnceUnderConcurrency) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  constexpr int kWaiting = 40;
  for (int i = 0; i < kWaiting; ++i) {
    FrozenTrial waiting;
    waiting.state = TrialState::Waiting;
    waiting.system_attrs["fixed_params"] = {{"x", i}};
    storage_->create_trial(study, &waiting);
  }
  storage_->create_trial(study);  // a Running trial is never claimed
  std::vector<std::vector<FrozenTrial>> claimed(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t, connection = connect()] {
      while (auto trial = connection->claim_waiting_trial(study)) claimed[t].push_back(*trial);
    });
  for (auto& t : threads) t.join();
  std::set<int64_t> numbers;
  for (const auto& list : claimed)
    for (const auto& trial : list) {
      EXPECT_TRUE(numbers.insert(trial.number).second) << "trial " << trial.number << " claimed twice";
      EXPECT_EQ(trial.state, TrialState::Running);
      EXPECT_EQ(trial.system_attrs["fixed_params"]["x"], trial.number);
      EXPECT_GT(trial.start_time, 1.6e9);
    }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kWaiting));
  EXPECT_FALSE(storage_->claim_waiting_trial(study).has_value());
}

TEST_P(StorageTest, ClaimsTheOldestWaitingTrialFirst) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  FrozenTrial waiting;
  waiting.state = TrialState::Waiting;
  storage_->create_trial(study);
  storage_->create_trial(study, &waiting);
  storage_->create_trial(study, &waiting);
  EXPECT_EQ(storage_->claim_waiting_trial(study)->number, 1);
  EXPECT_EQ(storage_->claim_waiting_trial(study)->number, 2);
}

TEST_P(StorageTest, FailsTrialsWithoutRecentHeartbeat) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  const FrozenTrial old_trial = storage_->create_trial(study);
  const FrozenTrial beating = storage_->create_trial(study);
  const FrozenTrial done = storage_->create_trial(study);
  storage_->finish_trial(done.id, TrialState::Complete, 1.0, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  storage_->record_heartbeat(beating.id);
  EXPECT_TRUE(storage_->fail_stale_trials(study, 60.0).empty());
  const std::vector<FrozenTrial> failed = storage_->fail_stale_trials(study, 0.2);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, old_trial.id);
  EXPECT_EQ(failed[0].state, TrialState::Failed);
  EXPECT_NE(failed[0].error.find("no heartbeat"), std::string::npos) << failed[0].error;
  EXPECT_EQ(storage_->get_trial(beating.id).state, TrialState::Running);
  EXPECT_EQ(storage_->get_trial(done.id).state, TrialState::Complete);
}

TEST_P(StorageTest, CreatesFinishedTrialFromTemplate) {
  const int64_t study = storage_->create_study("s", Direction::Maximize);
  FrozenTrial imported;
  imported.state = TrialState::Complete;
  imported.value = 0.91;
  imported.params["units"] = 128;
  imported.distributions["units"] = Distribution::int_range(16, 256);
  imported.intermediate = {{1, 0.8}, {2, 0.91}};
  imported.user_attrs["source"] = "paper";
  imported.start_time = 1.7e9;
  imported.end_time = 1.7e9 + 60;
  const FrozenTrial stored = storage_->create_trial(study, &imported);
  const FrozenTrial read = storage_->get_trial(stored.id);
  EXPECT_EQ(read.number, 0);
  EXPECT_EQ(read.state, TrialState::Complete);
  EXPECT_EQ(read.value, 0.91);
  EXPECT_EQ(read.params, imported.params);
  EXPECT_EQ(read.intermediate, imported.intermediate);
  EXPECT_EQ(read.user_attrs["source"], "paper");
  EXPECT_EQ(read.start_time, 1.7e9);
  EXPECT_EQ(read.end_time, 1.7e9 + 60);
}

TEST_P(StorageTest, ReadsTrialsFromANumberOn) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  const int64_t other = storage_->create_study("other", Direction::Minimize);
  for (int i = 0; i < 5; ++i) {
    const FrozenTrial trial = storage_->create_trial(study);
    storage_->set_trial_param(trial.id, "x", i, Distribution::int_range(0, 10));
    storage_->set_intermediate_value(trial.id, 1, i);
    storage_->create_trial(other);
  }
  const std::vector<FrozenTrial> tail = storage_->get_trials_from(study, 3);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].number, 3);
  EXPECT_EQ(tail[1].number, 4);
  EXPECT_EQ(tail[1].params.at("x"), 4);
  EXPECT_EQ(tail[1].intermediate.at(1), 4);
  EXPECT_EQ(storage_->get_trials_from(study, 0).size(), 5u);
  EXPECT_TRUE(storage_->get_trials_from(study, 5).empty());
}

TEST_P(StorageTest, UnknownIdsAreErrors) {
  EXPECT_ERROR_CONTAINS(storage_->get_trial(12345), "no trial with id 12345");
  EXPECT_ERROR_CONTAINS(storage_->create_trial(777), "no study with id 777");
  EXPECT_ERROR_CONTAINS(storage_->set_trial_user_attr(12345, "k", 1), "no trial with id 12345");
}

TEST_P(StorageTest, NamesAreDataNotSql) {
  const std::string nasty = "x'); DROP TABLE trials; -- $1 \\ \" é";
  const int64_t study = storage_->create_study(nasty, Direction::Minimize);
  const FrozenTrial trial = storage_->create_trial(study);
  storage_->set_trial_param(trial.id, nasty, 1.0, Distribution::float_range(0, 2));
  storage_->set_trial_user_attr(trial.id, nasty, nasty);
  storage_->set_study_user_attr(study, nasty, nasty);
  EXPECT_EQ(storage_->find_study(nasty), study);
  const FrozenTrial read = connect()->get_trial(trial.id);
  EXPECT_EQ(read.params.count(nasty), 1u);
  EXPECT_EQ(read.user_attrs[nasty], nasty);
  EXPECT_EQ(storage_->get_study(study).user_attrs[nasty], nasty);
}

TEST_P(StorageTest, ExtremeValuesRoundTripExactly) {
  const int64_t study = storage_->create_study("s", Direction::Minimize);
  const FrozenTrial trial = storage_->create_trial(study);
  const double third = 1.0 / 3.0, tiny = 4.9406564584124654e-324;
  storage_->set_trial_param(trial.id, "x", third, Distribution::float_range(0, 1));
  storage_->set_intermediate_value(trial.id, 1, tiny);
  storage_->set_intermediate_value(trial.id, 2, -INFINITY);
  ASSERT_TRUE(storage_->finish_trial(trial.id, TrialState::Complete, 1e308, ""));
  const FrozenTrial read = connect()->get_trial(trial.id);
  EXPECT_EQ(read.params.at("x"), third);
  EXPECT_EQ(read.intermediate.at(1), tiny);
  EXPECT_EQ(read.intermediate.at(2), -INFINITY);
  EXPECT_EQ(read.value, 1e308);
}

// ---------------------------------------------------------------------------------------------
// SQLite only

TEST(SqliteStorage, ReopenedFileSeesEverything) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("study.db");
  int64_t study = -1, trial_id = -1;
  {
    auto storage = open_storage(url);
    EXPECT_EQ(storage->url(), url);
    study = storage->create_study("kept", Direction::Maximize);
    storage->set_study_user_attr(study, "k", "v");
    FrozenTrial trial = storage->create_trial(study);
    trial_id = trial.id;
    storage->set_trial_param(trial_id, "x", 0.5, Distribution::float_range(0, 1));
    storage->set_intermediate_value(trial_id, 1, 0.4);
    storage->finish_trial(trial_id, TrialState::Pruned, 0.4, "");
    FrozenTrial waiting;
    waiting.state = TrialState::Waiting;
    storage->create_trial(study, &waiting);
  }
  auto reopened = open_storage(url);
  ASSERT_EQ(reopened->find_study("kept"), study);
  EXPECT_EQ(reopened->get_study(study).direction, Direction::Maximize);
  EXPECT_EQ(reopened->get_study(study).user_attrs["k"], "v");
  const auto trials = reopened->get_all_trials(study);
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Pruned);
  EXPECT_EQ(trials[0].value, 0.4);
  EXPECT_EQ(trials[0].params.at("x"), 0.5);
  EXPECT_EQ(trials[0].intermediate.at(1), 0.4);
  EXPECT_EQ(trials[1].state, TrialState::Waiting);
}

TEST(SqliteStorage, RelativeUrlIsRelativeToTheWorkingDirectory) {
  TempDir dir;
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  {
    auto storage = open_storage("sqlite:///sub.db");
    storage->create_study("s", Direction::Minimize);
  }
  std::filesystem::current_path(previous);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "sub.db"));
}


TEST(OpenStorage, BadUrlsNameTheUrlAndWhatToDo) {
  EXPECT_ERROR_CONTAINS(open_storage("mysql://host/db"), "unknown storage URL \"mysql://host/db\"", "memory",
                        "sqlite:///");
  EXPECT_ERROR_CONTAINS(open_storage("sqlite:///"), "names no database file");
  EXPECT_ERROR_CONTAINS(open_storage("sqlite:////nonexistent-nntune-dir/x/study.db"), "/nonexistent-nntune-dir/x",
                        "does not exist");
  // /proc accepts no new files, even for root.
  EXPECT_ERROR_CONTAINS(open_storage("sqlite:////proc/nntune-study.db"), "sqlite:////proc/nntune-study.db",
                        "writable");
}

// Two thousand trials read back whole, in order (how fast is bench/storage_bench's business:
// tests never bound wall-clock time on a shared machine).
TEST(SqliteStorage, ReadsTwoThousandTrialsBackWhole) {
  TempDir dir;
  auto storage = open_storage("sqlite:///" + dir.file("big.db"));
  const int64_t study = storage->create_study("big", Direction::Minimize);
  FrozenTrial finished;
  finished.state = TrialState::Complete;
  for (const char* name : {"a", "b", "c", "d", "e"}) finished.distributions[name] = Distribution::float_range(-5, 5);
  finished.system_attrs["worker"] = {{"host", "h"}, {"pid", 1}};
  constexpr int kTrials = 2000;
  for (int i = 0; i < kTrials; ++i) {
    for (auto& [name, d] : finished.distributions) finished.params[name] = std::fmod(i * 0.37, 10.0) - 5.0;
    finished.value = i;
    finished.intermediate = {{1, i + 0.5}, {2, i + 0.25}};
    storage->create_trial(study, &finished);
  }
  const auto trials = storage->get_all_trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(kTrials));
  for (int i = 0; i < kTrials; ++i) {
    const FrozenTrial& t = trials[static_cast<size_t>(i)];
    ASSERT_EQ(t.number, i);
    ASSERT_EQ(t.value, i);
    ASSERT_EQ(t.params.size(), 5u);
    EXPECT_EQ(t.params.at("c"), std::fmod(i * 0.37, 10.0) - 5.0);
    ASSERT_EQ(t.intermediate.size(), 2u);
    EXPECT_EQ(t.intermediate.at(2), i + 0.25);
    EXPECT_EQ(t.system_attrs.at("worker").at("pid"), 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema versions and `nntune storage upgrade`

// Runs raw SQL on an SQLite file (to build a database as an older nntune left it).
void sqlite_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

// The schema nntune 0.1 wrote (version 1), with one study of two trials.
constexpr const char* kVersion1File = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE studies (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL,
                      created REAL NOT NULL);
CREATE TABLE study_attrs (study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE, kind TEXT NOT NULL,
                          key TEXT NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (study_id, kind, key)) WITHOUT ROWID;
CREATE TABLE trials (id INTEGER PRIMARY KEY AUTOINCREMENT, study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
                     number INTEGER NOT NULL, state TEXT NOT NULL, value REAL, error TEXT NOT NULL DEFAULT '',
                     start_time REAL NOT NULL DEFAULT 0, end_time REAL NOT NULL DEFAULT 0, heartbeat REAL NOT NULL DEFAULT 0,
                     UNIQUE (study_id, number));
CREATE INDEX trials_by_state ON trials (study_id, state);
CREATE TABLE trial_params (trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE, name TEXT NOT NULL,
                           internal REAL NOT NULL, distribution_json TEXT NOT NULL, PRIMARY KEY (trial_id, name)) WITHOUT ROWID;
CREATE TABLE trial_values (trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE, step INTEGER NOT NULL,
                           value REAL, PRIMARY KEY (trial_id, step)) WITHOUT ROWID;
CREATE TABLE trial_attrs (trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE, kind TEXT NOT NULL,
                          key TEXT NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (trial_id, kind, key)) WITHOUT ROWID;
INSERT INTO studies VALUES (1, 'old', 'maximize', 1.7e9);
INSERT INTO study_attrs VALUES (1, 'user', 'k', '"v"');
INSERT INTO trials VALUES (1, 1, 0, 'complete', 0.5, '', 1.7e9, 1.7e9, 1.7e9);
INSERT INTO trials VALUES (2, 1, 1, 'failed', NULL, 'boom', 1.7e9, 1.7e9, 1.7e9);
INSERT INTO trial_params VALUES (1, 'x', 0.25, '{"type":"float","low":0.0,"high":1.0,"log":false}');
)sql";

TEST(StorageSchema, OlderSqliteFileIsRefusedUntilUpgradedThenKeepsItsTrials) {
  TempDir dir;
  const std::string path = dir.file("v1.db"), url = "sqlite:///" + path;
  sqlite_exec(path, kVersion1File);
  EXPECT_ERROR_CONTAINS(open_storage(url), "schema version 1", "version 2",
                        "nntune storage upgrade --storage " + url);

  const StorageUpgrade upgrade = upgrade_storage(url);
  EXPECT_EQ(upgrade.from_version, 1);
  EXPECT_EQ(upgrade.to_version, 2);
  auto storage = open_storage(url);
  const int64_t study = *storage->find_study("old");
  EXPECT_EQ(storage->get_study(study).direction, Direction::Maximize);
  EXPECT_EQ(storage->get_study(study).user_attrs["k"], "v");
  const FrozenTrial next = storage->create_trial(study);
  EXPECT_EQ(next.number, 2);  // the counter starts after the trials already there
  const auto trials = storage->get_all_trials(study);
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].value, 0.5);
  EXPECT_EQ(trials[0].params.at("x"), 0.25);
  EXPECT_EQ(trials[1].error, "boom");

  const StorageUpgrade again = upgrade_storage(url);  // nothing left to do
  EXPECT_EQ(again.from_version, 2);
  EXPECT_EQ(again.to_version, 2);
}

TEST(StorageSchema, FreshDatabaseIsCreatedAtTheCurrentVersion) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("new.db");
  const StorageUpgrade upgrade = upgrade_storage(url);
  EXPECT_EQ(upgrade.from_version, 2);
  EXPECT_EQ(upgrade.to_version, 2);
  open_storage(url)->create_study("s", Direction::Minimize);
}

TEST(StorageSchema, NewerSqliteFileIsRefusedNamingBothVersions) {
  TempDir dir;
  const std::string path = dir.file("future.db"), url = "sqlite:///" + path;
  open_storage(url)->create_study("s", Direction::Minimize);
  sqlite_exec(path, "UPDATE nntune_schema SET version = 7");
  EXPECT_ERROR_CONTAINS(open_storage(url), "schema version 7", "reads version 2", "upgrade nntune");
  EXPECT_ERROR_CONTAINS(upgrade_storage(url), "schema version 7", "upgrade nntune");
}

TEST(StorageSchema, ForeignTablesAreNotMistakenForAnOldSchema) {
  TempDir dir;
  const std::string path = dir.file("optuna.db");
  sqlite_exec(path, "CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)");
  EXPECT_ERROR_CONTAINS(open_storage("sqlite:///" + path), "did not create", "new file");
}

// Four processes (fork: each opens its own connection, as separate workers do) hammer one
// storage with create_trial / set_trial_param / finish_trial. None may fail (SQLite: never
// "database is locked"), and the numbers must come out unique and dense.
// Processes sharing one database: SQLite in a temporary directory, or a private PostgreSQL schema.
class MultiProcessTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = "sqlite:///" + dir_.file("shared.db");
    if (GetParam() == "postgresql") {
      if (env("NNTUNE_TEST_POSTGRES_URL").empty()) GTEST_SKIP() << kHowToEnablePostgres;
      schema_ = std::make_unique<PostgresSchema>();
      url_ = schema_->url();
    }
  }
  // Forks `processes` children that start `child(p)` at the same moment; returns their wait
  // statuses. A child's exception ends it with status 5, its message in error_P in the directory.
  std::vector<int> run_at_once(int processes, const std::function<void(int)>& child) {
    int start_pipe[2];
    if (pipe(start_pipe) != 0) throw std::runtime_error("pipe failed");
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
      const pid_t pid = fork();
      if (pid < 0) throw std::runtime_error("fork failed");
      if (pid == 0) {
        close(start_pipe[1]);
        char go;
        if (read(start_pipe[0], &go, 1) != 0) _exit(3);  // wait until the parent closes the pipe: all start at once
        try {
          child(p);
        } catch (const std::exception& e) {
          std::ofstream(dir_.file("error_" + std::to_string(p))) << e.what();
          _exit(5);
        }
        _exit(0);
      }
      children.push_back(pid);
    }
    close(start_pipe[0]);
    close(start_pipe[1]);
    std::vector<int> statuses;
    for (const pid_t pid : children) {
      int status = 0;
      if (waitpid(pid, &status, 0) != pid) status = -1;
      statuses.push_back(status);
    }
    return statuses;
  }
  std::string error_of(int p) { return nntune::testing::read_file(dir_.file("error_" + std::to_string(p))); }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> schema_;
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Backends, MultiProcessTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST_P(MultiProcessTest, FourProcessesCreateAndFinishTrialsWithoutErrorsOrGaps) {
  const std::string& url = url_;
  int64_t study = -1;
  {
    auto storage = open_storage(url);  // closed before forking: children open their own
    study = storage->create_study("shared", Direction::Minimize);
  }
  constexpr int kProcesses = 4, kPerProcess = 60;
  const std::vector<int> statuses = run_at_once(kProcesses, [&](int p) {
    auto storage = open_storage(url);
    for (int i = 0; i < kPerProcess; ++i) {
      const FrozenTrial trial = storage->create_trial(study);
      storage->set_trial_param(trial.id, "x", p * 1000 + i, Distribution::int_range(0, 10000));
      if (!storage->finish_trial(trial.id, TrialState::Complete, p * 1000 + i, "")) _exit(4);
    }
  });
  for (size_t p = 0; p < statuses.size(); ++p) {
    const int status = statuses[p];
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "process " << p << " failed: " << error_of(static_cast<int>(p));
  }
  const std::vector<FrozenTrial> trials = open_storage(url)->get_all_trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(kProcesses * kPerProcess));
  std::set<double> values;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));  // dense, unique, in order
    EXPECT_EQ(trials[i].state, TrialState::Complete);
    EXPECT_EQ(trials[i].params.at("x"), trials[i].value);
    values.insert(*trials[i].value);
  }
  EXPECT_EQ(values.size(), trials.size());  // every process's every trial, once
}

TEST(StorageCli, UpgradeCommandMigratesAnOldFileThatOtherCommandsRefuse) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("v1.db");
  sqlite_exec(dir.file("v1.db"), kVersion1File);
  const auto refused = nntune::testing::run_nntune(dir, "studies --storage " + url);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("nntune storage upgrade --storage " + url), std::string::npos) << refused.err;
  const auto upgraded = nntune::testing::run_nntune(dir, "storage upgrade --storage " + url);
  EXPECT_EQ(upgraded.exit_code, 0) << upgraded.err;
  EXPECT_NE(upgraded.out.find("from schema version 1 to 2"), std::string::npos) << upgraded.out;
  const auto listed = nntune::testing::run_nntune(dir, "studies --storage " + url);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("old"), std::string::npos) << listed.out;
  const auto again = nntune::testing::run_nntune(dir, "storage upgrade " + url);
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: URLs and passwords (no server needed)

TEST(PostgresUrl, PasswordsAreRedacted) {
  EXPECT_EQ(redact_storage_url("postgresql://me:s3cret@db.example:5432/study"),
            "postgresql://me:***@db.example:5432/study");
  EXPECT_EQ(redact_storage_url("postgres://me@db/study"), "postgres://me@db/study");
  EXPECT_EQ(redact_storage_url("postgresql://db/study?sslmode=require&password=s3cret&x=1"),
            "postgresql://db/study?sslmode=require&password=***&x=1");
  EXPECT_EQ(redact_storage_url("sqlite:////tmp/a.db"), "sqlite:////tmp/a.db");
}

TEST(PostgresUrl, ConnectionErrorsNeverShowThePassword) {
  // Port 1 on loopback: refused at once.
  for (const std::string scheme : {"postgresql", "postgres"}) {
    try {
      open_storage(scheme + "://alice:hunter2-secret@127.0.0.1:1/study?retry_seconds=0");
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
      EXPECT_NE(message.find(scheme + "://alice:***@127.0.0.1:1/study"), std::string::npos) << message;
      EXPECT_NE(message.find("PGPASSWORD"), std::string::npos) << message;
    }
  }
  EXPECT_ERROR_CONTAINS(open_storage("postgresql://alice:pw@127.0.0.1:1"), "names no database");
  EXPECT_ERROR_CONTAINS(open_storage("postgresql://127.0.0.1:1/db?schema=Bad;Name"), "not a plain name");
  EXPECT_ERROR_CONTAINS(open_storage("postgresql://127.0.0.1:1/db?retry_seconds=soon"), "retry_seconds=soon");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL with a server

#define REQUIRE_POSTGRES()                                                            \
  if (env("NNTUNE_TEST_POSTGRES_URL").empty()) GTEST_SKIP() << kHowToEnablePostgres

TEST(PostgresStorage, WrongPasswordIsAnErrorWithoutThePassword) {
  REQUIRE_POSTGRES();
  std::string url = env("NNTUNE_TEST_POSTGRES_URL");
  const size_t at = url.find('@'), colon = url.find(':', url.find("://") + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) GTEST_SKIP() << "the test URL has no password";
  url = url.substr(0, colon) + ":wrong-password-xyz" + url.substr(at);
  try {
    open_storage(url);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("wrong-password-xyz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos) << e.what();
  }
}

TEST(PostgresStorage, NewerSchemaIsRefusedNamingBothVersions) {
  REQUIRE_POSTGRES();
  PostgresSchema schema;
  open_storage(schema.url())->create_study("s", Direction::Minimize);
  ASSERT_EQ(schema.run_sql("UPDATE nntune_schema SET version = 9"), 0);
  EXPECT_ERROR_CONTAINS(open_storage(schema.url()), "schema version 9", "reads version 2", "upgrade nntune");
  const StorageUpgrade current = [&] {
    PostgresSchema fresh;
    return upgrade_storage(fresh.url());
  }();
  EXPECT_EQ(current.from_version, 2);
  EXPECT_EQ(current.to_version, 2);
}

#define REQUIRE_SERVER_CONTROL()                                                                                  \
  REQUIRE_POSTGRES();                                                                                             \
  if (env("NNTUNE_TEST_PG_CTL").empty() || env("NNTUNE_TEST_POSTGRES_DATADIR").empty())                           \
    GTEST_SKIP() << "needs NNTUNE_TEST_PG_CTL and NNTUNE_TEST_POSTGRES_DATADIR (scripts/with_postgres.sh sets them)"; \
  testing::PostgresServerControlLock server_control_lock

TEST(PostgresStorage, CallsSucceedAcrossAServerRestart) {
  REQUIRE_SERVER_CONTROL();
  const std::string pg_ctl = env("NNTUNE_TEST_PG_CTL");
  PostgresSchema schema;
  auto storage = open_storage(schema.url());
  const int64_t study = storage->create_study("restart", Direction::Minimize);
  // A worker runs trials while the server restarts under it, and goes on for 20 more after.
  std::atomic<int> done{0};
  std::atomic<bool> restarted{false};
  std::string failure;
  std::thread worker([&] {
    try {
      auto connection = open_storage(schema.url());
      for (int i = 0, after_restart = 0; after_restart < 20; ++i) {
        const bool was_restarted = restarted;
        const FrozenTrial trial = connection->create_trial(study);
        connection->set_trial_param(trial.id, "x", i, Distribution::int_range(0, 1000));
        connection->set_intermediate_value(trial.id, 1, i);
        if (!connection->finish_trial(trial.id, TrialState::Complete, i, "")) failure = "finish_trial returned false";
        ++done;
        if (was_restarted) ++after_restart;
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  while (done < 20 && failure.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int status = std::system((pg_ctl + " -m fast -w restart >/dev/null 2>&1").c_str());
  restarted = true;
  worker.join();
  ASSERT_EQ(status, 0) << "pg_ctl restart failed";
  EXPECT_EQ(failure, "");
  const int kTrials = done;
  // The first connection also died in the restart: its next call reconnects.
  const auto trials = storage->get_all_trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(kTrials));  // no trial lost or doubled
  for (int i = 0; i < kTrials; ++i) {
    EXPECT_EQ(trials[i].number, i);
    EXPECT_EQ(trials[i].state, TrialState::Complete);
    EXPECT_EQ(trials[i].params.at("x"), trials[i].value);
  }
}

// Stops the server for about a second: other tests in parallel ride it out by reconnecting.
TEST(PostgresStorage, GivesUpAfterRetrySecondsWithAnActionableMessage) {
  REQUIRE_SERVER_CONTROL();
  const std::string pg_ctl = env("NNTUNE_TEST_PG_CTL");
  PostgresSchema schema;
  auto storage = open_storage(schema.url() + "&retry_seconds=0.5");
  const int64_t study = storage->create_study("s", Direction::Minimize);
  ASSERT_EQ(std::system((pg_ctl + " -m fast -w stop >/dev/null 2>&1").c_str()), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_CONTAINS(storage->create_trial(study), "lost the connection", "check that the server runs",
                        "retry_seconds");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(std::system((pg_ctl + " -w start >/dev/null 2>&1").c_str()), 0);
  EXPECT_LT(waited, 5.0);
  EXPECT_EQ(storage->create_trial(study).number, 0);  // the failed call changed nothing
}

// ---------------------------------------------------------------------------------------------
// Hardening (issue 14): a damaged trial counter, read-only and missing databases, an unreachable
// server, passwords in URLs.

// Sets a study's stored next trial number as a hand edit or a half restore would.
void set_next_trial_number(const std::string& backend, const PostgresSchema* schema, const std::string& sqlite_path,
                           int64_t next) {
  const std::string sql = "UPDATE studies SET next_trial_number = " + std::to_string(next);
  if (backend == "sqlite")
    sqlite_exec(sqlite_path, sql);
  else
    ASSERT_EQ(schema->run_sql(sql), 0);
}

TEST_P(StorageTest, NextTrialNumberBelowAnExistingTrialIsReportedNotRetriedForever) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory storage has no stored counter to damage";
  const int64_t study = storage_->create_study("counter", Direction::Minimize);
  for (int i = 0; i < 3; ++i) storage_->create_trial(study);
  set_next_trial_number(GetParam(), schema_.get(), dir_.file("study.db"), 1);
  EXPECT_ERROR_CONTAINS(storage_->create_trial(study), "would number its next trial 1", "already has a trial 2",
                        "next_trial_number to 3");
  EXPECT_EQ(storage_->get_all_trials(study).size(), 3u);  // nothing was written
  // optimize() retries storage trouble for the stale grace; this it reports at once.
  Study s = Study::open(connect(), "counter", Direction::Minimize, make_sampler({}));
  OptimizeOptions options{.n_trials = 5};
  options.stale_grace_seconds = 30;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_CONTAINS(s.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options), "next_trial_number");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}

TEST_P(MultiProcessTest, CounterBelowExistingTrialsFailsEveryProcessAtOnceAndClearly) {
  // Several processes start trials at once on a study whose counter was set back below its
  // trials: none may wait out the stale grace retrying, none may write a trial, and each says
  // what is wrong (and that is still true after the others' attempts were rolled back).
  int64_t study = -1;
  {
    auto storage = open_storage(url_);  // closed before forking: children open their own
    study = storage->create_study("counter", Direction::Minimize);
    for (int i = 0; i < 3; ++i) storage->create_trial(study);
  }
  set_next_trial_number(GetParam(), schema_.get(), dir_.file("shared.db"), 0);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> statuses = run_at_once(4, [&](int) {
    Study s = Study::open(open_storage(url_), "counter", Direction::Minimize, make_sampler({}));
    OptimizeOptions options{.n_trials = 5};
    options.stale_grace_seconds = 30;
    s.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  });
  for (size_t p = 0; p < statuses.size(); ++p) {
    const std::string error = error_of(static_cast<int>(p));
    EXPECT_TRUE(WIFEXITED(statuses[p]) && WEXITSTATUS(statuses[p]) == 5) << "process " << p << ": " << statuses[p];
    EXPECT_NE(error.find("would number its next trial 0 but it already has a trial 2"), std::string::npos)
        << "process " << p << ": " << error;
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 15.0);
  EXPECT_EQ(open_storage(url_)->get_all_trials(study).size(), 3u);  // nothing was written
}

TEST(StorageCli, TuneOnACounterBelowItsTrialsSaysWhatIsWrong) {
  TempDir dir;
  const std::string path = dir.file("studies.db"), url = "sqlite:///" + path;
  nntune::testing::write_file(dir.file("ext.yaml"),
                              "space: {x: {int: [0, 1000]}}\n"
                              "tune:\n"
                              "  objective:\n"
                              "    command: \"echo nntune: value {x}\"\n"
                              "  sampler: {name: random, seed: 1}\n"
                              "  grace: 20s\n");
  const auto first = nntune::testing::run_nntune(dir, "tune ext.yaml --trials 3 --storage " + url);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  sqlite_exec(path, "UPDATE studies SET next_trial_number = 0");
  const auto start = std::chrono::steady_clock::now();
  const auto again = nntune::testing::run_nntune(dir, "tune ext.yaml --trials 6 --storage " + url);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 15.0);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("would number its next trial 0 but it already has a trial 2"), std::string::npos)
      << again.err;
}

TEST(StorageCli, ReadingCommandsNeverCreateAMissingSqliteFile) {
  TempDir dir;
  for (const std::string command : {"studies", "trials s", "best s", "report"}) {
    const auto run = nntune::testing::run_nntune(dir, command + " --storage sqlite:///typo.db");
    EXPECT_NE(run.exit_code, 0) << command;
    EXPECT_NE(run.err.find("typo.db does not exist"), std::string::npos) << command << ": " << run.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("typo.db"))) << command << " created the file";
  }
}

// The nntune binary beside this test binary (both in the build directory).
std::string nntune_binary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "nntune").string();
}

TEST(StorageCli, ReadOnlySqliteFileCanBeListedAndReported) {
  // A read-only file system (a bind mount in a private user and mount namespace: root would
  // write through file permissions) holding a study.
  if (std::system("unshare -rm true >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs unshare -rm (user and mount namespaces) to make a read-only file system";
  TempDir dir;
  const std::string db_dir = dir.file("ro");
  std::filesystem::create_directories(db_dir);
  const std::string url = "sqlite:///" + db_dir + "/studies.db";
  {
    auto storage = open_storage(url);
    const int64_t study = storage->create_study("kept", Direction::Minimize);
    FrozenTrial done;
    done.state = TrialState::Complete;
    done.value = 0.25;
    storage->create_trial(study, &done);
  }
  auto read_only = [&](const std::string& args) {
    const std::string out = dir.file("ro.out"), err = dir.file("ro.err");
    const std::string inner = "mount --bind '" + db_dir + "' '" + db_dir + "' && mount -o remount,ro,bind '" + db_dir +
                              "' && cd '" + dir.path().string() + "' && '" + nntune_binary() + "' " + args;
    const int status = std::system(("unshare -rm sh -c \"" + inner + "\" >'" + out + "' 2>'" + err + "' </dev/null").c_str());
    return std::make_tuple(WIFEXITED(status) ? WEXITSTATUS(status) : -1, nntune::testing::read_file(out),
                           nntune::testing::read_file(err));
  };
  {
    const auto [code, out, err] = read_only("studies --storage " + url);
    EXPECT_EQ(code, 0) << err;
    EXPECT_NE(out.find("kept"), std::string::npos) << out;
  }
  {
    const auto [code, out, err] = read_only("trials kept --storage " + url);
    EXPECT_EQ(code, 0) << err;
    EXPECT_NE(out.find("0.25"), std::string::npos) << out;
  }
  {
    const auto [code, out, err] = read_only("report --storage " + url + " --output report.html");
    EXPECT_EQ(code, 0) << err;
  }
  {
    const auto [code, out, err] = read_only("stop kept --storage " + url);  // a writing command says why not
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("writable"), std::string::npos) << err;
  }
}

TEST(StorageCli, UnreachablePostgresSaysItRetriesAndHowLong) {
  TempDir dir;
  // Port 1 on loopback: refused at once, as a server that is down.
  const auto run = nntune::testing::run_nntune(dir, "studies --storage 'postgresql://u@127.0.0.1:1/db?retry_seconds=1'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("retrying for up to 1 s"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("cannot connect"), std::string::npos) << run.err;
}

TEST(PostgresUrl, PasswordsWithSlashQuestionMarkOrAtAreRedacted) {
  for (const std::string url : {"postgresql://u:ab/cdSecret@127.0.0.1:1/db", "postgresql://u:ab?cdSecret@127.0.0.1:1/db",
                                "postgres://u:ab@cdSecret@127.0.0.1:1/db", "postgresql://u:a%2FbcdSecret@h/db",
                                "postgresql://u:ab/c?d@cdSecret@h:1/db?sslmode=disable"}) {
    const std::string redacted = redact_storage_url(url);
    EXPECT_EQ(redacted.find("Secret"), std::string::npos) << url << " -> " << redacted;
    EXPECT_NE(redacted.find("u:***@"), std::string::npos) << url << " -> " << redacted;
  }
  // key=value connection strings, quoted or not
  EXPECT_EQ(redact_storage_url("host=h password=cdSecret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact_storage_url("host=h password = 'cd Secret' dbname=d"), "host=h password = *** dbname=d");
  // what has no password keeps every character
  for (const std::string url : {"postgresql://me@db:5432/study", "postgresql://db:5432/study?application_name=a@b",
                                "postgresql://me@db/study?sslmode=require"})
    EXPECT_EQ(redact_storage_url(url), url);
  EXPECT_EQ(storage_url_password("postgresql://u:ab%2Fcd@h/db"), "ab/cd");
  EXPECT_EQ(storage_url_password("postgresql://u@h/db?password=zz"), "zz");
  EXPECT_EQ(storage_url_password("postgresql://u@h/db"), "");
}

TEST(StorageCli, ErrorsNeverPrintAPasswordHoldingASlash) {
  TempDir dir;
  const auto run = nntune::testing::run_nntune(
      dir, "studies --storage 'postgresql://u:ab/cdSecret@127.0.0.1:1/db?retry_seconds=0'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_EQ(run.err.find("cdSecret"), std::string::npos) << run.err;
  EXPECT_EQ(run.out.find("cdSecret"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace nntune::tune
