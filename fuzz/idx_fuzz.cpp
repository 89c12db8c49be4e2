// Fuzz target: IDX files, plain and gzip. Byte 0: bit 0 gzips the images, bit 1 the labels;
// byte 1: where the images end and the labels begin (in 1/255ths of the rest).
#include "fuzz_util.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cut = rest.size() * data[1] / 255;
  const std::string images = fuzz::write_input("images.idx", rest.substr(0, cut), (data[0] & 1) != 0);
  const std::string labels = fuzz::write_input("labels.idx", rest.substr(cut), (data[0] & 2) != 0);
  try {
    load_idx(images, labels, (data[0] & 4) ? 10 : 0);
  } catch (const Error&) {
  }
  try {
    load_idx_array(images);
  } catch (const Error&) {
  }
  return 0;
}
