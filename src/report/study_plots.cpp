#include "report/study_plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include "report/html.hpp"

namespace nntune::report {
namespace {

using tune::Direction;
using tune::FrozenTrial;
using tune::StudyHistory;
using tune::TrialState;

bool is_complete(const FrozenTrial& t) { return t.state == TrialState::Complete && t.value && std::isfinite(*t.value); }
using tune::is_better;

// Seconds of the first start among the trials (0 when none started).
double study_start(const StudyHistory& history) {
  double start = 0.0;
  for (const auto& t : history.trials)
    if (t.start_time > 0 && (start == 0.0 || t.start_time < start)) start = t.start_time;
  return start;
}

std::string short_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

StudyOverview study_overview(const StudyHistory& history) {
  StudyOverview o;
  o.first_start = study_start(history);
  for (const auto& t : history.trials) {
    switch (t.state) {
      case TrialState::Complete: ++o.complete; break;
      case TrialState::Pruned: ++o.pruned; break;
      case TrialState::Failed: ++o.failed; break;
      case TrialState::Running: ++o.running; break;
      case TrialState::Waiting: ++o.waiting; break;
    }
    if (tune::is_finished(t.state) && t.end_time > 0) {
      o.last_end = std::max(o.last_end, t.end_time);
      if (t.start_time > 0) o.trial_seconds += std::max(0.0, t.end_time - t.start_time);
    }
    if (is_complete(t) && (!o.best || is_better(history.direction, *t.value, *o.best->value))) o.best = t;
  }
  if (o.first_start > 0 && o.last_end > o.first_start) o.wall_seconds = o.last_end - o.first_start;
  return o;
}

OptimizationHistory optimization_history(const StudyHistory& history) {
  OptimizationHistory h;
  const double start = study_start(history);
  std::optional<size_t> best_index;
  for (const auto& t : history.trials) {
    if (!is_complete(t)) continue;
    HistoryPoint p;
    p.number = t.number;
    p.seconds = t.end_time > 0 && start > 0 ? std::max(0.0, t.end_time - start) : 0.0;
    p.value = *t.value;
    h.points.push_back(p);
    if (!best_index || is_better(history.direction, p.value, h.points[*best_index].value)) {
      best_index = h.points.size() - 1;
      h.best_by_number.push_back({static_cast<double>(p.number), p.value, p.number});
    }
  }
  if (best_index) h.points[*best_index].best = true;

  // By time: the order in which results became known (several jobs finish out of number order).
  std::vector<size_t> by_time(h.points.size());
  std::iota(by_time.begin(), by_time.end(), size_t{0});
  std::stable_sort(by_time.begin(), by_time.end(),
                   [&](size_t a, size_t b) { return h.points[a].seconds < h.points[b].seconds; });
  for (size_t i : by_time) {
    const HistoryPoint& p = h.points[i];
    if (h.best_by_time.empty() || is_better(history.direction, p.value, h.best_by_time.back().value))
      h.best_by_time.push_back({p.seconds, p.value, p.number});
  }
  return h;
}

std::vector<Curve> intermediate_curves(const StudyHistory& history) {
  std::vector<Curve> curves;
  for (const auto& t : history.trials) {
    if (t.intermediate.empty()) continue;
    Curve c;
    c.number = t.number;
    c.state = t.state;
    for (const auto& [step, value] : t.intermediate) {
      if (!std::isfinite(value)) continue;
      c.steps.push_back(step);
      c.values.push_back(value);
    }
    if (!c.steps.empty()) curves.push_back(std::move(c));
  }
  return curves;
}

std::vector<size_t> thin_indices(const std::vector<double>& scores, Direction direction, size_t max_keep,
                                 size_t best_count) {
  const size_t n = scores.size();
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  if (n <= max_keep) return all;
  if (max_keep == 0) return {};

  std::vector<char> keep(n, 0);
  size_t kept = 0;
  auto take = [&](size_t i) {
    if (kept < max_keep && !keep[i]) {
      keep[i] = 1;
      ++kept;
    }
  };
  // Finite scores sorted best first; NaNs (no score) last.
  std::vector<size_t> ranked = all;
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
    const bool fa = std::isfinite(scores[a]), fb = std::isfinite(scores[b]);
    if (fa != fb) return fa;
    return fa && is_better(direction, scores[a], scores[b]);
  });
  size_t finite = 0;
  while (finite < n && std::isfinite(scores[ranked[finite]])) ++finite;
  if (finite > 0) {
    take(ranked.front());       // the best: one extreme
    take(ranked[finite - 1]);   // the worst: the other extreme
  }
  for (size_t r = 0; r < std::min(best_count, finite); ++r) take(ranked[r]);
  // An evenly spaced sample of what is left, in index order (deterministic).
  std::vector<size_t> rest;
  for (size_t i = 0; i < n; ++i)
    if (!keep[i]) rest.push_back(i);
  const size_t room = max_keep - kept;
  for (size_t k = 0; k < room && !rest.empty(); ++k)
    take(rest[static_cast<size_t>((static_cast<double>(k) + 0.5) * static_cast<double>(rest.size()) / static_cast<double>(room))]);
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i)
    if (keep[i]) out.push_back(i);
  return out;
}

