#include "report/study_report.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "nntune/error.hpp"
#include "report/html.hpp"
#include "report/importance.hpp"
#include "report/study_plots.hpp"
#include "tune/pruner_registry.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::report {
namespace {

using html::Chart;
using html::coord;
using html::escape;
using html::number;
using html::Scale;
using html::Tick;
using nlohmann::json;
using tune::Direction;
using tune::FrozenTrial;
using tune::StudyHistory;
using tune::TrialState;

const char* const kPrunedColour = "#e6550d";
const char* const kCompleteColour = "#3b6fb6";
const char* const kBestColour = "#d62728";

// "tpe (seed 1, n_startup_trials 5)" from the stored {"name": "tpe", "seed": 1, ...}; only the
// keys in `keys` when it is given (the options the named component reads).
std::string describe_config(const json& config, const std::optional<std::vector<std::string>>& keys = std::nullopt) {
  if (config.is_string()) return config.get<std::string>();
  if (!config.is_object()) return config.is_null() ? "not recorded" : config.dump();
  std::string name = config.value("name", std::string("?")), rest;
  for (const auto& [key, value] : config.items()) {
    if (key == "name" || value.is_null() || (value.is_object() && value.empty())) continue;
    if (keys && std::find(keys->begin(), keys->end(), key) == keys->end()) continue;
    rest += (rest.empty() ? "" : ", ") + key + " " + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return rest.empty() ? name : name + " (" + rest + ")";
}

template <typename Registry>
std::optional<std::vector<std::string>> declared_keys(const Registry& registry, const json& stored,
                                                      std::vector<std::string> keys = {}) {
  if (!stored.is_object() || !stored.contains("name") || !stored["name"].is_string()) return std::nullopt;
  const auto* entry = registry.find(stored["name"].get<std::string>());
  if (!entry) return std::nullopt;
  for (const auto& field : entry->info.keys) keys.push_back(field.key);
  return keys;
}

std::string date_text(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string external_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return number(v.get<double>());
  return v.dump();
}

// Goodness of a value in [0, 1]: 1 for the best of [low, high] by the direction.
double goodness(double v, double low, double high, Direction d) {
  if (!(high > low)) return 1.0;
  const double t = (v - low) / (high - low);
  return d == Direction::Maximize ? t : 1.0 - t;
}

std::string circle(double x, double y, double r, const std::string& fill, int64_t trial, const std::string& extra = "") {
  return "<circle class=\"m\" cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"" + coord(r) + "\" fill=\"" + fill +
         "\" data-t=\"" + std::to_string(trial) + "\"" + extra + "/>";
}

// The objective's axis (or colour scale) over a robust range (html::robust_range), padded; values
// outside it are drawn on its edge, marked.
struct ValueAxis {
  html::RobustRange range;
  double lo = 0.0, hi = 1.0;  // padded
  // -1 below the range, +1 above, 0 inside.
  int side(double v) const { return v < range.lo ? -1 : v > range.hi ? 1 : 0; }
  double clamp(double v) const { return std::clamp(v, lo, hi); }
};
ValueAxis value_axis(const std::vector<double>& values) {
  ValueAxis a;
  a.range = html::robust_range(values);
  a.lo = a.range.lo;
  a.hi = a.range.hi;
  html::pad_range(a.lo, a.hi);
  return a;
}

// A trial outside the axis' range: a triangle on the edge (px, py) pointing the way it lies.
std::string edge_marker(double px, double py, int side, const std::string& colour, int64_t trial) {
  const double tip = side > 0 ? -8.0 : 8.0;
  return "<path class=\"m outlier\" d=\"M" + coord(px - 5) + " " + coord(py) + " L" + coord(px + 5) + " " + coord(py) +
         " L" + coord(px) + " " + coord(py + tip) + " Z\" fill=\"" + colour + "\" stroke=\"#222\" stroke-width=\"0.6\" data-t=\"" +
         std::to_string(trial) + "\"/>";
}

// "2 trials lie outside the range shown (1 above, 1 below): drawn on its edge as triangles."
std::string outlier_note(const html::RobustRange& r, const std::string& what = "trials") {
  if (!r.clipped()) return "";
  std::string where;
  if (r.above) where += std::to_string(r.above) + " above";
  if (r.below) where += std::string(where.empty() ? "" : ", ") + std::to_string(r.below) + " below";
  const size_t n = r.above + r.below;
  // "trials" -> "trial" and "curves" -> "curve" for one.
  const std::string noun = n == 1 ? what.substr(0, what.size() - 1) : what;
  return " " + std::to_string(n) + " " + noun + (n == 1 ? " lies" : " lie") + " far outside the others (" + where +
         "): the axis leaves " + (n == 1 ? "it" : "them") + " out so that the rest can be told apart, and draws " +
         (n == 1 ? "it" : "them") + " on its edge as " + (n == 1 ? "a triangle" : "triangles") + " (hover for the value).";
}

// A colour bar from the worst to the best value.
std::string value_legend(double low, double high, Direction d, const std::string& metric, double ramp_from = 0.0) {
  std::string s = "<div class=\"legend\">colour: " + escape(metric) + " " +
                  "<svg width=\"220\" height=\"14\" style=\"vertical-align:-3px\">";
  for (int i = 0; i < 22; ++i) {
    const double t = ramp_from + (1 - ramp_from) * i / 21.0;  // left: worst, right: best
    s += "<rect x=\"" + std::to_string(i * 10) + "\" y=\"0\" width=\"10\" height=\"14\" fill=\"" + html::ramp(t) + "\"/>";
  }
  const double worst = d == Direction::Maximize ? low : high, best = d == Direction::Maximize ? high : low;
  return s + "</svg> " + number(worst) + " (worst) &rarr; " + number(best) + " (best)</div>";
}

}  // namespace

std::vector<Tick> parameter_ticks(const ParameterAxis& axis, size_t max_labels, size_t max_chars) {
  std::vector<Tick> ticks;
  if (axis.categorical) {
    // Every choice keeps its tick; past max_labels only every k-th is named (the first and the
    // last always), so that neighbouring names never run into each other.
    const size_t n = axis.labels.size();
    const size_t every = std::max<size_t>(1, (n + std::max<size_t>(1, max_labels) - 1) / std::max<size_t>(1, max_labels));
    for (size_t i = 0; i < n; ++i) {
      const bool named = i % every == 0 || i + 1 == n;
      ticks.push_back({axis.position(static_cast<double>(i)), named ? html::shorten(axis.labels[i], max_chars) : ""});
    }
    if (every > 1 && n >= 2 && (n - 1) % every != 0 && (n - 1) % every < every / 2 + 1)
      ticks[n - 1 - (n - 1) % every].label.clear();  // the last named one would crowd the final label
    return ticks;
  }
  const Scale internal{axis.low, axis.high, axis.log, 0, 1};
  for (double v : internal.ticks(5))
    if (axis.distribution.kind != tune::DistributionKind::Int || std::abs(v - std::round(v)) < 1e-9)
      ticks.push_back({axis.position(v), html::shorten(axis.text(v), max_chars)});
  return ticks;
}

namespace {

std::string metric_name(const tune::StudySummary& study) {
  if (study.system_attrs.contains("objective") && study.system_attrs["objective"].is_object())
    return study.system_attrs["objective"].value("metric", std::string("value"));
  return "value";
}

// ---- sections ----

std::string summary_section(const tune::StudySummary& study, const StudyHistory& history, const StudyOverview& o,
                            const std::string& metric) {
  auto row = [](const std::string& key, const std::string& value) {
    return "<dt>" + escape(key) + "</dt><dd>" + escape(value) + "</dd>";
  };
  std::string s = "<dl class=\"kv\">";
  s += row("objective", std::string(study.direction == Direction::Maximize ? "maximize " : "minimize ") + metric);
  if (o.best) {
    s += row("best value", number(*o.best->value) + " (trial " + std::to_string(o.best->number) + ")");
    const json params = o.best->external_params();  // named: items() must not outlive it
    for (const auto& [name, value] : params.items()) s += row("  " + name, external_text(value));
  } else {
    s += row("best value", "none (no complete trial)");
  }
  s += row("trials", std::to_string(history.trials.size()) + ": " + std::to_string(o.complete) + " complete, " +
                         std::to_string(o.pruned) + " pruned, " + std::to_string(o.failed) + " failed" +
                         (o.running ? ", " + std::to_string(o.running) + " running" : "") +
                         (o.waiting ? ", " + std::to_string(o.waiting) + " waiting" : ""));
  s += row("time spent", html::duration(o.wall_seconds) + " wall clock, " + html::duration(o.trial_seconds) +
                             " of trial time (from " + date_text(o.first_start) + " to " + date_text(o.last_end) + ")");
  s += row("sampler", describe_sampler(study.system_attrs.contains("sampler") ? study.system_attrs["sampler"] : json()));
  s += row("pruner", describe_pruner(study.system_attrs.contains("pruner") ? study.system_attrs["pruner"] : json()));
  if (study.system_attrs.contains("spec_file") && study.system_attrs["spec_file"].is_string())
    s += row("spec", study.system_attrs["spec_file"].get<std::string>());
  if (study.system_attrs.contains("command") && study.system_attrs["command"].is_string())
    s += row("objective command", study.system_attrs["command"].get<std::string>());
  s += row("created", date_text(study.created));
  s += "</dl>";
  if (history.trials.empty())
    s += html::message("This study has no trials yet, so there is nothing to plot. Run nntune tune (or nntune ask/tell) "
                       "on it, then write the report again.");
  else if (!o.best) {
    std::string why = "No trial of this study completed (" + std::to_string(o.failed) + " failed, " +
                      std::to_string(o.pruned) + " pruned, " + std::to_string(o.running + o.waiting) +
                      " not finished), so there is no best value and the plots against the objective are left out.";
    for (const auto& t : history.trials)
      if (t.state == TrialState::Failed && !t.error.empty()) {
        why += " The first failure (trial " + std::to_string(t.number) + "): " + t.error.substr(0, t.error.find('\n'));
        break;
      }
    s += html::message(why);
  }
  return html::section("summary", "Summary", s);
}

std::string history_chart(const OptimizationHistory& h, bool by_time, const ValueAxis& v, const std::string& metric) {
  Chart chart(575, 330);
  double x_hi = 0;
  for (const auto& p : h.points) x_hi = std::max(x_hi, by_time ? p.seconds : static_cast<double>(p.number));
  double x_lo = 0;
  html::pad_range(x_lo, x_hi);
  const Scale x = chart.x_scale(x_lo, x_hi), y = chart.y_scale(v.lo, v.hi);
  std::vector<Tick> x_ticks;
  if (by_time)
    for (double t : html::time_ticks(x_lo, x_hi, 5))
      x_ticks.push_back({t, html::duration_label(t)});
  else
    x_ticks = html::ticks_of(x);
  chart.axes(x, y, x_ticks, html::ticks_of(y), by_time ? "time since the study started" : "trial number", metric);
  std::string& b = chart.body();
  const auto& steps = by_time ? h.best_by_time : h.best_by_number;
  std::string path;
  for (size_t i = 0; i < steps.size(); ++i) {
    path += (i ? " H" + coord(x(steps[i].x)) + " V" : "M" + coord(x(steps[i].x)) + " ") + coord(y(v.clamp(steps[i].value)));
  }
  path += " H" + coord(x(x_hi));
  b += "<path class=\"best-line\" d=\"" + path + "\"/>";
  const HistoryPoint* best = nullptr;
  for (const auto& p : h.points) {
    if (p.best) best = &p;
    const double px = x(by_time ? p.seconds : static_cast<double>(p.number));
    if (const int side = v.side(p.value))
      b += edge_marker(px, y(side > 0 ? v.hi : v.lo), side, kCompleteColour, p.number);
    else
      b += circle(px, y(p.value), 3, kCompleteColour, p.number, " fill-opacity=\"0.6\"");
  }
  if (best)
    b += circle(x(by_time ? best->seconds : static_cast<double>(best->number)), y(v.clamp(best->value)), 6, "none",
                best->number, " stroke=\"" + std::string(kBestColour) + "\" stroke-width=\"2.5\"");
  return chart.render(by_time ? "history by time" : "history by trial", true);
}

std::string history_section(const StudyHistory& history, const std::string& metric) {
  const OptimizationHistory h = optimization_history(history);
  if (h.points.empty())
    return html::section("history", "Optimisation history", html::message("No complete trial: no value to plot yet."));
  std::string s = "<p class=\"note\">Every complete trial's " + escape(metric) +
                  " (blue) and the best so far (red steps), against the trial number and against the time its result "
                  "arrived; the best trial is circled. Wheel to zoom, drag to pan, double-click to reset; hover a "
                  "point for the trial's parameters.</p><div class=\"row\">";
  std::vector<double> values;
  for (const auto& p : h.points) values.push_back(p.value);
  const ValueAxis v = value_axis(values);
  if (v.range.clipped()) s.insert(s.size() - std::string("</p><div class=\"row\">").size(), outlier_note(v.range));
  s += history_chart(h, false, v, metric) + history_chart(h, true, v, metric) + "</div>";
  return html::section("history", "Optimisation history", s);
}

std::string curves_section(const StudyHistory& history, const std::string& metric, size_t max_curves) {
  const std::vector<Curve> curves = intermediate_curves(history);
  if (curves.empty())
    return html::section("curves", "Intermediate values",
                         html::message("No trial reported intermediate values (learning curves appear when the "
                                       "objective reports a value per epoch or step)."));
  const std::vector<size_t> drawn = thin_curves(curves, history, max_curves);
  double x_lo = 1e300, x_hi = -1e300;
  std::vector<double> all_values;
  for (size_t i : drawn)
    for (size_t k = 0; k < curves[i].steps.size(); ++k) {
      x_lo = std::min(x_lo, static_cast<double>(curves[i].steps[k]));
      x_hi = std::max(x_hi, static_cast<double>(curves[i].steps[k]));
      all_values.push_back(curves[i].values[k]);
    }
  html::pad_range(x_lo, x_hi);
  // A diverged trial's loss of 1e30 would flatten every other curve: robust range, and the
  // curve runs along the edge where it leaves it (a triangle where it first does).
  const ValueAxis v = value_axis(all_values);
  Chart chart(1000, 420);
  const Scale x = chart.x_scale(x_lo, x_hi), y = chart.y_scale(v.lo, v.hi);
  html::RobustRange clipped_curves;
  std::vector<Tick> step_ticks;
  for (const auto& t : html::ticks_of(x))
    if (std::abs(t.at - std::round(t.at)) < 1e-9) step_ticks.push_back(t);  // whole steps only
  chart.axes(x, y, step_ticks, html::ticks_of(y), "step (epoch)", metric);
  const StudyOverview overview = study_overview(history);
  const int64_t best_number = overview.best ? overview.best->number : -1;
  std::string& b = chart.body();
  std::string best_curve, marks;
  size_t pruned_drawn = 0;
  for (size_t i : drawn) {
    const Curve& c = curves[i];
    std::string points;
    int first_side = 0;
    size_t first_out = 0;
    for (size_t k = 0; k < c.steps.size(); ++k)
      {
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on the chained form.
        if (k) points += ' ';
        points += coord(x(static_cast<double>(c.steps[k])));
        points += ',';
        points += coord(y(v.clamp(c.values[k])));
        if (const int side = v.side(c.values[k]); side && !first_side) {
          first_side = side;
          first_out = k;
        }
      }
    const bool best = c.number == best_number;
    const std::string colour = best ? kBestColour : c.pruned() ? kPrunedColour : kCompleteColour;
    if (first_side) {
      (first_side > 0 ? clipped_curves.above : clipped_curves.below) += 1;
      marks += edge_marker(x(static_cast<double>(c.steps[first_out])), y(first_side > 0 ? v.hi : v.lo), first_side,
                           colour, c.number);
    }
    const std::string line = "<polyline class=\"curve m" + std::string(best ? " best" : "") + "\" stroke=\"" + colour +
                             "\" points=\"" + points + "\" data-t=\"" + std::to_string(c.number) + "\"/>";
    (best ? best_curve : b) += line;
    if (c.steps.size() == 1) marks += circle(x(static_cast<double>(c.steps[0])), y(v.clamp(c.values[0])), 2.5, colour, c.number);
    if (c.pruned()) {  // an x where the pruner cut the curve
      ++pruned_drawn;
      const double px = x(static_cast<double>(c.steps.back())), py = y(v.clamp(c.values.back()));
      marks += "<path class=\"m\" stroke=\"" + std::string(kPrunedColour) + "\" stroke-width=\"1.6\" d=\"M" +
               coord(px - 3.5) + " " + coord(py - 3.5) + "l7 7m0 -7l-7 7\" data-t=\"" + std::to_string(c.number) + "\"/>";
    }
  }
  b += marks + best_curve;
  size_t pruned_total = 0;
  for (const auto& c : curves) pruned_total += c.pruned();
  std::string s = "<p class=\"note\">Each trial's reported " + escape(metric) +
                  " per step: <span style=\"color:" + kCompleteColour + "\">complete</span>, <span style=\"color:" +
                  kPrunedColour + "\">pruned (cut where the &times; is)</span>, <span style=\"color:" + kBestColour +
                  "\">the best trial</span>. " +
                  (drawn.size() < curves.size()
                       ? "Showing " + std::to_string(drawn.size()) + " of " + std::to_string(curves.size()) +
                             " curves: the best quarter, the worst, and an even sample of the rest. "
                       : std::string()) +
                  std::to_string(pruned_total) + " trials were pruned" +
                  (drawn.size() < curves.size() ? " (" + std::to_string(pruned_drawn) + " drawn)" : "") + "." +
                  outlier_note(clipped_curves, "curves") + "</p>";
  return html::section("curves", "Intermediate values", s + chart.render("intermediate values", true));
}

std::string parallel_section(const StudyHistory& history, const std::string& metric, size_t max_lines) {
  const ParallelCoordinates pc = parallel_coordinates(history, max_lines);
  if (pc.lines.empty())
    return html::section("parallel", "Parallel coordinates", html::message("No complete trial: nothing to draw."));
  if (pc.axes.empty())
    return html::section("parallel", "Parallel coordinates", html::message("The trials have no parameters."));
  const StudyOverview overview = study_overview(history);
  const int64_t best_number = overview.best ? overview.best->number : -1;
  // The axes spread over the card's width (about 1180 px at a 1280 px window), at least 64 px
  // apart: past about 16 axes the chart scrolls sideways inside its card instead of overflowing it.
  const int n_axes = static_cast<int>(pc.axes.size()) + 1, left = 70, right = 150;
  const int spacing = std::clamp((1180 - left - right) / std::max(1, n_axes - 1), 64, 150);
  // Names slant upwards at 40 degrees: neighbours 64 px apart stay 41 px apart across the slant.
  Chart chart(left + spacing * (n_axes - 1) + right, 560, left, right, 130, 40);
  const double top = chart.area_top(), bottom = chart.area_bottom();
  auto axis_x = [&](size_t k) { return chart.area_left() + static_cast<double>(k) * spacing; };
  auto pos_y = [&](double p) { return bottom - p * (bottom - top); };
  std::vector<double> values;
  for (const auto& line : pc.lines) values.push_back(line.value);
  const ValueAxis v = value_axis(values);
  const Scale value_scale{v.lo, v.hi, false, bottom, top};
  // Tick labels sit left of their axis: as many characters as the gap holds; a categorical axis
  // names at most one choice per 14 px of its height.
  const size_t label_chars = static_cast<size_t>(std::max(4, (spacing - 12) / 6));
  const size_t max_labels = static_cast<size_t>(std::max(2.0, (bottom - top) / 14));
  std::string& b = chart.body();
  // Axes: the objective first, then each parameter with its ticks.
  auto draw_axis = [&](size_t k, const std::string& name, const std::vector<std::pair<double, std::string>>& ticks) {
    const std::string ax = coord(axis_x(k));
    b += "<line x1=\"" + ax + "\" x2=\"" + ax + "\" y1=\"" + coord(top) + "\" y2=\"" + coord(bottom) +
         "\" stroke=\"#666\"/><text class=\"title\" transform=\"translate(" + ax + " " + coord(top - 10) +
         ") rotate(-40)\"><title>" + escape(name) + "</title>" + escape(html::shorten(name, 26)) + "</text>";
    for (const auto& [py, label] : ticks)
      if (!label.empty())
        b += "<text class=\"tick\" x=\"" + coord(axis_x(k) - 4) + "\" y=\"" + coord(py + 4) + "\" text-anchor=\"end\">" +
             escape(label) + "</text>";
  };
  std::string lines, best_line, outliers;
  for (const auto& line : pc.lines) {
    std::string d = "M" + coord(axis_x(0)) + " " + coord(value_scale(v.clamp(line.value)));
    bool connected = true;
    for (size_t k = 0; k < line.positions.size(); ++k) {
      if (!line.positions[k]) {
        connected = false;
        continue;
      }
      d += (connected ? " L" : " M") + coord(axis_x(k + 1)) + " " + coord(pos_y(*line.positions[k]));
      connected = true;
    }
    const bool best = line.number == best_number;
    const std::string colour =
        best ? std::string(kBestColour)
             // from 0.15: the palest yellow is invisible on white
             : html::ramp(0.15 + 0.85 * goodness(v.clamp(line.value), v.range.lo, v.range.hi, history.direction));
    const std::string el = "<path class=\"pc m" + std::string(best ? " best" : "") + "\" stroke=\"" + colour +
                           "\" d=\"" + d + "\" data-t=\"" + std::to_string(line.number) + "\"/>";
    (best ? best_line : lines) += el;
    if (const int side = v.side(line.value))
      outliers += edge_marker(axis_x(0), value_scale(side > 0 ? v.hi : v.lo), side, colour, line.number);
  }
  b += lines + best_line + outliers;
  std::vector<std::pair<double, std::string>> value_ticks;
  for (double t : value_scale.ticks(6)) value_ticks.push_back({value_scale(t), number(t)});
  draw_axis(0, metric, value_ticks);
  for (size_t k = 0; k < pc.axes.size(); ++k) {
    std::vector<std::pair<double, std::string>> ticks;
    for (const Tick& t : parameter_ticks(pc.axes[k], max_labels, label_chars)) ticks.push_back({pos_y(t.at), t.label});
    draw_axis(k + 1, pc.axes[k].name + (pc.axes[k].log ? " (log)" : ""), ticks);
  }
  std::string s = "<p class=\"note\">One line per complete trial through its " + escape(metric) +
                  " and parameter values, coloured by the value (the best trial in red). A line breaks where the "
                  "trial lacks a parameter (conditional parameters). Categorical axes list their choices." +
                  (pc.lines.size() < pc.total_lines
                       ? " Showing " + std::to_string(pc.lines.size()) + " of " + std::to_string(pc.total_lines) +
                             " trials: the best quarter, the worst and an even sample."
                       : std::string()) +
                  outlier_note(v.range) + (n_axes > 16 ? " Scroll sideways for the other axes." : "") + "</p>" +
                  value_legend(v.range.lo, v.range.hi, history.direction, metric, 0.15);
  return html::section("parallel", "Parallel coordinates", s + "<div style=\"overflow-x:auto\">" +
                                                              chart.render("parallel coordinates") + "</div>");
}

std::string importance_section(const ImportanceResult& result, const StudyOverview& o, std::string* error) {
  std::string s =
      "<p class=\"note\">Method: <b>" + escape(result.method) +
      "</b>. A random forest of regression trees is fitted to predict the objective from the parameters of the complete "
      "trials. For every tree, fANOVA (functional ANOVA, Hutter, Hoos and Leyton-Brown 2014) splits the variance of the "
      "tree's prediction over the whole search space into the parts explained by each parameter alone: the variance of "
      "the prediction averaged over all other parameters, as one parameter varies, divided by the total variance. The "
      "shares are averaged over the trees and scaled to sum to 1; the whisker is their spread across the trees. A high "
      "share means changing that parameter alone moves the objective most; interactions between parameters are not "
      "credited to either.</p>";
  if (error && !error->empty()) return html::section("importance", "Parameter importance", s + html::message(*error));
  if (result.parameters.empty()) {
    std::string why = o.complete < 2 ? "Importance needs at least two complete trials (this study has " +
                                           std::to_string(o.complete) + ")."
                                     : "Every complete trial has the same value (or no parameter is shared by all "
                                       "trials), so no parameter explains any variance.";
    return html::section("importance", "Parameter importance", s + html::message(why));
  }
  const int bar_height = 24;
  Chart chart(760, 50 + bar_height * static_cast<int>(result.parameters.size()), 230, 40, 10, 40);
  const Scale x = chart.x_scale(0, 1);
  std::vector<Tick> xt;
  for (double v : {0.0, 0.25, 0.5, 0.75, 1.0}) xt.push_back({v, number(v)});
  // No y ticks: the names are drawn beside the bars.
  const Scale y = chart.y_scale(0, 1);
  chart.axes(x, y, xt, {}, "share of the objective's variance", "");
  std::string& b = chart.body();
  for (size_t i = 0; i < result.parameters.size(); ++i) {
    const ParameterImportance& p = result.parameters[i];
    const double top = chart.area_top() + 6 + static_cast<double>(i) * bar_height;
    b += "<text x=\"" + coord(chart.area_left() - 6) + "\" y=\"" + coord(top + 14) + "\" text-anchor=\"end\">" +
         escape(p.name) + "</text>";
    b += "<rect class=\"m\" x=\"" + coord(x(0)) + "\" y=\"" + coord(top) + "\" width=\"" +
         coord(std::max(1.0, x(std::clamp(p.importance, 0.0, 1.0)) - x(0))) + "\" height=\"" + coord(bar_height - 8) +
         "\" fill=\"" + kCompleteColour + "\" data-tip=\"" +
         escape(p.name + ": " + number(p.importance) + " \u00b1 " + number(p.spread)) + "\"/>";
    if (p.spread > 0) {
      const double mid = top + (bar_height - 8) / 2.0;
      b += "<path stroke=\"#222\" d=\"M" + coord(x(std::max(0.0, p.importance - p.spread))) + " " + coord(mid) + " H" +
           coord(x(std::min(1.0, p.importance + p.spread))) + "\"/>";
    }
    b += "<text x=\"" + coord(x(std::clamp(p.importance, 0.0, 1.0)) + 6) + "\" y=\"" + coord(top + 13) + "\">" +
         number(p.importance) + "</text>";
  }
  if (!result.skipped.empty()) {
    std::string names;
    for (const auto& n : result.skipped) names += (names.empty() ? "" : ", ") + n;
    s += "<p class=\"note\">Left out (not every complete trial has them, e.g. conditional parameters): " + escape(names) +
         ".</p>";
  }
  return html::section("importance", "Parameter importance", s + chart.render("parameter importance"));
}

std::string slices_section(const StudyHistory& history, const std::string& metric, size_t max_points) {
  const std::vector<Slice> all = slices(history, max_points);
  if (all.empty())
    return html::section("slices", "Slice plots", html::message("No complete trial with parameters: nothing to draw."));
  // Every trial appears once per slice: the range is that of the trials' values.
  std::vector<double> values;
  for (const auto& p : all.front().points) values.push_back(p.value);
  for (const auto& sl : all)
    if (sl.points.size() > values.size()) {
      values.clear();
      for (const auto& p : sl.points) values.push_back(p.value);
    }
  const ValueAxis v = value_axis(values);
  int64_t max_number = 0;
  for (const auto& t : history.trials) max_number = std::max(max_number, t.number);
  std::string s = "<p class=\"note\">The " + escape(metric) +
                  " of every complete trial against one parameter at a time (all others vary), coloured by trial "
                  "number from light (early) to dark (late): where the sampler concentrated, and where the good values "
                  "lie." + outlier_note(v.range) + "</p><div class=\"row\">";
  for (const auto& sl : all) {
    Chart chart(340, 250, 58, 26, 12, 44);
    const Scale x = chart.x_scale(-0.08, 1.08), y = chart.y_scale(v.lo, v.hi);
    chart.axes(x, y, parameter_ticks(sl.axis, 6, 12), html::ticks_of(y), sl.axis.name + (sl.axis.log ? " (log)" : ""), metric);
    std::string& b = chart.body();
    for (const auto& p : sl.points) {
      const std::string colour =
          html::ramp(max_number > 0 ? static_cast<double>(p.number) / static_cast<double>(max_number) : 1.0);
      if (const int side = v.side(p.value))
        b += edge_marker(x(p.position), y(side > 0 ? v.hi : v.lo), side, colour, p.number);
      else
        b += circle(x(p.position), y(p.value), 3, colour, p.number, " fill-opacity=\"0.8\" stroke=\"#333\" stroke-width=\"0.4\"");
    }
    s += "<div>" + chart.render("slice " + sl.axis.name) +
         (sl.points.size() < sl.total_points
              ? "<div class=\"legend\">" + std::to_string(sl.points.size()) + " of " + std::to_string(sl.total_points) +
                    " trials drawn</div>"
              : std::string()) +
         "</div>";
  }
  return html::section("slices", "Slice plots", s + "</div>");
}

std::string contour_section(const StudyHistory& history, const std::string& metric,
                            const std::vector<std::string>& ranked_parameters, const StudyReportOptions& options) {
  const auto title = "Contour of the two most important parameters";
  if (ranked_parameters.size() < 2) {
    const std::string why =
        ranked_parameters.empty()
            ? "No parameter to draw a contour over (no complete trial with parameters)."
            : "The study has a single parameter (" + ranked_parameters.front() +
                  "): a contour needs two. Its slice plot above shows the objective against it.";
    return html::section("contour", title, html::message(why));
  }
  const auto grid = contour_grid(history, ranked_parameters[0], ranked_parameters[1], options.contour_resolution);
  if (!grid)
    return html::section("contour", title,
                         html::message("Fewer than two complete trials have both " + ranked_parameters[0] + " and " +
                                       ranked_parameters[1] + ": nothing to interpolate."));
  Chart chart(600, 500, 80, 20, 14, 50);
  const Scale x = chart.x_scale(0, 1), y = chart.y_scale(0, 1);
  chart.axes(x, y, parameter_ticks(grid->x, 8, 12), parameter_ticks(grid->y, 24, 11),
             grid->x.name + (grid->x.log ? " (log)" : ""), grid->y.name + (grid->y.log ? " (log)" : ""));
  // One outlying trial would turn the whole field one colour: the colours span the robust range
  // of the trials' values, and cells beyond it take the end colour.
  std::vector<double> values;
  for (const auto& p : grid->points) values.push_back(p.value);
  const html::RobustRange z = html::robust_range(values);
  std::string cells;
  const int64_t n = grid->resolution;
  const double half = 0.5 / static_cast<double>(n - 1);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < n; ++i) {
      const double cx = static_cast<double>(i) / static_cast<double>(n - 1), cy = static_cast<double>(j) / static_cast<double>(n - 1);
      const double x0 = x(std::max(0.0, cx - half)), x1 = x(std::min(1.0, cx + half));
      const double y0 = y(std::min(1.0, cy + half)), y1 = y(std::max(0.0, cy - half));
      cells += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y0) + "\" width=\"" + coord(x1 - x0 + 0.6) +
               "\" height=\"" + coord(y1 - y0 + 0.6) + "\" fill=\"" +
               html::ramp(goodness(std::clamp(grid->at(i, j), z.lo, z.hi), z.lo, z.hi, history.direction)) + "\"/>";
    }
  // The cells go under the frame and grid lines of axes(); the dots on top.
  chart.body() = cells + chart.body();
  const StudyOverview overview = study_overview(history);
  std::string dots, best_dot;
  // Every trial shapes the field; at most 600 dots are drawn (the best among them) so that
  // thousands of trials do not hide it.
  std::vector<double> point_values;
  for (const auto& p : grid->points) point_values.push_back(p.value);
  for (size_t index : thin_indices(point_values, history.direction, 600, 60)) {
    const ContourPoint& p = grid->points[index];
    const bool best = overview.best && overview.best->number == p.number;
    const std::string dot = circle(x(p.x), y(p.y), best ? 6 : 3.2, best ? kBestColour : "#ffffff", p.number,
                                   " stroke=\"#222\" stroke-width=\"" + std::string(best ? "1.5" : "0.8") + "\"");
    (best ? best_dot : dots) += dot;
  }
  chart.add(dots + best_dot);
  std::string s = "<p class=\"note\">The " + escape(metric) + " over " + escape(grid->x.name) + " and " +
                  escape(grid->y.name) +
                  " (the two most important parameters), interpolated on a " + std::to_string(n) + "&times;" +
                  std::to_string(n) +
                  " grid by inverse-distance weighting (power 2, in axis coordinates; log axes in log space): each "
                  "cell is the average of the trials' values weighted by 1/distance&sup2;, so it equals a trial's "
                  "value on the trial and never leaves the observed range. White dots are the complete trials (" +
                  (grid->points.size() > 600 ? "600 of " + std::to_string(grid->points.size()) + " drawn, all used"
                                             : std::to_string(grid->points.size())) +
                  "), the red one the best. All other parameters vary, so this is a map of where good "
                  "trials were found, not a model of the objective." +
                  (z.clipped() ? " The colours span the values of all but " + std::to_string(z.below + z.above) +
                                     " outlying trials; beyond them a cell takes the end colour."
                               : std::string()) +
                  "</p>" + value_legend(z.lo, z.hi, history.direction, metric);
  return html::section("contour", title, s + chart.render("contour"));
}

