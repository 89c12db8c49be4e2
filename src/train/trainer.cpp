// The training loop and evaluation.
//
// Per step: forward (training mode), loss + dLoss/dOutput, backward, regularisation penalty,
// finiteness check, optional gradient clipping, optimiser step at scheduled_lr * lr_factor.
// The batch tensors, the index order and the loss gradient are allocated once and reused, so
// a step allocates nothing beyond what the layers do themselves.
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "nn/gemm.hpp"
#include "nn/simd.hpp"
#include "nn/step_rows.hpp"
#include "nntune/error.hpp"
#include "nntune/trainer.hpp"
#include "train/augmentation.hpp"
#include "train/train_internal.hpp"

namespace nntune {

using train_detail::format_number;

namespace {

// lr * gradient norm beyond this is treated as divergence: such an update overflows float soon.
constexpr double kMaxUpdateNorm = 1e30;

void check_config(const TrainConfig& config) {
  if (config.epochs < 1)
    throw Error("training: epochs = " + std::to_string(config.epochs) + " is invalid; epochs must be >= 1");
  if (config.batch_size < 1)
    throw Error("training: batch_size = " + std::to_string(config.batch_size) +
                " is invalid; batch_size must be >= 1 (a value >= the number of samples means full batch)");
  if (!(config.clip_norm >= 0.0) || !std::isfinite(config.clip_norm))
    throw Error("training: clip_norm = " + format_number(config.clip_norm) +
                " is invalid; clip_norm must be a finite number >= 0 (0 turns clipping off)");
  validate_schedule(config.schedule);
  if (config.precision != "fp32" && config.precision != "bf16" && config.precision != "auto")
    throw Error("training: precision = '" + config.precision +
                "' is invalid; allowed: fp32, bf16, auto (bf16 where the CPU has AVX512_BF16, else fp32)");
  if (config.precision == "bf16" && !gemm_bf16_unavailable_reason().empty())
    throw Error("training: " + gemm_bf16_unavailable_reason());
  if (config.class_weight != "none" && config.class_weight != "balanced" && config.class_weight != "explicit")
    throw Error("training: class_weight = '" + config.class_weight +
                "' is invalid; allowed: none, balanced, explicit (with class_weights or class_weight_map)");
  if (!(config.label_smoothing >= 0.0 && config.label_smoothing < 1.0))
    throw Error("training: label_smoothing = " + format_number(config.label_smoothing) +
                " is invalid; it must be in [0, 1) (0.1 is usual)");
}

// The class of every training sample (labels per step: of every real step, as the loss scores
// them): index targets as they are, one-hot rows by their argmax, one-output binary targets by
// t > 0.5. `network` (may be null for labels per sample) tells per-step outputs and their mask.
std::vector<int64_t> class_labels(const Dataset& data, int64_t classes, Network* network) {
  const int64_t n = data.y.batch(), cols = data.y.features();
  const Shape* out = network && network->built() ? &network->output_shape() : nullptr;
  const int64_t steps = out && out->size() == 2 ? (*out)[0] : 0;  // per-step outputs (steps, features)
  // Rows of labels: one per sample, or one per step of per-step outputs.
  const int64_t width = steps > 0 && cols % steps == 0 ? cols / steps : cols;
  if (steps == 0 && cols != 1 && cols != classes)
    throw Error("class_weight: balanced counts one label per sample, but the labels have shape " +
                shape_string(data.y.sample_shape()) + " per sample (labels per step, whose padding it cannot tell); "
                "give the weights explicitly (class_weights or class_weight_map)");
  if (width != 1 && width != classes)
    throw Error("class_weight: balanced: labels of shape " + shape_string(data.y.sample_shape()) +
                " per sample do not give one class index or one-hot row per step of the outputs " +
                shape_string(*out));
  const int64_t rows_per_sample = cols / width;
  // Labels per step: the step mask of the inputs, in batches (the masking layer's output is
  // (batch, steps, dim)), so that padding steps are not counted.
  Tensor real;
  if (steps > 0) {
    Tensor batch_mask;
    for (int64_t begin = 0; begin < n; begin += 1024) {
      const int64_t end = std::min(n, begin + 1024);
      if (!network->output_step_mask(data.x.rows(begin, end), batch_mask)) break;
      if (real.size() == 0) real = Tensor({n, steps});
      std::copy(batch_mask.data(), batch_mask.data() + batch_mask.size(), real.data() + begin * steps);
    }
  }
  std::vector<int64_t> labels;
  labels.reserve(static_cast<size_t>(n * rows_per_sample));
  for (int64_t r = 0; r < n * rows_per_sample; ++r) {
    if (real.size() > 0 && real[r] == 0.0f) continue;  // padding
    const float* row = data.y.data() + r * width;
    int64_t c;
    if (width == 1) c = classes == 2 && row[0] != std::floor(row[0]) ? (row[0] > 0.5f ? 1 : 0) : static_cast<int64_t>(row[0]);
    else c = std::max_element(row, row + width) - row;
    if (c < 0 || c >= classes)
      throw Error("training: class_weight: sample " + std::to_string(r / rows_per_sample) +
                  (rows_per_sample > 1 ? ", step " + std::to_string(r % rows_per_sample) : std::string()) +
                  " has class " + format_number(row[0]) + ", outside 0.." + std::to_string(classes - 1));
    labels.push_back(c);
  }
  return labels;
}

// Windows are checked where they come from: every series row some window reads (the view's
// transform only scales, centres and differences finite values).
void check_window_rows(const WindowView& w, const std::string& where) {
  if (w.ends.empty()) return;
  const auto [low, high] = std::minmax_element(w.ends.begin(), w.ends.end());
  const int64_t columns = w.columns(), first = *low - w.window, last = *high;
  if (first < 0 || last > w.values->batch())
    throw Error(where + ": windows reach rows " + std::to_string(first) + ".." + std::to_string(last) +
                " of a series of " + std::to_string(w.values->batch()) + " rows");
  const float* v = w.values->data() + first * columns;
  const int64_t count = (last - first) * columns;
  if (Eigen::Map<const Eigen::ArrayXf>(v, count).allFinite()) return;
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(v[i]))
      throw Error(where + ": series row " + std::to_string(first + i / columns) + " (0-based), column " +
                  std::to_string(i % columns) + " is " + format_number(v[i]) +
                  "; remove or impute non-finite values before training");
}

void check_dataset(const Dataset& data, const Network& network, const std::string& role) {
  const std::string where = data.source.empty() ? role : role + " (" + data.source + ")";
  if (data.size() != data.y.batch())
    throw Error(where + ": x has " + std::to_string(data.size()) + " samples but y has " +
                std::to_string(data.y.batch()));
  if (data.sample_shape() != network.input_shape())
    throw Error(where + ": samples have shape " + shape_string(data.sample_shape()) + " but the network expects " +
                shape_string(network.input_shape()));
  // Non-finite inputs would surface later as a diverged loss; say where they are instead.
  auto check_finite = [&](const Tensor& t, const char* what) {
    if (Eigen::Map<const Eigen::ArrayXf>(t.data(), t.size()).allFinite()) return;
    const float* v = t.data();
    const int64_t features = t.features();
    for (int64_t i = 0; i < t.size(); ++i) {
      if (!std::isfinite(v[i]))
        throw Error(where + ": " + what + " of sample " + std::to_string(i / features) + " (0-based), feature " +
                    std::to_string(i % features) + " is " + format_number(v[i]) +
                    "; remove or impute non-finite values before training");
    }
  };
  if (data.windowed()) check_window_rows(*data.windows, where);
  else check_finite(data.x, "x");
  check_finite(data.y, "y");
}

[[noreturn]] void diverged(const std::string& what, double value, int64_t epoch, int64_t batch, int64_t step,
                           double lr, const std::vector<float>& params) {
  // The checks before each update keep parameters finite; only an update that overflowed while
  // its gradient looked sane (an absurd lr with an adaptive optimiser) can break that.
  const bool params_finite =
      Eigen::Map<const Eigen::ArrayXf>(params.data(), static_cast<Eigen::Index>(params.size())).allFinite();
  throw DivergenceError("training diverged at epoch " + std::to_string(epoch) + ", step " + std::to_string(step) +
                        " (batch " + std::to_string(batch) + " of the epoch): " + what + " is " +
                        format_number(value) + ". The learning rate " + format_number(lr) +
                        " is most likely too high: try lr <= " + format_number(lr / 10) +
                        ", a warm-up, or clip_norm; also check that the inputs are scaled (e.g. scaler: standard)." +
                        (params_finite ? " The parameters are left as they were before this step."
                                       : " An earlier update already overflowed some parameters to infinity."));
}

// A batch into the metrics, scored as its loss was: a sequence output per (unmasked) step, as the
// rows of step_rows' last loss() call; any other output as it is.
void add_to_metrics(train_detail::MetricAccumulator& metrics, const StepRows& step_rows, const Tensor& output,
                    const Tensor& target, double loss) {
  if (StepRows::per_step(output))
    metrics.add(step_rows.output_rows(), step_rows.target_rows(), loss);
  else
    metrics.add(output, target, loss);
}

}  // namespace

