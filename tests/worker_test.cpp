// Many workers on one study, end to end: real `nntune tune` / `nntune worker` processes on one
// SQLite file (and PostgreSQL when NNTUNE_TEST_POSTGRES_URL is set), a cheap shell objective.
// Every grid point runs exactly once; a worker killed with -9 mid-trial has its trial failed
// and retried; `nntune stop` ends every worker cleanly.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "nntune/tune/storage.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

// "w0", "w1", ... (built with append: GCC 12 warns falsely on "w" + std::to_string(w))
std::string worker_name(size_t w) { return std::string("w").append(std::to_string(w)); }

using nlohmann::json;
using testing::CliRun;
using testing::run_nntune;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

// 10 values of a x (5 small + 5 * 3 big) = 200 points; `kind.*` exist only on their branch.
const char* const kGridSpec =
    "space:\n"
    "  a: {int: [0, 9]}\n"
    "  kind: {choice: [{name: small, k: {int: [1, 5]}}, {name: big, m: {choice: [v, w, x, y, z]}, n: {int: [0, 2]}}]}\n"
    "tune:\n"
    "  objective: {command: \"echo nntune: value {a}\"}\n"
    "  sampler: grid\n";

// An nntune process in `dir`, its output in NAME.out / NAME.err there.
pid_t start_nntune(const TempDir& dir, const std::string& name, const std::vector<std::string>& args) {
  const std::string out = dir.file(name + ".out"), err = dir.file(name + ".err");
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (chdir(dir.path().c_str()) != 0) _exit(99);
  if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr) || !freopen("/dev/null", "r", stdin)) _exit(98);
  std::vector<char*> argv = {const_cast<char*>(NNTUNE_CLI)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(NNTUNE_CLI, argv.data());
  _exit(97);
}

// The exit code, or -1 (and the process killed) past the timeout.
int wait_exit(pid_t pid, double timeout_seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

json trials_of(const TempDir& dir, const std::string& storage, const std::string& study) {
  const CliRun run = run_nntune(dir, "trials " + study + " --storage '" + storage + "' --format json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return run.exit_code == 0 ? json::parse(run.out) : json::array();
}

int count_state(const json& trials, const std::string& state) {
  int n = 0;
  for (const auto& t : trials) n += t["state"] == state;
  return n;
}

void expect_dense_numbers(const json& trials) {
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i]["number"], i);
}

// Creates the grid study, runs four workers on it, checks that each of the 200 points ran once.
void run_grid_with_four_workers(const TempDir& dir, const std::string& storage, const std::string& study) {
  testing::write_file(dir.file("grid.yaml"), kGridSpec);
  CliRun created = run_nntune(dir, "tune grid.yaml --storage '" + storage + "' --study " + study + " --create-only");
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  EXPECT_NE(created.out.find("grid: 200 points enqueued"), std::string::npos) << created.out;
  // The hint shows the URL without its password (workers take it from PGPASSWORD or ~/.pgpass).
  EXPECT_NE(created.out.find("nntune worker --storage " + nntune::tune::redact_storage_url(storage) + " --study " + study),
            std::string::npos)
      << created.out;

  std::vector<pid_t> workers;
  for (int w = 0; w < 4; ++w)
    workers.push_back(start_nntune(dir, worker_name(w), {"worker", "--storage", storage, "--study", study}));
  for (size_t w = 0; w < workers.size(); ++w)
    EXPECT_EQ(wait_exit(workers[w], 60), 0) << testing::read_file(dir.file(worker_name(w) + ".err"));

  const json trials = trials_of(dir, storage, study);
  ASSERT_EQ(trials.size(), 200u);
  EXPECT_EQ(count_state(trials, "complete"), 200);
  expect_dense_numbers(trials);
  std::set<std::string> points;
  std::set<int64_t> pids;
  for (const auto& t : trials) {
    EXPECT_TRUE(points.insert(t["params"].dump()).second) << "point run twice: " << t["params"];
    EXPECT_EQ(t["params"].contains("kind.small.k"), t["params"]["kind"] == "small") << t["params"];
    pids.insert(t["worker"]["pid"].get<int64_t>());
  }
  EXPECT_EQ(points.size(), 200u);
  EXPECT_EQ(pids, std::set<int64_t>(workers.begin(), workers.end())) << "every worker runs trials";
  // Each worker printed one line per trial it ran, and its summary.
  const std::string out = testing::read_file(dir.file("w0.out"));
  EXPECT_NE(out.find("joins study " + study), std::string::npos) << out;
  EXPECT_NE(out.find(" complete value "), std::string::npos) << out;
  EXPECT_NE(out.find("finished: "), std::string::npos) << out;
}

