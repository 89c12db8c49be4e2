// Fuzz target: the CSV reader. The first byte chooses the options (delimiter, header, task,
// label column, features only, gzip); the rest is the file. Every input is also read in table
// mode (text labels and columns, missing cells, an id column), and what loads is preprocessed.
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
  CsvOptions table = options;
  table.text_labels = table.auto_categorical = table.allow_missing = true;
  if (mode & 2) table.id = "1";
  if (mode & 8) table.drop = {"x"};
  try {
    const Dataset d = load_csv(table);
    Preprocessing p;
    p.impute = (mode & 1) ? "median" : "most_frequent";
    p.missing_indicator = (mode & 4) != 0;
    p.on_unknown = "zeros";
    p.fit(d.subset({0}));  // one row: the others may hold unseen categories
    p.transform(d);
  } catch (const Error&) {
  }
  return 0;
}
