// nntune tune / studies / trials / best / delete.
// `tune` creates or joins the study (tune::open_spec_study stores in it what every worker
// shares: the spec, the budget, the fault tolerance settings; an enqueued grid), then runs the
// trial loop of worker_commands.cpp like any `nntune worker`.
#include "cli/tune_commands.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli/checks.hpp"
#include "cli/format.hpp"
#include "cli/progress.hpp"
#include "cli/study_option.hpp"
#include "cli/worker_commands.hpp"
#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/loss.hpp"
#include "nntune/model.hpp"
#include "nntune/tune/ensemble.hpp"
#include "nntune/tune/external.hpp"
#include "nntune/tune/study.hpp"
#include "nntune/tune/spec_tuning.hpp"
#include "nntune/tune/tune_spec.hpp"
#include "tune/process_info.hpp"

namespace nntune::cli {
namespace {

using nlohmann::json;
using tune::Direction;
using tune::FrozenTrial;
using tune::TrialState;
namespace fs = std::filesystem;

// ---- formatting ----

std::string value_text(const json& v) { return v.is_number_float() ? short_number(v.get<double>()) : v.is_string() ? v.get<std::string>() : v.dump(); }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
std::string direction_word(Direction d) { return tune::to_string(d); }

// ---- storage helpers for the study commands ----

tune::StudySummary find_study(tune::Storage& storage, const std::string& name) {
  return tune::require_study(storage, name, "run nntune tune first");
}

std::optional<FrozenTrial> best_of(const std::vector<FrozenTrial>& trials, Direction d) {
  std::vector<FrozenTrial> complete = complete_trials_best_first(trials, d);
  if (complete.empty()) return std::nullopt;
  return std::move(complete.front());
}

std::string quote_arg(const std::string& s) { return json(s).dump(); }

// nntune trials --sort KEY: number, value (best first by the study's direction), state, seconds or
// a parameter (ascending, by its external value). Trials without the key go last; ties keep
// number order.
void sort_trials(std::vector<FrozenTrial>& trials, const std::string& key, const std::vector<std::string>& parameters,
                 Direction direction) {
  using Key = std::optional<json>;  // nullopt: the trial has no such value (sorted last)
  std::function<Key(const FrozenTrial&)> key_of;
  bool descending = false;
  if (key == "number") return;  // as stored
  if (key == "value") {
    key_of = [](const FrozenTrial& t) { return t.value && !std::isnan(*t.value) ? Key(json(*t.value)) : Key(); };
    descending = direction == Direction::Maximize;
  } else if (key == "state") {
    key_of = [](const FrozenTrial& t) { return Key(json(tune::to_string(t.state))); };
  } else if (key == "seconds") {
    key_of = [](const FrozenTrial& t) { return t.end_time > 0 ? Key(json(t.end_time - t.start_time)) : Key(); };
  } else if (std::find(parameters.begin(), parameters.end(), key) != parameters.end()) {
    key_of = [&key](const FrozenTrial& t) {
      const json params = t.external_params();
      return params.contains(key) ? Key(params.at(key)) : Key();
    };
  } else {
    std::string allowed = "number, value, state, seconds";
    for (const auto& p : parameters) allowed += ", " + p;
    throw Error("--sort " + key + ": no such column; sort by one of: " + allowed);
  }
  std::vector<std::pair<Key, size_t>> keyed;
  for (size_t i = 0; i < trials.size(); ++i) keyed.emplace_back(key_of(trials[i]), i);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    if (!x.first || !y.first) return x.first.has_value() && !y.first.has_value();
    // Numbers before text (a parameter whose branches differ in type), each in its own order.
    const json &p = *x.first, &q = *y.first;
    if (p.is_number() != q.is_number()) return p.is_number();
    return descending ? q < p : p < q;
  });
  std::vector<FrozenTrial> sorted;
  sorted.reserve(trials.size());
  for (const auto& [k, i] : keyed) sorted.push_back(std::move(trials[i]));
  trials = std::move(sorted);
}

using tune::unix_now;

}  // namespace