TEST(Worker, FourWorkersRunEveryGridPointOnceOnSqlite) {
  TempDir dir;
  run_grid_with_four_workers(dir, "sqlite:///" + dir.file("studies.db"), "grid");
}

TEST(Worker, FourWorkersRunEveryGridPointOnceOnPostgres) {
  const char* url = std::getenv("NNTUNE_TEST_POSTGRES_URL");
  if (!url || !*url) GTEST_SKIP() << "set NNTUNE_TEST_POSTGRES_URL=postgresql://USER:PASSWORD@HOST/DB to run this test";
  TempDir dir;
  const std::string study = "worker_test_" + std::to_string(getpid()) + "_" +
                            std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  run_grid_with_four_workers(dir, url, study);
  const CliRun deleted = run_nntune(dir, "delete " + study + " --storage '" + std::string(url) + "' --yes");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

// The study holds what workers need, never the storage's password: each worker brings its
// own --storage URL (given on the command line or written in the spec).
TEST(Worker, PostgresPasswordIsNeverStoredInTheStudy) {
  const char* url_env = std::getenv("NNTUNE_TEST_POSTGRES_URL");
  if (!url_env || !*url_env) GTEST_SKIP() << "set NNTUNE_TEST_POSTGRES_URL=postgresql://USER:PASSWORD@HOST/DB to run this test";
  const std::string url = url_env;
  const std::string password = tune::storage_url_password(url);
  if (password.size() < 4) GTEST_SKIP() << "the test URL has no password to look for";
  TempDir dir;
  const std::string stamp = std::to_string(getpid()) + "_" +
                            std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::string objective = "  objective:\n    command: \"echo nntune: value {x}\"\n";
  testing::write_file(dir.file("given.yaml"), "space: {x: {int: [0, 100]}}\ntune:\n" + objective + "  trials: 2\n");
  testing::write_file(dir.file("written.yaml"),
                      "space: {x: {int: [0, 100]}}\ntune:\n" + objective + "  trials: 2\n  storage: '" + url + "'\n");
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"given_" + stamp, "tune given.yaml --study given_" + stamp + " --storage '" + url + "'"},
      {"written_" + stamp, "tune written.yaml --study written_" + stamp}};
  auto storage = tune::open_storage(url);
  for (const auto& [study, command] : runs) {
    const CliRun run = run_nntune(dir, command);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out.find(password), std::string::npos) << run.out;
    const auto id = storage->find_study(study);
    ASSERT_TRUE(id) << study;
    const tune::StudySummary summary = storage->get_study(*id);
    EXPECT_EQ(summary.system_attrs.dump().find(password), std::string::npos) << summary.system_attrs.dump(1);
    EXPECT_EQ(summary.user_attrs.dump().find(password), std::string::npos);
    for (const auto& t : storage->get_all_trials(*id)) EXPECT_EQ(t.system_attrs.dump().find(password), std::string::npos);
    // A worker with its own URL still runs the study's plan.
    const CliRun worker = run_nntune(dir, "worker --study " + study + " --storage '" + url + "' --quiet");
    EXPECT_EQ(worker.exit_code, 0) << worker.err;
    storage->delete_study(*id);
  }
}

