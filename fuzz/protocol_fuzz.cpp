// Fuzz target: the external objective's output protocol: bytes split into bounded lines (in
// chunks of the sizes a pipe may deliver), each line read as a report.
#include <string>
#include <string_view>

#include "tune/external_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune::tune::detail;
  if (size < 2) return 0;
  const size_t max_line = 1 + data[0];   // small bounds, so the fuzzer reaches truncation
  const size_t chunk = 1 + data[1] % 64;
  LineSplitter lines(max_line);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto on_line = [&](std::string line, size_t dropped) {
    if (line.size() > max_line) __builtin_trap();  // the bound holds
    (void)dropped;
    parse_protocol_line(line);
  };
  for (size_t at = 0; at < rest.size(); at += chunk) lines.feed(rest.substr(at, chunk), on_line);
  lines.finish(on_line);
  return 0;
}