History fit(Network& network, const Dataset& train, const Dataset* validation, const TrainConfig& config,
            const std::vector<Callback*>& callbacks) {
  check_config(config);
  // This thread's matrix products use the run's precision until fit returns (or throws).
  const ScopedGemmPrecision precision_scope(parse_gemm_precision(config.precision));
  // Subnormals flush to zero for the whole training on this thread: the optimiser updates, batch
  // norm, OpenBLAS and Eigen products, not only nntune's own GEMM kernel (simd.hpp says why).
  const simd::FlushSubnormals flush_subnormals;
  const GemmUsage usage_before = gemm_usage();
  if (!network.built()) throw Error("training: the network is not built; call build() with the input shape first");
  if (train.size() == 0) throw Error("training: the training data set is empty");
  check_dataset(train, network, "training data");
  if (const std::string problem = train_detail::augmentation_problem(config.augment, train.sample_shape());
      !problem.empty())
    throw Error("training: augment: " + problem);
  if (validation && validation->size() == 0) validation = nullptr;
  if (validation) check_dataset(*validation, network, "validation data");

  // `loss` scores (validation, metrics); `train_loss` is what the optimiser descends: the same
  // with the class weights and label smoothing, which must not change what validation measures.
  const std::unique_ptr<Loss> loss = make_loss(config.loss);
  const int64_t classes = loss->output_width(2, 1) == 1 ? 2 : network.output_shape().empty() ? 0 : network.output_shape().back();
  LossOptions loss_options;
  if (loss->is_classification()) loss_options.class_weights = resolve_class_weights(config, train, classes, &network);
  else if (config.class_weight != "none")
    throw Error("training: class_weight applies to classification; " + config.loss + " is a regression loss");
  loss_options.label_smoothing = config.label_smoothing;
  const std::unique_ptr<Loss> train_loss = make_loss(config.loss, loss_options);
  const std::unique_ptr<Optimizer> optimizer = make_optimizer(config.optimizer);
  const std::vector<std::string> extra_metrics = train_detail::requested_metrics(*loss, config.metrics, callbacks);

  const int64_t n = train.size();
  const int64_t batch_size = std::min(config.batch_size, n);
  const int64_t steps_per_epoch = (n + batch_size - 1) / batch_size;

  History history;
  TrainState state{network, config, history, 1.0, {}, {}};
  state.metric_names = train_detail::metric_names(*loss, validation != nullptr, extra_metrics);
  for (Callback* cb : callbacks) cb->on_train_begin(state);

  // Separate streams so that turning dropout on does not change the batch order.
  Rng shuffle_rng(config.seed);
  Rng dropout_rng(train_detail::derive_seed(config.seed, 1));
  Rng augment_rng(train_detail::derive_seed(config.seed, 2));
  ForwardContext ctx{true, &dropout_rng};

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Tensor batch_x, batch_y, grad_output;
  StepRows step_rows;  // sequence outputs: the loss and metrics per (unmasked) step
  std::vector<float>& params = network.parameters();
  std::vector<float>& grads = network.gradients();
  const int64_t num_params = network.num_params();
  train_detail::MetricAccumulator epoch_metrics(*loss, extra_metrics);

  int64_t step = 0;
  bool stop = false;
  for (int64_t epoch = 1; epoch <= config.epochs && !stop; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    if (config.shuffle) train_detail::shuffle_indices(order, shuffle_rng);
    epoch_metrics.reset();
    double lr = 0.0;
    for (int64_t batch = 0; batch < steps_per_epoch; ++batch, ++step) {
      const int64_t begin = batch * batch_size, end = std::min(n, begin + batch_size);
      train.gather_x(order, begin, end, batch_x);  // series windows: cut from the series here
      train.y.gather_into(order, begin, end, batch_y);
      train_detail::augment_images(batch_x, config.augment, augment_rng);
      lr = scheduled_lr(config.schedule, config.optimizer.lr, step, steps_per_epoch, config.epochs) * state.lr_factor;

      const Tensor& output = network.forward(batch_x, ctx);
      const double data_loss = step_rows.loss(*train_loss, output, batch_y, network.output_mask(), &grad_output);
      if (!std::isfinite(data_loss)) diverged("the loss", data_loss, epoch, batch + 1, step + 1, lr, params);
      network.backward(grad_output);
      const double penalty = network.apply_regularization();
      const double batch_loss = data_loss + penalty;
      if (!std::isfinite(batch_loss)) diverged("the loss with the L1/L2 penalty", batch_loss, epoch, batch + 1, step + 1, lr, params);

      // A NaN/inf gradient, or one so large that the update could overflow a parameter to
      // infinity, is caught here, before the optimiser touches the parameters. The squared norm
      // is summed in float on purpose: it is one vectorised pass, and a norm beyond ~1.8e19
      // (float overflow) is a diverged run whose next update could overflow.
      double grad_norm;
      if (config.clip_norm > 0.0) {
        grad_norm = clip_grad_norm(grads.data(), num_params, config.clip_norm);
        if (std::isfinite(grad_norm)) grad_norm = std::min(grad_norm, config.clip_norm);
      } else {
        grad_norm = std::sqrt(static_cast<double>(Eigen::Map<const Eigen::ArrayXf>(grads.data(), num_params).square().sum()));
      }
      if (!std::isfinite(grad_norm) || lr * grad_norm > kMaxUpdateNorm)
        diverged("the gradient norm", grad_norm, epoch, batch + 1, step + 1, lr, params);
      // Metrics from the training-mode output (Keras convention); backward leaves it intact.
      add_to_metrics(epoch_metrics, step_rows, output, batch_y, batch_loss);
      optimizer->step(params.data(), grads.data(), num_params, lr);

      bool batch_stop = false;
      for (Callback* cb : callbacks) batch_stop = cb->on_batch_end(state, epoch, batch, batch_loss) || batch_stop;
      if (batch_stop) {
        if (state.stop_reason.empty()) state.stop_reason = "stopped by a callback at epoch " + std::to_string(epoch) +
                                                           ", batch " + std::to_string(batch + 1);
        stop = true;
        break;
      }
    }

    EpochLog log;
    log.epoch = epoch;
    log.lr = lr;
    epoch_metrics.write(log.metrics, "");
    if (validation) {
      for (const auto& [key, value] : evaluate(network, *loss, *validation, 1024, extra_metrics))
        log.metrics["val_" + key] = value;
    }
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    history.epochs.push_back(log);
    if (stop) break;  // a partial epoch is logged but not reported as finished

    bool epoch_stop = false;
    for (Callback* cb : callbacks) epoch_stop = cb->on_epoch_end(state, history.epochs.back()) || epoch_stop;
    if (epoch_stop) {
      if (state.stop_reason.empty()) state.stop_reason = "stopped by a callback after epoch " + std::to_string(epoch);
      stop = true;
    }
  }
  for (Callback* cb : callbacks) cb->on_train_end(state);
  history.stop_reason = state.stop_reason;
  // Which kernels the products really ran on: bf16 only where it is faster on this CPU.
  history.precision_used = describe_gemm_usage(gemm_usage() - usage_before, gemm_precision());
  return history;
}

