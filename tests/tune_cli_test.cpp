// `nntune tune` and the study commands end to end: the real binary on a tiny CSV in a temporary
// directory, a few short trials each, SQLite storage in that directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "nntune/tune/storage.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using nlohmann::json;
using testing::CliRun;
using testing::run_nntune;
using testing::TempDir;

const char* const kSpec =
    "seed: 2\n"
    "data:\n"
    "  train: {csv: {path: data.csv, label: label}}\n"
    "  validation: {split: 0.25}\n"
    "  scale: standard\n"
    "model:\n"
    "  hidden: {count: {int: [1, 2]}, each: {units: {int: [2, 8]}}}\n"
    "  activation: {choice: [relu, tanh]}\n"
    "train:\n"
    "  optimizer:\n"
    "    choice:\n"
    "      - {name: sgd, lr: {float: [0.01, 0.3], log: true}, momentum: {float: [0.0, 0.9]}}\n"
    "      - {name: adam, lr: {float: [0.001, 0.05], log: true}}\n"
    "  batch_size: {choice: [8, 16]}\n"
    "  epochs: 3\n"
    "tune:\n"
    "  sampler: {name: tpe, seed: 3, n_startup_trials: 2}\n"
    "  storage: sqlite:///studies.db\n";

// External-objective studies that echo their parameter: a float, and a grid of four points.
const char* const kEchoSpec =
    "space: {x: {float: [0, 1]}}\n"
    "tune:\n"
    "  objective: {command: \"echo nntune: value {x}\"}\n"
    "  storage: sqlite:///studies.db\n";
const char* const kEchoGridSpec =
    "space: {x: {choice: [1, 2, 3, 4]}}\n"
    "tune:\n"
    "  objective: {command: \"echo nntune: value {x}\"}\n"
    "  sampler: grid\n"
    "  storage: sqlite:///studies.db\n";

class TuneCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir.file("data.csv"), testing::two_class_csv(40));
    testing::write_file(dir.file("spec.yaml"), kSpec);
  }
  json trials(const std::string& study) {
    const CliRun run = run_nntune(dir, "trials " + study + " --storage sqlite:///studies.db --format json");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return json::parse(run.out);
  }
  static int count_state(const json& trials, const std::string& state) {
    int n = 0;
    for (const auto& t : trials) n += t["state"] == state;
    return n;
  }
  TempDir dir;
};

