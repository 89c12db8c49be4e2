// Fuzz target: .npy arrays (load_npy), and x/y pairs (load_npy_dataset). Byte 0: bit 0 gzips,
// bit 1 regression, bit 2 a fixed class count; byte 1: where x ends and y begins.
#include "fuzz_util.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const bool compress = (data[0] & 1) != 0;
  const std::string whole = fuzz::write_input("whole.npy", rest, compress);
  try {
    load_npy(whole);
  } catch (const Error&) {
  }
  const size_t cut = rest.size() * data[1] / 255;
  const std::string x = fuzz::write_input("x.npy", rest.substr(0, cut), compress);
  const std::string y = fuzz::write_input("y.npy", rest.substr(cut), compress);
  try {
    load_npy_dataset(x, y, (data[0] & 2) ? Task::Regression : Task::Classification, (data[0] & 4) ? 5 : 0);
  } catch (const Error&) {
  }
  return 0;
}