std::vector<double> resolve_class_weights(const TrainConfig& config, const Dataset& train, int64_t classes,
                                          Network* network) {
  if (config.class_weight == "none") return {};
  std::vector<double> weights(static_cast<size_t>(std::max<int64_t>(classes, 0)), 1.0);
  if (config.class_weight == "balanced") {
    const std::vector<int64_t> labels = class_labels(train, classes, network);
    std::vector<int64_t> count(weights.size(), 0);
    for (int64_t c : labels) ++count[static_cast<size_t>(c)];
    for (size_t c = 0; c < weights.size(); ++c) {
      if (count[c] == 0)
        throw Error("class_weight: balanced: class " + std::to_string(c) + " has no training sample, so its weight " +
                    "n / (classes * count) is undefined; give explicit weights or check the labels");
      weights[c] = static_cast<double>(labels.size()) / (static_cast<double>(classes) * static_cast<double>(count[c]));
    }
    return weights;
  }
  if (config.class_weight != "explicit")
    throw Error("training: class_weight = '" + config.class_weight + "' is invalid; allowed: none, balanced, explicit");
  if (!config.class_weights.empty()) {
    if (static_cast<int64_t>(config.class_weights.size()) != classes)
      throw Error("class_weight: " + std::to_string(config.class_weights.size()) + " weights listed but the model has " +
                  std::to_string(classes) + " classes; list one per class (0.." + std::to_string(classes - 1) +
                  ") or give a mapping {class: weight}");
    weights = config.class_weights;
  }
  for (const auto& [c, w] : config.class_weight_map) {
    if (c < 0 || c >= classes)
      throw Error("class_weight: class " + std::to_string(c) + " does not exist; the model has " +
                  std::to_string(classes) + " classes (0.." + std::to_string(classes - 1) + ")");
    weights[static_cast<size_t>(c)] = w;
  }
  return weights;
}