TEST_F(TuneCliTest, TunesListsResumesAndPrintsATrainableBestSpec) {
  CliRun run = run_nntune(dir, "tune spec.yaml --trials 3");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("study spec in sqlite:///studies.db"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("trial 2 "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| done 3 "), std::string::npos) << run.out;
  json t = trials("spec");
  ASSERT_EQ(t.size(), 3u);
  for (const auto& trial : t) {
    EXPECT_NE(trial["state"], "running");
    EXPECT_TRUE(trial["params"].contains("train.optimizer"));
    EXPECT_TRUE(trial["params"].contains("model.hidden.0.units"));
  }

  // The same study continues up to the new total.
  run = run_nntune(dir, "tune spec.yaml --trials 5 --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(trials("spec").size(), 5u);

  run = run_nntune(dir, "trials spec --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("number  state"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("train.optimizer"), std::string::npos);
  run = run_nntune(dir, "trials spec --storage sqlite:///studies.db --format csv");
  EXPECT_EQ(run.out.rfind("number,state,value,seconds,", 0), 0u) << run.out;

  run = run_nntune(dir, "studies --storage sqlite:///studies.db");
  EXPECT_NE(run.out.find("spec"), std::string::npos);
  EXPECT_NE(run.out.find("maximize"), std::string::npos) << run.out;

  run = run_nntune(dir, "best spec --storage sqlite:///studies.db --spec-out best.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("best trial"), std::string::npos);
  run = run_nntune(dir, "train best.yaml -q -o trained");
  EXPECT_EQ(run.exit_code, 0) << run.err << testing::read_file(dir.file("best.yaml"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("trained/model.nnt")));
  // The refit spec: no validation split, the trial's epochs (3: no early stopping), trainable.
  run = run_nntune(dir, "best spec --storage sqlite:///studies.db --refit --spec-out refit.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string refit = testing::read_file(dir.file("refit.yaml"));
  EXPECT_NE(refit.find("# refit on all the training data:"), std::string::npos) << refit;
  EXPECT_NE(refit.find("data.validation {\"split\":0.25} removed"), std::string::npos) << refit;
  EXPECT_EQ(refit.find("validation:"), std::string::npos) << refit;
  EXPECT_NE(refit.find("epochs: 3"), std::string::npos) << refit;
  run = run_nntune(dir, "train refit.yaml -q -o refitted");
  EXPECT_EQ(run.exit_code, 0) << run.err << refit;
  EXPECT_TRUE(std::filesystem::exists(dir.file("refitted/model.nnt")));
  // No model per trial unless asked.
  EXPECT_FALSE(std::filesystem::exists(dir.file("runs")));
}

TEST_F(TuneCliTest, ParallelJobs) {
  const CliRun run = run_nntune(dir, "tune spec.yaml --trials 4 --jobs 2 --study par --sampler random --save-models models");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("par");
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(count_state(t, "running"), 0);
  for (int i = 0; i < 4; ++i)  // asked for: one model per trial
    EXPECT_TRUE(std::filesystem::exists(dir.file("models/trial_" + std::to_string(i) + "/model.nnt"))) << i;
}

TEST_F(TuneCliTest, KeepBestKeepsTheBestModelsAndEnsembleCombinesThem) {
  // The spec with a test set: the ensemble command scores the ensemble and the best model on it.
  std::string spec = kSpec;
  spec.replace(spec.find("  validation:"), 0, "  test: {csv: {path: data.csv, label: label}}\n");
  testing::write_file(dir.file("ens.yaml"), spec);
  CliRun run = run_nntune(dir, "tune ens.yaml --trials 7 --sampler random --save-models models --keep-best 3 -q");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("ens");
  ASSERT_EQ(t.size(), 7u);
  // The kept directories are exactly those of the three best complete trials.
  std::vector<std::pair<double, int64_t>> complete;
  for (const auto& trial : t)
    if (trial["state"] == "complete") complete.push_back({-trial["value"].get<double>(), trial["number"].get<int64_t>()});
  ASSERT_GE(complete.size(), 3u);
  std::sort(complete.begin(), complete.end());
  std::set<std::string> expected, kept;
  for (size_t i = 0; i < 3; ++i) expected.insert("trial_" + std::to_string(complete[i].second));
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("models")))
    kept.insert(entry.path().filename().string());
  EXPECT_EQ(kept, expected);

  run = run_nntune(dir, "ensemble ens --storage sqlite:///studies.db --models models -o ens.nnt");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("3 candidate models"), std::string::npos) << run.out;
  // Its members are kept models (several may tie on accuracy: the loss decides between them).
  int members = 0;
  const std::regex member("trial ([0-9]+): weight");
  for (auto it = std::sregex_iterator(run.out.begin(), run.out.end(), member); it != std::sregex_iterator(); ++it, ++members)
    EXPECT_TRUE(expected.count("trial_" + (*it)[1].str())) << run.out;
  EXPECT_GE(members, 1) << run.out;
  std::smatch test_line;
  ASSERT_TRUE(std::regex_search(run.out, test_line, std::regex("test: (loss [^(]*\\([0-9]+/[0-9]+\\))"))) << run.out;
  // nntune eval on the written file prints the figures the ensemble command printed (and reads
  // the CSV as the members were trained: label column, header).
  const CliRun eval = run_nntune(dir, "eval ens.nnt data.csv");  // data.csv is the test set
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("eval: " + test_line[1].str()), std::string::npos) << eval.out << "\n" << run.out;
  const CliRun predicted = run_nntune(dir, "predict ens.nnt data.csv");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;

  // Without saved models, or without --save-models, it says what to do.
  run = run_nntune(dir, "ensemble ens --storage sqlite:///studies.db --models elsewhere");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--save-models elsewhere"), std::string::npos) << run.err;
  run = run_nntune(dir, "tune ens.yaml --trials 8 --keep-best 3");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--save-models"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, DeleteNeedsConfirmation) {
  ASSERT_EQ(run_nntune(dir, "tune spec.yaml --trials 1 --study gone -q").exit_code, 0);
  CliRun run = run_nntune(dir, "delete gone --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--yes"), std::string::npos) << run.err;
  run = run_nntune(dir, "delete gone --storage sqlite:///studies.db --yes");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  run = run_nntune(dir, "trials gone --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no study named 'gone'"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, DivergingTrialFailsAndTheStudyGoesOn) {
  // A grid over two branches: sgd with an absurd learning rate diverges, adam trains.
  testing::write_file(dir.file("div.yaml"),
                      "data: {train: {csv: {path: data.csv, label: label}}, validation: {split: 0.25}}\n"
                      "model: {hidden: [4]}\n"
                      "train:\n"
                      "  optimizer: {choice: [{name: sgd, lr: 1.0e+30}, {name: adam, lr: 0.05}]}\n"
                      "  epochs: 2\n"
                      "tune: {sampler: grid, pruner: median, storage: sqlite:///studies.db}\n");
  const CliRun run = run_nntune(dir, "tune div.yaml --trials 3");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("div");
  // Each grid point runs once: sgd diverges and stays failed, adam completes, and the exhausted
  // grid ends the study before the budget of 3.
  ASSERT_EQ(t.size(), 2u) << run.out;
  EXPECT_EQ(t[0]["state"], "failed");
  EXPECT_NE(t[0]["error"].get<std::string>().find("training diverged"), std::string::npos) << t[0];
  EXPECT_EQ(t[0]["params"]["train.optimizer"], "sgd");
  EXPECT_EQ(t[1]["state"], "complete") << run.out;
  EXPECT_EQ(t[1]["params"]["train.optimizer"], "adam");
  EXPECT_NE(run.out.find("trial 0 failed: training diverged"), std::string::npos) << run.out;
}

TEST_F(TuneCliTest, MedianPrunerRuns) {
  const CliRun run = run_nntune(dir, "tune spec.yaml --trials 6 --study pruned --sampler random --set train.epochs=4 "
                                 "--set 'tune.pruner={name: median, n_startup_trials: 1}'");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("pruned");
  EXPECT_EQ(t.size(), 6u);
  EXPECT_EQ(count_state(t, "complete") + count_state(t, "pruned"), 6);
}

TEST_F(TuneCliTest, CrossValidationObjective) {
  const CliRun run = run_nntune(dir, "tune spec.yaml --trials 2 --study cv --set 'tune.objective={cv: {folds: 3}}'");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("cv");
  ASSERT_EQ(t.size(), 2u);
  for (const auto& trial : t) {
    EXPECT_EQ(trial["state"], "complete") << trial;
    EXPECT_GE(trial["value"].get<double>(), 0.0);  // a mean accuracy
    EXPECT_LE(trial["value"].get<double>(), 1.0);
  }
}

TEST_F(TuneCliTest, InvalidSpaceIsRefusedWithItsLocation) {
  testing::write_file(dir.file("bad.yaml"),
                      "data: {train: {csv: {path: data.csv, label: label}}, validation: {split: 0.25}}\n"
                      "model: {hidden: [4], dropout: {float: [0.0, 1.5]}}\n");
  const CliRun run = run_nntune(dir, "tune bad.yaml --trials 1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("bad.yaml:2:45: model.dropout: must be >= 0 and < 1, got 1.5"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, CountsOnTheCommandLineSayWhatTheyMustBe) {
  CliRun run = run_nntune(dir, "tune spec.yaml --trials 0");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--trials: must be greater than 0, got 0"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("179769313486"), std::string::npos) << run.err;  // not CLI11's range up to DBL_MAX
  run = run_nntune(dir, "tune spec.yaml --retries -1");
  EXPECT_NE(run.err.find("--retries: must be at least 0, got -1"), std::string::npos) << run.err;
  run = run_nntune(dir, "tune spec.yaml --trials many");
  EXPECT_NE(run.err.find("'many' is not a number"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, ExternalProgramObjective) {
  testing::write_file(dir.file("ext.yaml"),
                      "space:\n"
                      "  x: {float: [-2, 2]}\n"
                      "  kind: {choice: [{name: a, y: {int: [0, 3]}}, {name: b}]}\n"
                      "  offset: 5\n"
                      "tune:\n"
                      "  objective: {command: \"echo nntune: intermediate 1 {x}; echo nntune: value {x}\"}\n"
                      "  sampler: {name: random, seed: 1}\n"
                      "  storage: sqlite:///studies.db\n");
  CliRun run = run_nntune(dir, "tune ext.yaml --trials 3");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json t = trials("ext");
  ASSERT_EQ(t.size(), 3u);
  for (const auto& trial : t) {
    EXPECT_EQ(trial["state"], "complete") << trial;
    EXPECT_DOUBLE_EQ(trial["value"].get<double>(), trial["params"]["x"].get<double>());  // minimised x itself
    EXPECT_EQ(trial["intermediate"]["1"], trial["value"]);
  }
  // An unknown placeholder is refused before any trial, at the command's line.
  testing::write_file(dir.file("bad_ext.yaml"), "space: {x: {float: [0, 1]}}\ntune:\n  objective: {command: \"run {z}\"}\n");
  run = run_nntune(dir, "tune bad_ext.yaml --trials 1 --storage memory");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("bad_ext.yaml:3:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("z"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, GridRefusesContinuousSpaces) {
  // An empty storage to look into afterwards (`studies` never creates a missing one).
  ASSERT_EQ(run_nntune(dir, "storage upgrade --storage sqlite:///studies.db").exit_code, 0);
  CliRun run = run_nntune(dir, "tune spec.yaml --trials 2 --sampler grid");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("grid sampler cannot enumerate the continuous parameters"), std::string::npos) << run.err;
  run = run_nntune(dir, "studies --storage sqlite:///studies.db");  // refused before the study was created
  EXPECT_NE(run.out.find("no studies"), std::string::npos) << run.out;
}

TEST_F(TuneCliTest, SigintLeavesNoRunningTrial) {
  // Slow enough trials that the interrupt lands while tuning runs.
  testing::write_file(dir.file("data.csv"), testing::two_class_csv(400));
  const std::string out = dir.file("sigint.txt");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(99);
    if (!freopen(out.c_str(), "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(98);
    execl(NNTUNE_CLI, NNTUNE_CLI, "tune", "spec.yaml", "--study", "sig", "--sampler", "random", "--timeout", "60s",
          "--set", "train.epochs=40", static_cast<char*>(nullptr));
    _exit(97);
  }
  // Wait for the first finished trial, then press Ctrl-C once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (testing::read_file(out).find("trial 0 ") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << testing::read_file(out);
  EXPECT_EQ(WEXITSTATUS(status), 130) << testing::read_file(out);
  EXPECT_NE(testing::read_file(out).find("interrupted:"), std::string::npos) << testing::read_file(out);
  const json t = trials("sig");
  EXPECT_GE(t.size(), 1u);
  EXPECT_EQ(count_state(t, "running"), 0) << t.dump(1);
}

TEST_F(TuneCliTest, SigtermAndSighupStopLikeCtrlCAndEndTheObjectiveProgram) {
  for (const int sig : {SIGTERM, SIGHUP}) {
    const std::string name = sig == SIGTERM ? "term" : "hup";
    // The objective writes its pid, then sleeps far longer than the test waits.
    testing::write_file(dir.file(name + ".yaml"),
                        "space: {x: {float: [0, 1]}}\n"
                        "tune:\n"
                        "  objective: {command: \"echo $$ > " + name + ".pid; sleep 60; echo nntune: value {x}\"}\n"
                        "  storage: sqlite:///studies.db\n");
    const std::string out = dir.file(name + ".txt");
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (chdir(dir.path().c_str()) != 0) _exit(99);
      if (!freopen(out.c_str(), "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(98);
      execl(NNTUNE_CLI, NNTUNE_CLI, "tune", (name + ".yaml").c_str(), "--trials", "3", static_cast<char*>(nullptr));
      _exit(97);
    }
    const std::string pid_file = dir.file(name + ".pid");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (testing::read_file(pid_file).empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string child = testing::read_file(pid_file);
    ASSERT_FALSE(child.empty());
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << testing::read_file(out);
    EXPECT_NE(testing::read_file(out).find("interrupted:"), std::string::npos) << testing::read_file(out);
    const json t = trials(name);
    ASSERT_EQ(t.size(), 1u) << t.dump(1);
    EXPECT_EQ(count_state(t, "running"), 0) << t.dump(1);
    EXPECT_NE(t[0]["error"].get<std::string>().find(sig == SIGTERM ? "SIGTERM" : "SIGHUP"), std::string::npos) << t[0];
    // The program (its shell) is gone too: nothing is left orphaned.
    EXPECT_NE(::kill(std::stoi(child), 0), 0) << "objective process " << child << " still runs";
  }
}

TEST_F(TuneCliTest, LiveStatusLineCountsEveryRunningTrial) {
  // On a terminal (script(1) gives nntune one) the status line must show both trials of
  // --jobs 2 running, not the count of the last time a trial ended.
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script(1) is not installed";
  testing::write_file(dir.file("live.yaml"),
                      "space: {x: {float: [0, 1]}}\n"
                      "tune:\n"
                      "  objective: {command: \"sleep 3; echo nntune: value {x}\"}\n"
                      "  storage: sqlite:///studies.db\n");
  const std::string command = "cd '" + dir.path().string() + "' && script -qfec \"'" + std::string(NNTUNE_CLI) +
                              "' tune live.yaml --trials 2 --jobs 2\" /dev/null > live.txt 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << testing::read_file(dir.file("live.txt"));
  const std::string out = testing::read_file(dir.file("live.txt"));
  EXPECT_NE(out.find("running 2"), std::string::npos) << out;
}

TEST_F(TuneCliTest, TrialCountsInMessagesAreTrialsRun) {
  // A new grid study enqueues its points: they are waiting, not "trials so far".
  testing::write_file(dir.file("grid.yaml"), kEchoGridSpec);
  CliRun run = run_nntune(dir, "tune grid.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("; 0 trials so far;"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("grid: 4 points enqueued"), std::string::npos) << run.out;
  // A study whose budget is spent says how many trials it has now.
  testing::write_file(dir.file("ext.yaml"), kEchoSpec);
  ASSERT_EQ(run_nntune(dir, "tune ext.yaml --trials 3").exit_code, 0);
  run = run_nntune(dir, "tune ext.yaml --trials 3");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("; 3 trials so far;"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("the study already has 3 trials (budget 3)"), std::string::npos) << run.out;
}

TEST_F(TuneCliTest, WorkerJoiningANewGridCountsNoTrialsSoFar) {
  // The grid's points are enqueued (waiting) by --create-only: the worker has run none yet.
  testing::write_file(dir.file("grid.yaml"), kEchoGridSpec);
  CliRun run = run_nntune(dir, "tune grid.yaml --create-only");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  run = run_nntune(dir, "worker --study grid --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("; 0 trials so far;"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("done 4 "), std::string::npos) << run.out;
}

TEST_F(TuneCliTest, AlreadyHasCountsTheTrialsWhenTheProcessEndsNotWhenItJoined) {
  // Other workers can use the budget up between a process joining a study and its first claim;
  // the closing message must count the trials there are then. To make that window certain, the
  // joining process is held in its first write to stdout (a pipe filled beforehand: after it has
  // counted "1 trials so far", before it claims anything) while two finished trials are added.
  if (testing::read_file("/proc/self/syscall").empty())
    GTEST_SKIP() << "needs /proc/PID/syscall to see where the child waits";
  testing::write_file(dir.file("ext.yaml"), kEchoSpec);
  ASSERT_EQ(run_nntune(dir, "tune ext.yaml --trials 1").exit_code, 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  const std::string filler(4096, '#');
  size_t filled = 0;
  for (size_t chunk : {size_t{4096}, size_t{1}})
    for (ssize_t n; (n = write(fds[1], filler.data(), chunk)) > 0;) filled += static_cast<size_t>(n);
  fcntl(fds[1], F_SETFL, 0);  // the child's writes must block, not fail
  const std::string err = dir.file("join.err");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0 || dup2(fds[1], STDOUT_FILENO) < 0 || !freopen(err.c_str(), "w", stderr)) _exit(99);
    close(fds[0]);
    execl(NNTUNE_CLI, NNTUNE_CLI, "tune", "ext.yaml", "--trials", "3", static_cast<char*>(nullptr));
    _exit(97);
  }
  close(fds[1]);
  // Wait until the child sits in write(1, ...) (/proc/PID/syscall: number 1, first argument 1).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool blocked = false;
  while (!blocked && std::chrono::steady_clock::now() < deadline) {
    blocked = testing::read_file("/proc/" + std::to_string(pid) + "/syscall").rfind("1 0x1 ", 0) == 0;
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (blocked) {  // two more finished trials: the budget of 3 is used up by "another worker"
    auto storage = tune::open_storage("sqlite:///" + dir.file("studies.db"));
    const auto study = storage->find_study("ext");
    EXPECT_TRUE(study);  // no ASSERT here: the child must still be let go below
    for (double value : {0.25, 0.5}) {
      if (!study) break;
      tune::FrozenTrial done;
      done.state = tune::TrialState::Complete;
      done.value = value;
      storage->create_trial(*study, &done);
    }
  }
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(blocked) << "the child never wrote to stdout: " << testing::read_file(err);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << testing::read_file(err);
  out.erase(0, filled);
  ASSERT_NE(out.find("; 1 trials so far;"), std::string::npos) << out;  // held where it should be
  EXPECT_NE(out.find("the study already has 3 trials (budget 3)"), std::string::npos) << out;
}

// ---- nntune ask / tell ----

// A spec for a shell loop: space: and tune: only, no command (the loop runs the program).
const char* const kAskSpec =
    "space:\n"
    "  x: {float: [-2, 3]}\n"
    "  kind: {choice: [{name: a, y: {int: [0, 3]}}, {name: b}]}\n"
    "  label: it's fine\n"
    "tune:\n"
    "  sampler: {name: random, seed: 4}\n"
    "  storage: sqlite:///studies.db\n";

double quadratic(const json& params) { return (params["x"].get<double>() - 1.0) * (params["x"].get<double>() - 1.0); }

// "KEY=value" lines -> map; every line must have that form.
std::map<std::string, std::string> env_lines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto equals = line.find('=');
    EXPECT_NE(equals, std::string::npos) << line;
    if (equals == std::string::npos) continue;
    out[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return out;
}

TEST_F(TuneCliTest, AskTellLoopCompletesTrials) {
  testing::write_file(dir.file("quad.yaml"), kAskSpec);
  std::vector<double> told;
  for (int round = 0; round < 5; ++round) {
    const CliRun ask = run_nntune(dir, "ask quad.yaml");
    ASSERT_EQ(ask.exit_code, 0) << ask.err;
    const json asked = json::parse(ask.out);
    EXPECT_EQ(asked["trial"], round) << asked;
    EXPECT_EQ(asked["study"], "quad") << asked;  // the spec file's name, as for nntune tune
    const json& params = asked["params"];
    EXPECT_GE(params["x"].get<double>(), -2.0);
    EXPECT_LE(params["x"].get<double>(), 3.0);
    EXPECT_EQ(params["kind"] == "a", params.contains("kind.a.y")) << params;  // the branch's own parameter
    EXPECT_EQ(params["label"], "it's fine");  // fixed values of space: too
    const double value = quadratic(params);
    told.push_back(value);
    const CliRun tell = run_nntune(dir, "tell quad " + std::to_string(round) + " " + json(value).dump() +
                                            " --intermediate 1=" + json(2 * value).dump() +
                                            " --storage sqlite:///studies.db");
    ASSERT_EQ(tell.exit_code, 0) << tell.err;
    EXPECT_EQ(tell.out.rfind("trial " + std::to_string(round) + ": complete (value ", 0), 0u) << tell.out;
  }
  const json t = trials("quad");
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(count_state(t, "complete"), 5);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(t[i]["value"].get<double>(), told[i]);
    EXPECT_DOUBLE_EQ(t[i]["intermediate"]["1"].get<double>(), 2 * told[i]);
  }

  // A trial is told once; the error names the state it is in.
  CliRun run = run_nntune(dir, "tell quad 2 0.5 --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("trial 2 of study 'quad' is already complete (value "), std::string::npos) << run.err;
  EXPECT_DOUBLE_EQ(trials("quad")[2]["value"].get<double>(), told[2]);
  // Unknown trial and study: say what exists.
  run = run_nntune(dir, "tell quad 9 0.5 --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("study 'quad' has no trial 9: its trials are 0 to 4, none of them running"), std::string::npos)
      << run.err;
  run = run_nntune(dir, "tell quads 0 0.5 --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no study named 'quads'"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("studies there: quad"), std::string::npos) << run.err;
  // Usage mistakes exit 2.
  EXPECT_EQ(run_nntune(dir, "tell quad 0").exit_code, 2);
  EXPECT_EQ(run_nntune(dir, "tell quad 0 fast").exit_code, 2);
  EXPECT_EQ(run_nntune(dir, "tell quad 0 0.5 --state failed").exit_code, 2);
  EXPECT_EQ(run_nntune(dir, "tell quad 0 --intermediate 0.81").exit_code, 2);
  // trials --format csv writes values and parameters in full: they read back to the same doubles.
  run = run_nntune(dir, "ask quad.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json asked = json::parse(run.out);
  const std::string told_value = "0.12345678901234566";
  ASSERT_EQ(run_nntune(dir, "tell quad " + asked["trial"].dump() + " " + told_value + " --storage sqlite:///studies.db").exit_code, 0);
  run = run_nntune(dir, "trials quad --format csv --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("," + told_value + ","), std::string::npos) << run.out;
  char x_text[64];
  const auto x_end = std::to_chars(x_text, x_text + sizeof x_text, asked["params"]["x"].get<double>()).ptr;
  EXPECT_NE(run.out.find("," + std::string(x_text, x_end)), std::string::npos) << run.out;
  // Values are decimal, as the docs say: hexadecimal is refused, not read as 16.
  run = run_nntune(dir, "tell quad 0 0x10");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("VALUE '0x10' is not a number"), std::string::npos) << run.err;
  EXPECT_EQ(run_nntune(dir, "tell quad 0 --intermediate 1=0x1p4").exit_code, 2);
}

TEST_F(TuneCliTest, AskTellBashLoopFromTheDocs) {
  testing::write_file(dir.file("quad.yaml"), kAskSpec);
  // The loop of docs/tuning.md ("Ask and tell from the shell"), with `nntune` being the built binary.
  testing::write_file(dir.file("loop.sh"),
                      "nntune() { \"$NNTUNE\" \"$@\"; }\n"
                      "for i in 1 2 3; do\n"
                      "  asked=$(nntune ask quad.yaml --format shell) || exit 1\n"
                      "  eval \"$asked\"                    # trial=0 kind=a kind_a_y=2 label=... x=0.73\n"
                      "  value=$(awk -v x=\"$x\" 'BEGIN { print (x - 1) ^ 2 }')\n"
                      "  nntune tell quad \"$trial\" \"$value\" --storage sqlite:///studies.db || exit 1\n"
                      "  echo \"$label\" >labels.txt\n"
                      "done\n");
  const std::string command = "cd '" + dir.path().string() + "' && NNTUNE='" + NNTUNE_CLI +
                              "' bash loop.sh >loop.out 2>loop.err </dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << testing::read_file(dir.file("loop.err"));
  EXPECT_EQ(testing::read_file(dir.file("labels.txt")), "it's fine\n");  // quoted for eval
  const json t = trials("quad");
  ASSERT_EQ(t.size(), 3u);
  for (const auto& trial : t) {
    EXPECT_EQ(trial["state"], "complete") << trial;
    EXPECT_NEAR(trial["value"].get<double>(), quadratic(trial["params"]), 1e-5);  // awk prints 6 digits
  }
}

TEST_F(TuneCliTest, AskFormatsAndFailedTrials) {
  testing::write_file(dir.file("quad.yaml"), kAskSpec);
  CliRun run = run_nntune(dir, "ask quad.yaml --format env --study envs");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<std::string, std::string> env = env_lines(run.out);
  EXPECT_EQ(env["NNTUNE_STUDY"], "envs");
  EXPECT_EQ(env["NNTUNE_TRIAL"], "0");
  const double x = std::stod(env["NNTUNE_PARAM_X"]);
  EXPECT_GE(x, -2.0);
  EXPECT_LE(x, 3.0);
  EXPECT_TRUE(env["NNTUNE_PARAM_KIND"] == "a" || env["NNTUNE_PARAM_KIND"] == "b") << run.out;
  EXPECT_EQ(env.count("NNTUNE_PARAM_KIND_A_Y"), env["NNTUNE_PARAM_KIND"] == "a" ? 1u : 0u) << run.out;
  EXPECT_EQ(env["NNTUNE_PARAM_LABEL"], "it's fine");
  for (const auto& [key, value] : env)
    EXPECT_TRUE(std::regex_match(key, std::regex("NNTUNE_[A-Z0-9_]+"))) << key;

  // NaN: the trial failed, and says why.
  run = run_nntune(dir, "tell envs 0 nan --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  json t = trials("envs");
  EXPECT_EQ(t[0]["state"], "failed");
  EXPECT_EQ(t[0]["error"], "objective returned NaN");

  run = run_nntune(dir, "ask quad.yaml --study envs --format shell");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind("trial=1 ", 0), 0u) << run.out;
  EXPECT_NE(run.out.find(" label='it'\\''s fine'"), std::string::npos) << run.out;
  run = run_nntune(dir, "tell envs 1 --state failed --error 'out of memory' --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  t = trials("envs");
  EXPECT_EQ(t[1]["state"], "failed");
  EXPECT_EQ(t[1]["error"], "out of memory");
  run = run_nntune(dir, "tell envs 1 --state pruned --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("is already failed (out of memory)"), std::string::npos) << run.err;

  // A training spec with distributions: its parameters are the spec's paths.
  run = run_nntune(dir, "ask spec.yaml --format shell");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(" train_optimizer=(sgd|adam)( |\n)"))) << run.out;
  EXPECT_NE(run.out.find(" model_hidden_0_units="), std::string::npos) << run.out;
}

// tune.enqueue's known-good trials are what a new study's first asks hand out, as in nntune tune;
// the asks after them, and those of a study that already existed, are the sampler's.
TEST_F(TuneCliTest, AskHandsOutTheSpecsEnqueuedTrialsFirst) {
  testing::write_file(dir.file("quad.yaml"), std::string(kAskSpec) +
                                                 "  enqueue:\n"
                                                 "    - {x: 0.5, kind: b}\n"
                                                 "    - {x: -1.25, kind: a, kind.a.y: 3}\n");
  std::vector<json> asked;
  for (int round = 0; round < 4; ++round) {
    const CliRun ask = run_nntune(dir, "ask quad.yaml");
    ASSERT_EQ(ask.exit_code, 0) << ask.err;
    asked.push_back(json::parse(ask.out));
    EXPECT_EQ(asked.back()["trial"], round) << asked.back();
  }
  EXPECT_EQ(asked[0]["params"]["x"], 0.5) << asked[0];
  EXPECT_EQ(asked[0]["params"]["kind"], "b") << asked[0];
  EXPECT_EQ(asked[1]["params"]["x"], -1.25) << asked[1];
  EXPECT_EQ(asked[1]["params"]["kind.a.y"], 3) << asked[1];
  for (int round = 2; round < 4; ++round) {
    const double x = asked[round]["params"]["x"].get<double>();
    EXPECT_TRUE(x != 0.5 && x != -1.25) << asked[round];  // sampled: the enqueued points are not handed out again
  }
  // The study holds them with the values given.
  const json t = trials("quad");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0]["params"]["x"], 0.5);
  EXPECT_EQ(t[1]["params"]["kind.a.y"], 3);
}

TEST_F(TuneCliTest, TellShouldPruneAsksTheStudysPruner) {
  testing::write_file(dir.file("pr.yaml"),
                      "space: {x: {float: [0, 1]}}\n"
                      "tune:\n"
                      "  pruner: {name: median, n_startup_trials: 1}\n"
                      "  storage: sqlite:///studies.db\n");
  auto tell = [&](const std::string& args) { return run_nntune(dir, "tell pr " + args + " --storage sqlite:///studies.db"); };
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run_nntune(dir, "ask pr.yaml").exit_code, 0);
  ASSERT_EQ(tell("0 0.1 --intermediate 1=0.1").exit_code, 0);

  // Minimised: 5 at step 1 is worse than the median of the completed trials there (0.1).
  CliRun run = tell("1 --intermediate 1=5 --should-prune");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "prune\n");
  ASSERT_EQ(tell("1 --state pruned").exit_code, 0);
  run = tell("2 --intermediate 1=0.05 --should-prune");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "continue\n");
  run = tell("2 --intermediate 2=0.04");  // a report alone: the trial goes on
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "trial 2: 1 intermediate value recorded, still running\n");
  ASSERT_EQ(tell("2 0.04").exit_code, 0);
  EXPECT_EQ(tell("2 --should-prune").exit_code, 2);  // the value just reached is needed

  const json t = trials("pr");
  EXPECT_EQ(t[1]["state"], "pruned");
  EXPECT_DOUBLE_EQ(t[1]["value"].get<double>(), 5.0);  // its last intermediate value
  EXPECT_EQ(t[2]["state"], "complete");
  EXPECT_EQ(t[2]["intermediate"].size(), 2u) << t[2];
}

TEST_F(TuneCliTest, AskedTrialIsNotFailedByALaterTune) {
  testing::write_file(dir.file("ext.yaml"),
                      "space: {x: {float: [-2, 2]}}\n"
                      "tune:\n"
                      "  objective: {command: \"echo nntune: value {x}\"}\n"
                      "  sampler: {name: random, seed: 1}\n"
                      "  storage: sqlite:///studies.db\n");
  // The asking process has exited: its pid is dead, yet the trial lives on in a shell loop.
  ASSERT_EQ(run_nntune(dir, "ask ext.yaml").exit_code, 0);
  const CliRun run = run_nntune(dir, "tune ext.yaml --trials 3");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  json t = trials("ext");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["state"], "running") << t[0];
  EXPECT_EQ(t[0]["error"], "") << t[0];
  EXPECT_EQ(count_state(t, "complete"), 2);
  ASSERT_EQ(run_nntune(dir, "tell ext 0 0.25 --storage sqlite:///studies.db").exit_code, 0);
  t = trials("ext");
  EXPECT_EQ(t[0]["state"], "complete");
}

}  // namespace
}  // namespace nntune

namespace nntune {
namespace {

// A variable of this process's environment for the life of the object (the CLI runs inherit it).
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }
  const char* name_;
};

// One rule for every command: the study is the positional STUDY, and --study STUDY means the same.
TEST_F(TuneCliTest, EveryCommandNamesTheStudyEitherWay) {
  testing::write_file(dir.file("echo.yaml"), kEchoSpec);
  ASSERT_EQ(run_nntune(dir, "tune echo.yaml --trials 3 -q").exit_code, 0);
  const std::string storage = " --storage sqlite:///studies.db";
  for (const std::string command : {"trials", "best"}) {
    const CliRun positional = run_nntune(dir, command + " echo" + storage);
    const CliRun option = run_nntune(dir, command + " --study echo" + storage);
    ASSERT_EQ(positional.exit_code, 0) << positional.err;
    EXPECT_EQ(option.exit_code, 0) << option.err;
    EXPECT_EQ(option.out, positional.out) << command;
    // Both, the same: fine; two names or none: a usage error that says what to give.
    EXPECT_EQ(run_nntune(dir, command + " echo --study echo" + storage).exit_code, 0) << command;
    const CliRun two = run_nntune(dir, command + " echo --study other" + storage);
    EXPECT_EQ(two.exit_code, 2) << command;
    EXPECT_NE(two.err.find("two study names: echo and --study other"), std::string::npos) << two.err;
    const CliRun none = run_nntune(dir, command + storage);
    EXPECT_EQ(none.exit_code, 2) << command;
    EXPECT_NE(none.err.find("nntune " + command + " STUDY (or --study STUDY)"), std::string::npos) << none.err;
  }
  ASSERT_EQ(run_nntune(dir, "report echo -o positional.html" + storage).exit_code, 0);
  ASSERT_EQ(run_nntune(dir, "report --study echo -o option.html" + storage).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("positional.html")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("option.html")));

  // worker (the positional is new) and stop (--study is new).
  CliRun run = run_nntune(dir, "stop --study echo" + storage);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = run_nntune(dir, "worker echo" + storage);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("study echo has a stop request"), std::string::npos) << run.out;
  ASSERT_EQ(run_nntune(dir, "stop echo --clear" + storage).exit_code, 0);

  // tell: --study STUDY TRIAL VALUE, the positionals moving up one.
  testing::write_file(dir.file("quad.yaml"), kAskSpec);
  for (int round = 0; round < 2; ++round) {
    run = run_nntune(dir, "ask quad.yaml");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json asked = json::parse(run.out);
    const std::string trial = asked["trial"].dump();
    run = run_nntune(dir, round == 0 ? "tell --study quad " + trial + " 0.25" + storage
                                     : "tell quad " + trial + " 0.5 --study quad" + storage);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out.rfind("trial " + trial + ": complete (value ", 0), 0u) << run.out;
  }
  run = run_nntune(dir, "tell quad 0 0.5 --study other" + storage);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("two study names"), std::string::npos) << run.err;

  run = run_nntune(dir, "delete --study quad --yes" + storage);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("deleted study 'quad'"), std::string::npos) << run.out;
}

