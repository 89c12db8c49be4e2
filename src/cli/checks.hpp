#pragma once
// Checks of command-line numbers with messages that say what is wanted: CLI11's own
// PositiveNumber reads "Value 0 not in range 0.000000 to 179769313486231570...".
#include <CLI/CLI.hpp>
#include <string>

namespace nntune::cli {

// A number >= min (strictly > 0 where min is 0 and strict is set).
inline CLI::Validator at_least(double min, bool strict = false) {
  const std::string wanted = strict ? "greater than " + CLI::detail::to_string(min) : "at least " + CLI::detail::to_string(min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0.0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        if (strict ? !(value > min) : !(value >= min)) return "must be " + wanted + ", got " + text;
        return {};
      },
      strict ? "> " + CLI::detail::to_string(min) : ">= " + CLI::detail::to_string(min));
}

inline CLI::Validator positive() { return at_least(0.0, true); }
inline CLI::Validator non_negative() { return at_least(0.0); }

}  // namespace nntune::cli
