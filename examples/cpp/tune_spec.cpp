// Tuning a YAML spec from C++: what `nntune tune SPEC.yaml` does, as one library call.
//
//   tune_spec [SPEC.yaml] [N_TRIALS]
//   tune_spec examples/wine_tune.yaml 10       # the study lands in the spec's storage
//
// Overrides are the CLI's --set lines; the study keeps the spec, so `nntune best`, `nntune
// report` and `nntune worker` work on it afterwards.
#include <iostream>
#include <string>

#include "nntune/error.hpp"
#include "nntune/tune/spec_tuning.hpp"

int main(int argc, char** argv) {
  const std::string spec = argc > 1 ? argv[1] : "examples/wine_tune.yaml";
  const std::string trials = argc > 2 ? argv[2] : "10";
  try {
    nntune::tune::TuneSpecOptions options;
    options.overrides = {"tune.trials=" + trials, "tune.storage=\"memory\""};
    options.on_trial_end = [](const nntune::tune::Study&, const nntune::tune::FrozenTrial& t) {
      std::cout << "trial " << t.number << " " << nntune::tune::to_string(t.state)
                << (t.value ? " value " + std::to_string(*t.value) : std::string()) << "\n";
    };
    const auto result = nntune::tune::tune_spec(spec, options);
    if (!result.best) return 1;
    std::cout << "best: trial " << result.best->number << " value " << *result.best->value << " "
              << result.best->external_params().dump() << "\n";
  } catch (const nntune::Error& e) {
    std::cerr << "tune_spec: " << e.what() << "\n";
    return 1;
  }
}
