// The exponential schedule: smooth per step, base_lr * rate^(step / decay_steps).
#include <cmath>

#include "train/schedule_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(schedule_exponential) {
  using namespace nntune;
  using namespace nntune::schema;
  declare_schedule(
      {.name = "exponential", .help = "multiplies the rate by `rate` every decay_steps steps, smoothly", .order = 2},
      {[](const ScheduleConfig& c, double base_lr, int64_t s, int64_t steps_per_epoch, int64_t) {
         const double decay_steps =
             c.decay_steps > 0 ? static_cast<double>(c.decay_steps) : static_cast<double>(steps_per_epoch);
         return base_lr * std::pow(c.rate, static_cast<double>(s) / decay_steps);
       },
       {bind_option(&ScheduleConfig::rate, opt("rate", real(0.0, true, 1.0, false), nullptr, "e.g. 0.96")),
        bind_option(&ScheduleConfig::decay_steps,
                    opt("decay_steps", integer(0.0), nullptr, "optimiser steps; 0 means one epoch"))}});
}