namespace train_detail {

MetricAccumulator evaluate_accumulate(Network& network, const Loss& loss, const Dataset& data, int64_t batch_size,
                                      const std::vector<std::string>& extra) {
  if (batch_size < 1) throw Error("evaluate: batch_size must be >= 1, got " + std::to_string(batch_size));
  if (data.size() == 0) throw Error("evaluate: the data set is empty");
  if (data.size() != data.y.batch())
    throw Error("evaluate: x has " + std::to_string(data.size()) + " samples but y has " +
                std::to_string(data.y.batch()));
  check_extra_metrics(loss, extra, "evaluate");
  const ForwardContext ctx{false, nullptr};
  MetricAccumulator metrics(loss, extra);
  const int64_t n = data.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Tensor batch_x, batch_y;
  StepRows step_rows;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    data.gather_x(order, begin, end, batch_x);
    data.y.gather_into(order, begin, end, batch_y);
    const Tensor& output = network.forward(batch_x, ctx);
    add_to_metrics(metrics, step_rows, output, batch_y,
                   step_rows.loss(loss, output, batch_y, network.output_mask(), nullptr));
  }
  return metrics;
}

MetricAccumulator evaluate_predictions_accumulate(const Loss& loss, const Tensor& predictions, const Tensor& targets,
                                                  const std::vector<std::string>& extra, const Tensor* step_mask) {
  if (predictions.batch() != targets.batch())
    throw Error("evaluate_predictions: " + std::to_string(predictions.batch()) + " predictions but " +
                std::to_string(targets.batch()) + " targets");
  if (predictions.batch() == 0) throw Error("evaluate_predictions: no predictions");
  // Back through the link, so the loss and the accuracy rule see what a network outputs:
  // log p for softmax (softmax(log p) = p), the logit for sigmoid, values as they are.
  Tensor output = predictions;
  loss.unlink(output);
  check_extra_metrics(loss, extra, "evaluate");
  MetricAccumulator metrics(loss, extra);
  // Sequences: per step, the real steps of the mask predict() gave (every step without one).
  StepRows step_rows;
  if (step_mask && step_mask->size() == 0) step_mask = nullptr;
  add_to_metrics(metrics, step_rows, output, targets, step_rows.loss(loss, output, targets, step_mask, nullptr));
  return metrics;
}

}  // namespace train_detail

Metrics evaluate(Network& network, const Loss& loss, const Dataset& data, int64_t batch_size,
                 const std::vector<std::string>& extra) {
  Metrics result;
  train_detail::evaluate_accumulate(network, loss, data, batch_size, extra).write(result, "");
  return result;
}

Metrics evaluate_predictions(const Loss& loss, const Tensor& predictions, const Tensor& targets,
                             const std::vector<std::string>& extra, const Tensor* step_mask) {
  Metrics result;
  train_detail::evaluate_predictions_accumulate(loss, predictions, targets, extra, step_mask).write(result, "");
  return result;
}

}  // namespace nntune
