// Per-feature input scaling x' = (x - offset) * factor, fitted on the training rows only and
// saved with the model so predictions see exactly the training-time transformation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

const std::vector<std::string>& scaler_kinds() {
  static const std::vector<std::string> kinds = {"none", "standard", "minmax", "divide"};
  return kinds;
}

void check_kind(const std::string& kind) {
  const auto& kinds = scaler_kinds();
  if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return;
  std::string allowed;
  for (size_t i = 0; i < kinds.size(); ++i) allowed += (i ? ", " : "") + kinds[i];
  throw Error("unknown scaler kind '" + kind + "'; allowed kinds: " + allowed);
}

void check_divide_by(float divide_by) {
  if (!std::isfinite(divide_by) || divide_by == 0.0f)
    throw Error("scaler divide_by must be a finite non-zero number (e.g. 255 for 8-bit images), got " +
                std::to_string(divide_by));
}

}  // namespace

void Scaler::fit(const Tensor& x) {
  check_kind(kind);
  offset.clear();
  factor.clear();
  if (kind == "none") return;
  if (kind == "divide") {
    check_divide_by(divide_by);
    return;
  }
  if (x.batch() == 0) throw Error("cannot fit the " + kind + " scaler on an empty data set");
  // Per feature of a sequence: every step of every sample is one row of its last axis's features;
  // the statistics are then repeated for each step (so apply() and the ONNX export are unchanged).
  const Shape sample = x.sample_shape();
  const int64_t width = x.features(), last = sample.empty() ? width : sample.back();
  const bool across_steps = per_feature && sample.size() >= 2 && last > 0;
  fit_rows(x.data(), across_steps ? x.batch() * (width / last) : x.batch(), across_steps ? last : width);
  if (across_steps) {
    const std::vector<float> o = offset, f = factor;
    offset.resize(static_cast<size_t>(width));
    factor.resize(static_cast<size_t>(width));
    for (int64_t j = 0; j < width; ++j) {
      offset[static_cast<size_t>(j)] = o[static_cast<size_t>(j % last)];
      factor[static_cast<size_t>(j)] = f[static_cast<size_t>(j % last)];
    }
  }
}

void Scaler::fit_rows(const float* data, int64_t n, int64_t f) {
  offset.assign(static_cast<size_t>(f), 0.0f);
  factor.assign(static_cast<size_t>(f), 1.0f);
  if (kind == "standard") {
    // Two passes in double: the mean, then the (population) variance around it.
    std::vector<double> mean(static_cast<size_t>(f), 0.0), var(static_cast<size_t>(f), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) mean[static_cast<size_t>(j)] += data[i * f + j];
    for (double& m : mean) m /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) {
        const double d = data[i * f + j] - mean[static_cast<size_t>(j)];
        var[static_cast<size_t>(j)] += d * d;
      }
    for (int64_t j = 0; j < f; ++j) {
      const size_t k = static_cast<size_t>(j);
      const double std_dev = std::sqrt(var[k] / static_cast<double>(n));
      offset[k] = static_cast<float>(mean[k]);
      // A constant feature stays at 0 after centring; dividing by 0 would make it NaN.
      factor[k] = std_dev > 0.0 ? static_cast<float>(1.0 / std_dev) : 1.0f;
    }
    return;
  }
  // minmax
  std::vector<float> lo(static_cast<size_t>(f), std::numeric_limits<float>::infinity());
  std::vector<float> hi(static_cast<size_t>(f), -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) {
      const float v = data[i * f + j];
      lo[static_cast<size_t>(j)] = std::min(lo[static_cast<size_t>(j)], v);
      hi[static_cast<size_t>(j)] = std::max(hi[static_cast<size_t>(j)], v);
    }
  for (size_t k = 0; k < lo.size(); ++k) {
    const double range = static_cast<double>(hi[k]) - lo[k];
    offset[k] = lo[k];
    factor[k] = range > 0.0 ? static_cast<float>(1.0 / range) : 1.0f;  // constant feature -> 0
  }
}

void Scaler::apply(Tensor& x) const {
  check_kind(kind);
  if (kind == "none") return;
  float* data = x.data();
  if (kind == "divide") {
    check_divide_by(divide_by);
    const int64_t count = x.size();
    for (int64_t i = 0; i < count; ++i) data[i] /= divide_by;
    return;
  }
  if (offset.empty())
    throw Error("the " + kind + " scaler is used before it was fitted: call fit() on the training data first");
  const int64_t f = x.features();
  if (static_cast<size_t>(f) != offset.size() || factor.size() != offset.size())
    throw Error("the " + kind + " scaler was fitted on " + std::to_string(offset.size()) +
                " features but the data has " + std::to_string(f) + " per sample; scale data shaped like the "
                "training data");
  const int64_t n = x.batch();
  for (int64_t i = 0; i < n; ++i) {
    float* row = data + i * f;
    for (int64_t j = 0; j < f; ++j) row[j] = (row[j] - offset[static_cast<size_t>(j)]) * factor[static_cast<size_t>(j)];
  }
}

nlohmann::json Scaler::to_json() const {
  nlohmann::json j = {{"kind", kind}};
  if (kind == "divide") j["divide_by"] = divide_by;
  if (per_feature) j["per_feature"] = true;
  if (!offset.empty() || !factor.empty()) {
    j["offset"] = offset;
    j["factor"] = factor;
  }
  return j;
}

Scaler Scaler::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("scaler settings must be an object like {\"kind\": \"standard\"}, got " + j.dump());
  Scaler scaler;
  try {
    scaler.kind = j.value("kind", std::string("none"));
    check_kind(scaler.kind);
    if (j.contains("divide_by")) scaler.divide_by = j.at("divide_by").get<float>();
    scaler.per_feature = j.value("per_feature", false);
    if (j.contains("offset")) scaler.offset = j.at("offset").get<std::vector<float>>();
    if (j.contains("factor")) scaler.factor = j.at("factor").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("scaler settings " + j.dump() + " are malformed: " + e.what());
  }
  if (scaler.offset.size() != scaler.factor.size())
    throw Error("scaler settings have " + std::to_string(scaler.offset.size()) + " offsets but " +
                std::to_string(scaler.factor.size()) + " factors; they must match");
  if (scaler.kind == "divide") check_divide_by(scaler.divide_by);
  return scaler;
}

}  // namespace nntune
