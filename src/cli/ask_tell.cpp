// nntune ask / tell: one trial per `ask` process, finished by a later `tell` process. Every
// piece of state a `tell` needs (direction, sampler, pruner, the trial's parameters and
// intermediate values) is in the storage; the spec is read by `ask` only.
#include "cli/ask_tell.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/format.hpp"
#include "cli/study_option.hpp"
#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/storage.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/spec_tuning.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "tune/process_info.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::cli {
namespace {

using nlohmann::json;
using tune::FrozenTrial;
using tune::TrialState;

// A usage mistake (exit code 2, like CLI11's own parse errors).
int usage_error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "nntune: %s\nRun 'nntune tell --help' for usage.\n", message.c_str());
  return 2;
}

using tune::host_name;

// A whole argument as a decimal double ("0.81", "-3", "1e-4", "nan", "inf"), read as the
// external objective's reports are; nullopt otherwise (hexadecimal included).
std::optional<double> parse_number(const std::string& text) { return tune::parse_decimal(text); }

std::optional<int64_t> parse_integer(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || errno != 0) return std::nullopt;
  return value;
}

// ---- the sampler and pruner of a study, as stored ----

// ---- ask ----

// A spec for a shell loop needs no command: `space:` and `tune:` alone are read as an external
// objective whose program the caller runs itself.
bool is_space_only(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;  // load_tune_spec reports it
  std::stringstream text;
  text << in.rdbuf();
  const SpecTree tree = parse_spec_tree(text.str(), path);
  if (!tree.root.is_object() || !tree.root.contains("space")) return false;
  const json tune = tree.root.value("tune", json::object());
  const json objective = tune.is_object() ? tune.value("objective", json::object()) : json::object();
  return !(objective.is_object() && objective.contains("command"));
}

// NNTUNE_PARAM_<NAME>: upper-cased, every character other than a letter or digit turned into
// `_` (the same names an external program sees, docs/external-objective.md).
std::string env_name(const std::string& name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
  return out;
}

// A shell variable name: letters, digits and `_`, not starting with a digit.
std::string shell_name(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(out.begin(), '_');
  return out;
}

void print_trial(const std::string& format, const std::string& study, int64_t number, const json& params) {
  if (format == "env") {
    std::printf("NNTUNE_STUDY=%s\nNNTUNE_TRIAL=%lld\n", study.c_str(), static_cast<long long>(number));
    for (const auto& [name, value] : params.items())
      std::printf("NNTUNE_PARAM_%s=%s\n", env_name(name).c_str(), tune::parameter_text(value).c_str());
  } else if (format == "shell") {
    std::string line = "trial=" + std::to_string(number);
    for (const auto& [name, value] : params.items())
      line += " " + shell_name(name) + "=" + tune::shell_quote(tune::parameter_text(value));
    std::printf("%s\n", line.c_str());
  } else {
    // Written by hand to keep the keys in this order (json objects sort their keys).
    std::printf("{\"trial\":%lld,\"study\":%s,\"params\":%s}\n", static_cast<long long>(number), json(study).dump().c_str(),
                params.dump().c_str());
  }
}

// ---- tell ----

tune::StudySummary find_study(tune::Storage& storage, const std::string& name) {
  return tune::require_study(storage, name, "start one with nntune ask SPEC.yaml", "give --storage if it is elsewhere");
}

FrozenTrial find_trial(const std::vector<FrozenTrial>& trials, const std::string& study, int64_t number) {
  for (const auto& t : trials)
    if (t.number == number) return t;
  std::string running;
  for (const auto& t : trials)
    if (t.state == TrialState::Running) running += (running.empty() ? "" : ", ") + std::to_string(t.number);
  throw Error("study '" + study + "' has no trial " + std::to_string(number) +
              (trials.empty() ? ": it has no trials yet (nntune ask creates them)"
                              : ": its trials are 0 to " + std::to_string(trials.back().number) +
                                    (running.empty() ? ", none of them running" : ", running: " + running)));
}

