// Fuzz target: the time-series reader and what runs on its result (windows, splits, times past
// the end). The first byte chooses the options (delimiter, time column, missing values, gzip,
// window and horizon); the rest is the file.
#include "fuzz_util.hpp"
#include "nntune/error.hpp"
#include "nntune/series.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  SeriesOptions options;
  options.delimiter = (mode & 1) ? ';' : ',';
  options.time = (mode & 2) ? "t" : "";
  options.missing = (mode & 4) ? "interpolate" : "refuse";
  options.path = fuzz::write_input("series.csv", {reinterpret_cast<const char*>(data) + 1, size - 1}, (mode & 8) != 0);
  const int64_t window = 1 + ((mode >> 4) & 3), horizon = 1 + ((mode >> 6) & 1);
  try {
    const Series series = load_series(options);
    const SeriesSplit split = split_series(series.rows(), 0.2, 0.2);
    make_windows(series, window, horizon, 1 + (mode >> 7), 0, split.validation_begin);
    std::vector<int64_t> first;
    forecast_windows(series, window, horizon, 1, &first);
    for (int64_t ahead = 0; ahead < 3; ++ahead) series.time_at(series.rows() + ahead);
  } catch (const Error&) {
  }
  return 0;
}