std::string table_section(size_t trials) {
  if (trials == 0) return html::section("trials", "All trials", html::message("No trials."));
  return html::section("trials", "All trials",
                       "<p class=\"note\">Every trial with its parameters (external values), from the data embedded in "
                       "this page.</p><div class=\"pager\" id=\"trials-pager\"></div><div class=\"tablewrap\"><table "
                       "id=\"trials-table\" class=\"plot\" data-plot=\"trials table\"><thead></thead><tbody></tbody>"
                       "</table></div>");
}

}  // namespace

std::string describe_sampler(const json& stored) {
  // seed: every sampler's (src/tune/sampler_registry.cpp), not declared by each.
  return describe_config(stored, declared_keys(tune::sampler_registry(), stored, {"seed"}));
}

std::string describe_pruner(const json& stored) {
  return describe_config(stored, declared_keys(tune::pruner_registry(), stored));
}

json trials_table(const StudyHistory& history) {
  std::set<std::string> names;
  for (const auto& t : history.trials)
    for (const auto& [name, v] : t.params) names.insert(name);
  json columns = {"number", "state", "value", "seconds", "last step"};
  for (const auto& n : names) columns.push_back(n);
  columns.push_back("error");
  json rows = json::array();
  for (const auto& t : history.trials) {
    json row = json::array();
    row.push_back(t.number);
    row.push_back(tune::to_string(t.state));
    row.push_back(t.value && std::isfinite(*t.value) ? json(*t.value) : json(nullptr));
    row.push_back(t.end_time > 0 && t.start_time > 0 ? json(std::round((t.end_time - t.start_time) * 1000) / 1000)
                                                     : json(nullptr));
    row.push_back(t.intermediate.empty() ? json(nullptr) : json(t.intermediate.rbegin()->first));
    const json params = t.external_params();
    for (const auto& n : names) row.push_back(params.contains(n) ? params.at(n) : json(nullptr));
    row.push_back(t.error.substr(0, t.error.find('\n')));
    rows.push_back(std::move(row));
  }
  return {{"columns", columns}, {"rows", rows}};
}

