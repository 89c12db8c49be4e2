// Fuzz target: a model file (load_model), then a prediction when it loads. The checksum is
// recomputed first, as an attacker would, so that mutations reach the header and the values
// instead of stopping at the checksum test.
#include <cstring>
#include <string>

#include "fuzz_util.hpp"
#include "nntune/error.hpp"
#include "nntune/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 20) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size() - 4)));
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  }
  const std::string path = fuzz::write_input("model.nnt", bytes);
  try {
    Model model = load_model(path);
    Shape shape = model.input_shape();
    shape.insert(shape.begin(), 2);
    if (shape_size(shape) <= 4096) predict(model, Tensor(shape));
  } catch (const Error&) {
  }
  return 0;
}
