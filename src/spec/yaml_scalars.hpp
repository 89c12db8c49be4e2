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

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF). A spec is UTF-8 text; anything else cannot even be printed as JSON.
inline bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned code = 0;
    if ((c & 0xE0) == 0xC0) length = 2, code = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) length = 3, code = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) length = 4, code = c & 0x07;
    else return false;
    if (i + length > s.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = code << 6 | (next & 0x3F);
    }
    static constexpr unsigned kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

}  // namespace nntune::spec