std::string finished_description(const FrozenTrial& t) {
  std::string text = tune::to_string(t.state);
  if (t.value) text += " (value " + short_number(*t.value) + ")";
  if (!t.error.empty()) text += " (" + t.error.substr(0, t.error.find('\n')) + ")";
  return text;
}

}  // namespace

int cmd_ask(const AskArgs& a) {
  std::vector<std::string> overrides;
  if (!a.storage.empty()) overrides.push_back("tune.storage=" + json(a.storage).dump());
  if (!a.study.empty()) overrides.push_back("tune.study=" + json(a.study).dump());
  const bool space_only = is_space_only(a.spec);
  // The command is never run by ask; it only selects the `space:` form of the spec.
  if (space_only) overrides.push_back("tune.objective.command=\"run by the caller of nntune ask\"");
  const tune::TuneSpec ts = tune::load_tune_spec(a.spec, overrides);
  const tune::TuneConfig& config = ts.config;
  // The trial must outlive this process for a later nntune tell.
  refuse_memory_storage(config.storage, "ask");

  auto storage = tune::open_storage(config.storage);
  const bool created = tune::create_study_if_missing(*storage, config);
  std::unique_ptr<tune::Pruner> pruner;
  if (config.pruner.name != "none") pruner = tune::make_pruner(config.pruner);
  tune::Study study = tune::Study::open(storage, config.study, config.objective.direction,
                                        tune::make_sampler(config.sampler), std::move(pruner));
  // What tell (the pruner), `nntune best` and `nntune trials` need, as `nntune tune` stores it.
  tune::store_spec_study_attrs(*storage, study.id(), ts, a.spec, space_only);
  // The spec's known-good trials come first, as in nntune tune (ask hands out waiting trials first).
  if (created)
    for (const json& point : config.enqueue) study.enqueue(point);

  if (study.sampler().is_exhausted(study.history()))
    throw Error("study '" + config.study + "' is done: every point of the " + study.sampler().name() +
                " sampler has been taken by a trial (see nntune trials " + config.study + ")");

  tune::Trial trial = study.ask();
  // Study::ask names this process as the trial's worker, and a later `nntune tune` on this host
  // fails the Running trials whose worker pid is dead (Study::recover_trials). This process
  // exits at once and the trial lives on in the caller's loop, so its worker has no pid (null):
  // recovery leaves it to the heartbeat grace rule.
  storage->set_trial_system_attr(trial.id(), "worker",
                                 {{"host", host_name()}, {"pid", nullptr}, {"asked_by", "nntune ask"}});

  json params;
  try {
    const SpecTree fixed = ts.external()
                               ? tune::materialize(
                                     ts.space, [&](const std::string& name, const tune::Distribution& d) { return trial.suggest(name, d); },
                                     true)
                               : tune::materialize_trial(ts.space, trial);
    params = trial.frozen().external_params();
    // An external spec's fixed values (`epochs: 10` in space:) are handed out too, as tune
    // substitutes them into its command.
    if (ts.external())
      for (const auto& [key, value] : fixed.root.items())
        if (!params.contains(key)) params[key] = value;
  } catch (const std::exception& e) {
    study.tell(trial, TrialState::Failed, std::nullopt, std::string("sampling its parameters failed: ") + e.what());
    throw;
  }
  print_trial(a.format, config.study, trial.number(), params);
  return 0;
}

