// Fuzz target: --set expressions (one per input line) applied to a valid training spec and to a
// valid tuning spec.
#include <sstream>
#include <string>
#include <vector>

#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/tune_spec.hpp"

namespace {

const char* const kSpec =
    "seed: 3\n"
    "data:\n"
    "  train: {csv: {path: train.csv, label: y}}\n"
    "  validation: {split: 0.25}\n"
    "  scale: standard\n"
    "model:\n"
    "  layers:\n"
    "    - {type: dense, units: 8, activation: relu}\n"
    "    - {type: dropout, rate: 0.1}\n"
    "    - {type: dense, units: 3}\n"
    "train:\n"
    "  optimizer: {name: adam, lr: 0.01}\n"
    "  batch_size: 4\n"
    "  epochs: 2\n";

const char* const kTuneSpec =
    "data:\n"
    "  train: {csv: {path: train.csv}}\n"
    "model:\n"
    "  hidden: {choice: [[8], [16, 8]]}\n"
    "  dropout: {float: [0, 0.5]}\n"
    "train:\n"
    "  optimizer: {choice: [{name: sgd, momentum: {float: [0, 0.9]}}, {name: adam, lr: {float: [1e-4, 1e-1], log: true}}]}\n"
    "  epochs: {int: [1, 5]}\n"
    "tune:\n"
    "  trials: 4\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  std::vector<std::string> overrides;
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(lines, line) && overrides.size() < 8;) overrides.push_back(line);
  try {
    parse_spec(kSpec, "s.yaml", overrides, "/nonexistent");
  } catch (const Error&) {
  }
  try {
    tune::parse_tune_spec(kTuneSpec, "t.yaml", overrides, "/nonexistent");
  } catch (const Error&) {
  }
  return 0;
}