// NNTUNE_STORAGE stands for --storage in every command (a Secret or an EnvironmentFile can hold
// the password); --storage on the command line wins.
TEST_F(TuneCliTest, StorageFromTheEnvironment) {
  testing::write_file(dir.file("echo.yaml"),
                      "space: {x: {float: [0, 1]}}\ntune: {objective: {command: \"echo nntune: value {x}\"}}\n");
  {
    ScopedEnv env("NNTUNE_STORAGE", "sqlite:///from_env.db");
    ASSERT_EQ(run_nntune(dir, "tune echo.yaml --trials 2 -q").exit_code, 0);
    EXPECT_TRUE(std::filesystem::exists(dir.file("from_env.db")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("nntune.db")));
    CliRun run = run_nntune(dir, "studies");
    EXPECT_NE(run.out.find("echo"), std::string::npos) << run.out;
    run = run_nntune(dir, "trials echo --format json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(json::parse(run.out).size(), 2u);
    // A worker needs no --storage; it finds the study's budget spent and exits 0.
    run = run_nntune(dir, "worker echo");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("in sqlite:///from_env.db"), std::string::npos) << run.out;
    run = run_nntune(dir, "report echo -o env.html");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    run = run_nntune(dir, "storage upgrade");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("sqlite:///from_env.db has schema version"), std::string::npos) << run.out;
    run = run_nntune(dir, "storage upgrade sqlite:///other.db");  // the argument wins
    EXPECT_NE(run.out.find("sqlite:///other.db"), std::string::npos) << run.out;
    run = run_nntune(dir, "studies --storage sqlite:///studies.db");  // the flag wins
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("studies.db"), std::string::npos) << run.err;
  }
  // Without either, a worker says where the storage goes.
  const CliRun run = run_nntune(dir, "worker echo");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--storage"), std::string::npos) << run.err;
}

