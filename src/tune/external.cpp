#include "nntune/tune/external.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nntune/error.hpp"
#include "tune/external_protocol.hpp"

extern char** environ;

namespace nntune::tune {
namespace {

using Clock = std::chrono::steady_clock;

std::string available_parameters(const nlohmann::json& params) {
  std::string out;
  if (params.is_object())
    for (auto it = params.begin(); it != params.end(); ++it) out += (out.empty() ? "" : ", ") + it.key();
  return out.empty() ? "(none)" : out;
}

// Walks a template: literal text goes to `literal`, each {name} to `placeholder`.
template <typename Literal, typename Placeholder>
void parse_template(const std::string& text, const nlohmann::json& params, Literal literal, Placeholder placeholder) {
  const std::string hint = " in the objective command \"" + text + "\" (write {{ and }} for literal braces)";
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal('{');
      i += 2;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal('}');
      i += 2;
    } else if (c == '{') {
      const size_t close = text.find('}', i + 1);
      if (close == std::string::npos)
        throw Error("unclosed '{' at column " + std::to_string(i + 1) + hint);
      const std::string name = text.substr(i + 1, close - i - 1);
      if (!params.is_object() || !params.contains(name))
        throw Error("unknown placeholder {" + name + "}" + hint + "; available parameters: " +
                    available_parameters(params));
      placeholder(name);
      i = close + 1;
    } else if (c == '}') {
      throw Error("single '}' at column " + std::to_string(i + 1) + hint);
    } else {
      literal(c);
      ++i;
    }
  }
}

