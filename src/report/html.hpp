#pragma once
// The drawing back end shared by the study and training reports: SVG written in C++ plus one
// small inline vanilla script (tooltips, zoom, table paging/sorting, the self-check).
//
// Why our own SVG rather than a charting library from npm: the report must open offline from a
// single file, build without Node on a Debian machine, and stay testable; a library would add a
// package-lock, an npm step to the build, a generated header of ~1 MB and a second place where
// plot data is computed. Drawing the data of study_plots.hpp as SVG is a few hundred lines, the
// browser draws 10,000 points in well under a second, and the self-check can count the marks.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nntune::report::html {

// Text for HTML element content and attribute values.
std::string escape(const std::string& text);
// A JSON text made safe to embed in <script type="application/json">: no "</script>", and no
// other "<" or "&" at all ("<!--" would change how the HTML parser reads the rest).
std::string script_safe_json(const std::string& json_text);
// At most `max_chars` characters (UTF-8 code points): longer text keeps max_chars - 1 and ends in
// an ellipsis, cut on a character boundary.
std::string shorten(const std::string& text, size_t max_chars);
// Numbers as SVG coordinates (one decimal) and as labels (4 significant digits).
std::string coord(double v);
std::string number(double v);
std::string duration(double seconds);  // "42s", "3m12s", "1h05m"

// Colour of t in [0, 1] on a perceptually ordered ramp (light yellow .. dark blue; viridis
// anchor colours), as "#rrggbb".
std::string ramp(double t);
// White (0) to dark blue (1), for counts such as a confusion matrix.
std::string shade(double t);

// One axis' mapping from data to pixels; log axes need lo > 0.
struct Scale {
  double lo = 0.0, hi = 1.0;
  bool log = false;
  double px_lo = 0.0, px_hi = 1.0;  // pixel positions of lo and hi
  double operator()(double v) const;
  // About `count` round tick values inside [lo, hi] (1-2-5 steps). Log axes: every decade inside
  // (every other one past 12 decades); within less than two decades, also 2x and 5x each decade;
  // within less than one, linear ticks.
  std::vector<double> ticks(int count = 6) const;
};
struct Tick {
  double at = 0.0;  // in data units of the scale
  std::string label;
};
// The scale's round ticks labelled by `label` (default: number()).
std::vector<Tick> ticks_of(const Scale& scale, const std::function<std::string(double)>& label = nullptr);

// [lo, hi] widened a little (and made non-empty) so that points do not sit on the frame.
void pad_range(double& lo, double& hi, bool log = false);

// Round tick values for a time axis in seconds: about `count` ticks in [lo, hi], at a step of
// 1, 2, 5, 10, 15 or 30 seconds, 1, 2, 5, 10, 15 or 30 minutes, 1, 2, 3, 6 or 12 hours, or
// 1, 2 or 7 days, whichever first gives no more than `count` intervals.
std::vector<double> time_ticks(double lo, double hi, int count = 6);
// A time tick's label: "0", "45s", "2m", "1m30s", "3h", "1h30m", "2d" (no zero parts).
std::string duration_label(double seconds);

// The q-quantile (q in [0, 1]) of sorted values, interpolated linearly between order statistics
// (Hyndman and Fan's type 7, NumPy's default). NaN for no values.
double quantile(const std::vector<double>& sorted, double q);
// The range an axis or a colour scale shows so that one outlier cannot squeeze the rest. The core
// is the values between the lower and upper `tail` order statistics (tail = max(5%, 1/n): the
// 5% and 95% ones, or the second lowest and highest of fewer than 20 values); the range is the
// smallest and the largest value within one core width beyond the core on either side. So the
// axis spans at most three times the core, and a diverged trial (a loss of 1e30) cannot flatten
// the others. Non-finite values are left out. With fewer than 5 values, or a core of width 0, it
// is the whole range. `below`/`above` count the values outside, which a plot still draws,
// clamped to the edge and marked.
struct RobustRange {
  double lo = 0.0, hi = 0.0;
  size_t below = 0, above = 0;
  bool clipped() const { return below + above > 0; }
};
RobustRange robust_range(const std::vector<double>& values);

// An SVG chart of a fixed size with a plotting area inside margins. Marks (anything the
// self-check should count) carry class "m"; a data-t attribute names the trial a tooltip shows,
// data-tip gives the tooltip text directly.
class Chart {
 public:
  Chart(int width, int height, int left = 64, int right = 16, int top = 16, int bottom = 44);
  int width() const { return width_; }
  int height() const { return height_; }
  double area_left() const { return left_; }
  double area_right() const { return width_ - right_; }
  double area_top() const { return top_; }
  double area_bottom() const { return height_ - bottom_; }
  Scale x_scale(double lo, double hi, bool log = false) const { return {lo, hi, log, area_left(), area_right()}; }
  Scale y_scale(double lo, double hi, bool log = false) const { return {lo, hi, log, area_bottom(), area_top()}; }

  // Frame, grid lines, ticks and axis titles.
  void axes(const Scale& x, const Scale& y, const std::vector<Tick>& x_ticks, const std::vector<Tick>& y_ticks,
            const std::string& x_title, const std::string& y_title);
  void add(const std::string& svg_element) { body_ += svg_element; }
  std::string& body() { return body_; }
  // <svg class="plot [extra_class]" data-plot="name" ...>; zoomable charts get viewBox zoom.
  std::string render(const std::string& plot_name, bool zoomable = false) const;

 private:
  int width_, height_, left_, right_, top_, bottom_;
  std::string body_;
};

// A whole page: <head> with the style and the error counter first, the body, then the script
// (tooltips, zoom, tables, self-check). `data_json` is embedded as application/json with id
// "report-data" ({"trials": {...}} for studies; may be "{}").
std::string page(const std::string& title, const std::string& body, const std::string& data_json);

// A "no plot because ..." box in place of a chart (the self-check does not count it as empty).
std::string message(const std::string& text);
// <section><h2>title</h2>intro content</section>
std::string section(const std::string& id, const std::string& title, const std::string& content);

}  // namespace nntune::report::html
