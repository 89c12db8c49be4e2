// Learning-rate schedules as pure functions of the optimiser step.
//
// Conventions (all positions are measured in optimiser steps, epochs = steps / steps_per_epoch):
// - warm-up: warmup_steps = max(1, round(warmup_epochs * steps_per_epoch)) when warmup_epochs > 0;
//   step s < warmup_steps gets base_lr * (s + 1) / warmup_steps, so the first step is not wasted
//   at lr 0 and the last warm-up step reaches base_lr. The schedule proper then starts at its
//   own step 0.
// - step: staircase per whole epoch, base_lr * factor^floor(epoch / every).
// - exponential: smooth per step, base_lr * rate^(step / decay_steps).
// - cosine: smooth per step, min_lr + (base_lr - min_lr) (1 + cos(pi t / T)) / 2 with T the period
//   (period 0: the rest of the run after warm-up); after T it stays at min_lr, or with restarts
//   (SGDR, Loshchilov & Hutter) begins again at base_lr with the next period T * period_mult.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/schedule.hpp"

namespace nntune {
namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

[[noreturn]] void invalid(const std::string& schedule, const std::string& field, double value,
                          const std::string& allowed) {
  throw Error("schedule '" + schedule + "': " + field + " = " + number(value) + " is invalid; " + field +
              " must be " + allowed);
}

int64_t warmup_steps(const ScheduleConfig& c, int64_t steps_per_epoch) {
  if (c.warmup_epochs <= 0.0) return 0;
  return std::max<int64_t>(1, std::llround(c.warmup_epochs * static_cast<double>(steps_per_epoch)));
}

double cosine(const ScheduleConfig& c, double base_lr, double step, double period_steps) {
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

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"constant", "step", "exponential", "cosine"};
  return names;
}

void validate_schedule(const ScheduleConfig& c) {
  const std::string& name = c.name;
  if (std::find(schedule_names().begin(), schedule_names().end(), name) == schedule_names().end()) {
    std::string allowed;
    for (const auto& n : schedule_names()) allowed += (allowed.empty() ? "" : ", ") + n;
    throw Error("unknown schedule '" + name + "'; allowed: " + allowed);
  }
  if (!(c.warmup_epochs >= 0.0) || !std::isfinite(c.warmup_epochs))
    invalid(name, "warmup_epochs", c.warmup_epochs, "a finite number >= 0 (0 turns warm-up off)");
  if (name == "step") {
    if (c.every < 1) invalid(name, "every", static_cast<double>(c.every), "an integer >= 1 (epochs)");
    if (!(c.factor > 0.0 && c.factor <= 1.0)) invalid(name, "factor", c.factor, "in (0, 1] (e.g. 0.5)");
  } else if (name == "exponential") {
    if (!(c.rate > 0.0 && c.rate <= 1.0)) invalid(name, "rate", c.rate, "in (0, 1] (e.g. 0.96)");
    if (c.decay_steps < 0)
      invalid(name, "decay_steps", static_cast<double>(c.decay_steps), "an integer >= 0 (0 means one epoch)");
  } else if (name == "cosine") {
    if (c.period < 0) invalid(name, "period", static_cast<double>(c.period), "an integer >= 0 (0 means the whole run)");
    if (!(c.period_mult >= 1.0) || !std::isfinite(c.period_mult))
      invalid(name, "period_mult", c.period_mult, "a finite number >= 1");
    if (!(c.min_lr >= 0.0) || !std::isfinite(c.min_lr)) invalid(name, "min_lr", c.min_lr, "a finite number >= 0");
  }
}

double scheduled_lr(const ScheduleConfig& c, double base_lr, int64_t step, int64_t steps_per_epoch,
                    int64_t total_epochs) {
  if (steps_per_epoch < 1) throw Error("scheduled_lr: steps_per_epoch must be >= 1, got " + std::to_string(steps_per_epoch));
  if (step < 0) throw Error("scheduled_lr: step must be >= 0, got " + std::to_string(step));
  const int64_t warmup = warmup_steps(c, steps_per_epoch);
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t s = step - warmup;  // step of the schedule proper
  const double spe = static_cast<double>(steps_per_epoch);

  if (c.name == "constant") return base_lr;
  if (c.name == "step") {
    const int64_t epoch = s / steps_per_epoch;
    return base_lr * std::pow(c.factor, static_cast<double>(epoch / std::max<int64_t>(1, c.every)));
  }
  if (c.name == "exponential") {
    const double decay_steps = c.decay_steps > 0 ? static_cast<double>(c.decay_steps) : spe;
    return base_lr * std::pow(c.rate, static_cast<double>(s) / decay_steps);
  }
  if (c.name == "cosine") {
    const double period_steps = c.period > 0 ? static_cast<double>(c.period) * spe
                                             : static_cast<double>(total_epochs * steps_per_epoch - warmup);
    return cosine(c, base_lr, static_cast<double>(s), period_steps);
  }
  validate_schedule(c);  // throws for the unknown name
  return base_lr;
}

}  // namespace nntune