std::string env_name_of(const std::string& parameter) {
  std::string out = "NNTUNE_PARAM_";
  for (unsigned char c : parameter) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

std::string format_seconds(double seconds) {
  std::ostringstream s;
  s << seconds;
  return s.str();
}

bool parse_double(const std::string& token, double& out) {
  const std::optional<double> value = parse_decimal(token);
  if (value) out = *value;
  return value.has_value();
}

bool parse_int64(const std::string& token, int64_t& out) {
  const char* first = token.data();
  const char* last = first + token.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && ptr == last && first != last;
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The first executable called `program` in `path_list` (a PATH value); empty when none.
std::string find_in_path(const std::string& program, const std::string& path_list) {
  if (program.find('/') != std::string::npos) return program;
  std::stringstream dirs(path_list);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// One of the child's output pipes, split into lines as they arrive.
struct OutputStream {
  explicit OutputStream(size_t max_line_bytes) : lines(max_line_bytes) {}
  int fd = -1;
  bool from_stderr = false;
  detail::LineSplitter lines;
};

// Kills and reaps the child if the run ends by an exception; closes the pipes.
struct ChildGuard {
  pid_t pid = -1;
  bool reaped = false;
  OutputStream* streams[2] = {nullptr, nullptr};
  ~ChildGuard() {
    for (OutputStream* s : streams)
      if (s) close_fd(s->fd);
    if (pid > 0 && !reaped) {
      ::kill(-pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

class ObjectiveRun {
 public:
  ObjectiveRun(const ExternalCommand& cmd, const std::function<bool(int64_t, double)>& on_intermediate,
               ExternalResult& result)
      : cmd_(cmd), on_intermediate_(on_intermediate), result_(result) {
    if (!cmd.log_path.empty()) {
      log_.open(cmd.log_path, std::ios::app);
      if (!log_) throw Error("cannot open the objective log \"" + cmd.log_path + "\" for appending");
    }
  }

  // Runs `argv` (argv[0] already a path) and fills the result.
  void run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    out_.fd = out_pipe[0];
    err_.fd = err_pipe[0];
    err_.from_stderr = true;
    guard_.streams[0] = &out_;
    guard_.streams[1] = &err_;
    int out_write = out_pipe[1], err_write = err_pipe[1];
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    // posix_spawn rather than fork: safe while other threads run trials, and it reports an
    // exec failure as an error code. The child leads its own process group so the whole tree
    // can be signalled, with default signal handling whatever nntune itself blocks or ignores.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (null_fd >= 0) posix_spawn_file_actions_adddup2(&actions, null_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_write, STDERR_FILENO);
    if (!cmd_.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, cmd_.working_dir.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t no_signals, default_signals;
    sigemptyset(&no_signals);
    sigemptyset(&default_signals);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&default_signals, sig);
    posix_spawnattr_setsigmask(&attr, &no_signals);
    posix_spawnattr_setsigdefault(&attr, &default_signals);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv_ptrs, env_ptrs;
    for (const std::string& a : argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
    argv_ptrs.push_back(nullptr);
    for (const std::string& e : env) env_ptrs.push_back(const_cast<char*>(e.c_str()));
    env_ptrs.push_back(nullptr);

    start_ = Clock::now();
    pid_t pid = -1;
    const int spawn_error = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, argv_ptrs.data(), env_ptrs.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_write);
    ::close(err_write);
    if (null_fd >= 0) ::close(null_fd);
    if (spawn_error != 0)
      throw Error("cannot start the objective command \"" + result_.command_line + "\": " +
                  std::strerror(spawn_error) +
                  (cmd_.working_dir.empty() ? "" : " (working directory \"" + cmd_.working_dir + "\")"));
    guard_.pid = pid;
    for (OutputStream* s : {&out_, &err_}) ::fcntl(s->fd, F_SETFL, ::fcntl(s->fd, F_GETFL) | O_NONBLOCK);

    supervise(pid);
  }

 private:
  enum class Stop { None, Pruned, TimedOut, Stopped, ProtocolError, CallbackThrew };

  void supervise(pid_t pid) {
    const bool has_deadline = cmd_.timeout_seconds > 0.0;
    const auto deadline =
        start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cmd_.timeout_seconds));

    // Read until the program exits (its output may outlive it in a background child, so the
    // exit is polled, not inferred from end of file), a report prunes it, or the time is up.
    bool exited = false;
    while (stop_ == Stop::None) {
      int wait_ms = 100;
      if (has_deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
          stop_ = Stop::TimedOut;
          break;
        }
        wait_ms = static_cast<int>(std::min<int64_t>(wait_ms, left + 1));
      }
      pump(out_.fd < 0 && err_.fd < 0 ? 0 : wait_ms);
      if (stop_ != Stop::None) break;
      if (callback_ok([&] { return cmd_.should_stop && cmd_.should_stop(); })) {
        stop_ = Stop::Stopped;
        break;
      }
      if (has_exited(pid)) {
        exited = true;
        break;
      }
      if (out_.fd < 0 && err_.fd < 0) ::usleep(10000);  // pipes closed, process still running
    }

    if (stop_ != Stop::None && !exited) {
      // SIGTERM to the whole group, a grace period (still draining, so that a handler that
      // writes does not block), then SIGKILL.
      ::kill(-pid, SIGTERM);
      const auto grace_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(std::max(0.0, cmd_.kill_grace_seconds)));
      while (!has_exited(pid) && Clock::now() < grace_end) pump(10);
    }
    // The leader is a zombie or alive, so its pid (the group id) cannot have been reused: end
    // whatever is left of the group, then read the rest of the output.
    ::kill(-pid, SIGKILL);
    const auto drain_end = Clock::now() + std::chrono::seconds(2);
    while ((out_.fd >= 0 || err_.fd >= 0) && Clock::now() < drain_end) pump(50);
    for (OutputStream* s : {&out_, &err_}) {
      s->lines.finish([&](std::string line, size_t dropped) { handle_line(*s, std::move(line), dropped); });
      close_fd(s->fd);
    }

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    guard_.reaped = true;
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
    if (callback_error_) std::rethrow_exception(callback_error_);
    conclude();
  }

  bool has_exited(pid_t pid) {
    siginfo_t info{};
    // WNOWAIT: leave the zombie in place so that its group id stays ours until we reap it.
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != EINTR;
    return info.si_pid == pid;
  }

  // Waits up to timeout_ms for output and reads all that is available.
  void pump(int timeout_ms) {
    pollfd fds[2];
    OutputStream* streams[2];
    nfds_t n = 0;
    for (OutputStream* s : {&out_, &err_})
      if (s->fd >= 0) {
        fds[n] = {s->fd, POLLIN, 0};
        streams[n++] = s;
      }
    if (n == 0) {
      if (timeout_ms > 0) ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
      return;
    }
    if (::poll(fds, n, timeout_ms) <= 0) return;
    for (nfds_t i = 0; i < n; ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_available(*streams[i]);
  }

  void read_available(OutputStream& s) {
    char buffer[65536];
    while (s.fd >= 0) {
      const ssize_t got = ::read(s.fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) close_fd(s.fd);
        return;
      }
      if (got == 0) {
        close_fd(s.fd);
        return;
      }
      s.lines.feed(std::string_view(buffer, static_cast<size_t>(got)),
                   [&](std::string line, size_t dropped) { handle_line(s, std::move(line), dropped); });
    }
  }

  void handle_line(const OutputStream& s, std::string line, size_t dropped = 0) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (dropped > 0) {
      ++result_.truncated_lines;
      if (!s.from_stderr && line.compare(0, 7, "nntune:") == 0 && stop_ == Stop::None) {
        ++stdout_line_number_;
        stop_ = Stop::ProtocolError;
        protocol_error_ = "line " + std::to_string(stdout_line_number_) + " of the objective's output is longer than " +
                          std::to_string(cmd_.max_line_bytes) + " bytes (max_line_bytes); a report is one short line, "
                          "\"nntune: value VALUE\"";
        return;
      }
      line += " [... " + std::to_string(dropped) + " more bytes: line truncated]";
    }
    if (log_.is_open()) log_ << (s.from_stderr ? "stderr: " : "") << line << '\n' << std::flush;
    if (s.from_stderr) {
      stderr_tail_.push_back(line);
      while (stderr_tail_.size() > cmd_.stderr_tail_lines) stderr_tail_.pop_front();
    } else {
      ++stdout_line_number_;
    }
    callback_ok([&] {
      if (cmd_.on_output) cmd_.on_output(line, s.from_stderr);
      if (!s.from_stderr && stop_ == Stop::None) parse_protocol_line(line);
      return true;
    });
  }

  // Runs a user callback; an exception stops the program and is rethrown once it is reaped.
  template <typename F>
  bool callback_ok(F f) {
    try {
      return f();
    } catch (...) {
      if (stop_ == Stop::None) {
        callback_error_ = std::current_exception();
        stop_ = Stop::CallbackThrew;
      }
      return false;
    }
  }

  void parse_protocol_line(const std::string& line) {
    const detail::ProtocolLine parsed = detail::parse_protocol_line(line);
    switch (parsed.kind) {
      case detail::ProtocolLine::Kind::NotProtocol:
        return;
      case detail::ProtocolLine::Kind::Intermediate:
        result_.intermediate.emplace_back(parsed.step, parsed.value);
        if (on_intermediate_ && on_intermediate_(parsed.step, parsed.value)) {
          stop_ = Stop::Pruned;
          pruned_step_ = parsed.step;
        }
        return;
      case detail::ProtocolLine::Kind::Value:
        result_.value = parsed.value;
        return;
      case detail::ProtocolLine::Kind::Malformed:
        stop_ = Stop::ProtocolError;
        protocol_error_ = "cannot read line " + std::to_string(stdout_line_number_) + " of the objective's output, \"" +
                          line + "\" (expected \"nntune: intermediate STEP VALUE\" or \"nntune: value VALUE\")";
        return;
    }
  }

  void fail(const std::string& reason) {
    result_.state = TrialState::Failed;
    result_.error = reason;
    if (!result_.stderr_tail.empty()) {
      result_.error += "\nlast lines of stderr:";
      for (const std::string& line : result_.stderr_tail) result_.error += "\n  " + line;
    }
  }

  void conclude() {
    result_.stderr_tail.assign(stderr_tail_.begin(), stderr_tail_.end());
    const std::string who = "the objective command";
    switch (stop_) {
      case Stop::Pruned:
        result_.state = TrialState::Pruned;
        result_.error = "pruned at step " + std::to_string(pruned_step_);
        return;
      case Stop::TimedOut:
        result_.timed_out = true;
        return fail(who + " timed out after " + format_seconds(cmd_.timeout_seconds) +
                    " s (timeout_seconds) and was stopped");
      case Stop::Stopped:
        result_.stopped = true;
        return fail(who + " was stopped before it finished (nntune was asked to stop)");
      case Stop::ProtocolError:
        return fail(protocol_error_);
      case Stop::CallbackThrew:
      case Stop::None:
        break;
    }
    if (result_.signal)
      return fail(who + " was killed by signal " + std::to_string(*result_.signal) + " (" +
                  strsignal(*result_.signal) + ")");
    if (result_.exit_code && *result_.exit_code != 0) {
      const int code = *result_.exit_code;
      // /bin/sh reports a command killed by signal n as status 128 + n.
      const bool shell_signal = cmd_.argv.empty() && cmd_.shell && code > 128 && code < 128 + NSIG;
      return fail(who + " exited with status " + std::to_string(code) +
                  (shell_signal ? " (killed by signal " + std::to_string(code - 128) + ", " + strsignal(code - 128) +
                                      ", as the shell reports it)"
                                : ""));
    }
    if (!result_.value)
      return fail(who + " exited with status 0 but printed no final value (a line \"nntune: value VALUE\" on "
                        "standard output)");
    if (!std::isfinite(*result_.value))
      return fail(who + " reported a non-finite final value (" + format_seconds(*result_.value) + ")");
    result_.state = TrialState::Complete;
  }

  const ExternalCommand& cmd_;
  const std::function<bool(int64_t, double)>& on_intermediate_;
  ExternalResult& result_;
  std::ofstream log_;
  OutputStream out_{cmd_.max_line_bytes}, err_{cmd_.max_line_bytes};
  ChildGuard guard_;
  Clock::time_point start_;
  Stop stop_ = Stop::None;
  int64_t pruned_step_ = 0;
  std::string protocol_error_;
  std::exception_ptr callback_error_;
  std::deque<std::string> stderr_tail_;
  int64_t stdout_line_number_ = 0;
};

}  // namespace

