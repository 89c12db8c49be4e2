#pragma once
// Errors a user can act on: what was wrong, where (file, line, field), what to do.
#include <stdexcept>
#include <string>

namespace nntune {

// Every failure nntune reports to a user is an nntune::Error; the message is complete
// (it already names the file/line/field and a hint), so front ends print it as is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Training stopped because the loss became NaN or infinite.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

}  // namespace nntune
