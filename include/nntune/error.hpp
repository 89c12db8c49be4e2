#pragma once
// Errors a user can act on: what was wrong, where (file, line, field), what to do.
#include <stdexcept>
#include <string>

namespace nntune {

// What code decides on when it catches an Error (retry, give up, fail a trial as diverged);
// the message is for people and is never parsed.
enum class ErrorKind {
  Other,
  Diverged,             // training diverged (DivergenceError)
  StorageUnavailable,   // the storage could not be reached or stayed locked past its retries
  StorageInconsistent,  // the stored data contradicts itself (hand-edited, half restored): retrying cannot help
};

// Every failure nntune reports to a user is an nntune::Error; the message is complete
// (it already names the file/line/field and a hint), so front ends print it as is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::Other)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Training stopped because the loss became NaN or infinite.
class DivergenceError : public Error {
 public:
  explicit DivergenceError(const std::string& message) : Error(message, ErrorKind::Diverged) {}
};

}  // namespace nntune