namespace detail {

void LineSplitter::feed(std::string_view chunk, const OnLine& on_line) {
  for (size_t begin = 0; begin < chunk.size();) {
    const size_t newline = chunk.find('\n', begin);
    const size_t end = newline == std::string_view::npos ? chunk.size() : newline;
    const size_t room = max_bytes_ - std::min(max_bytes_, partial_.size());
    const size_t take = std::min(room, end - begin);
    partial_.append(chunk.data() + begin, take);
    dropped_ += end - begin - take;
    if (newline == std::string_view::npos) break;
    std::string line = std::move(partial_);
    const size_t dropped = dropped_;
    partial_.clear();
    dropped_ = 0;
    on_line(std::move(line), dropped);
    begin = newline + 1;
  }
}

void LineSplitter::finish(const OnLine& on_line) {
  if (partial_.empty() && dropped_ == 0) return;
  std::string line = std::move(partial_);
  const size_t dropped = dropped_;
  partial_.clear();
  dropped_ = 0;
  on_line(std::move(line), dropped);
}

ProtocolLine parse_protocol_line(const std::string& line) {
  static const std::string prefix = "nntune:";
  ProtocolLine out;
  if (line.compare(0, prefix.size(), prefix) != 0) return out;
  const std::vector<std::string> words = split_words(line.substr(prefix.size()));
  if (words.size() == 3 && words[0] == "intermediate" && parse_int64(words[1], out.step) &&
      parse_double(words[2], out.value)) {
    out.kind = ProtocolLine::Kind::Intermediate;
  } else if (words.size() == 2 && words[0] == "value" && parse_double(words[1], out.value)) {
    out.kind = ProtocolLine::Kind::Value;
  } else {
    out.kind = ProtocolLine::Kind::Malformed;
  }
  return out;
}

}  // namespace detail