int cmd_tune(const TuneArgs& a) {
  // Command-line flags are overrides of the tune section (so they are validated the same way).
  std::vector<std::string> overrides = a.overrides;
  if (a.trials > 0) overrides.push_back("tune.trials=" + std::to_string(a.trials));
  if (!a.timeout.empty()) overrides.push_back("tune.timeout=" + quote_arg(a.timeout));
  if (a.jobs > 0) overrides.push_back("tune.jobs=" + std::to_string(a.jobs));
  if (!a.sampler.empty()) overrides.push_back("tune.sampler.name=" + quote_arg(a.sampler));
  if (!a.pruner.empty()) overrides.push_back("tune.pruner.name=" + quote_arg(a.pruner));
  if (!a.storage.empty()) overrides.push_back("tune.storage=" + quote_arg(a.storage));
  if (!a.study.empty()) overrides.push_back("tune.study=" + quote_arg(a.study));
  if (a.retries >= 0) overrides.push_back("tune.retries=" + std::to_string(a.retries));
  if (!a.grace.empty()) overrides.push_back("tune.grace=" + quote_arg(a.grace));
  if (!a.heartbeat.empty()) overrides.push_back("tune.heartbeat=" + quote_arg(a.heartbeat));
  tune::TuneSpec tune_spec = tune::load_tune_spec(a.spec, overrides);
  if (tune_spec.config.storage == "memory" && a.create_only)
    throw Error("--create-only with --storage memory: a study in memory ends with this process, so no worker could "
                "join it; give a storage the workers can reach: --storage sqlite:///FILE.db (one machine) or "
                "postgresql://USER@HOST/DB");
  if (tune::space_parameters(tune_spec.space, tune_spec.external()).empty())
    std::fprintf(stderr,
                 "nntune: warning: %s has no distribution, so every trial is the same%s; to tune a value, write a "
                 "distribution in its place, e.g. lr: {float: [0.0001, 0.1], log: true}, units: {int: [16, 256]}, "
                 "activation: {choice: [relu, tanh]} (see docs/tuning.md)\n",
                 a.spec.c_str(), tune_spec.external() ? " run of the command" : " training run");
  tune::SpecStudy spec_study = tune::open_spec_study(std::move(tune_spec), {a.spec, overrides});
  const tune::TuneConfig& config = spec_study.spec.config;
  tune::Study& study = spec_study.study;
  const tune::StudyBudget& budget = spec_study.budget;
  const std::string storage_url = study.storage().url();
  const int64_t before = trials_run(study.history().trials);
  if (!a.quiet) {
    std::string limits;
    if (budget.n_trials > 0) limits += std::to_string(budget.n_trials) + " trials";
    if (budget.deadline > 0) limits += (limits.empty() ? "" : ", ") + short_duration(budget.deadline - unix_now());
    if (spec_study.enqueued_grid) limits += (limits.empty() ? "" : ", ") + std::string("the grid");
    std::printf("study %s in %s: %s %s; %lld trials so far; budget %s; sampler %s, pruner %s, jobs %lld\n",
                config.study.c_str(), storage_url.c_str(), direction_word(config.objective.direction).c_str(),
                config.objective.metric.c_str(), static_cast<long long>(before), limits.empty() ? "none" : limits.c_str(),
                config.sampler.name.c_str(), config.pruner.name.c_str(), static_cast<long long>(config.jobs));
    if (spec_study.grid_points > 0)
      std::printf("grid: %lld points enqueued, each run once by whichever worker claims it\n",
                  static_cast<long long>(spec_study.grid_points));
    std::fflush(stdout);
  }
  if (a.create_only) {
    if (!a.quiet)
      std::printf("the study is ready: start workers on any host with\n  nntune worker --storage %s --study %s\n%s",
                  storage_url.c_str(), config.study.c_str(),
                  storage_url.find(":***@") != std::string::npos
                      ? "(the password is not printed: give it in the URL, PGPASSWORD or ~/.pgpass)\n"
                      : "");
    return 0;
  }

  TrialLoopOptions options;
  options.jobs = config.jobs;
  options.save_models = a.save_models;
  options.keep_best = a.keep_best;
  options.quiet = a.quiet;
  const TrialLoopResult result = run_trial_loop(spec_study, options);
  // Counted now, not when this process joined: other workers may have run trials meanwhile.
  const int64_t counted = tune::Study::counted_trials(study.history().trials);
  if (!a.quiet && result.finished_here == 0 && budget.n_trials > 0 && counted >= budget.n_trials &&
      !result.stop_requested && !result.interrupted)
    std::printf("the study already has %lld trials (budget %lld): raise --trials to run more\n",
                static_cast<long long>(counted), static_cast<long long>(budget.n_trials));
  std::fflush(stdout);
  return result.exit_code();
}

