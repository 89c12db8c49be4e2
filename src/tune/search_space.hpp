#pragma once
// What the samplers know of a study's space, read from the stored history (private to src/tune).
#include "nntune/tune/distribution.hpp"
#include "nntune/tune/trial.hpp"

namespace nntune::tune::detail {

// The parameters every complete trial has, with the same distribution (Optuna's intersection
// search space), without single-valued ones: what a relative (joint) sampler can model.
SearchSpace intersection_search_space(const StudyHistory& history);

// Every parameter of any complete trial (the first distribution seen for each name).
SearchSpace union_search_space(const StudyHistory& history);

}  // namespace nntune::tune::detail
