// Runs a spec: data -> scaler (fitted on the training part) -> network -> fit -> test -> files.
// Prints nothing; progress goes through the callbacks the caller passes in.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/spec.hpp"
#include "train/augmentation.hpp"

namespace nntune {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Dataset load_source(const TrainingSpec& spec, const DataSourceSpec& source) {
  const std::string at = source.path_in_spec + "." + source.kind;
  try {
    if (source.kind == "idx") {
      Dataset d = load_idx(source.images, source.labels, spec.data.num_classes);
      return d;
    }
    if (source.kind == "csv") return load_csv(source.csv);
    if (source.kind == "npy") return load_npy_dataset(source.x, source.y, spec.data.task, spec.data.num_classes);
  } catch (const Error& e) {
    spec.tree.fail(at, e.what());
  }
  spec.tree.fail(source.path_in_spec, "is not a file source (idx, csv or npy)");
}

// Splits off a held-out part: a random fraction (seeded) or the last `count` rows.
void hold_out(const TrainingSpec& spec, const DataSourceSpec& part, Dataset& rest, Dataset& held, uint64_t seed) {
  const int64_t n = rest.size();
  int64_t count = part.kind == "last"
                      ? (part.last_fraction > 0.0 ? static_cast<int64_t>(std::floor(part.last_fraction * static_cast<double>(n)))
                                                  : part.last)
                      : static_cast<int64_t>(std::llround(part.split * static_cast<double>(n)));
  if (count < 1 || count >= n)
    spec.tree.fail(part.path_in_spec + "." + part.kind,
                   "holds out " + std::to_string(count) + " of " + std::to_string(n) +
                       " training samples; both parts must keep at least one (use a smaller value)");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (part.kind == "split") {
    // Fisher-Yates with the raw engine, so the split is the same on every platform.
    Rng rng(seed);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[rng() % static_cast<uint64_t>(i + 1)]);
  }
  std::vector<int64_t> keep(order.begin(), order.end() - count), out(order.end() - count, order.end());
  std::sort(keep.begin(), keep.end());
  std::sort(out.begin(), out.end());
  held = rest.subset(out);
  rest = rest.subset(keep);
}

Scaler make_scaler(const TrainingSpec& spec) {
  Scaler scaler;
  scaler.kind = spec.data.scale;
  scaler.divide_by = spec.data.divide_by;
  if (spec.data.scale_per == "feature") {
    scaler.per_feature = true;
  } else if (spec.data.scale_per == "auto" && !spec.model.shorthand && !spec.model.layers.empty()) {
    // Sequences are scaled per feature across their steps when the first layer reads them so.
    scaler.per_feature = make_layer(spec.model.layers.front())->reads_sequences();
  }
  return scaler;
}

