// Fuzz target: a YAML spec through the whole checker: as a training spec, as a tuning spec, and
// (when it tunes) the training spec of its first and last points.
#include <string>

#include "nntune/error.hpp"
#include "nntune/spec.hpp"
#include "nntune/tune/tune_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nntune;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    parse_spec(text, "fuzz.yaml", {}, "/nonexistent");
  } catch (const Error&) {
  }
  try {
    const tune::TuneSpec ts = tune::parse_tune_spec(text, "fuzz.yaml", {}, "/nonexistent");
    for (const bool first : {true, false}) {
      const SpecTree fixed = tune::materialize(
          ts.space,
          [&](const std::string&, const tune::Distribution& d) -> nlohmann::json {
            if (d.kind == tune::DistributionKind::Categorical) return first ? d.choices.front() : d.choices.back();
            return d.to_external(first ? d.low : d.high);
          },
          ts.external());
      if (!ts.external()) tune::training_spec_of(fixed);
    }
  } catch (const Error&) {
  }
  return 0;
}
