// The C++ tuning API over a storage: define-by-run and ask/tell, enqueue and warm starts,
// failing and pruned trials, parallel jobs, resume after kill -9, grid exhaustion in parallel.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "nntune/error.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "test_util.hpp"
#include "tune/process_info.hpp"
#include "tune/samplers.hpp"

namespace nntune::tune {
namespace {

using nntune::testing::TempDir;

std::unique_ptr<Sampler> sampler_named(const std::string& name, uint64_t seed = 1) {
  SamplerConfig config;
  config.name = name;
  config.seed = seed;
  return make_sampler(config);
}

Study memory_study(const std::string& sampler = "random", Direction direction = Direction::Minimize) {
  return Study::open(open_storage("memory"), "s", direction, sampler_named(sampler));
}

double quadratic(Trial& trial) {
  const double x = trial.suggest_float("x", -5, 5);
  const double y = trial.suggest_float("y", -5, 5);
  return (x - 1) * (x - 1) + (y + 2) * (y + 2);
}

std::vector<FrozenTrial> trials_in(const Study& study, TrialState state) {
  std::vector<FrozenTrial> out;
  for (auto& t : study.history().trials)
    if (t.state == state) out.push_back(t);
  return out;
}

// Prunes at and after a fixed step (a pruner with a known answer).
class PruneFromStep : public Pruner {
 public:
  explicit PruneFromStep(int64_t step) : step_(step) {}
  std::string name() const override { return "from_step"; }
  bool prune(const StudyHistory& history, const FrozenTrial& trial) override {
    return !trial.intermediate.empty() && trial.intermediate.rbegin()->first >= step_;
  }

 private:
  int64_t step_;
};

TEST(Study, DefineByRunWithRandomFindsAGoodPoint) {
  Study study = memory_study("random");
  study.optimize(quadratic, {.n_trials = 60});
  const auto history = study.history();
  ASSERT_EQ(history.trials.size(), 60u);
  const auto best = study.best_trial();
  ASSERT_TRUE(best.has_value());
  EXPECT_LT(*best->value, *history.trials[0].value);
  EXPECT_LT(*best->value, 2.0);
  EXPECT_EQ(best->params.size(), 2u);
}

TEST(Study, DefineByRunWithTpeImprovesOnItsStartup) {
  Study study = memory_study("tpe");
  study.optimize(quadratic, {.n_trials = 50});
  const auto history = study.history();
  ASSERT_EQ(history.trials.size(), 50u);
  auto median = [&](size_t from, size_t to) {
    std::vector<double> v;
    for (size_t i = from; i < to; ++i) v.push_back(*history.trials[i].value);
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  // The last 20 (model-based) proposals beat the 10 random startup ones by far.
  EXPECT_LT(median(30, 50), 0.5 * median(0, 10));
  EXPECT_LT(*study.best_trial()->value, 0.5);
}

TEST(Study, MaximizeBestTrialIsTheHighest) {
  Study study = memory_study("random", Direction::Maximize);
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, {.n_trials = 10});
  double highest = -1;
  for (const auto& t : study.history().trials) highest = std::max(highest, *t.value);
  EXPECT_EQ(*study.best_trial()->value, highest);
}

TEST(Study, AskAndTell) {
  Study study = memory_study();
  Trial first = study.ask();
  EXPECT_EQ(first.number(), 0);
  const double x = first.suggest_float("x", 0, 1);
  const int64_t units = first.suggest_int("units", 16, 64, false, 16);
  const nlohmann::json optimizer = first.suggest_categorical("optimizer", {"sgd", "adam"});
  EXPECT_TRUE(units == 16 || units == 32 || units == 48 || units == 64);
  EXPECT_TRUE(optimizer == "sgd" || optimizer == "adam");
  first.report(0.7, 1);
  first.set_user_attr("note", "hand-run");
  study.tell(first, x);
  EXPECT_ERROR_CONTAINS(study.tell(first, 0.5), "trial 0 was already finished as complete");

  Trial second = study.ask();
  EXPECT_EQ(second.number(), 1);
  second.suggest_float("x", 0, 1);
  second.report(0.9, 1);
  second.report(0.8, 2);
  study.tell(second, TrialState::Pruned);

  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Complete);
  EXPECT_EQ(trials[0].value, x);
  EXPECT_EQ(trials[0].external_params()["units"], units);
  EXPECT_EQ(trials[0].intermediate.at(1), 0.7);
  EXPECT_EQ(trials[0].user_attrs["note"], "hand-run");
  EXPECT_TRUE(trials[0].system_attrs["worker"]["pid"].is_number_integer());
  EXPECT_EQ(trials[1].state, TrialState::Pruned);
  EXPECT_EQ(trials[1].value, 0.8);  // its last intermediate value
}

TEST(Study, SuggestingANameAgainReturnsTheSameValue) {
  Study study = memory_study();
  Trial trial = study.ask();
  const double x = trial.suggest_float("x", 0, 1);
  EXPECT_EQ(trial.suggest_float("x", 0, 1), x);
  EXPECT_ERROR_CONTAINS(trial.suggest_float("x", 0, 2), "parameter \"x\" of trial 0", "one distribution");
  EXPECT_ERROR_CONTAINS(trial.suggest_float("bad", 1, 0), "parameter \"bad\"", "low 1 > high 0");
}

TEST(Study, EnqueuedConfigurationsRunFirstAndAreValidated) {
  Study study = memory_study();
  study.enqueue({{"x", 0.25}, {"optimizer", "adam"}});
  study.enqueue({{"x", 7.0}});  // outside [0, 1]: that trial fails with the reason
  std::vector<nlohmann::json> seen;
  study.optimize(
      [&](Trial& t) {
        const double x = t.suggest_float("x", 0, 1);
        seen.push_back(t.suggest_categorical("optimizer", {"sgd", "adam"}));
        return x;
      },
      {.n_trials = 3});
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::Complete);
  EXPECT_EQ(trials[0].value, 0.25);
  EXPECT_EQ(trials[0].external_params()["optimizer"], "adam");
  EXPECT_EQ(trials[1].state, TrialState::Failed);
  EXPECT_NE(trials[1].error.find("enqueued value of parameter \"x\""), std::string::npos) << trials[1].error;
  EXPECT_EQ(trials[2].state, TrialState::Complete);
  EXPECT_ERROR_CONTAINS(study.enqueue(nlohmann::json::array({1, 2})), "JSON object");
}