std::optional<double> parse_decimal(const std::string& token) {
  const char* first = token.data();
  const char* last = first + token.size();
  if (first != last && *first == '+') {
    ++first;
    if (first != last && *first == '-') return std::nullopt;  // "+-1"
  }
  double value = 0.0;
  // chars_format::general: decimal and exponent forms, nan and inf; never hexadecimal.
  const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec != std::errc() || ptr != last || first == last) return std::nullopt;
  return value;
}

std::string parameter_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    // Shortest text that reads back to the same double.
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.get<double>());
    return std::string(buffer, end);
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

std::string shell_quote(const std::string& text) {
  const bool safe = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("_@%+=:,./-", c) != nullptr;
  });
  if (safe) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string substitute_parameters(const std::string& text_template, const nlohmann::json& params, bool quote) {
  std::string out;
  parse_template(
      text_template, params, [&](char c) { out += c; },
      [&](const std::string& name) {
        const std::string text = parameter_text(params.at(name));
        out += quote ? shell_quote(text) : text;
      });
  return out;
}

void check_placeholders(const ExternalCommand& cmd, const std::vector<std::string>& parameter_names) {
  nlohmann::json names = nlohmann::json::object();
  for (const std::string& name : parameter_names) names[name] = nullptr;
  auto ignore_literal = [](char) {};
  auto ignore_name = [](const std::string&) {};
  if (!cmd.argv.empty()) {
    for (const std::string& arg : cmd.argv) parse_template(arg, names, ignore_literal, ignore_name);
  } else {
    parse_template(cmd.command, names, ignore_literal, ignore_name);
  }
}

