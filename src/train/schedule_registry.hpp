#pragma once
// The schedule family: each learning-rate schedule declares itself in its own file under
// src/train/schedules/ (its name, help, the ScheduleConfig keys it reads with ranges and
// defaults) beside its formula. scheduled_lr(), validate_schedule(), schedule_names() and the
// spec's train.schedule schema and reading are derived from these declarations.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/options.hpp"
#include "core/registry.hpp"
#include "nntune/schedule.hpp"

namespace nntune {

struct ScheduleDeclaration {
  // The rate at step s of the schedule proper (after warm-up, which scheduled_lr applies);
  // run_steps: the optimiser steps of the whole run after warm-up.
  std::function<double(const ScheduleConfig& config, double base_lr, int64_t s, int64_t steps_per_epoch,
                       int64_t run_steps)>
      lr;
  std::vector<Option<ScheduleConfig>> options;  // the keys this schedule reads (warmup_epochs is everyone's)
};
Registry<ScheduleDeclaration>& schedule_registry();
void declare_schedule(ComponentInfo info, ScheduleDeclaration declaration);

// Reads a checked train.schedule value (a name or a mapping) into config.
void read_schedule_config(const nlohmann::json& spec_value, ScheduleConfig& config);

}  // namespace nntune
