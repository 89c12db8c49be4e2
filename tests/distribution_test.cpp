// Search-space distributions: every validation error with its message, the internal float
// representation and its round trips, and trial states.
#include <gtest/gtest.h>

#include "nntune/error.hpp"
#include "nntune/tune/distribution.hpp"
#include "nntune/tune/trial.hpp"
#include "test_util.hpp"

namespace nntune::tune {
namespace {

TEST(Distribution, ValidRangesPass) {
  EXPECT_NO_THROW(Distribution::float_range(0, 1).validate());
  EXPECT_NO_THROW(Distribution::float_range(1e-5, 1, true).validate());
  EXPECT_NO_THROW(Distribution::float_range(0, 1, false, 0.1).validate());  // 0.1 * 10 != 1.0 exactly
  EXPECT_NO_THROW(Distribution::float_range(0, 0.9, false, 0.3).validate());
  EXPECT_NO_THROW(Distribution::int_range(1, 1024, true).validate());
  EXPECT_NO_THROW(Distribution::int_range(2, 10, false, 2).validate());
  EXPECT_NO_THROW(Distribution::categorical({"a", 1, nullptr}).validate());
  EXPECT_NO_THROW(Distribution::float_range(3, 3).validate());
}

TEST(Distribution, EveryInvalidSpaceIsRejectedWithItsValues) {
  EXPECT_ERROR_CONTAINS(Distribution::float_range(5, 1).validate(), "low 5 > high 1");
  EXPECT_ERROR_CONTAINS(Distribution::int_range(5, 1).validate(), "low 5 > high 1");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(0, 1, true).validate(), "log scale needs low > 0, got 0");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(-2, 1, true).validate(), "log scale needs low > 0, got -2");
  EXPECT_ERROR_CONTAINS(Distribution::int_range(0, 10, true).validate(), "log scale needs low > 0, got 0");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(0, 1, false, 0.3).validate(), "step 0.3 does not divide the range [0, 1]");
  EXPECT_ERROR_CONTAINS(Distribution::int_range(0, 10, false, 3).validate(), "step 3 does not divide the range [0, 10]");
  EXPECT_ERROR_CONTAINS(Distribution::int_range(0, 10, false, 0).validate(), "int step must be an integer >= 1, got 0");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(0, 1, false, -0.5).validate(), "float step must be > 0", "-0.5");
  EXPECT_ERROR_CONTAINS(Distribution::int_range(1, 16, true, 2).validate(), "log scale cannot have a step", "2");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(1, 2, true, 0.5).validate(), "log scale cannot have a step");
  EXPECT_ERROR_CONTAINS(Distribution::categorical({}).validate(), "empty choice list");
  EXPECT_ERROR_CONTAINS(Distribution::categorical({"relu", "tanh", "relu"}).validate(), "duplicate choice \"relu\"");
  Distribution fractional = Distribution::int_range(0, 3);
  fractional.high = 2.5;
  EXPECT_ERROR_CONTAINS(fractional.validate(), "int range needs integer bounds", "2.5");
  EXPECT_ERROR_CONTAINS(Distribution::float_range(0, INFINITY).validate(), "finite bounds");
}

TEST(Distribution, InternalRepresentationRoundTrips) {
  const Distribution f = Distribution::float_range(-1, 1);
  EXPECT_EQ(f.to_internal(0.25), 0.25);
  EXPECT_EQ(f.to_external(0.25), nlohmann::json(0.25));
  const Distribution i = Distribution::int_range(2, 10, false, 2);
  EXPECT_EQ(i.to_internal(6), 6.0);
  EXPECT_EQ(i.to_external(6.0), nlohmann::json(6));
  EXPECT_TRUE(i.to_external(6.0).is_number_integer());
  const Distribution c = Distribution::categorical({"sgd", "adam", 3, 1.5});
  EXPECT_EQ(c.to_internal("adam"), 1.0);
  EXPECT_EQ(c.to_internal(3.0), 2.0);  // 3 and 3.0 are the same choice
  EXPECT_EQ(c.to_external(3.0), nlohmann::json(1.5));
  EXPECT_ERROR_CONTAINS(c.to_internal("rmsprop"), "\"rmsprop\" is not one of the choices", "\"sgd\", \"adam\", 3, 1.5");
  EXPECT_ERROR_CONTAINS(i.to_internal(5), "value 5 is outside the space", "[2, 10] with step 2");
  EXPECT_ERROR_CONTAINS(f.to_internal(2.0), "outside the space", "[-1, 1]");
  EXPECT_ERROR_CONTAINS(f.to_internal("x"), "not a number");
  EXPECT_ERROR_CONTAINS(c.to_external(4.0), "choice index 4 is out of range [0, 4)");
}

