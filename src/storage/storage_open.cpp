// open_storage: the one place that turns a storage URL into an implementation.
#include <chrono>
#include <cmath>
#include <optional>
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

std::string older_schema_message(const std::string& url, int found) {
  return "storage " + url + " has schema version " + std::to_string(found) + ", older than version " +
         std::to_string(kSchemaVersion) + " that this nntune uses: run `nntune storage upgrade --storage " + url +
         "` to migrate it (back it up first; an older nntune cannot read it afterwards)";
}

std::string newer_schema_message(const std::string& url, int found) {
  return "storage " + url + " has schema version " + std::to_string(found) + " but this nntune reads version " +
         std::to_string(kSchemaVersion) + ": a newer nntune wrote it; upgrade nntune to use it";
}

}  // namespace detail

namespace {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// sqlite:///relative.db -> "relative.db"; sqlite:////abs/path.db -> "/abs/path.db"; else nullopt.
std::optional<std::string> sqlite_path(const std::string& url) {
  const std::string sqlite_prefix = "sqlite:///";
  if (url.rfind(sqlite_prefix, 0) != 0) return std::nullopt;
  const std::string path = url.substr(sqlite_prefix.size());
  if (path.empty() || path.back() == '/')
    throw Error("storage URL \"" + url + "\" names no database file: write sqlite:///study.db (relative) or "
                "sqlite:////absolute/path/study.db");
  return path;
}

Error unknown_url(const std::string& url) {
  return Error("unknown storage URL \"" + redact_storage_url(url) +
               "\": accepted are memory, sqlite:///relative/path.db, sqlite:////absolute/path.db and "
               "postgresql://user@host:port/database");
}

}  // namespace

std::string redact_storage_url(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  std::string out = url;
  // user:password@ in the authority (which ends at the first '/' or '?')
  const size_t authority_start = scheme_end + 3;
  const size_t authority_end = std::min(out.find('/', authority_start), out.find('?', authority_start));
  const size_t at = out.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at != std::string::npos && at >= authority_start) {
    const size_t colon = out.find(':', authority_start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // password=... among the query parameters (libpq accepts it there too)
  const size_t query = out.find('?');
  if (query != std::string::npos) {
    size_t key = query + 1;
    while (key < out.size()) {
      size_t end = out.find('&', key);
      if (end == std::string::npos) end = out.size();
      if (out.compare(key, 9, "password=") == 0) {
        out.replace(key + 9, end - key - 9, "***");
        end = key + 12;
      }
      key = end + 1;
    }
  }
  return out;
}

std::shared_ptr<Storage> open_storage(const std::string& url) {
  if (url == "memory" || url == "memory://") return make_memory_storage();
  if (auto path = sqlite_path(url)) return make_sqlite_storage(*path, url);
  if (is_postgres_url(url)) return make_postgres_storage(url);
  throw unknown_url(url);
}

StorageUpgrade upgrade_storage(const std::string& url) {
  StorageUpgrade upgrade;
  upgrade.to_version = kSchemaVersion;
  if (url == "memory" || url == "memory://")
    throw Error("memory storage has no schema to upgrade: give an sqlite:/// or postgresql:// URL");
  if (auto path = sqlite_path(url))
    make_sqlite_storage(*path, url, SchemaAction::Upgrade, &upgrade.from_version);
  else if (is_postgres_url(url))
    make_postgres_storage(url, SchemaAction::Upgrade, &upgrade.from_version);
  else
    throw unknown_url(url);
  return upgrade;
}

}  // namespace nntune::tune
