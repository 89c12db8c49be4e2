// Learning-rate schedules as pure functions of the optimiser step; each schedule is a file of
// its own under src/train/schedules/ and declares itself in the schedule registry.
//
// Conventions (all positions are measured in optimiser steps, epochs = steps / steps_per_epoch):
// - warm-up: warmup_steps = max(1, round(warmup_epochs * steps_per_epoch)) when warmup_epochs > 0;
//   step s < warmup_steps gets base_lr * (s + 1) / warmup_steps, so the first step is not wasted
//   at lr 0 and the last warm-up step reaches base_lr. The schedule proper then starts at its
//   own step 0.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/schedule.hpp"
#include "train/schedule_registry.hpp"

namespace nntune {
namespace {

int64_t warmup_steps(const ScheduleConfig& c, int64_t steps_per_epoch) {
  if (c.warmup_epochs <= 0.0) return 0;
  return std::max<int64_t>(1, std::llround(c.warmup_epochs * static_cast<double>(steps_per_epoch)));
}

const Option<ScheduleConfig>& warmup_option() {
  static const Option<ScheduleConfig> option = bind_option(
      &ScheduleConfig::warmup_epochs,
      schema::opt("warmup_epochs", schema::real(0.0), nullptr, "linear warm-up from 0 over this many epochs first"));
  return option;
}

const Registry<ScheduleDeclaration>::Entry& find_schedule(const std::string& name) {
  const auto* entry = schedule_registry().find(name);
  if (!entry) throw Error("unknown schedule '" + name + "'; allowed: " + schema::join(schedule_names()));
  return *entry;
}

}  // namespace

Registry<ScheduleDeclaration>& schedule_registry() {
  static Registry<ScheduleDeclaration> registry("schedule");
  return registry;
}

void declare_schedule(ComponentInfo info, ScheduleDeclaration declaration) {
  info.keys = option_fields(declaration.options);
  schedule_registry().add(std::move(info), std::move(declaration));
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = schedule_registry().names();
  return names;
}

void read_schedule_config(const nlohmann::json& spec_value, ScheduleConfig& config) {
  const nlohmann::json m = spec_value.is_string() ? nlohmann::json{{"name", spec_value}} : spec_value;
  config.name = m.value("name", config.name);
  read_options({warmup_option()}, m, config);
  if (const auto* entry = schedule_registry().find(config.name)) read_options(entry->factory.options, m, config);
}

void validate_schedule(const ScheduleConfig& c) {
  const auto& entry = find_schedule(c.name);
  std::vector<Option<ScheduleConfig>> options = {warmup_option()};
  merge_options(options, entry.factory.options);
  if (const Option<ScheduleConfig>* bad = first_out_of_range(options, c)) {
    const schema::Node& node = *bad->field.node;
    const std::string& key = bad->field.key;
    throw Error("schedule '" + c.name + "': " + key + " = " + schema::number_text(bad->write(c).get<double>()) + " is invalid; " + key +
                " must be " + (node.kind == schema::Kind::Int ? "an integer " : "") + schema::bounds_text(node) +
                (bad->field.help.empty() ? "" : " (" + bad->field.help + ")"));
  }
}

double scheduled_lr(const ScheduleConfig& c, double base_lr, int64_t step, int64_t steps_per_epoch,
                    int64_t total_epochs) {
  if (steps_per_epoch < 1) throw Error("scheduled_lr: steps_per_epoch must be >= 1, got " + std::to_string(steps_per_epoch));
  if (step < 0) throw Error("scheduled_lr: step must be >= 0, got " + std::to_string(step));
  const int64_t warmup = warmup_steps(c, steps_per_epoch);
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  return find_schedule(c.name).factory.lr(c, base_lr, step - warmup, steps_per_epoch,
                                          total_epochs * steps_per_epoch - warmup);
}

}  // namespace nntune
