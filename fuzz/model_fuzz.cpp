// Fuzz target: a model file (load_model), then a prediction when it loads.
#include "fuzz_util.hpp"
#include "nntune/error.hpp"
#include "nntune/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  const std::string path = fuzz::write_input("model.nnt", {reinterpret_cast<const char*>(data), size});
  try {
    Model model = load_model(path);
    Shape shape = model.input_shape();
    shape.insert(shape.begin(), 2);
    if (shape_size(shape) <= 4096) predict(model, Tensor(shape));
  } catch (const Error&) {
  }
  return 0;
}