json metrics_json(const Metrics& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// The CSV options of the training source, so eval/predict can read files of the same layout;
// for a table also its columns by name (features, labels, id).
json data_format(const TrainingSpec& spec, const Dataset& train) {
  const DataSourceSpec& s = spec.data.train;
  json j = {{"kind", s.kind}};
  if (s.kind == "csv") {
    j["csv"] = {{"label", s.csv.label},
                {"header", s.csv.header},
                {"skip_rows", s.csv.skip_rows},
                {"delimiter", std::string(1, s.csv.delimiter)}};
    if (!train.column_names.empty()) {
      // Header names, or 0-based indices for a file without a header.
      json& csv = j["csv"];
      csv["features"] = train.column_names;
      csv["labels"] = train.target_names;
      if (!train.id_name.empty()) csv["id"] = train.id_name;
    }
  }
  if (s.kind == "series")
    j["series"] = {{"time", s.series.time},         {"values", s.series.values},   {"targets", s.series.targets},
                   {"window", s.series.window},     {"horizon", s.series.horizon}, {"stride", s.series.stride},
                   {"missing", s.series.missing},   {"delimiter", std::string(1, s.series.delimiter)}};
  return j;
}

// A separate validation/test CSV read like the training table: its columns by the training
// names, text columns as categories, text labels as the training classes.
DataSourceSpec like_training(const DataSourceSpec& source, const Dataset& train, const DataSourceSpec& train_source) {
  DataSourceSpec s = source;
  if (s.kind != "csv" || train.column_names.empty()) return s;
  CsvOptions& c = s.csv;
  if (c.header && train_source.csv.header) {
    if (c.features.empty()) c.features = train.column_names;
    if (c.label.empty() && c.labels.empty()) c.labels = train.target_names;
    for (size_t j = 0; j < train.levels.size(); ++j)
      if (!train.levels[j].empty()) c.categorical.push_back(train.column_names[j]);
  }
  if (!train.class_names.empty()) c.class_names = train.class_names;
  return s;
}

Preprocessing make_preprocessing(const TrainingSpec& spec) {
  Preprocessing p;
  p.impute = spec.data.impute;
  p.missing_indicator = spec.data.missing_indicator;
  p.on_unknown = spec.data.on_unknown;
  return p;
}

// Fits the preprocessing on the training rows (a table's only) and applies it to training and
// validation; returns it (inactive when the data needs none).
Preprocessing preprocess(const TrainingSpec& spec, Dataset& train, Dataset* validation) {
  Preprocessing p = make_preprocessing(spec);
  if (train.column_names.empty()) return Preprocessing{};
  try {
    p.fit(train);
  } catch (const Error& e) {
    spec.tree.fail("data", std::string(e.what()) + " (fitted on the training rows of " + train.source + ")");
  }
  if (!p.active()) return Preprocessing{};
  try {
    if (validation) validation->x = p.transform(*validation);
  } catch (const Error& e) {
    spec.tree.fail("data.validation", std::string(e.what()) + " (a validation row)");
  }
  train.x = p.transform(train);
  return p;
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// A series' held-out part as the split takes it: a fraction or a row count (0: none).
double held_out_amount(const DataSourceSpec& part) {
  if (part.kind.empty()) return 0.0;
  return part.last_fraction > 0.0 ? part.last_fraction : static_cast<double>(part.last);
}

// Cuts the windows of every part at the spec's window length; refuses, with the spec path and
// the numbers involved, a window or horizon the series or one of its parts cannot hold.
void window_series(const TrainingSpec& spec, SpecData& data) {
  const Series& series = *data.series;  // the windows are views of it (data.series shares it)
  const SeriesOptions& o = spec.data.train.series;
  const SeriesSplit& split = data.series_split;
  const std::string at = "data.train.series";
  const int64_t rows = series.rows();
  if (o.window + o.horizon > rows)
    spec.tree.fail(at + ".window", "window " + std::to_string(o.window) + " plus horizon " + std::to_string(o.horizon) +
                                       " needs " + std::to_string(o.window + o.horizon) + " rows but " + series.source +
                                       " has " + std::to_string(rows) + "; shorten the window or the horizon");
  data.train = make_windows(data.series, o.window, o.horizon, o.stride, 0, split.validation_begin);
  if (data.train.size() == 0)
    spec.tree.fail(at + ".window", "window " + std::to_string(o.window) + " plus horizon " + std::to_string(o.horizon) +
                                       " is longer than the training part of the series (rows 1.." +
                                       std::to_string(split.validation_begin) + " of " + std::to_string(rows) +
                                       "): no training window fits; shorten the window or hold out less");
  auto part = [&](const DataSourceSpec& source, int64_t begin, int64_t end, std::optional<Dataset>& out) {
    out.reset();
    if (source.kind.empty()) return;
    if (end - begin < o.horizon)
      spec.tree.fail(source.path_in_spec + ".last",
                     "holds out " + std::to_string(end - begin) + " rows of the series but the horizon is " +
                         std::to_string(o.horizon) + ": no window's targets fit in it (the horizon reaches past its end); "
                         "hold out more rows or shorten the horizon");
    // Every window of a held-out part is scored (stride applies to training windows only).
    out = make_windows(data.series, o.window, o.horizon, 1, begin, end);
  };
  part(spec.data.validation, split.validation_begin, split.test_begin, data.validation);
  part(spec.data.test, split.test_begin, rows, data.test);
}

SpecData load_series_data(const TrainingSpec& spec) {
  SpecData data;
  auto series = std::make_shared<Series>();
  try {
    *series = load_series(spec.data.train.series);
  } catch (const Error& e) {
    spec.tree.fail("data.train.series", e.what());
  }
  data.series_split = split_series(series->rows(), held_out_amount(spec.data.validation), held_out_amount(spec.data.test));
  data.series = std::move(series);
  window_series(spec, data);
  return data;
}

// Windows per step when the network targets of a whole windowed set are computed: bounds that
// pass's memory to one batch of windows.
constexpr int64_t kWindowChunk = 1024;

// The series model's transform, fitted on the training part; the network's data transformed.
ForecastTransform fit_forecast(const TrainingSpec& spec, SpecData& data) {
  const Series& series = *data.series;
  ForecastTransform f;
  f.enabled = true;
  f.window = spec.data.train.series.window;
  f.horizon = spec.data.train.series.horizon;
  f.columns = series.values.features();
  f.targets = series.target_columns;
  f.target = spec.model.forecast_target;
  f.normalize = spec.model.forecast_normalize;
  f.skip = spec.model.forecast_skip;
  // Scaling statistics from the training rows only: nothing of validation or test leaks in.
  const Tensor training_rows = series.values.rows(0, data.series_split.validation_begin);
  // The skip path's least squares needs every training window at once (its design matrix holds
  // them all anyway); without it the windows are never copied whole.
  f.fit(training_rows, spec.data.scale, spec.data.divide_by, f.skip == "linear" ? data.train.materialized_x() : Tensor(),
        data.train.y);
  const auto transform = std::make_shared<const ForecastTransform>(f);
  for (Dataset* d : {&data.train, data.validation ? &*data.validation : nullptr}) {
    if (!d) continue;
    // Targets batch by batch of windows (each window's on its own, so the numbers are those of
    // the whole set at once); the inputs are transformed as the trainer gathers each batch.
    const int64_t n = d->size(), o = f.outputs();
    Tensor targets({n, o}), raw;
    for (int64_t begin = 0; begin < n; begin += kWindowChunk) {
      const int64_t end = std::min(n, begin + kWindowChunk);
      d->rows_x(begin, end, raw);
      const Tensor part = f.network_targets(raw, d->y.rows(begin, end));
      std::copy(part.data(), part.data() + part.size(), targets.data() + begin * o);
    }
    d->y = std::move(targets);
    auto view = std::make_shared<WindowView>(*d->windows);
    view->transform = [transform](Tensor& batch) { transform->transform_inputs(batch); };
    d->windows = std::move(view);
  }
  return f;
}

}  // namespace

Dataset load_csv_for_model(const Model& model, const CsvOptions& options, bool labelled) {
  CsvOptions c = options;
  const Model& first = model.is_ensemble() ? model.members.front() : model;
  const json format = model.metadata.value("data_format", json::object());
  const json csv = format.value("csv", json::object());
  c.task = model.task;
  c.num_classes = model.num_classes;
  c.class_names = model.class_names;
  c.features_only = !labelled;
  if (!csv.contains("features") && !labelled) {
    // A model of numbers only: every column a feature, unless the file also holds the label.
    Dataset all = load_csv(c);
    const Shape& input = model.input_shape();
    if (input.size() != 1 || all.x.features() == input[0]) return all;
    c.features_only = false;
    Dataset with_label = load_csv(c);
    with_label.y = Tensor();
    return with_label;
  }
  if (csv.contains("features")) {
    if (c.features.empty()) c.features = csv.at("features").get<std::vector<std::string>>();
    if (c.label.empty() && c.labels.empty() && csv.contains("labels"))
      c.labels = csv.at("labels").get<std::vector<std::string>>();
    if (c.id.empty() && csv.contains("id")) {
      c.id = csv.at("id").get<std::string>();
      c.optional_id = true;
    }
  }
  const Preprocessing& p = first.preprocessing;
  for (size_t k = 0; k < p.categories.size(); ++k)
    if (!p.categories[k].empty()) c.categorical.push_back(p.columns[k]);
  c.allow_missing = p.impute != "none";
  return load_csv(c);
}

std::string nntune_version() { return "0.1.0"; }  // keep in step with project(VERSION) in CMakeLists.txt

namespace {

// A network that starts with an embedding reads token ids: refuse scaling (it would change them)
// and ids outside the vocabulary, naming the file, sample and step, before any training.
void check_token_ids(const TrainingSpec& spec, const std::vector<Dataset*>& parts) {
  if (spec.model.shorthand || spec.model.layers.empty()) return;
  const nlohmann::json& first = spec.model.layers.front();
  if (!first.is_object() || first.value("type", std::string()) != "embedding") return;
  if (spec.data.scale != "none")
    spec.tree.fail("data.scale", "the first layer is an embedding, which takes token ids, and scaling would change "
                                 "them; remove data.scale (or set it to none)");
  const auto vocabulary = first.find("vocabulary");
  if (vocabulary == first.end() || !vocabulary->is_number_integer()) return;  // the layer reports it
  const int64_t size = vocabulary->get<int64_t>();
  for (const Dataset* part : parts) {
    const int64_t steps = std::max<int64_t>(1, part->x.size() / std::max<int64_t>(1, part->x.batch()));
    for (int64_t k = 0; k < part->x.size(); ++k) {
      const float v = part->x.data()[k];
      if (v >= 0.0f && v < static_cast<float>(size) && v == std::floor(v)) continue;
      std::ostringstream value;
      value << v;
      spec.tree.fail("model.layers[0].vocabulary",
                     "token id " + value.str() + " (sample " + std::to_string(k / steps + 1) + ", step " +
                         std::to_string(k % steps + 1) + " of " + part->source + ") is not an integer in [0, " +
                         std::to_string(size) + "); set vocabulary to the largest id + 1 or map the id into it");
    }
  }
}

}  // namespace

SpecData load_spec_data(const TrainingSpec& spec) {
  if (spec.data.train.kind == "series") return load_series_data(spec);
  SpecData data;
  data.train = load_source(spec, spec.data.train);
  const DataSourceSpec& test = spec.data.test;
  const DataSourceSpec& validation = spec.data.validation;
  if (test.kind == "split" || test.kind == "last") {
    data.test.emplace();
    hold_out(spec, test, data.train, *data.test, spec.seed + 1);
  } else if (!test.kind.empty()) {
    data.test = load_source(spec, like_training(test, data.train, spec.data.train));
  }
  if (validation.kind == "split" || validation.kind == "last") {
    data.validation.emplace();
    hold_out(spec, validation, data.train, *data.validation, spec.seed + 2);
  } else if (!validation.kind.empty()) {
    data.validation = load_source(spec, like_training(validation, data.train, spec.data.train));
  }

  // All parts must agree on the number of classes and the sample shape.
  std::vector<Dataset*> parts = {&data.train};
  if (data.validation) parts.push_back(&*data.validation);
  if (data.test) parts.push_back(&*data.test);
  if (spec.data.channels != "none") {
    for (Dataset* part : parts) {
      const Shape sample = part->x.sample_shape();
      if (sample.size() != 2)
        spec.tree.fail("data.channels", "the samples of " + part->source + " have shape " + shape_string(sample) +
                                            ": a channel axis is added to 2-D images (height, width) only; "
                                            "remove data.channels");
      part->x.reshape(with_batch(part->x.batch(), spec.data.channels == "last" ? Shape{sample[0], sample[1], 1}
                                                                                 : Shape{1, sample[0], sample[1]}));
    }
  }
  check_token_ids(spec, parts);
  if (const std::string problem = train_detail::augmentation_problem(spec.train.augment, data.train.x.sample_shape());
      !problem.empty())
    spec.tree.fail("train.augment", problem);
  if (spec.data.task == Task::Classification && spec.data.num_classes == 0) {
    // Inferred classes come from the training labels: a label that only a separate validation
    // or test file holds would add an output no training sample teaches.
    const int64_t train_classes = data.train.num_classes;
    auto check = [&](const DataSourceSpec& source, const std::optional<Dataset>& part) {
      if (!part || source.kind == "split" || source.kind == "last" || part->num_classes <= train_classes) return;
      // Every label, of each step too for labels per step (n, steps).
      const int64_t per_row = part->y.features();
      for (int64_t i = 0; i < part->y.size(); ++i) {
        const auto label = static_cast<int64_t>(part->y[i]);
        if (label < train_classes) continue;
        spec.tree.fail(source.path_in_spec + "." + source.kind,
                       "label " + std::to_string(label) + " (data row " + std::to_string(i / per_row + 1) + ") of " + part->source +
                           " is not in the training data, whose labels are 0.." + std::to_string(train_classes - 1) +
                           "; fix the labels, or set data.num_classes if that class is meant to exist");
      }
    };
    check(validation, data.validation);
    check(test, data.test);
  }
  if (spec.data.task == Task::Classification) {
    int64_t classes = spec.data.num_classes;
    for (const Dataset* d : parts) classes = std::max(classes, d->num_classes);
    if (classes < 2)
      spec.tree.fail("data.train", "the labels hold a single class; classification needs at least 2 (or set "
                                   "data.task: regression)");
    for (Dataset* d : parts) d->num_classes = classes;
  }
  for (const Dataset* d : parts) {
    if (d->x.sample_shape() != data.train.x.sample_shape())
      throw Error(spec.tree.where("data") + "the samples of " + d->source + " have shape " +
                  shape_string(d->x.sample_shape()) + " but the training samples have " +
                  shape_string(data.train.x.sample_shape()));
    if (d->y.features() != data.train.y.features())
      throw Error(spec.tree.where("data") + "the targets of " + d->source + " have " + std::to_string(d->y.features()) +
                  " columns but the training targets have " + std::to_string(data.train.y.features()));
  }
  const int64_t classes = make_loss(spec.train.loss)->required_classes();
  if (classes > 0 && data.train.num_classes != classes)
    spec.tree.fail("train.loss", spec.train.loss + " needs " + std::to_string(classes) + " classes but the data has " +
                                     std::to_string(data.train.num_classes) + "; use " + default_loss_name(true));
  return data;
}

TrainingResult run_training(const TrainingSpec& spec, const std::vector<Callback*>& callbacks,
                            const TrainingOptions& options) {
  SpecData data = options.movable_data ? std::move(*options.movable_data)
                  : options.data       ? *options.data
                                       : load_spec_data(spec);
  // Series: windows cut at this spec's window length (a tuned window shares the loaded series).
  if (spec.data.train.kind == "series") {
    if (!data.series) throw Error("run_training: series data without its loaded series (load it with load_spec_data)");
    window_series(spec, data);
  }
  TrainingResult result;
  result.train_size = data.train.size();
  result.validation_size = data.validation ? data.validation->size() : 0;
  result.test_size = data.test ? data.test->size() : 0;

  // Fitted on the training part only: nothing about validation/test leaks in.
  const Preprocessing preprocessing = preprocess(spec, data.train, data.validation ? &*data.validation : nullptr);
  Scaler scaler = make_scaler(spec);
  ForecastTransform forecast;
  if (data.series) {
    scaler = Scaler{};  // the forecast transform scales series columns itself
    forecast = fit_forecast(spec, data);
  } else {
    scaler.fit(data.train.x);  // training part only: nothing about validation/test leaks in
    scaler.apply(data.train.x);
    if (data.validation) scaler.apply(data.validation->x);
  }

  Rng rng(spec.seed);
  const int64_t output_width = required_output_width(spec, data.train);
  Network network = build_network(spec, data.train.sample_shape(), output_width, rng, target_steps(spec, data.train));
  result.num_params = network.num_params();
  if (spec.data.task == Task::Classification && spec.train.class_weight != "none") {
    // Checked here, before any epoch, so that the message points into the spec.
    try {
      resolve_class_weights(spec.train, data.train, make_loss(spec.train.loss)->output_width(2, 1) == 1 ? 2 : output_width,
                            &network);
    } catch (const Error& e) {
      spec.tree.fail("train.class_weight", e.what());
    }
  }
  if (options.on_ready) options.on_ready(result);

  std::vector<std::unique_ptr<Callback>> owned;
  if (spec.early_stopping) owned.push_back(make_early_stopping(*spec.early_stopping));
  if (spec.reduce_on_plateau) owned.push_back(make_reduce_on_plateau(*spec.reduce_on_plateau));
  std::vector<Callback*> all_callbacks;
  for (auto& c : owned) all_callbacks.push_back(c.get());
  all_callbacks.insert(all_callbacks.end(), callbacks.begin(), callbacks.end());

  const auto started = std::chrono::steady_clock::now();
  result.history = fit(network, data.train, data.validation ? &*data.validation : nullptr, spec.train, all_callbacks);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Model model;
  model.network = std::move(network);
  model.scaler = scaler;
  model.forecast = forecast;
  model.loss = spec.train.loss;
  model.task = spec.data.task;
  model.num_classes = spec.data.task == Task::Classification ? data.train.num_classes : 0;
  model.preprocessing = preprocessing;
  if (spec.data.task == Task::Classification) model.class_names = data.train.class_names;
  // The spec first: evaluate_model reads train.metrics from it, as `nntune eval` will.
  model.metadata = {{"spec", spec.tree.root}};
  if (data.test) result.test_metrics = evaluate_model(model, *data.test);

  json history = json::object();
  history["nntune_version"] = nntune_version();
  history["created"] = now_iso8601();
  history["spec_file"] = spec.tree.source;
  history["spec"] = spec.tree.root;
  history["overrides"] = spec.tree.overrides;
  history["seed"] = spec.seed;
  history["train_size"] = result.train_size;
  history["validation_size"] = result.validation_size;
  history["test_size"] = result.test_size;
  history["num_params"] = result.num_params;
  json epochs = json::array();
  for (const EpochLog& e : result.history.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"metrics", metrics_json(e.metrics)}, {"lr", e.lr}, {"seconds", e.seconds}});
  history["epochs"] = epochs;
  history["stop_reason"] = result.history.stop_reason.empty() ? "completed all epochs" : result.history.stop_reason;
  history["best_epoch"] = result.history.best_epoch;
  history["precision_used"] = result.history.precision_used;
  history["seconds"] = seconds;
  history["test"] = metrics_json(result.test_metrics);

  model.metadata = {{"spec", spec.tree.root},
                    {"spec_file", spec.tree.source},
                    {"overrides", spec.tree.overrides},
                    {"seed", spec.seed},
                    {"nntune_version", nntune_version()},
                    {"data_format", data_format(spec, data.train)},
                    {"test", metrics_json(result.test_metrics)}};

  if (options.save) {
    const fs::path dir = options.output_dir.empty() ? fs::path(spec.output_dir) : fs::path(options.output_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create the output directory '" + dir.string() + "': " + ec.message());
    result.model_path = (dir / "model.nnt").string();
    result.history_path = (dir / "history.json").string();
    history["model"] = result.model_path;
    save_model(model, result.model_path);
    const std::string tmp = result.history_path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary);
      out << history.dump(2) << "\n";
      if (!out) throw Error("cannot write '" + tmp + "' (disk full or no permission?)");
    }
    fs::rename(tmp, result.history_path, ec);
    if (ec) throw Error("cannot write '" + result.history_path + "': " + ec.message());
  }
  result.history_json = std::move(history);
  return result;
}