TEST(Study, AddTrialImportsFinishedTrials) {
  Study study = memory_study();
  FrozenTrial known;
  known.state = TrialState::Complete;
  known.value = -3.0;
  known.params["x"] = 0.5;
  known.distributions["x"] = Distribution::float_range(0, 1);
  study.add_trial(known);
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, {.n_trials = 4});
  EXPECT_EQ(study.history().trials.size(), 4u);  // the import counts toward the total
  EXPECT_EQ(study.best_trial()->value, -3.0);
  EXPECT_EQ(study.best_trial()->number, 0);

  FrozenTrial running = known;
  running.state = TrialState::Running;
  EXPECT_ERROR_CONTAINS(study.add_trial(running), "complete, pruned or failed", "running");
  FrozenTrial no_value = known;
  no_value.value.reset();
  EXPECT_ERROR_CONTAINS(study.add_trial(no_value), "finite value");
  FrozenTrial outside = known;
  outside.params["x"] = 3.0;
  EXPECT_ERROR_CONTAINS(study.add_trial(outside), "parameter \"x\"", "outside its distribution");
  FrozenTrial no_distribution = known;
  no_distribution.distributions.clear();
  EXPECT_ERROR_CONTAINS(study.add_trial(no_distribution), "\"x\" has no distribution");
}

TEST(Study, NanValueFailsTheTrialAndTheStudyGoesOn) {
  Study study = memory_study();
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", 0, 1);
        return t.number() == 1 ? std::nan("") : x;
      },
      {.n_trials = 3});
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[1].state, TrialState::Failed);
  EXPECT_EQ(trials[1].error, "objective returned NaN");
  EXPECT_FALSE(trials[1].value.has_value());
  EXPECT_EQ(trials[2].state, TrialState::Complete);
}

TEST(Study, ThrowingObjectiveFailsItsTrialWithTheMessage) {
  Study study = memory_study();
  study.optimize(
      [](Trial& t) -> double {
        t.suggest_float("x", 0, 1);
        if (t.number() == 0) throw Error("loss diverged at epoch 3");
        return 1.0;
      },
      {.n_trials = 2});
  const auto failed = trials_in(study, TrialState::Failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, "loss diverged at epoch 3");
  EXPECT_EQ(trials_in(study, TrialState::Complete).size(), 1u);

  Study strict = memory_study();
  OptimizeOptions options{.n_trials = 5, .catch_errors = false};
  EXPECT_ERROR_CONTAINS(strict.optimize([](Trial&) -> double { throw Error("bad objective"); }, options),
                        "bad objective");
  EXPECT_EQ(strict.history().trials.size(), 1u);
  EXPECT_EQ(strict.history().trials[0].state, TrialState::Failed);
}

