#pragma once
// A seam for fault-injection tests of save_model (leveldb's fault_injection_test idea): when
// set, the hook runs at each named stage of a save and may throw to simulate a crash or a full
// disk there. Never set outside tests.
#include <functional>
#include <string>

namespace nntune::detail {

// Stages: "temp_created" (temporary file open, nothing written), "written" (all bytes written,
// not yet synced), "synced" (fsync done, before the rename).
extern std::function<void(const std::string& stage)> save_model_fault_hook;

}  // namespace nntune::detail
