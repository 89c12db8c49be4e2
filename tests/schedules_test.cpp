// Schedules on hand-computed values at chosen steps.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "nntune/schedule.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

ScheduleConfig named(const std::string& name) {
  ScheduleConfig c;
  c.name = name;
  return c;
}

TEST(ScheduleTest, ConstantNeverChanges) {
  const ScheduleConfig c = named("constant");
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.1, 0, 10, 5), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.1, 49, 10, 5), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.1, 1000, 10, 5), 0.1);  // beyond the run: still constant
}

TEST(ScheduleTest, StepHalvesEveryTwoEpochs) {
  ScheduleConfig c = named("step");
  c.every = 2;
  c.factor = 0.5;
  // 10 steps per epoch: steps 0..19 are epochs 0-1, 20..39 epochs 2-3, 40.. epochs 4-5.
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.8, 0, 10, 10), 0.8);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.8, 19, 10, 10), 0.8);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.8, 20, 10, 10), 0.4);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.8, 45, 10, 10), 0.2);
}

TEST(ScheduleTest, ExponentialIsSmoothPerStep) {
  ScheduleConfig c = named("exponential");
  c.rate = 0.5;
  // decay_steps 0: one epoch (4 steps) per factor of rate.
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1.0, 0, 4, 10), 1.0);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 4, 4, 10), 0.5, 1e-15);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 2, 4, 10), std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 12, 4, 10), 0.125, 1e-15);
  c.decay_steps = 10;
  EXPECT_NEAR(scheduled_lr(c, 2.0, 5, 4, 10), 2.0 * std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(scheduled_lr(c, 2.0, 30, 4, 10), 0.25, 1e-15);
}

TEST(ScheduleTest, CosineOverTheWholeRun) {
  ScheduleConfig c = named("cosine");  // period 0: the whole run = 10 epochs x 10 steps
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1.0, 0, 10, 10), 1.0);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 25, 10, 10), 0.5 * (1.0 + std::cos(std::numbers::pi / 4)), 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 25, 10, 10), 0.8535533905932737, 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 50, 10, 10), 0.5, 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 100, 10, 10), 0.0, 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 150, 10, 10), 0.0, 1e-12);  // stays at min_lr

  c.min_lr = 0.01;
  EXPECT_NEAR(scheduled_lr(c, 0.1, 50, 10, 10), 0.055, 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 0.1, 100, 10, 10), 0.01, 1e-12);
}

TEST(ScheduleTest, CosineWithWarmRestartsAndGrowingPeriods) {
  ScheduleConfig c = named("cosine");
  c.period = 2;  // epochs; 5 steps per epoch -> 10 steps
  c.period_mult = 2.0;
  c.restarts = true;
  // Cycles: steps 0..9 (10 steps), 10..29 (20), 30..69 (40).
  EXPECT_NEAR(scheduled_lr(c, 1.0, 9, 5, 100), 0.5 * (1.0 + std::cos(0.9 * std::numbers::pi)), 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 9, 5, 100), 0.024471741852423234, 1e-12);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1.0, 10, 5, 100), 1.0);  // restart
  EXPECT_NEAR(scheduled_lr(c, 1.0, 20, 5, 100), 0.5, 1e-12);  // middle of the 20-step cycle
  EXPECT_NEAR(scheduled_lr(c, 1.0, 29, 5, 100), 0.5 * (1.0 + std::cos(19.0 / 20.0 * std::numbers::pi)), 1e-12);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1.0, 30, 5, 100), 1.0);
  EXPECT_NEAR(scheduled_lr(c, 1.0, 50, 5, 100), 0.5, 1e-12);

  c.period_mult = 1.0;  // equal cycles of 10 steps
  EXPECT_NEAR(scheduled_lr(c, 1.0, 1005, 5, 1000), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1.0, 1000, 5, 1000), 1.0);

  c.restarts = false;  // without restarts the rate stays at min_lr after the first period
  EXPECT_NEAR(scheduled_lr(c, 1.0, 20, 5, 100), 0.0, 1e-12);
}

TEST(ScheduleTest, LinearWarmupThenSchedule) {
  ScheduleConfig c = named("cosine");
  c.warmup_epochs = 2.0;  // 5 steps per epoch: 10 warm-up steps
  // Warm-up: (s + 1) / 10 of the base rate.
  EXPECT_NEAR(scheduled_lr(c, 0.5, 0, 5, 10), 0.05, 1e-15);
  EXPECT_NEAR(scheduled_lr(c, 0.5, 4, 5, 10), 0.25, 1e-15);
  EXPECT_NEAR(scheduled_lr(c, 0.5, 9, 5, 10), 0.5, 1e-15);  // last warm-up step reaches the base
  // Boundary: the cosine starts at its step 0 (= base) and spans the remaining 40 steps.
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0.5, 10, 5, 10), 0.5);
  EXPECT_NEAR(scheduled_lr(c, 0.5, 30, 5, 10), 0.25, 1e-12);
  EXPECT_NEAR(scheduled_lr(c, 0.5, 50, 5, 10), 0.0, 1e-12);

  ScheduleConfig s = named("step");
  s.every = 1;
  s.factor = 0.1;
  s.warmup_epochs = 1.0;  // 4 steps
  EXPECT_NEAR(scheduled_lr(s, 1.0, 3, 4, 10), 1.0, 1e-15);
  EXPECT_NEAR(scheduled_lr(s, 1.0, 7, 4, 10), 1.0, 1e-15);   // first epoch of the schedule proper
  EXPECT_NEAR(scheduled_lr(s, 1.0, 8, 4, 10), 0.1, 1e-15);   // second
  // Fractional warm-up: 0.5 epochs of 3 steps round to 2 steps.
  ScheduleConfig f = named("constant");
  f.warmup_epochs = 0.5;
  EXPECT_NEAR(scheduled_lr(f, 1.0, 0, 3, 10), 0.5, 1e-15);
  EXPECT_NEAR(scheduled_lr(f, 1.0, 1, 3, 10), 1.0, 1e-15);
  // A tiny warm-up still takes one step rather than none.
  f.warmup_epochs = 0.01;
  EXPECT_NEAR(scheduled_lr(f, 1.0, 0, 3, 10), 1.0, 1e-15);
}

TEST(ScheduleTest, ValidationNamesFieldAndRange) {
  EXPECT_ERROR_CONTAINS(validate_schedule(named("cosin")), "unknown schedule 'cosin'", "constant", "cosine");
  for (const std::string& name : schedule_names()) EXPECT_NO_THROW(validate_schedule(named(name)));
  ScheduleConfig c = named("step");
  c.every = 0;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "every = 0", ">= 1");
  c = named("step");
  c.factor = 1.5;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "factor = 1.5", "(0, 1]");
  c = named("exponential");
  c.rate = 0.0;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "rate", "(0, 1]");
  c = named("exponential");
  c.decay_steps = -3;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "decay_steps", ">= 0");
  c = named("cosine");
  c.period_mult = 0.5;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "period_mult", ">= 1");
  c = named("cosine");
  c.period = -1;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "period", ">= 0");
  c = named("cosine");
  c.min_lr = -0.1;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "min_lr", ">= 0");
  c = named("constant");
  c.warmup_epochs = -1.0;
  EXPECT_ERROR_CONTAINS(validate_schedule(c), "warmup_epochs", ">= 0");
  EXPECT_ERROR_CONTAINS(scheduled_lr(named("constant"), 0.1, 0, 0, 10), "steps_per_epoch");
}

}  // namespace
}  // namespace nntune
