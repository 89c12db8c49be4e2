#pragma once
// Pieces shared by the storage implementations (private to src/).
#include <memory>
#include <string>

#include "nntune/tune/storage.hpp"

namespace nntune::tune {

std::shared_ptr<Storage> make_memory_storage();
// `path` is the file system path, `url` the URL it came from (for messages).
std::shared_ptr<Storage> make_sqlite_storage(const std::string& path, const std::string& url);

namespace detail {

double unix_seconds();
// The trial create_trial stores: a fresh Running one, or a copy of the template's state,
// params, values and attrs (id and number are assigned by the storage).
FrozenTrial new_trial_from_template(const FrozenTrial* from);
// finish_trial accepts only Complete, Pruned and Failed.
void check_finish_state(TrialState state);
std::string stale_message(double seconds_without_heartbeat);

}  // namespace detail
}  // namespace nntune::tune
