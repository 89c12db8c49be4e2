#pragma once
// Learning-rate schedules are pure functions of the step (ggml / dlib style): no hidden state,
// so a run can be resumed or replayed. Reduce-on-plateau depends on a monitored metric and is
// therefore a callback (see callbacks.hpp) that multiplies the scheduled rate.
#include <cstdint>
#include <string>
#include <vector>

namespace nntune {

struct ScheduleConfig {
  std::string name = "constant";  // constant, step, exponential, cosine
  // step: lr * factor^floor(epoch / every)
  int64_t every = 1;
  double factor = 0.5;
  // exponential: lr * rate^(step / decay_steps)  (decay_steps counts optimiser steps;
  //              0 means one epoch)
  double rate = 0.96;
  int64_t decay_steps = 0;
  // cosine: from lr down to min_lr over period epochs; with restarts, each period is
  //         period * period_mult^k epochs (SGDR). period 0 means the whole run.
  int64_t period = 0;
  double period_mult = 1.0;
  bool restarts = false;
  double min_lr = 0.0;
  // linear warm-up from 0 over warmup_epochs epochs in front of any of the above; the schedule
  // proper starts after the warm-up.
  double warmup_epochs = 0.0;
};

// Learning rate for optimiser step `step` (0-based, counted over the whole run).
// steps_per_epoch and total_epochs come from the training loop. Pure.
double scheduled_lr(const ScheduleConfig& config, double base_lr, int64_t step, int64_t steps_per_epoch,
                    int64_t total_epochs);
// Throws Error naming the unknown schedule or invalid value.
void validate_schedule(const ScheduleConfig& config);
const std::vector<std::string>& schedule_names();

}  // namespace nntune
