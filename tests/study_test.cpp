// The C++ tuning API over a storage: define-by-run and ask/tell, enqueue and warm starts,
// failing and pruned trials, parallel jobs, resume after kill -9, grid exhaustion in parallel.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "nntune/error.hpp"
#include "nntune/tune/study.hpp"
#include "test_util.hpp"

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

// Several processes (two jobs each) share one SQLite study: none fails with "database is
// locked", numbers stay dense, and the total overshoots n_trials by less than the workers.
TEST(Study, SeveralProcessesShareOneSqliteStudy) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("shared.db");
  constexpr int kProcesses = 3, kJobs = 2;
  constexpr int64_t kTotal = 40;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int code = 0;
      try {
        Study study = Study::open(open_storage(url), "shared", Direction::Minimize, sampler_named("random", p + 1));
        study.optimize(quadratic, {.n_trials = kTotal, .jobs = kJobs});
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

}  // namespace
}  // namespace nntune::tune
