// The step schedule: a staircase per whole epoch, base_lr * factor^floor(epoch / every).
#include <algorithm>
#include <cmath>

#include "train/schedule_registry.hpp"

NNTUNE_REGISTER_COMPONENTS(schedule_step) {
  using namespace nntune;
  using namespace nntune::schema;
  declare_schedule(
      {.name = "step", .help = "multiplies the rate by factor every `every` epochs", .order = 1},
      {[](const ScheduleConfig& c, double base_lr, int64_t s, int64_t steps_per_epoch, int64_t) {
         const int64_t epoch = s / steps_per_epoch;
         return base_lr * std::pow(c.factor, static_cast<double>(epoch / std::max<int64_t>(1, c.every)));
       },
       {bind_option(&ScheduleConfig::every, opt("every", integer(1.0), nullptr, "epochs")),
        bind_option(&ScheduleConfig::factor, opt("factor", real(0.0, true, 1.0, false), nullptr, "e.g. 0.5"))}});
}
