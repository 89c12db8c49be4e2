#pragma once
// How a plain YAML scalar reads (YAML 1.2 core schema), shared by the spec parser and the spec
// writer (which must quote strings that would read back as something else). Hand-written rather
// than std::regex, whose recursive matcher overflows the stack on a long scalar (a
// 300,000-digit number crashed nntune).
#include <algorithm>
#include <string_view>

namespace nntune::spec {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [-+]?[0-9]+
inline bool is_int_text(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
inline bool is_float_text(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// True when a plain scalar with this text reads as null, a boolean, a number, inf or nan.
inline bool reads_as_non_string(std::string_view s) {
  static constexpr std::string_view kWords[] = {"~",     "null",  "Null",  "NULL",  "true",  "True",  "TRUE",
                                                "false", "False", "FALSE", ".inf",  ".Inf",  ".INF",  "+.inf",
                                                "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",
                                                ".NAN"};
  return s.empty() || std::find(std::begin(kWords), std::end(kWords), s) != std::end(kWords) || is_int_text(s) ||
         is_float_text(s);
}

}  // namespace nntune::spec
