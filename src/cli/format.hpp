#pragma once
// Number formatting shared by the command-line front end.
#include <cstdio>
#include <string>

namespace nntune::cli {

// A metric as printed per epoch and per trial: four decimals.
inline std::string metric_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// A parameter value or learning rate: up to `digits` significant digits, no trailing zeros.
inline std::string short_number(double v, int digits = 6) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace nntune::cli
