#include "nntune/tune/distribution.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nntune/error.hpp"

namespace nntune::tune {
namespace {

// Numbers in messages as a user wrote them: 0.3, 1e-05, 5 (not 0.300000).
std::string num(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

const char* kind_name(DistributionKind kind) {
  switch (kind) {
    case DistributionKind::Float: return "float";
    case DistributionKind::Int: return "int";
    case DistributionKind::Categorical: return "categorical";
  }
  return "?";
}

// How many steps fit in [low, high], tolerating float rounding (0.1 * 3 != 0.3).
double steps_in_range(double low, double high, double step) { return (high - low) / step; }
bool divides(double low, double high, double step) {
  const double r = steps_in_range(low, high, step);
  return std::abs(r - std::round(r)) <= 1e-9 * std::max(1.0, std::abs(r));
}

bool is_integral(double v) { return std::isfinite(v) && v == std::floor(v); }

// Categorical choices compare by JSON value, but 1 and 1.0 are the same number.
bool same_choice(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

}  // namespace

Distribution Distribution::float_range(double low, double high, bool log, double step) {
  Distribution d;
  d.kind = DistributionKind::Float;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  return d;
}

Distribution Distribution::int_range(int64_t low, int64_t high, bool log, int64_t step) {
  Distribution d;
  d.kind = DistributionKind::Int;
  d.low = static_cast<double>(low);
  d.high = static_cast<double>(high);
  d.log = log;
  d.step = static_cast<double>(step);
  return d;
}

Distribution Distribution::categorical(std::vector<nlohmann::json> choices) {
  Distribution d;
  d.kind = DistributionKind::Categorical;
  d.choices = std::move(choices);
  return d;
}

void Distribution::validate() const {
  if (kind == DistributionKind::Categorical) {
    if (choices.empty()) throw Error("empty choice list: a categorical needs at least one choice");
    for (size_t i = 0; i < choices.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (same_choice(choices[i], choices[j]))
          throw Error("duplicate choice " + choices[i].dump() + " (positions " + std::to_string(j) + " and " +
                      std::to_string(i) + "): each choice must appear once");
    return;
  }
  const std::string what = kind_name(kind);
  if (!std::isfinite(low) || !std::isfinite(high))
    throw Error(what + " range needs finite bounds, got [" + num(low) + ", " + num(high) + "]");
  if (low > high) throw Error("low " + num(low) + " > high " + num(high) + ": swap them");
  if (kind == DistributionKind::Int) {
    if (!is_integral(low) || !is_integral(high))
      throw Error("int range needs integer bounds, got [" + num(low) + ", " + num(high) + "]");
    if (!is_integral(step) || step < 1) throw Error("int step must be an integer >= 1, got " + num(step));
  } else if (step < 0 || !std::isfinite(step)) {
    throw Error("float step must be > 0 (or 0 for a continuous range), got " + num(step));
  }
  const bool stepped = kind == DistributionKind::Int ? step != 1 : step != 0;
  if (log) {
    if (low <= 0) throw Error("log scale needs low > 0, got " + num(low));
    if (stepped) throw Error("log scale cannot have a step (got step " + num(step) + "): use one or the other");
  }
  if (stepped && !divides(low, high, step))
    throw Error("step " + num(step) + " does not divide the range [" + num(low) + ", " + num(high) +
                "]: choose high = low + k * step");
}

double Distribution::to_internal(const nlohmann::json& external) const {
  if (kind == DistributionKind::Categorical) {
    for (size_t i = 0; i < choices.size(); ++i)
      if (same_choice(choices[i], external)) return static_cast<double>(i);
    std::string allowed;
    for (const auto& c : choices) allowed += (allowed.empty() ? "" : ", ") + c.dump();
    throw Error("value " + external.dump() + " is not one of the choices [" + allowed + "]");
  }
  if (!external.is_number())
    throw Error("value " + external.dump() + " is not a number (expected a " + std::string(kind_name(kind)) +
                " in [" + num(low) + ", " + num(high) + "])");
  const double value = external.get<double>();
  if (!contains(value)) {
    std::string detail = std::string(kind_name(kind)) + " in [" + num(low) + ", " + num(high) + "]";
    if ((kind == DistributionKind::Float && step != 0) || (kind == DistributionKind::Int && step != 1))
      detail += " with step " + num(step);
    throw Error("value " + external.dump() + " is outside the space: expected a " + detail);
  }
  return value;
}

nlohmann::json Distribution::to_external(double internal) const {
  switch (kind) {
    case DistributionKind::Categorical: {
      const auto index = static_cast<int64_t>(std::llround(internal));
      if (index < 0 || index >= static_cast<int64_t>(choices.size()))
        throw Error("choice index " + num(internal) + " is out of range [0, " + std::to_string(choices.size()) + ")");
      return choices[static_cast<size_t>(index)];
    }
    case DistributionKind::Int: return static_cast<int64_t>(std::llround(internal));
    case DistributionKind::Float: return internal;
  }
  return internal;
}

bool Distribution::contains(double internal) const {
  if (!std::isfinite(internal)) return false;
  switch (kind) {
    case DistributionKind::Categorical:
      return is_integral(internal) && internal >= 0 && internal < static_cast<double>(choices.size());
    case DistributionKind::Int:
      if (!is_integral(internal) || internal < low || internal > high) return false;
      return std::fmod(internal - low, step) == 0;
    case DistributionKind::Float:
      if (internal < low || internal > high) return false;
      if (step == 0) return true;
      const double r = (internal - low) / step;
      return std::abs(r - std::round(r)) <= 1e-8 * std::max(1.0, std::abs(r));
  }
  return false;
}

bool Distribution::single() const {
  if (kind == DistributionKind::Categorical) return choices.size() == 1;
  if (low == high) return true;
  return step != 0 && high - low < step;
}

double Distribution::snap(double internal) const {
  if (std::isnan(internal)) internal = low;
  switch (kind) {
    case DistributionKind::Categorical: {
      const double last = static_cast<double>(choices.size()) - 1;
      return std::clamp(std::round(internal), 0.0, std::max(0.0, last));
    }
    case DistributionKind::Int:
    case DistributionKind::Float: {
      const double clamped = std::clamp(internal, low, high);
      if (step == 0) return clamped;
      const double last_index = std::floor(steps_in_range(low, high, step) + 1e-9);
      const double index = std::clamp(std::round((clamped - low) / step), 0.0, last_index);
      // The last grid point is `high` itself (exact, despite rounding in low + k * step).
      return index == last_index && divides(low, high, step) ? high : std::min(high, low + index * step);
    }
  }
  return internal;
}

int64_t Distribution::cardinality() const {
  if (kind == DistributionKind::Categorical) return static_cast<int64_t>(choices.size());
  if (kind == DistributionKind::Float && step == 0) return low == high ? 1 : 0;
  return static_cast<int64_t>(std::floor(steps_in_range(low, high, step) + 1e-9)) + 1;
}

nlohmann::json Distribution::to_json() const {
  nlohmann::json j;
  j["type"] = kind_name(kind);
  if (kind == DistributionKind::Categorical) {
    j["choices"] = choices;
    return j;
  }
  if (kind == DistributionKind::Int) {
    j["low"] = static_cast<int64_t>(low);
    j["high"] = static_cast<int64_t>(high);
    j["step"] = static_cast<int64_t>(step);
  } else {
    j["low"] = low;
    j["high"] = high;
    j["step"] = step;
  }
  j["log"] = log;
  return j;
}

Distribution Distribution::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error("distribution JSON needs a \"type\" (float, int or categorical), got " + j.dump());
  const std::string type = j["type"].get<std::string>();
  auto number = [&](const char* field, double fallback, bool required) {
    if (!j.contains(field)) {
      if (required) throw Error(type + " distribution JSON lacks \"" + field + "\": " + j.dump());
      return fallback;
    }
    if (!j[field].is_number()) throw Error(type + " distribution field \"" + field + "\" is not a number: " + j.dump());
    return j[field].get<double>();
  };
  Distribution d;
  if (type == "categorical") {
    if (!j.contains("choices") || !j["choices"].is_array())
      throw Error("categorical distribution JSON needs a \"choices\" array: " + j.dump());
    d = categorical(j["choices"].get<std::vector<nlohmann::json>>());
  } else if (type == "float" || type == "int") {
    d.kind = type == "float" ? DistributionKind::Float : DistributionKind::Int;
    d.low = number("low", 0, true);
    d.high = number("high", 0, true);
    d.step = number("step", type == "float" ? 0.0 : 1.0, false);
    if (j.contains("log")) {
      if (!j["log"].is_boolean()) throw Error(type + " distribution field \"log\" is not true/false: " + j.dump());
      d.log = j["log"].get<bool>();
    }
  } else {
    throw Error("unknown distribution type \"" + type + "\" (allowed: float, int, categorical)");
  }
  d.validate();
  return d;
}

bool Distribution::operator==(const Distribution& other) const {
  if (kind != other.kind) return false;
  if (kind == DistributionKind::Categorical) return choices == other.choices;
  return low == other.low && high == other.high && log == other.log && step == other.step;
}

}  // namespace nntune::tune