TEST(Study, PrunerStopsTrialsThroughShouldPrune) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "p", Direction::Minimize, sampler_named("random"), std::make_unique<PruneFromStep>(2));
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", 0, 1);
        for (int64_t step = 0; step < 5; ++step) {
          t.report(x + static_cast<double>(step), step);
          if (t.should_prune()) throw TrialPruned();
        }
        return x;
      },
      {.n_trials = 2});
  for (const auto& t : study.history().trials) {
    EXPECT_EQ(t.state, TrialState::Pruned);
    EXPECT_EQ(t.intermediate.size(), 3u);     // steps 0, 1, 2 kept
    EXPECT_EQ(t.value, t.intermediate.at(2));  // the last reported value
  }
  Study without = memory_study();
  Trial trial = without.ask();
  trial.report(1.0, 10);
  EXPECT_FALSE(trial.should_prune());
}

TEST(Study, DirectionMismatchNamesBoth) {
  auto storage = open_storage("memory");
  Study::open(storage, "d", Direction::Minimize, sampler_named("random"));
  EXPECT_ERROR_CONTAINS(Study::open(storage, "d", Direction::Maximize, sampler_named("random")), "\"d\"",
                        "created to minimize", "opened to maximize");
}

TEST(Study, NTrialsIsHonouredWithTwoJobsAndOnResume) {
  Study study = memory_study();
  auto objective = [](Trial& t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return t.suggest_float("x", 0, 1);
  };
  study.optimize(objective, {.n_trials = 10, .jobs = 2});
  EXPECT_EQ(study.history().trials.size(), 10u);
  EXPECT_EQ(trials_in(study, TrialState::Complete).size(), 10u);
  study.optimize(objective, {.n_trials = 15, .jobs = 2});  // a resumed study continues to the total
  EXPECT_EQ(study.history().trials.size(), 15u);
}

TEST(Study, StopsAtTimeoutAndOnRequest) {
  Study study = memory_study();
  const auto start = std::chrono::steady_clock::now();
  study.optimize(
      [](Trial& t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        return t.suggest_float("x", 0, 1);
      },
      {.timeout_seconds = 0.2});
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(elapsed, 2.0);
  EXPECT_GE(study.history().trials.size(), 2u);

  Study stopped = memory_study();
  int ended = 0;
  OptimizeOptions options;
  options.on_trial_end = [&](const Study&, const FrozenTrial& t) {
    EXPECT_TRUE(is_finished(t.state));
    return ++ended == 3;
  };
  stopped.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  EXPECT_EQ(stopped.history().trials.size(), 3u);
}

TEST(Study, GridWithThreeJobsNeverRepeatsAPointAndEndsWhenExhausted) {
  Study study = Study::open(open_storage("memory"), "g", Direction::Minimize, sampler_named("grid"));
  study.optimize(
      [](Trial& t) {
        const int64_t x = t.suggest_int("x", 0, 3);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const nlohmann::json y = t.suggest_categorical("y", {"a", "b", "c"});
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return static_cast<double>(x);
      },
      {.jobs = 3});  // no n_trials: the exhausted grid ends the study
  std::set<std::pair<double, double>> points;
  for (const auto& t : trials_in(study, TrialState::Complete)) {
    EXPECT_TRUE(points.emplace(t.params.at("x"), t.params.at("y")).second)
        << "point repeated by trial " << t.number << ": " << t.external_params().dump();
  }
  EXPECT_EQ(points.size(), 12u);
  EXPECT_TRUE(trials_in(study, TrialState::Running).empty());
  EXPECT_LE(trials_in(study, TrialState::Failed).size(), 2u);  // at most jobs - 1 surplus trials
}

// Resume after kill -9: a child process runs the study on SQLite and is killed while trial 2
// runs; reopening fails that zombie trial at once and continues to the planned total.
TEST(Study, ResumesAfterTheWorkerIsKilled) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("resume.db");
  const std::string running_marker = dir.file("trial2.running");
  constexpr int64_t kTotal = 6;
  auto objective = [&](Trial& t) {
    const double x = t.suggest_float("x", 0, 1);
    if (t.number() == 2 && !std::filesystem::exists(running_marker)) {
      std::ofstream(running_marker) << getpid();
      std::this_thread::sleep_for(std::chrono::seconds(60));  // killed meanwhile
    }
    return x;
  };

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Study study = Study::open(open_storage(url), "resume", Direction::Minimize, sampler_named("random"));
      study.optimize(objective, {.n_trials = kTotal});
    } catch (...) {
    }
    _exit(0);
  }
  for (int i = 0; i < 1000 && !std::filesystem::exists(running_marker); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(running_marker)) << "the child never reached trial 2";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);  // reaped: its pid no longer exists
  ASSERT_TRUE(WIFSIGNALED(status));

  Study study = Study::open(open_storage(url), "resume", Direction::Minimize, sampler_named("random"));
  {
    const auto before = study.history().trials;
    ASSERT_EQ(before.size(), 3u);
    EXPECT_EQ(before[2].state, TrialState::Running);  // the zombie
  }
  study.optimize(objective, {.n_trials = kTotal});
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), static_cast<size_t>(kTotal));
  EXPECT_EQ(trials[2].state, TrialState::Failed);
  EXPECT_NE(trials[2].error.find("worker process died"), std::string::npos) << trials[2].error;
  EXPECT_EQ(trials_in(study, TrialState::Complete).size(), static_cast<size_t>(kTotal - 1));
  EXPECT_TRUE(trials_in(study, TrialState::Running).empty());
}

