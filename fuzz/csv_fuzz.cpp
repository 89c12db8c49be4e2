// Fuzz target: the CSV reader. The first byte chooses the options (delimiter, header, task,
// label column, features only, gzip); the rest is the file.
#include "fuzz_util.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  CsvOptions options;
  static const char kDelimiters[] = {',', ';', '\t', ' '};
  options.delimiter = kDelimiters[mode & 3];
  options.header = (mode & 4) != 0;
  options.task = (mode & 8) ? Task::Regression : Task::Classification;
  options.features_only = (mode & 16) != 0;
  options.label = (mode & 32) ? "y" : (mode & 64) ? "0" : "";
  options.path = fuzz::write_input("data.csv", {reinterpret_cast<const char*>(data) + 1, size - 1}, (mode & 128) != 0);
  try {
    load_csv(options);
  } catch (const Error&) {
  }
  return 0;
}