TEST_F(TuneCliTest, TrialsSortAndTop) {
  testing::write_file(dir.file("echo.yaml"), kEchoSpec);  // value = x, minimised
  ASSERT_EQ(run_nntune(dir, "tune echo.yaml --trials 6 --sampler random -q").exit_code, 0);
  const json all = trials("echo");
  ASSERT_EQ(all.size(), 6u);
  std::vector<double> values;
  for (const auto& t : all) values.push_back(t["value"].get<double>());
  std::sort(values.begin(), values.end());

  CliRun run = run_nntune(dir, "trials echo --sort value --top 3 --format json --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json best = json::parse(run.out);
  ASSERT_EQ(best.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(best[i]["value"].get<double>(), values[i]) << run.out;  // best (lowest) first
  // A parameter sorts ascending; the table keeps its header and shows N rows.
  run = run_nntune(dir, "trials echo --sort x --top 2 --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 3) << run.out;
  run = run_nntune(dir, "trials echo --sort x --format csv --storage sqlite:///studies.db");
  std::istringstream rows(run.out);
  std::string row;
  std::getline(rows, row);
  std::vector<double> xs;
  while (std::getline(rows, row)) xs.push_back(std::stod(row.substr(row.rfind(",", row.size() - 2) + 1)));
  EXPECT_TRUE(std::is_sorted(xs.begin(), xs.end())) << run.out;
  // A maximised study's best are the highest.
  run = run_nntune(dir, "tune spec.yaml --trials 3 --sampler random -q --set train.epochs=1");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = run_nntune(dir, "trials spec --sort value --format json --storage sqlite:///studies.db");
  const json ranked = json::parse(run.out);
  for (size_t i = 1; i < ranked.size(); ++i) EXPECT_GE(ranked[i - 1]["value"].get<double>(), ranked[i]["value"].get<double>());
  // Unknown columns are named with the ones there are.
  run = run_nntune(dir, "trials echo --sort y --storage sqlite:///studies.db");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--sort y: no such column; sort by one of: number, value, state, seconds, x"), std::string::npos)
      << run.err;
}

TEST_F(TuneCliTest, StudiesAndBestAsJson) {
  ASSERT_EQ(run_nntune(dir, "tune spec.yaml --trials 2 -q --set train.epochs=1").exit_code, 0);
  CliRun run = run_nntune(dir, "studies --format json --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json studies = json::parse(run.out);
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0]["name"], "spec");
  EXPECT_EQ(studies[0]["direction"], "maximize");
  EXPECT_EQ(studies[0]["trials"], 2);
  EXPECT_EQ(studies[0]["states"]["complete"].get<int>() + studies[0]["states"]["pruned"].get<int>() +
                studies[0]["states"]["failed"].get<int>(),
            2);
  run = run_nntune(dir, "best spec --format json --spec-out best.yaml --storage sqlite:///studies.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json best = json::parse(run.out);  // nothing but the JSON on standard output
  EXPECT_EQ(best["number"], studies[0]["best"]["number"]);
  EXPECT_EQ(best["value"], studies[0]["best"]["value"]);
  EXPECT_TRUE(best["params"].contains("train.optimizer")) << best;
  EXPECT_EQ(best["spec"]["train"]["epochs"], 1);
  EXPECT_EQ(best["spec_out"], "best.yaml");
  run = run_nntune(dir, "train best.yaml -q --no-report -o trained");
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST_F(TuneCliTest, TuneWarnsWhenEveryTrialIsTheSame) {
  testing::write_file(dir.file("fixed.yaml"),
                      "data: {train: {csv: {path: data.csv, label: label}}, validation: {split: 0.25}}\n"
                      "model: {hidden: [4]}\ntrain: {epochs: 1}\ntune: {storage: sqlite:///studies.db}\n");
  CliRun run = run_nntune(dir, "tune fixed.yaml --trials 1 -q");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("nntune: warning: fixed.yaml has no distribution, so every trial is the same training run"),
            std::string::npos)
      << run.err;
  run = run_nntune(dir, "tune spec.yaml --trials 1 -q --set train.epochs=1");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("warning"), std::string::npos) << run.err;
}

// A study in memory ends with its process: nothing printed may send the user to a command that
// would then fail, and the commands that would are refused up front.
TEST_F(TuneCliTest, MemoryStorageNeverSuggestsAFollowUpThatCannotWork) {
  CliRun run = run_nntune(dir, "tune spec.yaml --trials 2 --storage memory --set train.epochs=1");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("--storage memory --"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("nntune best spec"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ends with this process"), std::string::npos) << run.out;
  // The best trial's spec is printed instead, and it trains.
  const std::string marker = "(save it as best.yaml, then: nntune train best.yaml):\n";
  ASSERT_NE(run.out.find(marker), std::string::npos) << run.out;
  testing::write_file(dir.file("best.yaml"), run.out.substr(run.out.find(marker) + marker.size()));
  EXPECT_EQ(run_nntune(dir, "train best.yaml -q --no-report -o best").exit_code, 0);

  for (const std::string command : {"trials spec", "best spec", "studies", "report spec", "worker spec", "stop spec",
                                    "delete spec --yes", "tell spec 0 0.5", "ask spec.yaml"}) {
    run = run_nntune(dir, command + " --storage memory");
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_NE(run.err.find("--storage memory keeps a study only inside the nntune tune process"), std::string::npos)
        << command << ": " << run.err;
  }
  run = run_nntune(dir, "tune spec.yaml --storage memory --create-only");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--create-only with --storage memory"), std::string::npos) << run.err;
  EXPECT_EQ(run.out.find("nntune worker"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace nntune