// kill -9 while a worker writes as fast as it can: every committed trial is whole, the file
// opens, and the study goes on.
TEST(Study, SqliteStaysConsistentWhenKilledMidWrite) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("killed.db");
  Study::open(open_storage(url), "k", Direction::Minimize, sampler_named("random"));  // created before the fork
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Study study = Study::open(open_storage(url), "k", Direction::Minimize, sampler_named("random"));
      study.optimize(quadratic, {.n_trials = 1'000'000});
    } catch (...) {
    }
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);

  Study study = Study::open(open_storage(url), "k", Direction::Minimize, sampler_named("random"));
  const auto before = study.history().trials;
  ASSERT_GT(before.size(), 2u) << "the worker wrote nothing before it was killed";
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].number, static_cast<int64_t>(i));
    if (before[i].state == TrialState::Complete) {
      EXPECT_EQ(before[i].params.size(), 2u);
      EXPECT_TRUE(before[i].value.has_value());
    } else {
      EXPECT_EQ(before[i].state, TrialState::Running);  // only the one it was in
      EXPECT_EQ(i, before.size() - 1);
    }
  }
  study.optimize(quadratic, {.n_trials = static_cast<int64_t>(before.size()) + 3});
  const auto after = study.history().trials;
  EXPECT_EQ(after.size(), before.size() + 3);
  for (const auto& t : after) EXPECT_NE(t.state, TrialState::Running);
}

// Runs body(0) ... body(n - 1) each in a forked process and expects every one to exit 0 (a
// throwing body prints its error and exits 1).
void run_worker_processes(int n, const std::function<void(int)>& body) {
  std::vector<pid_t> children;
  for (int p = 0; p < n; ++p) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int code = 0;
      try {
        body(p);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "worker process failed: %s\n", e.what());
        code = 1;
      }
      _exit(code);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a worker process failed (see stderr)";
  }
}

// Several processes (two jobs each) share one SQLite study: none fails with "database is
// locked", numbers stay dense, and the total overshoots n_trials by less than the workers.
TEST(Study, SeveralProcessesShareOneSqliteStudy) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("shared.db");
  constexpr int kProcesses = 3, kJobs = 2;
  constexpr int64_t kTotal = 40;
  run_worker_processes(kProcesses, [&](int p) {
    Study study = Study::open(open_storage(url), "shared", Direction::Minimize, sampler_named("random", p + 1));
    study.optimize(quadratic, {.n_trials = kTotal, .jobs = kJobs});
  });
  Study study = Study::open(open_storage(url), "shared", Direction::Minimize, sampler_named("random"));
  const auto trials = study.history().trials;
  EXPECT_GE(trials.size(), static_cast<size_t>(kTotal));
  EXPECT_LT(trials.size(), static_cast<size_t>(kTotal + kProcesses * kJobs));
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::Complete) << trials[i].error;
    EXPECT_EQ(trials[i].params.size(), 2u);
  }
}

TEST(Study, RecoverFailsTrialsWithoutHeartbeat) {
  Study study = memory_study();
  Trial abandoned = study.ask();  // this process is alive, so only the grace period can fail it
  EXPECT_TRUE(study.recover_trials(60.0).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto failed = study.recover_trials(0.1);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].number, abandoned.number());
  EXPECT_NE(failed[0].error.find("no heartbeat"), std::string::npos);
}

TEST(Study, HeartbeatKeepsLongTrialsAlive) {
  Study study = memory_study();
  Study observer = study;  // same storage, to look in while the trial runs
  bool stayed_running = false;
  OptimizeOptions options{.n_trials = 1};
  options.heartbeat_seconds = 0.05;
  study.optimize(
      [&](Trial& t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        // Without heartbeats the trial would now be 0.4 s old; with them it is fresh.
        stayed_running = observer.storage().fail_stale_trials(observer.id(), 0.2).empty();
        return t.suggest_float("x", 0, 1);
      },
      options);
  EXPECT_TRUE(stayed_running);
  EXPECT_EQ(trials_in(study, TrialState::Complete).size(), 1u);
}

