// Fuzz target: storage URLs: redaction for messages, and opening (only URLs that touch neither
// the file system nor the network: memory and unknown schemes, whose error is redacted too).
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/storage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  const std::string url(reinterpret_cast<const char*>(data), size);
  tune::redact_storage_url(url);
  const bool touches_outside = url.rfind("sqlite:", 0) == 0 || url.rfind("postgres", 0) == 0;
  if (!touches_outside) {
    try {
      tune::open_storage(url);
    } catch (const Error&) {
    }
  }
  return 0;
}
