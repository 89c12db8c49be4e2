#pragma once
// Number formatting shared by the command-line front end.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "nntune/trainer.hpp"

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

// "[=======>            ]" for a fraction done in [0, 1] (clamped), `width` cells inside.
inline std::string text_bar(double fraction, int width = 20) {
  const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
  // Built in place: GCC 12 warns falsely (-Wrestrict) on the chained operator+ form.
  std::string bar;
  bar.reserve(static_cast<size_t>(width) + 2);
  bar += '[';
  bar.append(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.append(static_cast<size_t>(std::max(0, width - filled - 1)), ' ');
  bar += ']';
  return bar;
}

// The figures `train` prints for the test set and `eval` prints for any data, in one format
// (so they can be compared character for character). Accuracy also as the exact fraction.
inline std::string format_evaluation(const Metrics& metrics, int64_t samples) {
  std::string s;
  auto add = [&](const std::string& name) {
    auto it = metrics.find(name);
    if (it == metrics.end()) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", it->second);
    s += (s.empty() ? "" : "  ") + name + " " + buf;
    if (name == "accuracy")
      s += " (" + std::to_string(std::llround(it->second * static_cast<double>(samples))) + "/" + std::to_string(samples) + ")";
  };
  add("loss");
  for (const auto& [name, value] : metrics)
    if (name != "loss") add(name);
  return s;
}

}  // namespace nntune::cli