TEST(Worker, KilledWorkersTrialIsRetriedAndTheStudyEndsWithEveryPlannedTrial) {
  TempDir dir;
  const std::string storage = "sqlite:///" + dir.file("studies.db");
  // The first trial to get here records its worker and sleeps (until the test kills it); its
  // retry, with the same x, finds the directory and is quick.
  testing::write_file(dir.file("ext.yaml"),
                      "space: {x: {int: [0, 100000]}}\n"
                      "tune:\n"
                      "  objective:\n"
                      "    command: \"if mkdir slow 2>/dev/null; then echo $PPID >slow/worker; echo $$ >slow/sleeper; "
                      "exec sleep 30; fi; echo nntune: value {x}\"\n"
                      "  sampler: {name: random, seed: 1}\n"
                      "  trials: 30\n"
                      "  grace: 3s\n"
                      "  heartbeat: 0.5s\n"
                      "  retries: 1\n");
  // Two `nntune tune` on the same study (as on two machines) and two workers.
  std::vector<pid_t> processes = {start_nntune(dir, "t0", {"tune", "ext.yaml", "--storage", storage}),
                                  start_nntune(dir, "t1", {"tune", "ext.yaml", "--storage", storage})};
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  auto study_ready = [&] {
    for (const char* out : {"t0.out", "t1.out"})
      if (testing::read_file(dir.file(out)).find("study ext in") != std::string::npos) return true;
    return false;
  };
  while (!study_ready() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int w = 0; w < 2; ++w)
    processes.push_back(start_nntune(dir, worker_name(w), {"worker", "--storage", storage, "--study", "ext"}));

  while (testing::read_file(dir.file("slow/sleeper")).empty() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both pids written
  const pid_t victim = std::atoi(testing::read_file(dir.file("slow/worker")).c_str());
  const pid_t sleeper = std::atoi(testing::read_file(dir.file("slow/sleeper")).c_str());
  ASSERT_NE(std::find(processes.begin(), processes.end(), victim), processes.end()) << "the sleeping trial's worker";
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  EXPECT_EQ(wait_exit(victim, 10), -2);  // killed (and reaped: its pid is gone)
  kill(sleeper, SIGKILL);
  for (pid_t p : processes) {
    if (p == victim) continue;
    EXPECT_EQ(wait_exit(p, 40), 0) << "a surviving worker";
  }

  const json trials = trials_of(dir, storage, "ext");
  expect_dense_numbers(trials);
  EXPECT_EQ(count_state(trials, "running"), 0);
  ASSERT_EQ(count_state(trials, "failed"), 1) << trials.dump(1);
  // Every planned trial finished (a retry takes the failed one's place); at most one per worker
  // more when several asked for the last one at once.
  EXPECT_GE(count_state(trials, "complete"), 30);
  EXPECT_LE(count_state(trials, "complete"), 33);
  for (const auto& failed : trials) {
    if (failed["state"] != "failed") continue;
    EXPECT_EQ(failed["worker"]["pid"], victim);
    const std::string error = failed["error"];
    EXPECT_TRUE(error.find("worker process died") != std::string::npos || error.find("heartbeat") != std::string::npos)
        << error;
    ASSERT_TRUE(failed["retried_as"].is_number_integer()) << failed;
    const json& retry = trials.at(failed["retried_as"].get<size_t>());
    EXPECT_EQ(retry["retry_of"], failed["number"]);
    EXPECT_EQ(retry["state"], "complete");
    EXPECT_EQ(retry["params"], failed["params"]);  // the same parameters
  }
  const CliRun table = run_nntune(dir, "trials ext --storage '" + storage + "'");
  EXPECT_NE(table.out.find("retry_of"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(retried as trial "), std::string::npos) << table.out;
}

// The database server restarts in the middle of a study: the workers reconnect (the storage
// retries with back-off), the trials that were running finish, and the study ends with every
// planned trial and none lost, doubled or left running.
TEST(Worker, StudyFinishesAcrossADatabaseServerRestart) {
  const char* url = std::getenv("NNTUNE_TEST_POSTGRES_URL");
  const char* pg_ctl = std::getenv("NNTUNE_TEST_PG_CTL");
  const char* datadir = std::getenv("NNTUNE_TEST_POSTGRES_DATADIR");
  if (!url || !*url || !pg_ctl || !*pg_ctl || !datadir || !*datadir)
    GTEST_SKIP() << "needs NNTUNE_TEST_POSTGRES_URL, NNTUNE_TEST_PG_CTL and NNTUNE_TEST_POSTGRES_DATADIR "
                    "(scripts/with_postgres.sh sets them)";
  std::optional<testing::PostgresServerControlLock> server_control_lock;  // storage_test takes it too
  server_control_lock.emplace();

  TempDir dir;
  const std::string study = "restart_" + std::to_string(getpid()) + "_" +
                            std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  testing::write_file(dir.file("quick.yaml"),
                      "space: {x: {float: [0, 1]}}\n"
                      "tune:\n"
                      "  objective: {command: \"sleep 0.05; echo nntune: value {x}\"}\n"
                      "  sampler: {name: random, seed: 3}\n"
                      "  trials: 60\n"
                      "  grace: 60s\n");
  CliRun created = run_nntune(dir, "tune quick.yaml --storage '" + std::string(url) + "' --study " + study + " --create-only");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(start_nntune(dir, worker_name(w), {"worker", "--storage", url, "--study", study}));
  // Restart once the workers are under way.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (testing::read_file(dir.file("w0.out")).find("trial ") == std::string::npos && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int status = std::system((std::string(pg_ctl) + " -m fast -w restart >/dev/null 2>&1").c_str());
  ASSERT_EQ(status, 0) << "pg_ctl restart failed";
  for (size_t w = 0; w < workers.size(); ++w)
    EXPECT_EQ(wait_exit(workers[w], 90), 0) << testing::read_file(dir.file(worker_name(w) + ".err"));
  server_control_lock.reset();

  const json trials = trials_of(dir, url, study);
  expect_dense_numbers(trials);
  EXPECT_EQ(count_state(trials, "running"), 0) << trials.dump(1);
  EXPECT_EQ(count_state(trials, "failed"), 0) << trials.dump(1);
  // Every planned trial; at most one more per other worker when several ask for the last one.
  EXPECT_GE(count_state(trials, "complete"), 60);
  EXPECT_LE(count_state(trials, "complete"), 62);
  const CliRun deleted = run_nntune(dir, "delete " + study + " --storage '" + std::string(url) + "' --yes");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

TEST(Worker, StopEndsEveryWorkerAfterItsRunningTrial) {
  TempDir dir;
  const std::string storage = "sqlite:///" + dir.file("studies.db");
  testing::write_file(dir.file("slow.yaml"),
                      "space: {x: {float: [0, 1]}}\n"
                      "tune:\n"
                      "  objective: {command: \"sleep 0.3; echo nntune: value {x}\"}\n"
                      "  sampler: random\n");
  CliRun run = run_nntune(dir, "tune slow.yaml --storage " + storage + " --timeout 10m --create-only");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(start_nntune(dir, worker_name(w), {"worker", "--storage", storage, "--study", "slow"}));
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (testing::read_file(dir.file("w0.out")).find("trial ") == std::string::npos && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));

  run = run_nntune(dir, "stop slow --storage " + storage);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("asked the workers of study slow to stop"), std::string::npos) << run.out;
  const auto stopped = Clock::now();
  for (pid_t w : workers) EXPECT_EQ(wait_exit(w, 15), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - stopped).count(), 6.0);
  EXPECT_NE(testing::read_file(dir.file("w1.out")).find("stopped (nntune stop)"), std::string::npos)
      << testing::read_file(dir.file("w1.out"));

  const json trials = trials_of(dir, storage, "slow");
  EXPECT_GE(trials.size(), 1u);
  EXPECT_EQ(count_state(trials, "complete"), static_cast<int>(trials.size())) << trials.dump(1);  // finished cleanly

  // A worker started now has nothing to do; clearing the request lets workers run again.
  run = run_nntune(dir, "worker --storage " + storage + " --study slow");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("has a stop request"), std::string::npos) << run.out;
  EXPECT_EQ(trials_of(dir, storage, "slow").size(), trials.size());
  run = run_nntune(dir, "stop slow --clear --storage " + storage);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("cleared"), std::string::npos) << run.out;

  // Unknown studies, and studies without a stored spec, say what to do.
  run = run_nntune(dir, "worker --storage " + storage + " --study nope");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no study named 'nope'"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("studies there: slow"), std::string::npos) << run.err;
}