int cmd_studies(const StudyArgs& a) {
  refuse_memory_storage(a.storage, "studies");
  auto storage = tune::open_storage(a.storage, tune::StorageAccess::ReadOnly);
  const auto studies = storage->list_studies();
  if (a.format == "json") {
    json out = json::array();
    for (const auto& s : studies) {
      const auto trials = storage->get_all_trials(s.id);
      json counts = json::object();
      for (TrialState state : {TrialState::Complete, TrialState::Pruned, TrialState::Failed, TrialState::Running,
                               TrialState::Waiting})
        counts[tune::to_string(state)] = std::count_if(trials.begin(), trials.end(), [&](const FrozenTrial& t) { return t.state == state; });
      const auto best = best_of(trials, s.direction);
      out.push_back({{"name", s.name},
                     {"direction", direction_word(s.direction)},
                     {"trials", trials.size()},
                     {"states", counts},
                     {"best", best ? json({{"number", best->number}, {"value", *best->value}}) : json(nullptr)},
                     {"created", s.created}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (studies.empty()) {
    std::printf("no studies in %s\n", storage->url().c_str());
    return 0;
  }
  std::printf("%-24s %-9s %7s %9s %7s %7s %8s  %s\n", "study", "direction", "trials", "complete", "pruned", "failed",
              "running", "best");
  for (const auto& s : studies) {
    const auto trials = storage->get_all_trials(s.id);
    int64_t by_state[5] = {0, 0, 0, 0, 0};
    for (const auto& t : trials) ++by_state[static_cast<int>(t.state)];
    const auto best = best_of(trials, s.direction);
    std::printf("%-24s %-9s %7zu %9lld %7lld %7lld %8lld  %s\n", s.name.c_str(), direction_word(s.direction).c_str(),
                trials.size(), static_cast<long long>(by_state[static_cast<int>(TrialState::Complete)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Pruned)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Failed)]),
                static_cast<long long>(by_state[static_cast<int>(TrialState::Running)]),
                best ? (metric_text(*best->value) + " (trial " + std::to_string(best->number) + ")").c_str() : "-");
  }
  return 0;
}

int cmd_trials(const StudyArgs& a) {
  refuse_memory_storage(a.storage, "trials");
  auto storage = tune::open_storage(a.storage, tune::StorageAccess::ReadOnly);
  const auto summary = find_study(*storage, a.study);
  auto trials = storage->get_all_trials(summary.id);
  std::vector<std::string> names;  // every parameter, in first-seen order
  std::set<std::string> seen;
  for (const auto& t : trials)
    for (const auto& [name, v] : t.params)
      if (seen.insert(name).second) names.push_back(name);
  auto duration = [](const FrozenTrial& t) { return t.end_time > 0 ? t.end_time - t.start_time : 0.0; };
  sort_trials(trials, a.sort, names, summary.direction);
  if (a.top > 0 && static_cast<size_t>(a.top) < trials.size()) trials.resize(static_cast<size_t>(a.top));

  if (a.format == "json") {
    json out = json::array();
    for (const auto& t : trials) {
      json intermediate = json::object();
      for (const auto& [step, v] : t.intermediate) intermediate[std::to_string(step)] = v;
      out.push_back({{"number", t.number},
                     {"state", tune::to_string(t.state)},
                     {"value", t.value ? json(*t.value) : json(nullptr)},
                     {"params", t.external_params()},
                     {"intermediate", intermediate},
                     {"start", t.start_time},
                     {"end", t.end_time},
                     {"seconds", duration(t)},
                     {"error", t.error},
                     {"user_attrs", t.user_attrs},
                     {"retry_of", t.system_attrs.value("retry_of", json(nullptr))},
                     {"retried_as", t.system_attrs.value("retried_as", json(nullptr))},
                     {"worker", t.system_attrs.value("worker", json(nullptr))}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const bool csv = a.format == "csv";
  auto csv_field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::vector<std::vector<std::string>> rows;
  // A retried trial (its worker died) names the trial it retries; only studies with retries get the column.
  bool any_retry = false;
  for (const auto& t : trials) any_retry = any_retry || t.system_attrs.contains("retry_of");
  std::vector<std::string> header = {"number", "state", "value", "seconds"};
  if (any_retry) header.push_back("retry_of");
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("error");
  rows.push_back(header);
  for (const auto& t : trials) {
    const json params = t.external_params();
    // CSV is read by programs: numbers in the shortest text that reads back to the same double.
    auto number_text = [&](double v) { return csv ? tune::parameter_text(v) : short_number(v); };
    auto param_text = [&](const json& v) { return csv ? tune::parameter_text(v) : value_text(v); };
    std::vector<std::string> row = {std::to_string(t.number), tune::to_string(t.state),
                                    t.value ? number_text(*t.value) : "", t.end_time > 0 ? metric_text(duration(t)) : ""};
    if (any_retry) row.push_back(t.system_attrs.contains("retry_of") ? t.system_attrs["retry_of"].dump() : "");
    for (const auto& n : names) row.push_back(params.contains(n) ? param_text(params.at(n)) : "");
    std::string error = first_line(t.error);
    if (t.system_attrs.contains("retried_as")) error = "(retried as trial " + t.system_attrs["retried_as"].dump() + ") " + error;
    row.push_back(error);
    rows.push_back(row);
  }
  if (csv) {
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) std::printf("%s%s", i ? "," : "", csv_field(row[i]).c_str());
      std::printf("\n");
    }
    return 0;
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], std::min<size_t>(row[i].size(), 60));
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i].size() > 60 ? row[i].substr(0, 57) + "..." : row[i];
      if (i + 1 < row.size()) cell.resize(width[i], ' ');
      line += (i ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int cmd_best(const StudyArgs& a) {
  refuse_memory_storage(a.storage, "best");
  auto storage = tune::open_storage(a.storage, tune::StorageAccess::ReadOnly);
  const auto summary = find_study(*storage, a.study);
  const auto best = best_of(storage->get_all_trials(summary.id), summary.direction);
  if (!best) throw Error("study '" + a.study + "' has no complete trial yet");
  const bool as_json = a.format == "json";
  json out = {{"study", a.study}, {"number", best->number}, {"value", *best->value},
              {"params", best->external_params()}, {"spec", nullptr}};
  if (summary.system_attrs.contains("command")) {  // an external program: its parameters and command line
    if (as_json) {
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    const json params = best->external_params();
    std::printf("best trial %lld: value %s\n", static_cast<long long>(best->number), short_number(*best->value).c_str());
    for (const auto& [name, value] : params.items()) std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
    return 0;
  }
  if (!summary.system_attrs.contains("spec"))
    throw Error("study '" + a.study + "' was not created by nntune tune from a spec; its best parameters: " +
                best->external_params().dump());
  SpecTree space;
  space.source = summary.system_attrs.value("spec_file", a.study + ".yaml");
  space.root = summary.system_attrs.at("spec");
  SpecTree fixed = tune::materialize_params(space, best->external_params());
  std::vector<std::string> refit_changes;
  if (a.refit) {
    const std::string metric = summary.system_attrs.value("objective", json::object()).value("metric", "");
    fixed.root = tune::refit_spec(fixed.root, best->intermediate, metric, summary.direction == tune::Direction::Maximize,
                                  refit_changes);
  }
  tune::training_spec_of(fixed);  // it must be a valid training spec
  std::string header = "# best trial " + std::to_string(best->number) + " of study " + a.study + ": value " +
                       short_number(*best->value) + "\n";
  if (a.refit) {
    header += "# refit on all the training data:\n";
    for (const std::string& change : refit_changes) header += "#   " + change + "\n";
  }
  const std::string yaml = header + tune::spec_to_yaml(fixed.root);
  auto write_spec = [&] {
    std::ofstream file(a.spec_out, std::ios::binary);
    file << yaml;
    if (!file) throw Error("cannot write '" + a.spec_out + "' (does its directory exist?)");
  };
  if (as_json) {
    out["spec"] = fixed.root;
    if (a.refit) out["refit"] = refit_changes;
    if (!a.spec_out.empty()) {
      write_spec();
      out["spec_out"] = a.spec_out;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("best trial %lld: value %s\n", static_cast<long long>(best->number), short_number(*best->value).c_str());
  const json params = best->external_params();
  for (const auto& [name, value] : params.items()) std::printf("  %s: %s\n", name.c_str(), value_text(value).c_str());
  if (a.spec_out.empty()) {
    std::printf("spec:\n%s", yaml.c_str());
  } else {
    write_spec();
    std::printf("wrote the spec to %s (train it with: nntune train %s)\n", a.spec_out.c_str(), a.spec_out.c_str());
  }
  return 0;
}

int cmd_delete(const StudyArgs& a) {
  refuse_memory_storage(a.storage, "delete");
  auto storage = tune::open_storage(a.storage);
  const auto summary = find_study(*storage, a.study);
  const size_t n = storage->get_all_trials(summary.id).size();
  if (!a.yes) {
    if (!isatty(fileno(stdin)))
      throw Error("delete study '" + a.study + "' with " + std::to_string(n) + " trials: add --yes to confirm");
    std::printf("delete study '%s' with %zu trials from %s? [y/N] ", a.study.c_str(), n, storage->url().c_str());
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "yes") {
      std::printf("kept\n");
      return 1;
    }
  }
  storage->delete_study(summary.id);
  std::printf("deleted study '%s' (%zu trials)\n", a.study.c_str(), n);
  return 0;
}

int cmd_ensemble(const EnsembleArgs& a) {
  refuse_memory_storage(a.storage, "ensemble");
  auto storage = tune::open_storage(a.storage, tune::StorageAccess::ReadOnly);
  const tune::BuiltEnsemble built = tune::build_ensemble(*storage, a.study, {a.models, a.candidates, a.rounds, a.metric});
  std::printf("ensemble of study %s: %lld candidate models (the best complete trials with a saved model), %lld of "
              "%lld rounds kept, chosen by validation %s\n",
              a.study.c_str(), static_cast<long long>(built.candidates), static_cast<long long>(built.kept_rounds),
              static_cast<long long>(a.rounds), built.selected_by.c_str());
  for (const tune::EnsembleMember& member : built.members)
    std::printf("  trial %lld: weight %s (%s %s)\n", static_cast<long long>(member.trial),
                short_number(member.weight).c_str(), built.metric.c_str(), short_number(member.value).c_str());
  std::printf("validation (chosen on it, so optimistic): %s; best single trial %s %s\n",
              format_evaluation(built.validation, built.validation_size).c_str(), built.metric.c_str(),
              short_number(built.best_trial_value).c_str());
  if (built.test)
    std::printf("test: %s (best single trial's model: %s)\n", format_evaluation(*built.test, built.test_size).c_str(),
                format_evaluation(*built.best_single_test, built.test_size).c_str());
  save_model(built.model, a.output);
  std::printf("model: %s (nntune eval / predict take it like any model)\n", a.output.c_str());
  return 0;
}

TuneCommands::TuneCommands(CLI::App& app) {
  TuneArgs& t = tune_args_;
  tune_ = app.add_subcommand("tune", "tune the hyperparameters of a spec with distributions (see docs/tuning.md)");
  tune_->add_option("spec", t.spec, "the tuning spec (YAML with a tune: section)")->required();
  tune_->add_option("--trials,-n", t.trials, "total trials of the study, resuming counts earlier ones (default: the spec's tune.trials, else 20; a grid: "
                    "all its points)")
      ->check(positive());
  tune_->add_option("--timeout", t.timeout, "stop starting trials after this long: 600, 600s, 10m, 1h (default: the spec's tune.timeout, else none)");
  tune_->add_option("--jobs,-j", t.jobs, "trials in parallel (threads) (default: the spec's tune.jobs, else 1)")->check(CLI::Range(1, 256));
  tune_->add_option("--sampler", t.sampler, "random, grid, sobol, tpe, tpe-mv, gp or auto (default: the spec's tune.sampler, else auto)");
  tune_->add_option("--pruner", t.pruner, "none, median, percentile, asha, hyperband (default: the spec's tune.pruner, else none)");
  tune_->add_option("--storage", t.storage,
                    "sqlite:///FILE.db, postgresql://USER@HOST/DB or memory (default: $NNTUNE_STORAGE when set, else the "
                    "spec's tune.storage, else sqlite:///nntune.db)")
      ->envname(kStorageEnv);
  tune_->add_option("--study", t.study, "study name (default: the spec's tune.study, else the spec file's name)");
  tune_->add_option("--set", t.overrides, "override a spec value: path.to.key=value (tune.* too; repeatable; default: none)");
  CLI::Option* save = tune_->add_option("--save-models", t.save_models, "save each trial's model under DIR/trial_N (default: no models are kept)");
  tune_->add_option("--keep-best", t.keep_best,
                    "with --save-models: keep only the models of the best K complete trials, for nntune ensemble "
                    "(default 0: keep all)")
      ->check(positive())
      ->needs(save);
  tune_->add_option("--retries", t.retries, "run a trial whose worker died again, with the same parameters, up to N times (default: the spec's "
                    "tune.retries, else 1)")
      ->check(non_negative());
  tune_->add_option("--grace", t.grace, "a running trial without a heartbeat for this long is failed: 30s, 5m (default: the spec's tune.grace, "
                    "else 5m)");
  tune_->add_option("--heartbeat", t.heartbeat, "how often running trials send a heartbeat (default: the spec's tune.heartbeat, else 5s)");
  tune_->add_flag("--create-only", t.create_only, "create (or update) the study and its budget, run no trial: start nntune worker to run it");
  tune_->add_flag("--quiet,-q", t.quiet, "print nothing while tuning");

  auto storage_option = [](CLI::App* cmd, StudyArgs& s) {
    add_storage_option(cmd, s.storage, "the study storage");
  };
  studies_ = app.add_subcommand("studies", "list the studies of a storage with their trials and best values");
  storage_option(studies_, studies_args_);
  studies_->add_option("--format", studies_args_.format, "table or json (default table)")
      ->check(CLI::IsMember({"table", "json"}));
  trials_ = app.add_subcommand("trials", "list the trials of a study");
  add_study_argument(trials_, trials_args_.study, true);
  trials_->add_option("--format", trials_args_.format, "table, csv or json (default table)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  trials_->add_option("--sort", trials_args_.sort,
                      "order the trials by number, value (best first, by the study's direction), state, seconds or a "
                      "parameter's name (default number)");
  trials_->add_option("--top", trials_args_.top,
                      "show only the first N trials after sorting (default 0: all); with --sort value, the best N")
      ->check(non_negative());
  storage_option(trials_, trials_args_);
  best_ = app.add_subcommand("best", "the best trial of a study and its fixed spec (for nntune train)");
  add_study_argument(best_, best_args_.study, true);
  best_->add_option("--spec-out", best_args_.spec_out, "write the fixed training spec to this file (default: print it)");
  best_->add_flag("--refit", best_args_.refit,
                  "the spec retrains on all the training data: the validation split goes back into it, the epochs "
                  "become the best trial's (its restored best epoch), callbacks that watch validation data go");
  best_->add_option("--format", best_args_.format,
                    "table (the parameters and the fixed spec as YAML) or json (number, value, params, spec) "
                    "(default table)")
      ->check(CLI::IsMember({"table", "json"}));
  storage_option(best_, best_args_);
  delete_ = app.add_subcommand("delete", "delete a study and its trials");
  add_study_argument(delete_, delete_args_.study, true);
  delete_->add_flag("--yes,-y", delete_args_.yes, "do not ask for confirmation");
  storage_option(delete_, delete_args_);
  ensemble_ = app.add_subcommand(
      "ensemble", "combine the saved models of a study's best trials into one model (ensemble selection on the "
                  "validation data); needs nntune tune --save-models DIR");
  add_study_argument(ensemble_, ensemble_args_.study, true);
  ensemble_->add_option("--models", ensemble_args_.models, "the --save-models directory of nntune tune")->required();
  ensemble_->add_option("-o,--output", ensemble_args_.output, "the model file to write (default ensemble.nnt)");
  ensemble_->add_option("--candidates", ensemble_args_.candidates,
                        "consider the best K complete trials with a saved model (default 20)")
      ->check(positive());
  ensemble_->add_option("--metric", ensemble_args_.metric,
                        "what the selection optimises on the validation data: loss (the members' training loss, e.g. "
                        "cross-entropy, so the mix stays calibrated) or a metric of the task: accuracy, f1, rmse, ... (default loss)");
  ensemble_->add_option("--rounds", ensemble_args_.rounds, "greedy picks, with replacement, at most (default 20)")
      ->check(positive());
  add_storage_option(ensemble_, ensemble_args_.storage, "the study storage");
  ask_tell_.emplace(app);
  worker_.emplace(app);
}

std::optional<int> TuneCommands::run() {
  if (*tune_) return cmd_tune(tune_args_);
  if (*studies_) return cmd_studies(studies_args_);
  if (*trials_) return cmd_trials(trials_args_);
  if (*best_) return cmd_best(best_args_);
  if (*delete_) return cmd_delete(delete_args_);
  if (*ensemble_) return cmd_ensemble(ensemble_args_);
  if (const auto code = ask_tell_->run()) return code;
  return worker_->run();
}

}  // namespace nntune::cli
