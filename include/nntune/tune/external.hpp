#pragma once
// An external program as the objective of a trial (`python3 train.py --lr {lr}`).
//
// Parameters. Every `{name}` in the command is replaced by the trial's parameter `name`:
// numbers in full precision (shortest text that reads back to the same double; integers as
// integers), strings as they are, booleans as true/false, anything else (a sub-spec) as compact
// JSON. Through the shell (ExternalCommand::shell) a value that is not made only of
// [A-Za-z0-9_@%+=:,./-] is single-quoted, so a space or quote reaches the program as one
// argument. `{{` and `}}` are literal braces (`awk '{{print $1}}'`, `${{HOME}}`); a lone `{`
// or `}`, or an unknown placeholder, is an Error naming it and the parameters available.
// The program also sees every parameter as the environment variable NNTUNE_PARAM_<NAME> (name
// upper-cased, every character other than a letter or digit turned into `_`), all of them as
// JSON in NNTUNE_PARAMS, the trial number in NNTUNE_TRIAL_NUMBER (when given), and
// PYTHONUNBUFFERED=1 (unless set already) so that Python reports arrive as they are printed.
//
// Output protocol: lines on the program's standard output that start with `nntune:` are read,
// everything else is ignored (or copied to the log):
//   nntune: intermediate STEP VALUE   an intermediate value; STEP an integer (e.g. the epoch)
//   nntune: value VALUE               the final objective value (the last one printed counts)
// VALUE is a decimal number (nan and inf are accepted and handled as below; hexadecimal is not). A malformed
// `nntune:` line fails the trial and names the line. See docs/external-objective.md.
//
// Outcome. Exit status 0 with a finite final value: Complete. on_intermediate returning true:
// the whole process group gets SIGTERM, then SIGKILL after kill_grace_seconds: Pruned. A non-zero
// exit, a death by signal, no or a non-finite final value, or the timeout: Failed, with the
// reason and the last lines of standard error in `error`. Problems on nntune's side (a bad
// template, a working directory that does not exist, a program that cannot be started) throw
// nntune::Error instead, since every trial would fail the same way.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nntune/tune/trial.hpp"

namespace nntune::tune {

struct ExternalCommand {
  // Either a command line run as /bin/sh -c COMMAND (shell = true, the default), or argv, whose
  // elements are substituted one by one and run without a shell (argv[0] searched in PATH).
  std::string command;
  std::vector<std::string> argv;
  bool shell = true;  // ignored when argv is given
  std::string working_dir;  // empty: the current directory
  double timeout_seconds = 0.0;  // 0: none
  double kill_grace_seconds = 2.0;  // between SIGTERM and SIGKILL
  std::map<std::string, std::string> env;  // added to (or replacing in) nntune's environment
  std::size_t stderr_tail_lines = 20;
  // The longest line kept, in bytes (both streams): the rest of a longer line is dropped and
  // counted, so a runaway program costs neither memory nor time. A protocol line ("nntune: ...")
  // past the bound fails the trial.
  std::size_t max_line_bytes = 8192;
  // Where the program's output goes besides being parsed: a file appended to (stderr lines
  // prefixed with "stderr: "), and/or a callback per line.
  std::string log_path;
  std::function<void(const std::string& line, bool from_stderr)> on_output;
  // Polled about every 100 ms while the program runs; true stops it like a prune does and the
  // run ends Failed with `stopped` set (e.g. Ctrl-C on nntune: the program has its own process
  // group, so the terminal's SIGINT does not reach it).
  std::function<bool()> should_stop;
};

struct ExternalResult {
  TrialState state = TrialState::Failed;  // Complete, Pruned or Failed
  std::optional<double> value;             // the final value, when one was printed
  std::vector<std::pair<int64_t, double>> intermediate;  // in the order printed
  std::string error;  // Failed: the reason, then the stderr tail; Pruned: at which step
  std::vector<std::string> stderr_tail;  // last stderr_tail_lines lines
  std::optional<int> exit_code;          // when the program exited by itself
  std::optional<int> signal;             // when a signal ended it
  bool timed_out = false;
  bool stopped = false;  // ended because should_stop() returned true
  int64_t truncated_lines = 0;  // lines longer than max_line_bytes (cut in the log and the tail)
  double seconds = 0.0;
  std::string command_line;  // what ran (argv joined by spaces in argv mode)
};

// Runs the command for one trial. on_intermediate(step, value) is called for every intermediate
// report, in order; returning true prunes the trial. It may be empty (never prune).
ExternalResult run_external_objective(const ExternalCommand& cmd, const nlohmann::json& params,
                                      const std::function<bool(int64_t step, double value)>& on_intermediate,
                                      std::optional<int64_t> trial_number = std::nullopt);

// The substitution alone (for dry runs and error checks before a study starts): replaces the
// placeholders of `text_template` with `params` (an object), shell-quoting when `shell_quote`.
std::string substitute_parameters(const std::string& text_template, const nlohmann::json& params, bool shell_quote);

// Checks that every placeholder of the command names a parameter in `parameter_names`; throws
// the same Error as a run would. For validating a spec before the first trial.
void check_placeholders(const ExternalCommand& cmd, const std::vector<std::string>& parameter_names);

// A whole token as a decimal number, as the protocol's VALUE and `nntune tell` read it: "0.81",
// "-3", "+1e-4", "nan", "inf", "-inf". Hexadecimal ("0x10"), surrounding blanks and numbers
// beyond a double's range give nullopt.
std::optional<double> parse_decimal(const std::string& token);

// A parameter as text: the value substituted and exported (unquoted).
std::string parameter_text(const nlohmann::json& value);
// `text` quoted for /bin/sh when it needs it (left as is when it is made of safe characters).
std::string shell_quote(const std::string& text);

}  // namespace nntune::tune