std::string study_report_html(const tune::StudySummary& study, const StudyHistory& history,
                              const StudyReportOptions& options) {
  const std::string metric = metric_name(study);
  const StudyOverview overview = study_overview(history);
  std::string body = "<header><h1>Study " + escape(study.name) + "</h1><p>" +
                     escape(options.source.empty() ? std::string() : options.source + " \u00b7 ") + "nntune " +
                     "report</p></header><main>\n";
  body += summary_section(study, history, overview, metric);
  if (overview.best) {
    body += history_section(history, metric);
    body += curves_section(history, metric, options.max_curves);
    body += parallel_section(history, metric, options.max_parallel_lines);
    ImportanceResult importance;
    std::string importance_error;
    try {
      importance = parameter_importance(history);
    } catch (const Error& e) {
      importance_error = std::string("Parameter importance could not be computed: ") + e.what();
    }
    body += importance_section(importance, overview, &importance_error);
    body += slices_section(history, metric, options.max_slice_points);
    // The two most important parameters; without an importance ranking, the first two by name.
    std::vector<std::string> ranked;
    for (const auto& p : importance.parameters) ranked.push_back(p.name);
    for (const auto& axis : parameter_axes(history))
      if (std::find(ranked.begin(), ranked.end(), axis.name) == ranked.end()) ranked.push_back(axis.name);
    body += contour_section(history, metric, ranked, options);
  } else if (!history.trials.empty()) {
    // Learning curves of pruned or failed trials are still worth seeing.
    body += curves_section(history, metric, options.max_curves);
  }
  body += table_section(history.trials.size());
  body += "</main>";
  const json data = {{"trials", trials_table(history)}};
  return html::page("nntune study " + study.name, body, data.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace nntune::report
