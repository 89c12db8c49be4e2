// open_storage: the one place that turns a storage URL into an implementation.
#include <libpq-fe.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "nntune/error.hpp"
#include "storage/storage_internal.hpp"

namespace nntune::tune {
namespace detail {

namespace {
std::mutex notice_mutex;
std::function<void(const std::string&)> notice_sink = [](const std::string& message) {
  std::fprintf(stderr, "nntune: %s\n", message.c_str());
  std::fflush(stderr);
};
}  // namespace

void notice(const std::string& message) {
  std::lock_guard lock(notice_mutex);
  if (notice_sink) notice_sink(message);
}

FrozenTrial new_trial_from_template(const FrozenTrial* from) {
  FrozenTrial trial;
  const double now = unix_now();
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

namespace {

// What libpq's own parser reads from a URL or key=value string; parsed is false when it refuses it.
struct LibpqView {
  bool parsed = false;
  std::map<std::string, std::string> values;
  std::string value(const std::string& key) const {
    const auto found = values.find(key);
    return found == values.end() ? "" : found->second;
  }
};

LibpqView libpq_view(const std::string& text) {
  LibpqView view;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (error) PQfreemem(error);
  if (!options) return view;
  view.parsed = true;
  for (PQconninfoOption* o = options; o->keyword; ++o)
    if (o->val) view.values[o->keyword] = o->val;
  PQconninfoFree(options);
  return view;
}

// libpq ends a URL's user info at the first '@' before any '/': a password holding an unencoded
// '/', '?' or '@' is then read as host, port or database name. Such a reading (an '@' in the host
// or database, or no password and a port that is not a number) means the user info runs to the
// last '@' instead.
bool password_misread(const LibpqView& view) {
  if (!view.parsed) return true;
  if (view.value("host").find('@') != std::string::npos || view.value("dbname").find('@') != std::string::npos)
    return true;
  const std::string port = view.value("port");
  const bool numeric_port =
      port.find_first_not_of("0123456789,") == std::string::npos;  // several hosts: "5432,5433"
  return !view.values.count("password") && !numeric_port;
}

// The user-info password of a URL: [begin, end) in `url`, or nothing.
std::optional<std::pair<size_t, size_t>> url_password_span(const std::string& url, const LibpqView& view) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  const size_t authority_start = scheme_end + 3;
  size_t at = std::string::npos;
  if (password_misread(view)) {
    const size_t last = url.rfind('@');
    if (last != std::string::npos && last > authority_start) at = last;
  } else {
    const size_t end = url.find_first_of("@/", authority_start);
    if (end != std::string::npos && url[end] == '@') at = end;
  }
  if (at == std::string::npos) return std::nullopt;
  const size_t colon = url.find(':', authority_start);
  if (colon == std::string::npos || colon > at) return std::nullopt;
  return std::make_pair(colon + 1, at);
}

// password=VALUE among a URL's query parameters (from `from` on) or in a key=value string
// (VALUE possibly quoted), replaced by ***.
std::string redact_password_keyword(std::string text, size_t from, bool url_query) {
  for (size_t at = text.find("password", from); at != std::string::npos; at = text.find("password", at + 8)) {
    const bool starts_word = at == from || (url_query ? (text[at - 1] == '?' || text[at - 1] == '&')
                                                      : std::isspace(static_cast<unsigned char>(text[at - 1])) != 0);
    size_t eq = at + 8;
    if (!url_query)
      while (eq < text.size() && std::isspace(static_cast<unsigned char>(text[eq]))) ++eq;
    if (!starts_word || eq >= text.size() || text[eq] != '=') continue;
    size_t value = eq + 1;
    if (!url_query)
      while (value < text.size() && std::isspace(static_cast<unsigned char>(text[value]))) ++value;
    size_t end = value;
    if (url_query) {
      end = text.find('&', value);
      if (end == std::string::npos) end = text.size();
    } else if (value < text.size() && text[value] == '\'') {
      for (end = value + 1; end < text.size() && text[end] != '\''; ++end)
        if (text[end] == '\\') ++end;
      end = std::min(end + 1, text.size());
    } else {
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) end += text[end] == '\\' ? 2 : 1;
      end = std::min(end, text.size());
    }
    text.replace(value, end - value, "***");
  }
  return text;
}

}  // namespace

std::string redact_storage_url(const std::string& url) {
  const LibpqView view = libpq_view(url);
  if (url.find("://") == std::string::npos) {
    // A key=value connection string (or no connection string at all).
    return url.find("password") == std::string::npos ? url : redact_password_keyword(url, 0, false);
  }
  std::string out = url;
  size_t query_from = url.find("://") + 3;
  if (const auto span = url_password_span(url, view)) {
    out.replace(span->first, span->second - span->first, "***");
    query_from = span->first + 3;
  }
  const size_t query = out.find('?', query_from);
  if (query != std::string::npos) out = redact_password_keyword(out, query + 1, true);
  return out;
}

std::string storage_url_password(const std::string& url) {
  const LibpqView view = libpq_view(url);
  if (view.values.count("password")) return view.value("password");
  if (const auto span = url_password_span(url, view)) return url.substr(span->first, span->second - span->first);
  return "";
}

void set_storage_notice(std::function<void(const std::string&)> notice) {
  std::lock_guard lock(detail::notice_mutex);
  detail::notice_sink = std::move(notice);
}

StudySummary require_study(Storage& storage, const std::string& name, const std::string& when_empty,
                           const std::string& when_others) {
  const auto id = storage.find_study(name);
  if (!id) {
    std::string names;
    for (const auto& s : storage.list_studies()) names += (names.empty() ? "" : ", ") + s.name;
    throw Error("no study named '" + name + "' in " + storage.url() +
                (names.empty() ? " (it holds no study; " + when_empty + ")"
                               : " (studies there: " + names + (when_others.empty() ? "" : "; " + when_others) + ")"));
  }
  return storage.get_study(*id);
}

bool Storage::fail_trial(int64_t trial_id, FailureKind kind, const std::string& error, std::optional<double> value) {
  if (!finish_trial(trial_id, TrialState::Failed, value, error)) return false;
  set_trial_system_attr(trial_id, kFailureAttr, to_string(kind));
  return true;
}

std::shared_ptr<Storage> open_storage(const std::string& url, StorageAccess access) {
  if (url == "memory" || url == "memory://") return make_memory_storage();
  if (auto path = sqlite_path(url)) return make_sqlite_storage(*path, url, SchemaAction::RequireCurrent, nullptr, access);
  if (is_postgres_url(url)) return make_postgres_storage(url, SchemaAction::RequireCurrent, nullptr, access);
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
