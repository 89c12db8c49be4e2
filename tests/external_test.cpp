// External-program objectives: real processes from /bin/sh scripts written to a TempDir.
#include "nntune/tune/external.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <fstream>
#include <thread>

#include "test_util.hpp"

namespace nntune::tune {
namespace {

using nntune::testing::read_file;
using nntune::testing::TempDir;
using nntune::testing::write_file;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes `body` as a shell script and returns a command that runs it through /bin/sh -c, as a
// user's `python3 train.py` would be; with `exec` the script replaces that outer shell.
ExternalCommand script_command(const TempDir& dir, const std::string& body, const std::string& args = "",
                               bool exec = false) {
  const std::string path = dir.file("objective.sh");
  write_file(path, body);
  ExternalCommand cmd;
  cmd.command = std::string(exec ? "exec " : "") + "/bin/sh " + path + (args.empty() ? "" : " " + args);
  return cmd;
}

ExternalResult run(const ExternalCommand& cmd, const nlohmann::json& params = nlohmann::json::object()) {
  return run_external_objective(cmd, params, nullptr);
}

// True once `pid` has gone (or is only a zombie waiting for its new parent), waiting up to 2 s.
bool process_gone(const std::string& pid_text) {
  const auto start = std::chrono::steady_clock::now();
  while (seconds_since(start) < 2.0) {
    std::ifstream stat("/proc/" + pid_text + "/stat");
    std::string pid, comm, state;
    if (!(stat >> pid >> comm >> state) || state == "Z") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(ExternalObjective, ReadsTheFinalValue) {
  TempDir dir;
  const ExternalResult r = run(script_command(dir, "echo hello\necho 'nntune: value 0.25'\n"));
  EXPECT_EQ(r.state, TrialState::Complete) << r.error;
  ASSERT_TRUE(r.value.has_value());
  EXPECT_DOUBLE_EQ(*r.value, 0.25);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.signal.has_value());
}

TEST(ExternalObjective, ReportsIntermediateValuesInOrder) {
  TempDir dir;
  ExternalCommand cmd = script_command(dir,
                                       "echo 'nntune: intermediate 1 0.9'\n"
                                       "echo 'epoch 2 of 3, loss falling'\n"
                                       "echo '  nntune: value 7' # not at the start: ignored\n"
                                       "printf 'nntune: intermediate 2 5e-1\\r\\n'\n"
                                       "echo 'nntune:   intermediate   3   -0.25'\n"
                                       "printf 'nntune: value -0.25'  # no final newline\n");
  std::vector<std::string> lines;
  cmd.on_output = [&](const std::string& line, bool from_stderr) { lines.push_back(line); };
  std::vector<std::pair<int64_t, double>> seen;
  const ExternalResult r = run_external_objective(cmd, nlohmann::json::object(), [&](int64_t step, double value) {
    seen.emplace_back(step, value);
    return false;
  });
  const std::vector<std::pair<int64_t, double>> expected = {{1, 0.9}, {2, 0.5}, {3, -0.25}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(r.intermediate, expected);
  EXPECT_EQ(r.state, TrialState::Complete) << r.error;
  EXPECT_DOUBLE_EQ(r.value.value_or(0.0), -0.25);
  EXPECT_EQ(lines.size(), 6u);
}

TEST(ExternalObjective, PruningStopsTheWholeProcessGroupQuickly) {
  TempDir dir;
  // A background child that would outlive the script, then a long "training".
  const ExternalCommand cmd = script_command(dir,
                                             "sleep 30 &\n"
                                             "echo $! > " + dir.file("child.pid") + "\n"
                                             "echo 'nntune: intermediate 1 0.5'\n"
                                             "echo 'nntune: intermediate 2 0.7'\n"
                                             "sleep 30\n"
                                             "echo 'nntune: value 0.1'\n");
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> steps;
  const ExternalResult r = run_external_objective(cmd, nlohmann::json::object(), [&](int64_t step, double) {
    steps.push_back(step);
    return step == 2;
  });
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(r.state, TrialState::Pruned);
  EXPECT_NE(r.error.find("pruned at step 2"), std::string::npos) << r.error;
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.intermediate.size(), 2u);
  std::string child_pid = read_file(dir.file("child.pid"));
  child_pid.erase(child_pid.find_last_not_of(" \n") + 1);
  ASSERT_FALSE(child_pid.empty());
  EXPECT_TRUE(process_gone(child_pid)) << "background child " << child_pid << " survived pruning";
}

TEST(ExternalObjective, APruneThatIgnoresSigtermGetsSigkillAfterTheGrace) {
  TempDir dir;
  ExternalCommand cmd =
      script_command(dir, "trap '' TERM\necho 'nntune: intermediate 0 1.0'\nsleep 30\n", "", /*exec=*/true);
  cmd.kill_grace_seconds = 0.2;
  const auto start = std::chrono::steady_clock::now();
  const ExternalResult r = run_external_objective(cmd, nlohmann::json::object(), [](int64_t, double) { return true; });
  const double elapsed = seconds_since(start);
  EXPECT_EQ(r.state, TrialState::Pruned);
  EXPECT_GE(elapsed, 0.2);
  EXPECT_LT(elapsed, 1.0);
  EXPECT_EQ(r.signal, SIGKILL);
}

TEST(ExternalObjective, ShouldStopEndsTheRunAsStopped) {
  TempDir dir;
  ExternalCommand cmd = script_command(dir, "echo 'nntune: intermediate 1 0.5'\nsleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  cmd.should_stop = [&] { return seconds_since(start) > 0.2; };
  const ExternalResult r = run(cmd);
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.error.find("stopped before it finished"), std::string::npos) << r.error;
}

TEST(ExternalObjective, TimeoutFailsWithTheReason) {
  TempDir dir;
  ExternalCommand cmd = script_command(dir, "echo 'nntune: intermediate 1 0.5'\necho 'warming up' >&2\nsleep 30\n");
  cmd.timeout_seconds = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const ExternalResult r = run(cmd);
  EXPECT_LT(seconds_since(start), 1.5);
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_TRUE(r.timed_out);
  EXPECT_NE(r.error.find("timed out after 0.3 s"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("warming up"), std::string::npos) << r.error;
  EXPECT_EQ(r.intermediate.size(), 1u);
}

TEST(ExternalObjective, CrashFailsWithTheSignalAndTheStderrTail) {
  TempDir dir;
  const std::string crash =
      "i=1\n"
      "while [ $i -le 30 ]; do echo \"stderr line $i\" >&2; i=$((i+1)); done\n"
      "echo 'nntune: value 1.0'\n"
      "kill -SEGV $$\n";
  // Through an outer shell the crash arrives as exit status 128 + 11, which the message explains.
  const ExternalResult wrapped = run(script_command(dir, crash));
  EXPECT_EQ(wrapped.state, TrialState::Failed);
  EXPECT_EQ(wrapped.exit_code, 139);
  EXPECT_NE(wrapped.error.find("exited with status 139 (killed by signal 11"), std::string::npos) << wrapped.error;

  const ExternalResult r = run(script_command(dir, crash, "", /*exec=*/true));
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_NE(r.error.find("killed by signal 11"), std::string::npos) << r.error;
  ASSERT_EQ(r.stderr_tail.size(), 20u);
  EXPECT_EQ(r.stderr_tail.front(), "stderr line 11");
  EXPECT_EQ(r.stderr_tail.back(), "stderr line 30");
  EXPECT_NE(r.error.find("stderr line 30"), std::string::npos);
  EXPECT_EQ(r.error.find("stderr line 10\n"), std::string::npos);
}

TEST(ExternalObjective, NonZeroExitFails) {
  TempDir dir;
  const ExternalResult r =
      run(script_command(dir, "echo 'nntune: value 0.5'\necho 'ValueError: boom' >&2\nexit 3\n"));
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.error.find("exited with status 3"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("ValueError: boom"), std::string::npos) << r.error;
}

TEST(ExternalObjective, MissingOrNonFiniteValueFails) {
  TempDir dir;
  ExternalResult r = run(script_command(dir, "echo 'nntune: intermediate 1 0.5'\n"));
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_NE(r.error.find("no final value"), std::string::npos) << r.error;
  r = run(script_command(dir, "echo 'nntune: value nan'\n"));
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_NE(r.error.find("non-finite"), std::string::npos) << r.error;
}

TEST(ExternalObjective, MalformedProtocolLineFailsAndNamesIt) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const ExternalResult r = run(script_command(dir, "echo ok\necho 'nntune: value abc'\nsleep 30\n"));
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_NE(r.error.find("line 2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("nntune: value abc"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("nntune: intermediate STEP VALUE"), std::string::npos) << r.error;
}

TEST(ExternalObjective, ValuesAreDecimalNotHexadecimal) {
  TempDir dir;
  ExternalResult r = run(script_command(dir, "echo 'nntune: value 0x10'\n"));
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_NE(r.error.find("nntune: value 0x10"), std::string::npos) << r.error;
  r = run(script_command(dir, "echo 'nntune: intermediate 1 0x1p3'\necho 'nntune: value 1'\n"));
  EXPECT_EQ(r.state, TrialState::Failed);
  r = run(script_command(dir, "echo 'nntune: value +1.5e-1'\n"));
  EXPECT_EQ(r.state, TrialState::Complete) << r.error;
  EXPECT_DOUBLE_EQ(*r.value, 0.15);
  EXPECT_EQ(parse_decimal("0x10"), std::nullopt);
  EXPECT_EQ(parse_decimal("1e400"), std::nullopt);
  EXPECT_EQ(parse_decimal(" 1"), std::nullopt);
  EXPECT_EQ(parse_decimal("-3"), -3.0);
  EXPECT_TRUE(std::isnan(*parse_decimal("nan")));
  EXPECT_EQ(parse_decimal("-inf"), -std::numeric_limits<double>::infinity());
}

TEST(ExternalObjective, HugeLinesAreTruncatedAndCountedNotStored) {
  TempDir dir;
  // 20 MB on one stderr line and 30 MB on one stdout line, then a valid report.
  const auto start = std::chrono::steady_clock::now();
  ExternalResult r = run(script_command(dir,
                                        "head -c 20000000 /dev/zero | tr '\\0' e >&2; echo >&2\n"
                                        "head -c 30000000 /dev/zero | tr '\\0' o; echo\n"
                                        "echo 'nntune: value 2'\nexit 3\n"));
  EXPECT_LT(seconds_since(start), 20.0);
  EXPECT_EQ(r.state, TrialState::Failed);  // exit 3, so that the error carries the stderr tail
  EXPECT_EQ(r.truncated_lines, 2);
  EXPECT_LT(r.error.size(), 20000u) << r.error.size();
  ASSERT_EQ(r.stderr_tail.size(), 1u);
  EXPECT_LE(r.stderr_tail[0].size(), 2 * ExternalCommand{}.max_line_bytes);
  EXPECT_NE(r.stderr_tail[0].find("truncated"), std::string::npos);
  EXPECT_EQ(r.value, 2.0);
  // A protocol line past the bound fails the trial by its line number.
  ExternalCommand cmd = script_command(dir, "printf 'nntune: value 1'; head -c 100000 /dev/zero | tr '\\0' 0; echo\n");
  r = run(cmd);
  EXPECT_EQ(r.state, TrialState::Failed);
  EXPECT_NE(r.error.find("line 1"), std::string::npos) << r.error.substr(0, 300);
  EXPECT_NE(r.error.find("longer than"), std::string::npos) << r.error.substr(0, 300);
}

TEST(ExternalObjective, SubstitutesQuotesAndExportsParameters) {
  TempDir dir;
  const nlohmann::json params = {{"name", "it's a \"test\" $HOME"}, {"lr", 0.1 + 0.2}, {"units", 64},
                                 {"layers.0.act", "relu"}, {"flag", true}};
  ExternalCommand cmd = script_command(dir,
                                       "for a in \"$@\"; do echo \"arg:$a\"; done >> " + dir.file("out.txt") + "\n"
                                       "echo \"env:$NNTUNE_PARAM_NAME|$NNTUNE_PARAM_LAYERS_0_ACT|"
                                       "$NNTUNE_TRIAL_NUMBER|$PYTHONUNBUFFERED|$MY_VAR\" >> " + dir.file("out.txt") + "\n"
                                       "echo 'nntune: value 1'\n",
                                       "{name} {lr} {units} {layers.0.act} {flag} {{literal}}");
  cmd.env["MY_VAR"] = "extra";
  const ExternalResult r = run_external_objective(cmd, params, nullptr, 7);
  ASSERT_EQ(r.state, TrialState::Complete) << r.error;
  EXPECT_EQ(read_file(dir.file("out.txt")),
            "arg:it's a \"test\" $HOME\n"
            "arg:0.30000000000000004\n"
            "arg:64\n"
            "arg:relu\n"
            "arg:true\n"
            "arg:{literal}\n"
            "env:it's a \"test\" $HOME|relu|7|1|extra\n");
  EXPECT_NE(r.command_line.find("'it'\\''s a \"test\" $HOME'"), std::string::npos) << r.command_line;
}

TEST(ExternalObjective, ArgvModeNeedsNoQuotingAndWorkingDirIsUsed) {
  TempDir dir;
  write_file(dir.file("args.sh"), "pwd > where.txt\nfor a in \"$@\"; do echo \"arg:$a\"; done >> where.txt\n"
                                  "echo 'nntune: value 2'\n");
  ExternalCommand cmd;
  cmd.argv = {"sh", "args.sh", "--name={name}", "{lr}"};
  cmd.working_dir = dir.path().string();
  const ExternalResult r = run(cmd, {{"name", "a b'c"}, {"lr", 1e-5}});
  ASSERT_EQ(r.state, TrialState::Complete) << r.error;
  EXPECT_EQ(read_file(dir.file("where.txt")), dir.path().string() + "\narg:--name=a b'c\narg:1e-05\n");

  // shell = false: the command is split at spaces first, then each word is substituted.
  ExternalCommand words;
  words.command = "sh args.sh --name={name}";
  words.shell = false;
  words.working_dir = dir.path().string();
  ASSERT_EQ(run(words, {{"name", "x y"}}).state, TrialState::Complete);
  EXPECT_EQ(read_file(dir.file("where.txt")), dir.path().string() + "\narg:--name=x y\n");
}

TEST(ExternalObjective, LogReceivesBothStreams) {
  TempDir dir;
  ExternalCommand cmd = script_command(dir, "echo out-line\necho err-line >&2\necho 'nntune: value 3'\n");
  cmd.log_path = dir.file("trial.log");
  ASSERT_EQ(run(cmd).state, TrialState::Complete);
  const std::string log = read_file(cmd.log_path);
  EXPECT_NE(log.find("out-line\n"), std::string::npos) << log;
  EXPECT_NE(log.find("stderr: err-line\n"), std::string::npos) << log;
  EXPECT_NE(log.find("nntune: value 3\n"), std::string::npos) << log;
}

TEST(ExternalObjective, TemplateErrorsNameThePlaceholderAndTheParameters) {
  ExternalCommand cmd;
  cmd.command = "python3 train.py --lr {lrr} --units {units}";
  const nlohmann::json params = {{"lr", 0.01}, {"units", 32}};
  EXPECT_ERROR_CONTAINS(run(cmd, params), "unknown placeholder {lrr}", "available parameters: lr, units", "{{");
  const std::vector<std::string> names = {"lr", "units"};
  EXPECT_ERROR_CONTAINS(check_placeholders(cmd, names), "{lrr}");
  cmd.command = "python3 train.py --lr {lr} --units {units}";
  EXPECT_NO_THROW(check_placeholders(cmd, names));
  cmd.command = "awk '{print $1}'";
  EXPECT_ERROR_CONTAINS(run(cmd, params), "unknown placeholder {print $1}");
  cmd.command = "echo {lr";
  EXPECT_ERROR_CONTAINS(run(cmd, params), "unclosed '{' at column 6");
  cmd.command = "echo }";
  EXPECT_ERROR_CONTAINS(run(cmd, params), "single '}' at column 6", "}}");
  cmd.command = "true";
  cmd.working_dir = "/nonexistent/nntune/dir";
  EXPECT_ERROR_CONTAINS(run(cmd, params), "/nonexistent/nntune/dir", "does not exist");
  ExternalCommand missing;
  missing.argv = {"nntune-no-such-program-xyz"};
  EXPECT_ERROR_CONTAINS(run(missing, params), "nntune-no-such-program-xyz", "not found in PATH");
}

TEST(ExternalObjective, ParameterTextAndShellQuote) {
  EXPECT_EQ(parameter_text(0.001), "0.001");
  EXPECT_EQ(parameter_text(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(parameter_text(128), "128");
  EXPECT_EQ(parameter_text("adam"), "adam");
  EXPECT_EQ(parameter_text(nlohmann::json{{"type", "sgd"}}), "{\"type\":\"sgd\"}");
  EXPECT_EQ(shell_quote("adam"), "adam");
  EXPECT_EQ(shell_quote("-1.5e-3"), "-1.5e-3");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(substitute_parameters("x={x} {{y}}", {{"x", "a;b"}}, true), "x='a;b' {y}");
  EXPECT_EQ(substitute_parameters("x={x}", {{"x", "a;b"}}, false), "x=a;b");
}

TEST(ExternalObjective, ParallelTrialsFromSeveralThreadsKeepTheirOwnOutput) {
  // As `--jobs N` runs them: each trial must read only its own program's output.
  TempDir dir;
  write_file(dir.file("echo_value.sh"),
             "sleep 0.$(( $1 % 3 ))\necho \"nntune: intermediate 1 $1\"\necho \"nntune: value $1\"\n");
  ExternalCommand cmd;
  cmd.command = "/bin/sh " + dir.file("echo_value.sh") + " {k}";
  std::vector<ExternalResult> results(6);
  std::vector<std::thread> threads;
  for (int k = 0; k < 6; ++k)
    threads.emplace_back([&, k] { results[k] = run(cmd, {{"k", k}}); });
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < 6; ++k) {
    ASSERT_EQ(results[k].state, TrialState::Complete) << results[k].error;
    EXPECT_EQ(results[k].value, double(k));
    ASSERT_EQ(results[k].intermediate.size(), 1u);
    EXPECT_EQ(results[k].intermediate[0].second, double(k));
  }
}

TEST(ExternalObjective, AThrowingCallbackStopsTheProgramAndPropagates) {
  TempDir dir;
  const ExternalCommand cmd = script_command(dir, "echo 'nntune: intermediate 1 0.5'\nsleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_external_objective(cmd, nlohmann::json::object(),
                                      [](int64_t, double) -> bool { throw std::runtime_error("storage gone"); }),
               std::runtime_error);
  EXPECT_LT(seconds_since(start), 1.0);
}

}  // namespace
}  // namespace nntune::tune
