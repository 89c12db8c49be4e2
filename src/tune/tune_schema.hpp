#pragma once
// The schema of a tuning spec's `tune:` section (its sampler and pruner parts come from their
// declarations), for the reference and for validation.
#include "core/schema.hpp"

namespace nntune::tune {

const schema::Node& tune_schema();

}  // namespace nntune::tune
