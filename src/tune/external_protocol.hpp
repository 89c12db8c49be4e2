#pragma once
// The external objective's output, apart from the process that writes it: splitting a byte
// stream into bounded lines, and reading one protocol line. Private to src/tune (and the fuzz
// target, which feeds them arbitrary bytes).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace nntune::tune::detail {

// Splits bytes into lines as they arrive. Each byte is looked at once and a line keeps at most
// max_bytes: the rest of a longer line is dropped and only counted, so a runaway program costs
// neither memory nor (quadratic) time.
class LineSplitter {
 public:
  // line: without its '\n'; dropped: bytes of it past max_bytes.
  using OnLine = std::function<void(std::string line, std::size_t dropped)>;

  explicit LineSplitter(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  void feed(std::string_view chunk, const OnLine& on_line);
  // Hands on the last line when the stream ended without a newline.
  void finish(const OnLine& on_line);

 private:
  std::size_t max_bytes_;
  std::string partial_;
  std::size_t dropped_ = 0;
};

// One line of standard output, read as the protocol: not a report (no "nntune:" prefix), an
// intermediate value, the final value, or a malformed report.
struct ProtocolLine {
  enum class Kind { NotProtocol, Intermediate, Value, Malformed };
  Kind kind = Kind::NotProtocol;
  int64_t step = 0;
  double value = 0.0;
};
ProtocolLine parse_protocol_line(const std::string& line);

}  // namespace nntune::tune::detail
