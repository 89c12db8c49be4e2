#pragma once
// Who and when, as stored with trials: the wall clock in unix seconds and this host's name
// (one definition for the study, the storages and the command line).
#include <string>

namespace nntune::tune {

double unix_now();        // seconds since 1970 (system clock)
std::string host_name();  // gethostname(), or "unknown"

}  // namespace nntune::tune
