// The cosine schedule: smooth per step, min_lr + (base_lr - min_lr) (1 + cos(pi t / T)) / 2 with T
// the period (period 0: the rest of the run after warm-up); after T it stays at min_lr, or with
// restarts (SGDR, Loshchilov & Hutter 2017) begins again at base_lr with the next period
// T * period_mult.
#include <cmath>
#include <numbers>

#include "train/schedule_registry.hpp"

namespace {

double cosine(const nntune::ScheduleConfig& c, double base_lr, double step, double period_steps) {
  if (period_steps <= 0.0) return base_lr;  // nothing left to anneal over
  double t = step, period = period_steps;
  if (c.restarts) {
    // Walk through the cycles; the loop is short because periods never shrink (mult >= 1).
    // With mult 1 jump straight to the cycle instead of looping over a long run.
    if (c.period_mult == 1.0) {
      t = std::fmod(t, period);
    } else {
      while (t >= period) {
        t -= period;
        period *= c.period_mult;
      }
    }
  } else if (t >= period) {
    return c.min_lr;
  }
  return c.min_lr + (base_lr - c.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * t / period));
}

}  // namespace

NNTUNE_REGISTER_COMPONENTS(schedule_cosine) {
  using namespace nntune;
  using namespace nntune::schema;
  declare_schedule(
      {.name = "cosine", .help = "cosine annealing to min_lr, optionally with warm restarts (SGDR)", .order = 3},
      {[](const ScheduleConfig& c, double base_lr, int64_t s, int64_t steps_per_epoch, int64_t run_steps) {
         const double period_steps = c.period > 0 ? static_cast<double>(c.period) * static_cast<double>(steps_per_epoch)
                                                  : static_cast<double>(run_steps);
         return cosine(c, base_lr, static_cast<double>(s), period_steps);
       },
       {bind_option(&ScheduleConfig::period, opt("period", integer(0.0), nullptr, "epochs; 0 means the whole run")),
        bind_option(&ScheduleConfig::period_mult, opt("period_mult", real(1.0), nullptr, "each restart's period grows by it")),
        bind_option(&ScheduleConfig::restarts, opt("restarts", boolean(), nullptr, "begin again after each period")),
        bind_option(&ScheduleConfig::min_lr, opt("min_lr", real(0.0), nullptr, "the rate at the end of a period"))}});
}