// ---- many workers: stored budget, retries, storage faults, grids across processes ----

std::string this_host() {
  char buffer[256] = {0};
  gethostname(buffer, sizeof(buffer) - 1);
  return buffer;
}

// A pid that no process has: a child that exited and was reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

// A running trial left by a worker that is gone: x = 0.25 was its parameter.
FrozenTrial zombie_trial(Storage& storage, int64_t study_id, const nlohmann::json& worker) {
  FrozenTrial running;
  running.state = TrialState::Running;
  running.params["x"] = 0.25;
  running.distributions["x"] = Distribution::float_range(0, 1);
  running.system_attrs["worker"] = worker;
  return storage.create_trial(study_id, &running);
}

TEST(Study, TrialOfADeadWorkerIsRetriedWithItsParameters) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "r", Direction::Minimize, sampler_named("random"));
  const FrozenTrial zombie = zombie_trial(*storage, study.id(), {{"host", this_host()}, {"pid", dead_pid()}});
  OptimizeOptions options{.n_trials = 3};
  options.max_retries = 1;
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 4u);  // the failed one does not count: its retry took its place
  EXPECT_EQ(trials[0].state, TrialState::Failed);
  EXPECT_NE(trials[0].error.find("worker process died"), std::string::npos) << trials[0].error;
  EXPECT_EQ(trials[0].system_attrs.at("retried_as"), 1);
  EXPECT_EQ(trials[1].state, TrialState::Complete);
  EXPECT_EQ(trials[1].system_attrs.at("retry_of"), zombie.number);
  EXPECT_EQ(trials[1].system_attrs.at("retry"), 1);
  EXPECT_EQ(trials[1].value, 0.25);  // the same parameters
  EXPECT_EQ(Study::counted_trials(trials), 3);
}

// Workers in several processes can overshoot the budget by a trial each (checking it and
// creating a trial is not one step across processes). When a dead worker's trial is found after
// that, its retry still runs: it takes the failed trial's place and nothing else starts.
TEST(Study, RetryRunsWhenTheOtherTrialsOvershotTheBudget) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "u", Direction::Minimize, sampler_named("random"));
  OptimizeOptions options{.n_trials = 2};
  study.optimize([](Trial& t) { return t.suggest_float("x", 0.5, 1); }, options);
  // A third trial, started past the budget by another process that then died.
  zombie_trial(*storage, study.id(), {{"host", this_host()}, {"pid", dead_pid()}});
  options.max_retries = 1;
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(trials[2].state, TrialState::Failed);
  EXPECT_EQ(trials[3].state, TrialState::Complete);
  EXPECT_EQ(trials[3].system_attrs.at("retry_of"), 2);
  EXPECT_EQ(trials[3].value, 0.25);  // the failed trial's x
  EXPECT_EQ(Study::counted_trials(trials), 3);
}

TEST(Study, StaleTrialOfAnotherHostIsFailedAndRetriedWhileTheStudyRuns) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "s", Direction::Minimize, sampler_named("random"));
  // Another machine's worker: no pid to look at, only its heartbeat, which stops now.
  zombie_trial(*storage, study.id(), {{"host", "elsewhere"}, {"pid", 4242}});
  OptimizeOptions options{.n_trials = 2};
  options.max_retries = 2;
  options.stale_grace_seconds = 0.4;
  options.heartbeat_seconds = 0.1;
  options.wait_for_other_workers = true;  // the budget is reached while the zombie counts: stay for it
  const auto start = std::chrono::steady_clock::now();
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::Failed);
  EXPECT_NE(trials[0].error.find("heartbeat"), std::string::npos) << trials[0].error;
  // One of trials 1 and 2 is a fresh one, the other the retry (which comes first depends on
  // whether the zombie went stale before the first ask, on a loaded machine).
  const FrozenTrial& retry = trials[1].system_attrs.contains("retry_of") ? trials[1] : trials[2];
  ASSERT_TRUE(retry.system_attrs.contains("retry_of"));
  EXPECT_EQ(retry.system_attrs.at("retry_of"), 0);
  EXPECT_EQ(retry.value, 0.25);
  EXPECT_EQ(trials_in(study, TrialState::Complete).size(), 2u);
}