int cmd_tell(const TellArgs& a) {
  const bool has_value = !a.value.empty();
  const bool has_state = !a.state.empty();
  if (has_value && has_state)
    return usage_error("give either VALUE (the trial completed) or --state " + a.state + ", not both");
  if (a.should_prune && (has_value || has_state))
    return usage_error("--should-prune asks about a trial that goes on: give no VALUE or --state with it");
  if (a.should_prune && a.intermediate.empty())
    return usage_error("--should-prune needs the value just reached: --intermediate STEP=VALUE");
  if (!a.error.empty() && a.state != "failed" && a.state != "pruned")
    return usage_error("--error goes with --state failed (or pruned)");
  if (!has_value && !has_state && !a.should_prune && a.intermediate.empty())
    return usage_error("tell what? give VALUE, --state pruned|failed, or --intermediate STEP=VALUE");

  std::optional<double> value;
  if (has_value) {
    value = parse_number(a.value);
    if (!value) return usage_error("VALUE '" + a.value + "' is not a number (e.g. 0.81, -3, 1e-4, nan)");
  }
  std::vector<std::pair<int64_t, double>> intermediate;
  for (const std::string& item : a.intermediate) {
    const auto equals = item.find('=');
    const auto step = equals == std::string::npos ? std::nullopt : parse_integer(item.substr(0, equals));
    const auto step_value = equals == std::string::npos ? std::nullopt : parse_number(item.substr(equals + 1));
    if (!step || !step_value)
      return usage_error("--intermediate '" + item + "': expected STEP=VALUE with an integer step, e.g. 3=0.81");
    intermediate.emplace_back(*step, *step_value);
  }

  refuse_memory_storage(a.storage, "tell");
  auto storage = tune::open_storage(a.storage);
  const tune::StudySummary summary = find_study(*storage, a.study);
  const FrozenTrial stored = find_trial(storage->get_all_trials(summary.id), a.study, a.trial);
  const std::string which = "trial " + std::to_string(a.trial) + " of study '" + a.study + "'";
  if (stored.state == TrialState::Waiting)
    throw Error(which + " is waiting (enqueued) and was never asked: nntune ask hands it out");
  if (stored.state != TrialState::Running)
    throw Error(which + " is already " + finished_description(stored) + ": a trial is told once");
  // A trial of a live `nntune tune` (or C++ API) process on this host is that process's to finish.
  const json worker = stored.system_attrs.value("worker", json());
  if (worker.is_object() && worker.value("host", "") == host_name() && worker.contains("pid") &&
      worker["pid"].is_number_integer()) {
    const auto pid = static_cast<pid_t>(worker["pid"].get<int64_t>());
    if (pid > 0 && kill(pid, 0) == 0)
      throw Error(which + " is being run by process " + std::to_string(pid) +
                  " (nntune tune or a program using the C++ API), not by an ask/tell loop: that process tells it");
  }

  std::unique_ptr<tune::Pruner> pruner;  // only --should-prune asks it
  const tune::PrunerConfig pruner_config = tune::pruner_config_from_json(summary.system_attrs.value("pruner", json()));
  if (a.should_prune && pruner_config.name != "none") pruner = tune::make_pruner(pruner_config);
  tune::Study study = tune::Study::open(storage, a.study, summary.direction,
                                        tune::make_sampler(tune::sampler_config_from_json(summary.system_attrs.value("sampler", json()))),
                                        std::move(pruner));
  tune::Trial trial(study, stored);
  for (const auto& [step, step_value] : intermediate) trial.report(step_value, step);
  // A report is a sign of life: it keeps a long trial from being failed as stale.
  if (!intermediate.empty()) storage->record_heartbeat(trial.id());

  if (a.should_prune) {
    if (!study.pruner())
      std::fprintf(stderr, "nntune: study '%s' has no pruner (set tune.pruner in its spec): continue\n", a.study.c_str());
    std::printf("%s\n", trial.should_prune() ? "prune" : "continue");
    return 0;
  }
  if (!has_value && !has_state) {
    std::printf("trial %lld: %zu intermediate value%s recorded, still running\n", static_cast<long long>(a.trial),
                intermediate.size(), intermediate.size() == 1 ? "" : "s");
    return 0;
  }
  if (has_state)
    study.tell(trial, a.state == "pruned" ? TrialState::Pruned : TrialState::Failed, std::nullopt,
               a.error.empty() && a.state == "failed" ? "reported failed by nntune tell" : a.error);
  else
    study.tell(trial, *value);
  std::printf("trial %lld: %s\n", static_cast<long long>(a.trial),
              finished_description(storage->get_trial(trial.id())).c_str());
  return 0;
}

