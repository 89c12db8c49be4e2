// The constant schedule: base_lr at every step (after any warm-up).
#include "train/schedule_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(schedule_constant) {
  nntune::declare_schedule({.name = "constant", .help = "the base learning rate at every step", .order = 0},
                           {[](const nntune::ScheduleConfig&, double base_lr, int64_t, int64_t, int64_t) { return base_lr; },
                            {}});
}