std::vector<size_t> thin_curves(const std::vector<Curve>& curves, const StudyHistory& history, size_t max_keep) {
  std::map<int64_t, const FrozenTrial*> by_number;
  for (const auto& t : history.trials) by_number[t.number] = &t;
  std::vector<double> scores;
  scores.reserve(curves.size());
  for (const auto& c : curves) {
    const auto it = by_number.find(c.number);
    if (it != by_number.end() && it->second->value && std::isfinite(*it->second->value)) {
      scores.push_back(*it->second->value);
      continue;
    }
    double best = c.values.front();
    for (double v : c.values)
      if (is_better(history.direction, v, best)) best = v;
    scores.push_back(best);
  }
  return thin_indices(scores, history.direction, max_keep, max_keep / 4);
}

// ---- axes ----

double ParameterAxis::position(double internal) const {
  if (categorical) return labels.size() <= 1 ? 0.5 : internal / static_cast<double>(labels.size() - 1);
  if (high <= low) return 0.5;
  if (log && low > 0 && internal > 0) return (std::log(internal) - std::log(low)) / (std::log(high) - std::log(low));
  return (internal - low) / (high - low);
}

double ParameterAxis::internal_at(double p) const {
  if (categorical) return labels.size() <= 1 ? 0.0 : p * static_cast<double>(labels.size() - 1);
  if (high <= low) return low;
  if (log && low > 0) return std::exp(std::log(low) + p * (std::log(high) - std::log(low)));
  return low + p * (high - low);
}

std::string ParameterAxis::text(double internal) const {
  if (categorical) {
    const auto i = static_cast<int64_t>(std::llround(internal));
    return i >= 0 && i < static_cast<int64_t>(labels.size()) ? labels[static_cast<size_t>(i)] : short_text(internal);
  }
  if (distribution.kind == tune::DistributionKind::Int) return std::to_string(std::llround(internal));
  return short_text(internal);
}

std::vector<ParameterAxis> parameter_axes(const StudyHistory& history) {
  std::map<std::string, ParameterAxis> axes;
  for (const auto& t : history.trials) {
    if (!is_complete(t)) continue;
    for (const auto& [name, internal] : t.params) {
      auto it = axes.find(name);
      if (it == axes.end()) {
        ParameterAxis a;
        a.name = name;
        const auto d = t.distributions.find(name);
        if (d != t.distributions.end()) a.distribution = d->second;
        a.categorical = a.distribution.kind == tune::DistributionKind::Categorical;
        a.log = a.distribution.log && a.distribution.low > 0;
        if (a.categorical) {
          for (const auto& choice : a.distribution.choices)
            a.labels.push_back(choice.is_string() ? choice.get<std::string>() : choice.dump());
          a.low = 0;
          a.high = static_cast<double>(std::max<size_t>(a.labels.size(), 1) - 1);
        } else {
          a.low = a.distribution.low;
          a.high = a.distribution.high;
          if (a.high <= a.low) a.low = a.high = internal;
        }
        it = axes.emplace(name, std::move(a)).first;
      }
      ParameterAxis& a = it->second;
      if (!a.categorical && std::isfinite(internal)) {
        a.low = std::min(a.low, internal);
        a.high = std::max(a.high, internal);
      }
    }
  }
  std::vector<ParameterAxis> out;
  for (auto& [name, a] : axes) out.push_back(std::move(a));
  return out;
}

// ---- parallel coordinates ----

