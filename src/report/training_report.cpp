#include "report/training_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "nntune/error.hpp"
#include "report/html.hpp"

namespace nntune::report {

using html::Chart;
using html::coord;
using html::escape;
using html::number;
using html::Scale;

int64_t ConfusionMatrix::total() const {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

double ConfusionMatrix::accuracy() const {
  const int64_t n = total();
  if (n == 0) return 0.0;
  int64_t right = 0;
  for (int64_t k = 0; k < classes; ++k) right += at(k, k);
  return static_cast<double>(right) / static_cast<double>(n);
}

ConfusionMatrix confusion_matrix(const Tensor& outputs, const Tensor& labels, int64_t num_classes) {
  const int64_t n = outputs.batch(), width = outputs.features();
  if (labels.batch() != n)
    throw Error("confusion matrix: " + std::to_string(n) + " predictions but " + std::to_string(labels.batch()) +
                " labels; give the labels of the same samples");
  if (labels.features() != 1)
    throw Error("confusion matrix: labels must be one class index per sample, got " +
                std::to_string(labels.features()) + " values per sample");
  const bool sigmoid = width == 1;
  ConfusionMatrix m;
  m.classes = num_classes > 0 ? num_classes : (sigmoid ? 2 : width);
  m.counts.assign(static_cast<size_t>(m.classes * m.classes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = outputs.data() + i * width;
    int64_t predicted = 0;
    if (sigmoid) {
      predicted = row[0] >= 0.5f ? 1 : 0;
    } else {
      for (int64_t k = 1; k < width; ++k)
        if (row[k] > row[predicted]) predicted = k;
    }
    const double label = labels.data()[i];
    const auto truth = static_cast<int64_t>(std::llround(label));
    if (truth < 0 || truth >= m.classes || predicted >= m.classes)
      throw Error("confusion matrix: sample " + std::to_string(i) + " has class " + number(label) +
                  ", outside 0.." + std::to_string(m.classes - 1) + " (the model's classes)");
    ++m.counts[static_cast<size_t>(truth * m.classes + predicted)];
  }
  return m;
}

std::vector<MetricPanel> metric_panels(const History& history) {
  std::set<std::string> bases;
  for (const auto& e : history.epochs)
    for (const auto& [name, v] : e.metrics) bases.insert(name.rfind("val_", 0) == 0 ? name.substr(4) : name);
  std::vector<std::string> order;
  if (bases.count("loss")) order.push_back("loss");
  for (const auto& b : bases)
    if (b != "loss") order.push_back(b);
  std::vector<MetricPanel> panels;
  for (const auto& base : order) {
    MetricPanel panel;
    panel.metric = base;
    for (const std::string& name : {base, "val_" + base}) {
      MetricSeries s;
      s.name = name;
      for (const auto& e : history.epochs) {
        const auto it = e.metrics.find(name);
        if (it == e.metrics.end() || !std::isfinite(it->second)) continue;
        s.epochs.push_back(e.epoch);
        s.values.push_back(it->second);
      }
      if (!s.epochs.empty()) panel.series.push_back(std::move(s));
    }
    if (!panel.series.empty()) panels.push_back(std::move(panel));
  }
  return panels;
}

MetricSeries learning_rate_series(const History& history) {
  MetricSeries s;
  s.name = "lr";
  for (const auto& e : history.epochs) {
    s.epochs.push_back(e.epoch);
    s.values.push_back(e.lr);
  }
  return s;
}

namespace {

const char* const kTrainColour = "#3b6fb6";
const char* const kValidationColour = "#e6550d";

std::string series_chart(const std::vector<MetricSeries>& series, const std::string& y_title, int64_t best_epoch,
                         bool log_y) {
  Chart chart(560, 300);
  double x_lo = 1e300, x_hi = -1e300, lo = 1e300, hi = -1e300;
  for (const auto& s : series)
    for (size_t k = 0; k < s.epochs.size(); ++k) {
      x_lo = std::min(x_lo, static_cast<double>(s.epochs[k]));
      x_hi = std::max(x_hi, static_cast<double>(s.epochs[k]));
      lo = std::min(lo, s.values[k]);
      hi = std::max(hi, s.values[k]);
    }
  log_y = log_y && lo > 0 && hi / lo > 20;  // a schedule spanning decades reads better on a log axis
  html::pad_range(x_lo, x_hi);
  html::pad_range(lo, hi, log_y);
  const Scale x = chart.x_scale(x_lo, x_hi), y = chart.y_scale(lo, hi, log_y);
  std::vector<html::Tick> xt;
  for (const auto& t : html::ticks_of(x))
    if (std::abs(t.at - std::round(t.at)) < 1e-9) xt.push_back(t);  // whole epochs only
  chart.axes(x, y, xt, html::ticks_of(y), "epoch", y_title + (log_y ? " (log)" : ""));
  std::string& b = chart.body();
  if (best_epoch > 0)
    b += "<line x1=\"" + coord(x(static_cast<double>(best_epoch))) + "\" x2=\"" + coord(x(static_cast<double>(best_epoch))) +
         "\" y1=\"" + coord(chart.area_top()) + "\" y2=\"" + coord(chart.area_bottom()) +
         "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>";
  for (const auto& s : series) {
    const bool validation = s.name.rfind("val_", 0) == 0;
    const std::string colour = s.name == "lr" ? "#2ca02c" : validation ? kValidationColour : kTrainColour;
    std::string points;
    for (size_t k = 0; k < s.epochs.size(); ++k)
      {
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on the chained form.
        if (k) points += ' ';
        points += coord(x(static_cast<double>(s.epochs[k])));
        points += ',';
        points += coord(y(s.values[k]));
      }
    b += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + colour + "\" points=\"" + points + "\"/>";
    for (size_t k = 0; k < s.epochs.size(); ++k)
      b += "<circle class=\"m\" r=\"3.5\" fill=\"" + colour + "\" cx=\"" + coord(x(static_cast<double>(s.epochs[k]))) +
           "\" cy=\"" + coord(y(s.values[k])) + "\" data-tip=\"" +
           escape(s.name + " at epoch " + std::to_string(s.epochs[k]) + ": " + number(s.values[k])) + "\"/>";
  }
  return chart.render(y_title);
}

std::string confusion_chart(const ConfusionMatrix& m, const std::vector<std::string>& names) {
  const int cell = m.classes <= 10 ? 48 : std::max(12, 480 / static_cast<int>(m.classes));
  const int left = 120, top = 20;
  const int size = cell * static_cast<int>(m.classes);
  Chart chart(left + size + 20, top + size + 60, left, 20, top, 60);
  auto label = [&](int64_t k) {
    return k < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(k)] : std::to_string(k);
  };
  std::string& b = chart.body();
  for (int64_t t = 0; t < m.classes; ++t) {
    int64_t row_total = 0;
    for (int64_t p = 0; p < m.classes; ++p) row_total += m.at(t, p);
    for (int64_t p = 0; p < m.classes; ++p) {
      const int64_t count = m.at(t, p);
      // Shade by the share of the true class's samples (rows sum to 1): the diagonal is recall.
      const double share = row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const double cx = left + static_cast<double>(p * cell), cy = top + static_cast<double>(t * cell);
      b += "<rect class=\"m\" x=\"" + coord(cx) + "\" y=\"" + coord(cy) + "\" width=\"" + std::to_string(cell) +
           "\" height=\"" + std::to_string(cell) + "\" fill=\"" + html::shade(std::sqrt(share)) +
           "\" stroke=\"#fff\" data-tip=\"" +
           escape("true " + label(t) + ", predicted " + label(p) + ": " + std::to_string(count) + " (" +
                  number(100 * share) + "% of " + label(t) + ")") +
           "\"/>";
      if (cell >= 28)
        b += "<text x=\"" + coord(cx + cell / 2.0) + "\" y=\"" + coord(cy + cell / 2.0 + 4) +
             "\" text-anchor=\"middle\" style=\"fill:" + (std::sqrt(share) > 0.55 ? "#fff" : "#222") +
             ";pointer-events:none\">" + std::to_string(count) + "</text>";
    }
    b += "<text x=\"" + coord(left - 6) + "\" y=\"" + coord(top + (static_cast<double>(t) + 0.5) * cell + 4) +
         "\" text-anchor=\"end\">" + escape(label(t)) + "</text>";
  }
  for (int64_t p = 0; p < m.classes; ++p)
    b += "<text transform=\"translate(" + coord(left + (static_cast<double>(p) + 0.5) * cell + 4) + " " +
         coord(top + size + 8) + ") rotate(-45)\" text-anchor=\"end\">" + escape(label(p)) + "</text>";
  b += "<text class=\"title\" x=\"" + coord(left + size / 2.0) + "\" y=\"" + coord(top + size + 56) +
       "\" text-anchor=\"middle\">predicted class</text><text class=\"title\" transform=\"translate(14 " +
       coord(top + size / 2.0) + ") rotate(-90)\" text-anchor=\"middle\">true class</text>";
  return chart.render("confusion matrix");
}

}  // namespace

std::vector<LayerRow> layer_rows(const Network& network) {
  std::vector<LayerRow> rows;
  Shape shape = network.input_shape();
  for (const auto& layer : network.layers()) {
    LayerRow row;
    row.kind = layer->kind();
    std::string settings;
    const nlohmann::json config = layer->config();
    for (const auto& [key, value] : config.items()) {
      // The type is the row's kind; initialisers matter at the start only.
      if (key == "type" || key.find("init") != std::string::npos) continue;
      settings += (settings.empty() ? "" : ", ") + key + " " + (value.is_string() ? value.get<std::string>() : value.dump());
    }
    row.settings = settings;
    for (const ParamBlock& b : layer->params()) row.params += b.size;
    shape = make_layer(config)->build(shape);
    row.output_shape = shape;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string augmentation_text(const Augmentation& a) {
  std::string text;
  auto add = [&](const std::string& part) { text += (text.empty() ? "" : ", ") + part; };
  if (a.crop_padding > 0) add("random crop with " + std::to_string(a.crop_padding) + " px padding");
  if (a.flip_horizontal) add("horizontal flip");
  if (a.erasing > 0.0) add("random erasing p=" + number(a.erasing));
  return text;
}

std::string training_report_html(const TrainingReport& r) {
  std::string body = "<header><h1>Training " + escape(r.title) + "</h1><p>nntune report</p></header><main>\n";
  auto row = [](const std::string& key, const std::string& value) {
    return "<dt>" + escape(key) + "</dt><dd>" + escape(value) + "</dd>";
  };
  std::string summary = "<dl class=\"kv\">";
  summary += row("data", std::to_string(r.train_size) + " train, " + std::to_string(r.validation_size) + " validation, " +
                             std::to_string(r.test_size) + " test samples");
  summary += row("parameters", std::to_string(r.num_params));
  summary += row("epochs", std::to_string(r.history.epochs.size()) +
                               (r.history.stop_reason.empty() ? "" : " (stopped: " + r.history.stop_reason + ")") +
                               (r.history.best_epoch > 0 ? ", best epoch " + std::to_string(r.history.best_epoch) : ""));
  summary += row("time", html::duration(r.seconds));
  if (!r.history.precision_used.empty() && r.history.precision_used != "fp32")
    summary += row("precision", r.history.precision_used);
  if (!r.history.epochs.empty())
    for (const auto& [name, value] : r.history.epochs.back().metrics) summary += row("last epoch " + name, number(value));
  for (const auto& [name, value] : r.test_metrics) summary += row("test " + name, number(value));
  if (!r.model_path.empty()) summary += row("model", r.model_path);
  summary += "</dl>";
  body += html::section("summary", "Summary", summary);
  if (!r.layers.empty()) {
    std::string t = "<p class=\"note\">Input samples of shape " + escape(shape_string(r.input_shape)) +
                    (r.augmentation.empty() ? "" : "; training images augmented: " + escape(r.augmentation)) +
                    ".</p><div class=\"tablewrap\"><table class=\"layers\"><thead><tr><th>#</th><th>layer</th>"
                    "<th>settings</th><th>output shape</th><th>parameters</th></tr></thead><tbody>";
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const LayerRow& l = r.layers[i];
      t += "<tr><td>" + std::to_string(i + 1) + "</td><td>" + escape(l.kind) + "</td><td>" + escape(l.settings) +
           "</td><td>" + escape(shape_string(l.output_shape)) + "</td><td>" + std::to_string(l.params) + "</td></tr>";
    }
    body += html::section("model", "Model", t + "</tbody></table></div>");
  }

  const auto panels = metric_panels(r.history);
  if (panels.empty()) {
    body += html::section("curves", "Loss and metrics", html::message("No epoch finished: no curve to draw."));
  } else {
    std::string s = "<p class=\"note\"><span style=\"color:" + std::string(kTrainColour) +
                    "\">training</span> (mean over the epoch's batches) and <span style=\"color:" + kValidationColour +
                    "\">validation</span> (after the epoch) per epoch" +
                    (r.history.best_epoch > 0 ? "; the dashed line marks the best epoch early stopping kept" : "") +
                    ".</p><div class=\"row\">";
    for (const auto& panel : panels) s += series_chart(panel.series, panel.metric, r.history.best_epoch, false);
    body += html::section("curves", "Loss and metrics", s + "</div>");
  }
  const MetricSeries lr = learning_rate_series(r.history);
  body += html::section("lr", "Learning rate",
                        lr.epochs.empty() ? html::message("No epoch finished.")
                                          : "<p class=\"note\">The learning rate at the end of each epoch (schedule "
                                            "and reduce-on-plateau included).</p>" +
                                                series_chart({lr}, "learning rate", 0, true));
  if (r.confusion) {
    const ConfusionMatrix& m = *r.confusion;
    body += html::section("confusion", "Confusion matrix",
                          "<p class=\"note\">On the " + escape(r.confusion_source) +
                              ": rows are the true classes, columns the predicted ones; the shade is the share of the "
                              "row (the diagonal is each class's recall). Accuracy " +
                              number(m.accuracy()) + " (" + std::to_string(m.total()) + " samples).</p>" +
                              confusion_chart(m, r.class_names));
  } else {
    body += html::section("confusion", "Confusion matrix",
                          html::message(r.confusion_source.empty()
                                            ? "No confusion matrix: it is drawn for classification with validation or "
                                              "test data."
                                            : r.confusion_source));
  }
  body += "</main>";
  return html::page("nntune training " + r.title, body, "{}");
}

}  // namespace nntune::report