AskTellCommands::AskTellCommands(CLI::App& app) {
  AskArgs& k = ask_args_;
  ask_ = app.add_subcommand("ask", "start a trial of a spec's study and print its parameters (for shell loops; "
                                   "finish it with nntune tell)");
  ask_->add_option("spec", k.spec, "the tuning spec (YAML: space: and tune:, or a training spec with distributions)")
      ->required();
  ask_->add_option("--storage", k.storage,
                   "sqlite:///FILE.db or postgresql://USER@HOST/DB (default: $NNTUNE_STORAGE when set, else the spec's "
                   "tune.storage, else sqlite:///nntune.db)")
      ->envname(kStorageEnv);
  ask_->add_option("--study", k.study, "study name (default: the spec's tune.study, else the spec file's name)");
  ask_->add_option("--format", k.format, "json ({\"trial\": N, \"params\": {...}}), env (NNTUNE_PARAM_<NAME>=value lines) "
                                         "or shell (trial=N name=value ..., quoted for eval) (default json)")
      ->check(CLI::IsMember({"json", "env", "shell"}));

  TellArgs& t = tell_args_;
  tell_ = app.add_subcommand("tell", "finish a trial started by nntune ask (VALUE, or --state pruned|failed), record "
                                     "intermediate values, or ask whether to prune");
  // STUDY TRIAL [VALUE], or --study STUDY TRIAL [VALUE]: read as text, then placed (the one rule of
  // study_option.hpp, where the positional may be left out for --study).
  auto given = std::make_shared<std::array<std::string, 4>>();  // three positionals, --study
  tell_->add_option("study", (*given)[0], "the study name (or give it as --study STUDY)");
  tell_->add_option("trial", (*given)[1], "the trial number (as nntune ask printed it)");
  tell_->add_option("value", (*given)[2], "the trial's objective value (nan: the trial failed); default: none (give "
                                          "--state or --intermediate instead)");
  tell_->add_option("--study", (*given)[3], "the same as STUDY (every command accepts either form)");
  tell_->parse_complete_callback([given, &t] {
    auto [study, trial, value, option] = *given;
    if (!option.empty() && !study.empty()) {
      // --study S TRIAL [VALUE] fills the positionals from TRIAL on: a first positional that is
      // not a trial number, or three of them, mean STUDY was given twice.
      const bool shifted = value.empty() && parse_integer(study) && study != option;
      if (!shifted) {
        if (study != option)
          throw CLI::ValidationError("two study names: " + study + " and --study " + option + ": give one");
      } else {  // the positionals move up one
        value = trial;
        trial = study;
        study = option;
      }
    } else if (!option.empty()) {
      study = option;
    }
    if (study.empty() || trial.empty())
      throw CLI::ValidationError("which trial? nntune tell STUDY TRIAL [VALUE] (or --study STUDY TRIAL [VALUE])");
    const auto number = parse_integer(trial);
    if (!number || *number < 0)
      throw CLI::ValidationError("TRIAL '" + trial + "' is not a trial number (0, 1, 2, ... as nntune ask printed it)");
    t.study = study;
    t.trial = *number;
    t.value = value;
  });
  tell_->add_option("--state", t.state, "end the trial pruned or failed instead of complete (default: complete, with VALUE)")
      ->check(CLI::IsMember({"pruned", "failed"}));
  tell_->add_option("--error", t.error, "why it failed, with --state failed (default: \"reported failed by nntune tell\")");
  tell_->add_option("--intermediate", t.intermediate, "an intermediate value STEP=VALUE, e.g. 3=0.81 (repeatable; default: none)")
      ->allow_extra_args(false);  // one STEP=VALUE each, so a VALUE after it stays the VALUE
  tell_->add_flag("--should-prune", t.should_prune,
                  "after recording --intermediate, print prune or continue (the study's pruner decides)");
  add_storage_option(tell_, t.storage, "the study storage");
}

std::optional<int> AskTellCommands::run() {
  if (*ask_) return cmd_ask(ask_args_);
  if (*tell_) return cmd_tell(tell_args_);
  return std::nullopt;
}

}  // namespace nntune::cli