ParallelCoordinates parallel_coordinates(const StudyHistory& history, size_t max_lines) {
  ParallelCoordinates pc;
  pc.axes = parameter_axes(history);
  std::vector<const FrozenTrial*> complete;
  for (const auto& t : history.trials)
    if (is_complete(t)) complete.push_back(&t);
  pc.total_lines = complete.size();
  if (complete.empty()) return pc;
  std::vector<double> values;
  for (const auto* t : complete) values.push_back(*t->value);
  pc.value_low = *std::min_element(values.begin(), values.end());
  pc.value_high = *std::max_element(values.begin(), values.end());
  for (size_t i : thin_indices(values, history.direction, max_lines, max_lines / 4)) {
    const FrozenTrial& t = *complete[i];
    ParallelLine line;
    line.number = t.number;
    line.value = *t.value;
    for (const auto& axis : pc.axes) {
      const auto p = t.params.find(axis.name);
      line.positions.push_back(p == t.params.end() ? std::nullopt : std::optional<double>(axis.position(p->second)));
    }
    pc.lines.push_back(std::move(line));
  }
  return pc;
}

// ---- slices ----

std::vector<Slice> slices(const StudyHistory& history, size_t max_points) {
  std::vector<Slice> out;
  for (auto& axis : parameter_axes(history)) {
    Slice s;
    std::vector<SlicePoint> all;
    std::vector<double> values;
    for (const auto& t : history.trials) {
      if (!is_complete(t)) continue;
      const auto p = t.params.find(axis.name);
      if (p == t.params.end()) continue;
      all.push_back({t.number, axis.position(p->second), *t.value});
      values.push_back(*t.value);
    }
    s.total_points = all.size();
    for (size_t i : thin_indices(values, history.direction, max_points, max_points / 10)) s.points.push_back(all[i]);
    s.axis = std::move(axis);
    out.push_back(std::move(s));
  }
  return out;
}

// ---- contour ----

std::optional<ContourGrid> contour_grid(const StudyHistory& history, const std::string& x_parameter,
                                        const std::string& y_parameter, int64_t resolution) {
  ContourGrid g;
  bool found_x = false, found_y = false;
  for (auto& axis : parameter_axes(history)) {
    if (axis.name == x_parameter) {
      g.x = axis;
      found_x = true;
    }
    if (axis.name == y_parameter) {
      g.y = axis;
      found_y = true;
    }
  }
  if (!found_x || !found_y || resolution < 2) return std::nullopt;
  for (const auto& t : history.trials) {
    if (!is_complete(t)) continue;
    const auto px = t.params.find(x_parameter), py = t.params.find(y_parameter);
    if (px == t.params.end() || py == t.params.end()) continue;
    g.points.push_back({t.number, g.x.position(px->second), g.y.position(py->second), *t.value});
  }
  if (g.points.size() < 2) return std::nullopt;
  // A diverged trial (1e30) would weigh on every cell, however far: the values it interpolates
  // are clamped to their robust range first (html::robust_range); the dots keep the true ones.
  std::vector<double> values;
  for (const auto& p : g.points) values.push_back(p.value);
  const html::RobustRange range = html::robust_range(values);
  g.outliers = range.below + range.above;
  g.resolution = resolution;
  g.z.assign(static_cast<size_t>(resolution * resolution), 0.0);
  const double step = 1.0 / static_cast<double>(resolution - 1);
  for (int64_t j = 0; j < resolution; ++j) {
    for (int64_t i = 0; i < resolution; ++i) {
      const double gx = static_cast<double>(i) * step, gy = static_cast<double>(j) * step;
      double weighted = 0.0, weights = 0.0;
      for (const auto& p : g.points) {
        // On a trial the weight dominates: z is its value (the mean of trials sharing the point).
        const double d2 = (gx - p.x) * (gx - p.x) + (gy - p.y) * (gy - p.y);
        const double w = 1.0 / std::max(d2, 1e-18);
        weighted += w * std::clamp(p.value, range.lo, range.hi);
        weights += w;
      }
      g.z[static_cast<size_t>(j * resolution + i)] = weighted / weights;
    }
  }
  g.z_low = *std::min_element(g.z.begin(), g.z.end());
  g.z_high = *std::max_element(g.z.begin(), g.z.end());
  return g;
}

}  // namespace nntune::report