TEST(Study, RetriesStopAtTheConfiguredNumber) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "n", Direction::Minimize, sampler_named("random"));
  zombie_trial(*storage, study.id(), {{"host", this_host()}, {"pid", dead_pid()}});
  study.recover_trials();  // no retries through the plain recovery
  EXPECT_EQ(study.history().trials.size(), 1u);
  // A retry that dies too is retried again only while retries are left.
  FrozenTrial retry_that_died;
  retry_that_died.state = TrialState::Running;
  retry_that_died.system_attrs = {{"worker", {{"host", this_host()}, {"pid", dead_pid()}}}, {"retry_of", 0}, {"retry", 1}};
  storage->create_trial(study.id(), &retry_that_died);
  OptimizeOptions options{.n_trials = 1};
  options.max_retries = 1;
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 2u);  // the retry's failure used up the budget of one trial
  for (const auto& t : trials) EXPECT_FALSE(t.system_attrs.contains("retried_as")) << t.number;
}

TEST(Study, StoredBudgetAndStopRequestAreSharedByEveryWorker) {
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "b", Direction::Minimize, sampler_named("random"));
  EXPECT_EQ(study.stored_budget().n_trials, 0);
  study.store_budget({.n_trials = 4});
  Study other = Study::open(storage, "b", Direction::Minimize, sampler_named("random"));  // another process
  EXPECT_EQ(other.stored_budget().n_trials, 4);
  OptimizeOptions options{.n_trials = 100};  // ignored: the stored budget applies
  options.use_stored_budget = true;
  other.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  EXPECT_EQ(study.history().trials.size(), 4u);

  // A stop request from elsewhere ends a running optimize after its trial.
  study.store_budget({.n_trials = 0});
  std::atomic<int> ran{0};
  std::thread stopper([&] {
    while (ran.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    study.request_stop();
  });
  other.optimize(
      [&](Trial& t) {
        ++ran;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return t.suggest_float("x", 0, 1);
      },
      options);
  stopper.join();
  EXPECT_TRUE(study.stored_budget().stop_requested);
  EXPECT_LT(study.history().trials.size(), 10u);
  EXPECT_TRUE(trials_in(study, TrialState::Running).empty());
  // A deadline in the past starts nothing.
  study.store_budget({.n_trials = 0, .deadline = 1.0});
  const size_t before = study.history().trials.size();
  other.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  EXPECT_EQ(study.history().trials.size(), before);
  EXPECT_ERROR_CONTAINS(study.store_budget({.n_trials = -1}), "n_trials must be >= 0");
}

// A storage that fails its first `failures` writes of running trials (a dropped connection).
class FlakyStorage : public Storage {
 public:
  FlakyStorage(std::shared_ptr<Storage> inner, int failures) : inner_(std::move(inner)), failures_(failures) {}
  std::string url() const override { return "flaky+" + inner_->url(); }
  int64_t create_study(const std::string& n, Direction d) override { return inner_->create_study(n, d); }
  std::optional<int64_t> find_study(const std::string& n) override { return inner_->find_study(n); }
  StudySummary get_study(int64_t id) override { return inner_->get_study(id); }
  std::vector<StudySummary> list_studies() override { return inner_->list_studies(); }
  void delete_study(int64_t id) override { inner_->delete_study(id); }
  void set_study_system_attr(int64_t id, const std::string& k, const nlohmann::json& v) override {
    inner_->set_study_system_attr(id, k, v);
  }
  void set_study_user_attr(int64_t id, const std::string& k, const nlohmann::json& v) override {
    inner_->set_study_user_attr(id, k, v);
  }
  FrozenTrial create_trial(int64_t id, const FrozenTrial* from) override { return inner_->create_trial(id, from); }
  std::optional<FrozenTrial> claim_waiting_trial(int64_t id) override { return inner_->claim_waiting_trial(id); }
  void set_trial_param(int64_t id, const std::string& n, double v, const Distribution& d) override {
    fail();
    inner_->set_trial_param(id, n, v, d);
  }
  void set_intermediate_value(int64_t id, int64_t step, double v) override {
    fail();
    inner_->set_intermediate_value(id, step, v);
  }
  void set_trial_user_attr(int64_t id, const std::string& k, const nlohmann::json& v) override {
    inner_->set_trial_user_attr(id, k, v);
  }
  void set_trial_system_attr(int64_t id, const std::string& k, const nlohmann::json& v) override {
    inner_->set_trial_system_attr(id, k, v);
  }
  bool finish_trial(int64_t id, TrialState s, std::optional<double> v, const std::string& e) override {
    fail();
    return inner_->finish_trial(id, s, v, e);
  }
  void record_heartbeat(int64_t id) override { inner_->record_heartbeat(id); }
  std::vector<FrozenTrial> fail_stale_trials(int64_t id, double grace) override { return inner_->fail_stale_trials(id, grace); }
  FrozenTrial get_trial(int64_t id) override { return inner_->get_trial(id); }
  std::vector<FrozenTrial> get_all_trials(int64_t id) override { return inner_->get_all_trials(id); }