ExternalResult run_external_objective(const ExternalCommand& cmd, const nlohmann::json& params,
                                      const std::function<bool(int64_t step, double value)>& on_intermediate,
                                      std::optional<int64_t> trial_number) {
  if (!params.is_object()) throw Error("the parameters of an external objective must be a JSON object");
  ExternalResult result;

  std::vector<std::string> argv;
  if (!cmd.argv.empty()) {
    for (const std::string& arg : cmd.argv) argv.push_back(substitute_parameters(arg, params, false));
  } else if (cmd.command.empty()) {
    throw Error("the objective command is empty: give a command line or an argv list");
  } else if (cmd.shell) {
    argv = {"/bin/sh", "-c", substitute_parameters(cmd.command, params, true)};
  } else {
    for (const std::string& word : split_words(cmd.command)) argv.push_back(substitute_parameters(word, params, false));
  }
  for (size_t i = 0; i < argv.size(); ++i) result.command_line += (i ? " " : "") + argv[i];
  if (cmd.shell && cmd.argv.empty()) result.command_line = argv[2];

  if (!cmd.working_dir.empty() && !std::filesystem::is_directory(cmd.working_dir))
    throw Error("the objective's working directory \"" + cmd.working_dir + "\" does not exist or is not a directory");

  // nntune's environment, then the command's own variables, then the trial's.
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : cmd.env) env[key] = value;
  for (auto it = params.begin(); it != params.end(); ++it) env[env_name_of(it.key())] = parameter_text(it.value());
  env["NNTUNE_PARAMS"] = params.dump();
  if (trial_number) env["NNTUNE_TRIAL_NUMBER"] = std::to_string(*trial_number);
  env.emplace("PYTHONUNBUFFERED", "1");
  std::vector<std::string> env_entries;
  for (const auto& [key, value] : env) env_entries.push_back(key + "=" + value);

  const std::string program = argv[0];
  auto path = env.find("PATH");
  argv[0] = find_in_path(program, path == env.end() ? "/usr/local/bin:/usr/bin:/bin" : path->second);
  if (argv[0].empty())
    throw Error("cannot start the objective command: \"" + program + "\" was not found in PATH (" +
                (path == env.end() ? std::string("unset") : path->second) + ")");

  ObjectiveRun run(cmd, on_intermediate, result);
  run.run(argv, env_entries);
  return result;
}

}  // namespace nntune::tune