// What Kubernetes, Slurm and systemd read (docs/many-machines.md): 0 when the study is finished
// or stopped, 1 on an error (no study, no storage, every trial failed), 2 on a usage mistake,
// 143 when SIGTERM stopped the worker mid-trial.
TEST(Worker, ExitCodesThatSchedulersRead) {
  TempDir dir;
  const std::string storage = "sqlite:///" + dir.file("studies.db");
  testing::write_file(dir.file("quick.yaml"),
                      "space: {x: {choice: [1, 2, 3]}}\ntune: {objective: {command: \"echo nntune: value {x}\"}, sampler: grid}\n");
  testing::write_file(dir.file("broken.yaml"),
                      "space: {x: {float: [0, 1]}}\ntune: {objective: {command: \"exit 3\"}, trials: 2}\n");
  testing::write_file(dir.file("slow.yaml"),
                      "space: {x: {float: [0, 1]}}\ntune: {objective: {command: \"sleep 5; echo nntune: value {x}\"}}\n");
  for (const char* spec : {"quick.yaml", "broken.yaml", "slow.yaml"})
    ASSERT_EQ(run_nntune(dir, std::string("tune ") + spec + " --storage " + storage + " --create-only -q").exit_code, 0);

  CliRun run = run_nntune(dir, "worker quick --storage " + storage);  // runs the grid, finished
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("finished: 3 new trials"), std::string::npos) << run.out;
  run = run_nntune(dir, "worker quick --storage " + storage);  // nothing left: finished too
  EXPECT_EQ(run.exit_code, 0) << run.err;

  run = run_nntune(dir, "worker broken --storage " + storage);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.err.find("every trial this process ran failed (2), the first with: the objective command exited with "
                         "status 3"),
            std::string::npos)
      << run.err;

  EXPECT_EQ(run_nntune(dir, "worker nope --storage " + storage).exit_code, 1);
  run = run_nntune(dir, "worker quick --storage sqlite:///" + dir.file("no/such/dir/x.db"));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_EQ(run_nntune(dir, "worker quick").exit_code, 2);  // no storage at all
  EXPECT_EQ(run_nntune(dir, "worker quick --storage " + storage + " --jobs 0").exit_code, 2);

  // SIGTERM (what every scheduler sends first) mid-trial: 143, and the trial is not left running.
  const pid_t worker = start_nntune(dir, "term", {"worker", "slow", "--storage", storage});
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  auto running = [&] { return count_state(trials_of(dir, storage, "slow"), "running"); };
  while (running() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(running(), 1);
  kill(worker, SIGTERM);
  EXPECT_EQ(wait_exit(worker, 20), 143) << testing::read_file(dir.file("term.err"));
  const json trials = trials_of(dir, storage, "slow");
  EXPECT_EQ(count_state(trials, "running"), 0) << trials.dump(1);
  EXPECT_NE(trials.dump().find("interrupted (SIGTERM)"), std::string::npos) << trials.dump(1);

  // Stopped by nntune stop: 0.
  ASSERT_EQ(run_nntune(dir, "stop slow --storage " + storage).exit_code, 0);
  run = run_nntune(dir, "worker slow --storage " + storage);
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

}  // namespace
}  // namespace nntune
