// open_storage: the one place that turns a storage URL into an implementation. A PostgreSQL
// storage only adds a scheme here.
#include <chrono>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"
#include "storage/storage_internal.hpp"

namespace nntune::tune {
namespace detail {

double unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

FrozenTrial new_trial_from_template(const FrozenTrial* from) {
  FrozenTrial trial;
  const double now = unix_seconds();
  if (from) {
    trial = *from;
    if (trial.value && std::isnan(*trial.value)) trial.value.reset();
  }
  trial.id = -1;
  trial.number = -1;
  if (trial.state == TrialState::Running) {
    trial.start_time = now;
    trial.end_time = 0.0;
  } else if (trial.state == TrialState::Waiting) {
    trial.start_time = 0.0;
    trial.end_time = 0.0;
  } else {  // an imported finished trial keeps its times when it has them
    if (trial.start_time <= 0.0) trial.start_time = now;
    if (trial.end_time <= 0.0) trial.end_time = now;
  }
  if (!trial.user_attrs.is_object()) trial.user_attrs = nlohmann::json::object();
  if (!trial.system_attrs.is_object()) trial.system_attrs = nlohmann::json::object();
  return trial;
}

void check_finish_state(TrialState state) {
  if (!is_finished(state))
    throw Error("finish_trial: state must be complete, pruned or failed, got " + to_string(state));
}

std::string stale_message(double seconds_without_heartbeat) {
  std::ostringstream out;
  out.precision(3);
  out << "stale: no heartbeat for " << seconds_without_heartbeat
      << " s (its worker stopped or lost contact with the storage)";
  return out.str();
}

}  // namespace detail

std::shared_ptr<Storage> open_storage(const std::string& url) {
  if (url == "memory" || url == "memory://") return make_memory_storage();
  const std::string sqlite_prefix = "sqlite:///";
  if (url.rfind(sqlite_prefix, 0) == 0) {
    // sqlite:///relative.db -> "relative.db"; sqlite:////abs/path.db -> "/abs/path.db"
    const std::string path = url.substr(sqlite_prefix.size());
    if (path.empty() || path.back() == '/')
      throw Error("storage URL \"" + url + "\" names no database file: write sqlite:///study.db (relative) or "
                  "sqlite:////absolute/path/study.db");
    return make_sqlite_storage(path, url);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    throw Error("storage URL \"" + url + "\": PostgreSQL storage is not available in this build; use "
                "sqlite:///study.db or memory");
  throw Error("unknown storage URL \"" + url + "\": accepted are memory, sqlite:///relative/path.db and "
              "sqlite:////absolute/path.db");
}

}  // namespace nntune::tune