TEST(Distribution, ContainsSnapAndCardinality) {
  const Distribution s = Distribution::float_range(0, 1, false, 0.1);
  EXPECT_TRUE(s.contains(0.3));  // 0.1 * 3 within rounding
  EXPECT_FALSE(s.contains(0.35));
  EXPECT_FALSE(s.contains(1.1));
  EXPECT_NEAR(s.snap(0.34), 0.3, 1e-12);
  EXPECT_EQ(s.snap(0.99), 1.0);  // the last point is high itself
  EXPECT_EQ(s.snap(7.0), 1.0);
  EXPECT_EQ(s.cardinality(), 11);
  const Distribution i = Distribution::int_range(-3, 3);
  EXPECT_TRUE(i.contains(-3));
  EXPECT_FALSE(i.contains(0.5));
  EXPECT_EQ(i.snap(0.6), 1.0);
  EXPECT_EQ(i.cardinality(), 7);
  EXPECT_EQ(Distribution::int_range(2, 10, false, 2).cardinality(), 5);
  EXPECT_FALSE(Distribution::int_range(2, 10, false, 2).contains(3));
  const Distribution l = Distribution::float_range(1e-4, 1, true);
  EXPECT_EQ(l.cardinality(), 0);
  EXPECT_EQ(l.snap(5.0), 1.0);
  EXPECT_TRUE(l.contains(1e-4));
  const Distribution c = Distribution::categorical({"a", "b", "c"});
  EXPECT_EQ(c.cardinality(), 3);
  EXPECT_TRUE(c.contains(2));
  EXPECT_FALSE(c.contains(3));
  EXPECT_FALSE(c.contains(1.5));
  EXPECT_EQ(c.snap(1.6), 2.0);
  EXPECT_EQ(c.snap(-4), 0.0);
  EXPECT_FALSE(c.contains(NAN));
}

TEST(Distribution, Single) {
  EXPECT_TRUE(Distribution::float_range(2, 2).single());
  EXPECT_TRUE(Distribution::categorical({"only"}).single());
  EXPECT_TRUE(Distribution::int_range(4, 4).single());
  EXPECT_FALSE(Distribution::int_range(4, 5).single());
  EXPECT_FALSE(Distribution::float_range(0, 1).single());
}

TEST(Distribution, JsonRoundTrips) {
  for (const Distribution& d :
       {Distribution::float_range(-1, 2.5), Distribution::float_range(1e-5, 0.1, true), Distribution::float_range(0, 1, false, 0.25),
        Distribution::int_range(1, 512, true), Distribution::int_range(0, 12, false, 3),
        Distribution::categorical({"relu", 2, 0.5, nlohmann::json::object({{"type", "adam"}})})}) {
    const Distribution back = Distribution::from_json(d.to_json());
    EXPECT_EQ(back, d) << d.to_json().dump();
    EXPECT_EQ(Distribution::from_json(nlohmann::json::parse(d.to_json().dump())), d);
  }
  EXPECT_EQ(Distribution::int_range(0, 12, false, 3).to_json().dump(), R"({"high":12,"log":false,"low":0,"step":3,"type":"int"})");
  EXPECT_ERROR_CONTAINS(Distribution::from_json({{"type", "gaussian"}}), "unknown distribution type \"gaussian\"", "float, int, categorical");
  EXPECT_ERROR_CONTAINS(Distribution::from_json({{"type", "float"}, {"low", 0}}), "lacks \"high\"");
  EXPECT_ERROR_CONTAINS(Distribution::from_json({{"type", "float"}, {"low", 3}, {"high", 1}}), "low 3 > high 1");
  EXPECT_ERROR_CONTAINS(Distribution::from_json({{"type", "categorical"}}), "\"choices\" array");
  EXPECT_ERROR_CONTAINS(Distribution::from_json(nlohmann::json(3)), "needs a \"type\"");
}

TEST(Trial, StatesRoundTripThroughStrings) {
  for (TrialState s : {TrialState::Running, TrialState::Waiting, TrialState::Complete, TrialState::Pruned, TrialState::Failed})
    EXPECT_EQ(trial_state_from_string(to_string(s)), s);
  EXPECT_EQ(to_string(TrialState::Complete), "complete");
  EXPECT_EQ(trial_state_from_string("PRUNED"), TrialState::Pruned);
  EXPECT_ERROR_CONTAINS(trial_state_from_string("done"), "unknown trial state \"done\"", "running, waiting, complete, pruned, failed");
  EXPECT_TRUE(is_finished(TrialState::Failed));
  EXPECT_FALSE(is_finished(TrialState::Running));
}

TEST(Trial, ExternalParamsUseTheDistributions) {
  FrozenTrial t;
  t.distributions = {{"lr", Distribution::float_range(1e-4, 1, true)},
                     {"units", Distribution::int_range(16, 256)},
                     {"opt", Distribution::categorical({"sgd", "adam"})}};
  t.params = {{"lr", 0.01}, {"units", 64}, {"opt", 1}};
  EXPECT_EQ(t.external_params(), nlohmann::json::parse(R"({"lr": 0.01, "units": 64, "opt": "adam"})"));
  EXPECT_TRUE(t.external_params()["units"].is_number_integer());
  StudyHistory h;
  h.direction = Direction::Maximize;
  t.value = 0.9;
  EXPECT_EQ(h.loss_of(t), -0.9);
}

}  // namespace
}  // namespace nntune::tune