CrossValidationResult run_cross_validation(const TrainingSpec& spec, int64_t folds,
                                           const std::function<std::vector<Callback*>()>& make_callbacks) {
  if (folds < 2) throw Error("--folds must be at least 2, got " + std::to_string(folds));
  if (spec.data.train.kind == "series")
    spec.tree.fail("data.train.series", "k-fold cross-validation would train on the future of its validation folds; "
                                        "a series is validated on its latest part (data.validation: {last: 0.1})");
  // The training data without the test part (that stays unseen); the spec's validation part is
  // not used, each fold's held-out part plays that role.
  TrainingSpec cv_spec = spec;
  cv_spec.data.validation = DataSourceSpec{};
  SpecData data = load_spec_data(cv_spec);
  // The table preprocessing is fitted once on all of these rows (the folds' shapes must agree);
  // the scaler is fitted per fold.
  preprocess(spec, data.train, nullptr);
  if (folds > data.train.size())
    throw Error("--folds " + std::to_string(folds) + " is more than the " + std::to_string(data.train.size()) +
                " training samples");
  const int64_t output_width = required_output_width(spec, data.train);
  const Shape input_shape = data.train.sample_shape();
  // Fail on a bad model before the first fold starts.
  const int64_t steps = target_steps(spec, data.train);
  check_model_shapes(spec, input_shape, output_width, steps);

  auto make_network = [&](Rng& rng) { return build_network(spec, input_shape, output_width, rng, steps); };
  auto prepare_fold = [&](Dataset& train, Dataset& validation) {
    Scaler scaler = make_scaler(spec);
    scaler.fit(train.x);
    scaler.apply(train.x);
    scaler.apply(validation.x);
  };
  std::vector<std::unique_ptr<Callback>> owned;
  auto callbacks = [&]() {
    owned.clear();
    if (spec.early_stopping) owned.push_back(make_early_stopping(*spec.early_stopping));
    if (spec.reduce_on_plateau) owned.push_back(make_reduce_on_plateau(*spec.reduce_on_plateau));
    std::vector<Callback*> all;
    for (auto& c : owned) all.push_back(c.get());
    if (make_callbacks)
      for (Callback* c : make_callbacks()) all.push_back(c);
    return all;
  };
  return cross_validate(make_network, data.train, folds, spec.train, prepare_fold, callbacks);
}

}  // namespace nntune