 private:
  void fail() {
    if (failures_-- > 0) throw Error("connection to the database lost");
  }
  std::shared_ptr<Storage> inner_;
  std::atomic<int> failures_;
};

TEST(Study, StorageErrorsWhileATrialRunsAreRetriedWithinTheGracePeriod) {
  auto flaky = std::make_shared<FlakyStorage>(open_storage("memory"), 3);
  Study study = Study::open(flaky, "f", Direction::Minimize, sampler_named("random"));
  OptimizeOptions options{.n_trials = 2, .catch_errors = false};
  options.stale_grace_seconds = 10;
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", 0, 1);
        t.report(x, 1);
        return x;
      },
      options);
  const auto trials = study.history().trials;
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::Complete);
    EXPECT_EQ(t.intermediate.size(), 1u);
  }

  // Past the grace period the trial is given up, and says why.
  auto down = std::make_shared<FlakyStorage>(open_storage("memory"), 1'000'000);
  Study unreachable = Study::open(down, "d", Direction::Minimize, sampler_named("random"));
  options.stale_grace_seconds = 0.3;
  options.heartbeat_seconds = 0.1;
  EXPECT_ERROR_CONTAINS(unreachable.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options),
                        "kept failing", "connection to the database lost");
}

// Samplers see the running trials of every process (the constant liar's pending points), not
// only this one's: the history comes from the storage.
class RecordingSampler : public Sampler {
 public:
  std::string name() const override { return "recording"; }
  double sample_independent(const StudyHistory& history, const FrozenTrial&, const std::string&, const Distribution&) override {
    seen_running.clear();
    for (const auto& t : history.trials)
      if (t.state == TrialState::Running && t.params.count("x")) seen_running.push_back(t.params.at("x"));
    return 0.5;
  }
  std::vector<double> seen_running;
};

TEST(Study, SamplersSeeRunningTrialsOfOtherProcesses) {
  auto storage = open_storage("memory");
  Study first = Study::open(storage, "l", Direction::Minimize, sampler_named("random"));
  Trial elsewhere = first.ask();
  const double x = elsewhere.suggest_float("x", 0, 1);
  auto recording = std::make_unique<RecordingSampler>();
  RecordingSampler* sampler = recording.get();
  Study second = Study::open(storage, "l", Direction::Minimize, std::move(recording));  // as another process opens it
  Trial here = second.ask();
  here.suggest_float("x", 0, 1);
  EXPECT_EQ(sampler->seen_running, std::vector<double>{x});
}

TEST(Study, EnumeratedGridCoversEveryBranchOnce) {
  const TuneSpec spec = parse_tune_spec(
      "space:\n"
      "  a: {int: [0, 2]}\n"
      "  opt: {choice: [{name: sgd, m: {float: [0, 0.5], step: 0.25}}, {name: adam}]}\n"
      "  fixed: 3\n"
      "tune: {objective: {command: \"run {a}\"}}\n",
      "g.yaml");
  const auto points = enumerate_grid(spec.space, true, {}, 1000);
  // 3 values of a x (3 sgd momenta + adam) = 12, the first parameter slowest.
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[0], (nlohmann::json{{"a", 0}, {"opt", "sgd"}, {"opt.sgd.m", 0.0}}));
  EXPECT_EQ(points[3], (nlohmann::json{{"a", 0}, {"opt", "adam"}}));
  EXPECT_EQ(points[11], (nlohmann::json{{"a", 2}, {"opt", "adam"}}));
  std::set<std::string> unique;
  for (const auto& p : points) unique.insert(p.dump());
  EXPECT_EQ(unique.size(), 12u);
  EXPECT_ERROR_CONTAINS(enumerate_grid(spec.space, true, {}, 5), "more than 5 points");
}

