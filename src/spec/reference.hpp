#pragma once
// The spec reference (docs/spec-reference.md, `nntune spec --reference`), generated from the
// schema itself: every key with its type, range, default and help, and every component (layer
// type, optimiser, schedule, loss, sampler, pruner) with its own keys, as each declares them.
#include <string>

namespace nntune {

std::string spec_reference_markdown();

}  // namespace nntune