// Enqueued grid points are claimed atomically: processes sharing a study run each point once.
TEST(Study, EnqueuedGridIsRunOnceAcrossProcesses) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("grid.db");
  {
    Study study = Study::open(open_storage(url), "g", Direction::Minimize, sampler_named("grid"));
    for (int64_t x = 0; x < 30; ++x) study.enqueue({{"x", x}});
  }
  run_worker_processes(3, [&](int) {
    Study study = Study::open(open_storage(url), "g", Direction::Minimize, sampler_named("grid"));
    OptimizeOptions options{.jobs = 2};
    options.enqueued_only = true;
    study.optimize([](Trial& t) { return static_cast<double>(t.suggest_int("x", 0, 29)); }, options);
  });
  Study study = Study::open(open_storage(url), "g", Direction::Minimize, sampler_named("grid"));
  std::set<int64_t> xs;
  for (const auto& t : study.history().trials) {
    EXPECT_EQ(t.state, TrialState::Complete) << t.error;
    EXPECT_TRUE(xs.insert(static_cast<int64_t>(*t.value)).second) << "point " << *t.value << " ran twice";
  }
  EXPECT_EQ(xs.size(), 30u);
}

// ---------------------------------------------------------------------------------------------
// Typed failures: why a trial failed is a stored value that code decides on; the message is for
// people and is never parsed.

TEST(StudyFailures, EachFailureIsStoredWithItsKind) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("kinds.db");
  Study study = Study::open(open_storage(url), "kinds", Direction::Minimize, sampler_named("random"));
  study.optimize(
      [](Trial& t) -> double {
        const double x = t.suggest_float("x", 0, 1);
        if (t.number() == 0) throw DivergenceError("loss became NaN at epoch 2");
        // The text a dead worker's failure once started with: still an objective failure.
        if (t.number() == 1) throw Error("worker process died (pid 1 on somewhere) while the trial was running");
        if (t.number() == 2) return std::nan("");
        if (t.number() == 3) return std::numeric_limits<double>::infinity();
        return x;
      },
      {.n_trials = 5});
  // A dead worker's trial (a pid that no longer exists, on this host) and a stale one.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  auto storage = open_storage(url);
  FrozenTrial orphan;
  orphan.state = TrialState::Running;
  orphan.system_attrs["worker"] = {{"host", host_name()}, {"pid", static_cast<int64_t>(dead)}};
  const FrozenTrial died = storage->create_trial(study.id(), &orphan);
  study.recover_trials(300.0);
  const FrozenTrial silent = storage->create_trial(study.id());  // no worker attr: only the stale rule applies
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(storage->fail_stale_trials(study.id(), 0.001).size(), 1u);

  const auto trials = open_storage(url)->get_all_trials(study.id());  // as read back by another process
  ASSERT_EQ(trials.size(), 7u);
  EXPECT_EQ(trials[0].failure_kind(), FailureKind::Diverged) << trials[0].error;
  EXPECT_EQ(trials[1].failure_kind(), FailureKind::Objective) << trials[1].error;
  EXPECT_EQ(trials[2].failure_kind(), FailureKind::Objective) << trials[2].error;
  EXPECT_EQ(trials[2].error, "objective returned NaN");
  EXPECT_EQ(trials[3].failure_kind(), FailureKind::Objective) << trials[3].error;
  EXPECT_EQ(trials[3].value, std::numeric_limits<double>::infinity());  // a failed trial keeps the value it ended with
  EXPECT_EQ(trials[4].state, TrialState::Complete);
  EXPECT_EQ(trials[4].failure_kind(), FailureKind::Unknown);
  EXPECT_EQ(trials[died.number].failure_kind(), FailureKind::WorkerDied) << trials[died.number].error;
  EXPECT_EQ(trials[silent.number].failure_kind(), FailureKind::StaleHeartbeat) << trials[silent.number].error;
  EXPECT_EQ(trials[1].system_attrs.at("failure"), "objective");  // stored as a plain attribute
}

TEST(StudyFailures, RetriesAreDecidedByKindNotByMessage) {
  // A failed trial whose text reads like a dead worker's, failed moments ago and not retried:
  // only a real worker failure (by kind) is waited for as a coming retry.
  auto storage = open_storage("memory");
  Study study = Study::open(storage, "s", Direction::Minimize, sampler_named("random"));
  FrozenTrial failed;
  failed.state = TrialState::Failed;
  failed.error = "worker process died (pid 12345 on " + host_name() + ") while the trial was running";
  failed.system_attrs["worker"] = {{"host", host_name()}, {"pid", 12345}};
  failed.start_time = unix_now() - 1;
  failed.end_time = unix_now();
  storage->create_trial(study.id(), &failed);
  OptimizeOptions options{.n_trials = 1};
  options.max_retries = 1;
  options.wait_for_other_workers = true;
  const auto start = std::chrono::steady_clock::now();
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, options);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 3.0)
      << "waited for a retry of a trial that no worker failure ended";
  EXPECT_EQ(study.history().trials.size(), 1u);
}

}  // namespace
}  // namespace nntune::tune
