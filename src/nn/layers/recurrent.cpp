// The step loop and backpropagation through time shared by rnn, lstm and gru (recurrent.hpp).
#include "nn/layers/recurrent.hpp"

#include <algorithm>
#include <cstring>

#include "nn/gemm.hpp"
#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/stack.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

// (a, b, width) rows in a-major order -> b-major: out[(j * a + i) * width] = in[(i * b + j) * width].
void swap_leading_axes(const float* in, int64_t a, int64_t b, int64_t width, float* out) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(out + (j * a + i) * width, in + (i * b + j) * width, sizeof(float) * static_cast<size_t>(width));
}

}  // namespace

std::vector<schema::Field> recurrent_keys() {
  using namespace schema;
  return {
      req("units", integer(1.0), "size of the hidden state (the output per step)"),
      opt("return_sequences", boolean(), false,
          "output every step's hidden state, shape (steps, units), instead of only the last step's (units)"),
      opt("kernel_init", initializer_node(), "xavier_uniform", "initialiser of the input weights (features x gates*units)"),
      opt("recurrent_init", initializer_node(), "orthogonal",
          "initialiser of the recurrent weights (units x gates*units)"),
      opt("bias_init", initializer_node(), "zeros", "bias initialiser"),
      opt("bidirectional", boolean(), false,
          "also run a second layer of the same kind over the reversed sequence (its own weights) and merge the two"),
      opt("merge", one_of_names("merge", {"concat", "sum"}), "concat",
          "bidirectional only: concatenate the two directions' states (2 x units per step) or add them (units)"),
      opt("layers", integer(1.0), 1,
          "stack this many layers of this kind, each over the previous one's sequence (PyTorch's num_layers)"),
      opt("dropout", real(0.0, false, 1.0, true), 0.0,
          "dropout between stacked layers (PyTorch's meaning; not Keras' input dropout); needs layers >= 2"),
  };
}

std::unique_ptr<Layer> stacked_recurrent(const nlohmann::json& config, const ConfigReader& reader,
                                         const std::string& type) {
  const int64_t layers = reader.integer("layers");
  const double dropout = reader.number("dropout");
  if (layers == 1) {
    if (dropout > 0.0)
      reader.fail("dropout", "applies between stacked layers and there is one (layers: 1); stack them (layers: 2 or "
                             "more) or put a {type: dropout} layer after this one");
    return nullptr;
  }
  std::vector<std::unique_ptr<Layer>> children;
  nlohmann::json one = config;
  one.erase("layers");
  one.erase("dropout");
  one["type"] = type;
  for (int64_t i = 0; i < layers; ++i) {
    // Every layer but the last hands its whole sequence to the next.
    one["return_sequences"] = i + 1 < layers || config.value("return_sequences", false);
    children.push_back(make_layer(one));
    if (dropout > 0.0 && i + 1 < layers) children.push_back(make_layer({{"type", "dropout"}, {"rate", dropout}}));
  }
  nlohmann::json stack_config = children.front()->config();
  stack_config["return_sequences"] = config.value("return_sequences", false);
  stack_config["layers"] = layers;
  stack_config["dropout"] = dropout;
  return make_stack(type, std::move(stack_config), std::move(children));
}

RecurrentOptions read_recurrent_options(const ConfigReader& reader) {
  RecurrentOptions o;
  o.units = reader.integer("units");
  o.return_sequences = reader.boolean("return_sequences");
  o.kernel_init = reader.initializer("kernel_init", Initializer{"xavier_uniform"});
  o.recurrent_init = reader.initializer("recurrent_init", Initializer{"orthogonal"});
  o.bias_init = reader.initializer("bias_init", Initializer{});
  o.bidirectional = reader.boolean("bidirectional");
  o.merge_sum = reader.choice("merge") == "sum";
  if (reader.has("merge") && !o.bidirectional) reader.fail("merge", "applies only with bidirectional: true");
  return o;
}

nlohmann::json recurrent_config(const std::string& type, const RecurrentOptions& o) {
  nlohmann::json c = {{"type", type},
          {"units", o.units},
          {"return_sequences", o.return_sequences},
          {"kernel_init", initializer_config(o.kernel_init)},
          {"recurrent_init", initializer_config(o.recurrent_init)},
          {"bias_init", initializer_config(o.bias_init)},
          {"bidirectional", o.bidirectional}};
  if (o.bidirectional) c["merge"] = o.merge_sum ? "sum" : "concat";
  return c;
}

Recurrent::Recurrent(std::string type, int64_t gates, RecurrentOptions options, bool separate_recurrent)
    : type_(std::move(type)), gates_(gates), options_(std::move(options)), separate_recurrent_(separate_recurrent) {}

Shape Recurrent::build(const Shape& input_sample_shape) {
  if (input_sample_shape.size() != 2) {
    std::string hint = "; give sequences, e.g. .npy features of shape (N, steps, features)";
    if (input_sample_shape.size() == 1)
      hint = "; to read flat samples as sequences put {type: reshape, shape: [steps, features]} before it";
    else if (input_sample_shape.size() == 3)
      hint = "; images of shape (height, width, 1) read as height steps of width features after "
             "{type: reshape, shape: [height, width]}";
    throw Error(type_ + " layer: needs sequences, samples of shape (steps, features), but gets samples of shape " +
                shape_string(input_sample_shape) + hint);
  }
  steps_ = input_sample_shape[0];
  features_ = input_sample_shape[1];
  const int64_t h = options_.units, width = gates_ * h;
  params_.clear();
  params_.push_back({"weight", features_ * width, true});
  params_.push_back({"recurrent_weight", h * width, true});
  params_.push_back({"bias", width, false});
  if (separate_recurrent_) params_.push_back({"recurrent_bias", width, false});
  own_params_ = params_.size();
  if (options_.bidirectional) {
    // The reverse direction is a twin layer whose blocks follow this one's ("reverse_weight", ...).
    reverse_ = make_twin();
    reverse_->build(input_sample_shape);
    for (const ParamBlock& b : reverse_->params()) params_.push_back({"reverse_" + b.name, b.size, b.is_weight});
  }
  const int64_t out_width = options_.bidirectional && !options_.merge_sum ? 2 * h : h;
  if (options_.return_sequences) return {steps_, out_width};
  return {out_width};
}

void Recurrent::init_params(Rng& rng) {
  const int64_t h = options_.units, width = gates_ * h;
  initialize(options_.kernel_init, params_[0].value, params_[0].size, features_, width, rng);
  initialize(options_.recurrent_init, params_[1].value, params_[1].size, h, width, rng);
  for (size_t b = 2; b < own_params_; ++b)
    initialize(options_.bias_init, params_[b].value, params_[b].size, features_, width, rng);
  if (reverse_) {
    bind_reverse();
    reverse_->init_params(rng);
  }
}

void Recurrent::bind_reverse() {
  for (size_t k = 0; k < reverse_->params().size(); ++k) {
    reverse_->params()[k].value = params_[own_params_ + k].value;
    reverse_->params()[k].grad = params_[own_params_ + k].grad;
  }
}

namespace {

// out (n, steps, width) = in with its steps in reverse order.
void reverse_steps(const Tensor& in, Tensor& out) {
  out.resize(in.shape());
  const int64_t n = in.batch(), steps = in.shape()[1], width = in.size() / std::max<int64_t>(1, n * steps);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < steps; ++t)
      std::memcpy(out.data() + (i * steps + t) * width, in.data() + (i * steps + steps - 1 - t) * width,
                  sizeof(float) * static_cast<size_t>(width));
}

}  // namespace

void Recurrent::forward(const Tensor& in, Tensor& out, const ForwardContext& ctx) {
  masked_pass_ = ctx.mask != nullptr;
  if (masked_pass_) return forward_masked(in, *ctx.mask, out);
  if (!reverse_) return forward_one(in, out);
  bind_reverse();
  forward_one(in, forward_out_);
  reverse_steps(in, reverse_in_);
  reverse_->forward(reverse_in_, reverse_out_, ctx);
  const int64_t h = options_.units, rows = forward_out_.size() / h;  // n, or n * steps with return_sequences
  const bool sequences = options_.return_sequences;
  Shape shape = forward_out_.shape();
  if (!options_.merge_sum) shape.back() = 2 * h;
  out.resize(shape);
  for (int64_t r = 0; r < rows; ++r) {
    // The reverse direction's step t of the original order is its own step steps-1-t.
    const int64_t i = r / (sequences ? steps_ : 1), t = r % (sequences ? steps_ : 1);
    const float* f = forward_out_.data() + r * h;
    const float* b = reverse_out_.data() + (sequences ? i * steps_ + steps_ - 1 - t : i) * h;
    float* o = out.data() + r * (options_.merge_sum ? h : 2 * h);
    if (options_.merge_sum) {
      for (int64_t j = 0; j < h; ++j) o[j] = f[j] + b[j];
    } else {
      std::memcpy(o, f, sizeof(float) * static_cast<size_t>(h));
      std::memcpy(o + h, b, sizeof(float) * static_cast<size_t>(h));
    }
  }
}

void Recurrent::backward(const Tensor& in, const Tensor& out, const Tensor& grad_out, Tensor* grad_in) {
  if (masked_pass_) return backward_masked(in, grad_out, grad_in);
  if (!reverse_) return backward_one(in, grad_out, grad_in);
  bind_reverse();
  const int64_t h = options_.units, rows = forward_out_.size() / h;
  const bool sequences = options_.return_sequences;
  grad_forward_.resize(forward_out_.shape());
  grad_reverse_.resize(reverse_out_.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / (sequences ? steps_ : 1), t = r % (sequences ? steps_ : 1);
    const float* g = grad_out.data() + r * (options_.merge_sum ? h : 2 * h);
    std::memcpy(grad_forward_.data() + r * h, g, sizeof(float) * static_cast<size_t>(h));
    std::memcpy(grad_reverse_.data() + (sequences ? i * steps_ + steps_ - 1 - t : i) * h,
                g + (options_.merge_sum ? 0 : h), sizeof(float) * static_cast<size_t>(h));
  }
  backward_one(in, grad_forward_, grad_in);
  reverse_->backward(reverse_in_, reverse_out_, grad_reverse_, grad_in ? &grad_reverse_in_ : nullptr);
  if (grad_in) {
    reverse_steps(grad_reverse_in_, reverse_in_grad_);
    float* gi = grad_in->data();
    const float* gr = reverse_in_grad_.data();
    for (int64_t k = 0; k < grad_in->size(); ++k) gi[k] += gr[k];
  }
}

void Recurrent::forward_one(const Tensor& in, Tensor& out) {
  const int64_t n = in.batch(), steps = steps_, h = options_.units, width = gates_ * h;
  const int64_t rows = steps * n;
  prepare(steps, n);
  xt_.resize({rows, features_});
  swap_leading_axes(in.data(), n, steps, features_, xt_.data());
  // The input side of every step in one product, z = x * W; the cells add the biases in their
  // element-wise pass (a separate pass over z would move T*N*G*H floats once more).
  z_.resize({rows, width});
  gemm(false, false, rows, width, features_, 1.0f, xt_.data(), features_, params_[0].value, width, 0.0f, z_.data(),
       width);
  if (separate_recurrent_) r_.resize({rows, width});
  hs_.resize({(steps + 1) * n, h});
  std::fill(hs_.data(), hs_.data() + n * h, 0.0f);
  const float* u = params_[1].value;
  for (int64_t t = 0; t < steps; ++t) {
    float* z = z_.data() + t * n * width;
    const float* h_prev = hs_.data() + t * n * h;
    float* r = nullptr;
    if (separate_recurrent_) {
      r = r_.data() + t * n * width;
      if (t > 0) gemm(false, false, n, width, h, 1.0f, h_prev, h, u, width, 0.0f, r, width);
      else std::fill(r, r + n * width, 0.0f);
    } else if (t > 0) {  // h_{-1} = 0
      gemm(false, false, n, width, h, 1.0f, h_prev, h, u, width, 1.0f, z, width);
    }
    step_forward(t, n, z, r, h_prev, hs_.data() + (t + 1) * n * h);
  }
  if (sequences_out()) {
    out.resize({n, steps, h});
    swap_leading_axes(hs_.data() + n * h, steps, n, h, out.data());
  } else {
    out.resize({n, h});
    std::memcpy(out.data(), hs_.data() + steps * n * h, sizeof(float) * static_cast<size_t>(n * h));
  }
}

void Recurrent::backward_one(const Tensor& in, const Tensor& grad_out, Tensor* grad_in) {
  const int64_t n = in.batch(), steps = steps_, h = options_.units, width = gates_ * h;
  const int64_t rows = steps * n;
  dz_.resize({rows, width});
  if (separate_recurrent_) dr_.resize({rows, width});
  dh_.resize({n, h});
  dh_prev_.resize({n, h});
  // U^T (G*H x H), once per batch: each step's dh_{t-1} = dr_t * U^T then reads an untransposed
  // matrix, which the GEMM packs with row copies instead of a gather every step.
  ut_.resize({width, h});
  const float* u = params_[1].value;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < width; ++j) ut_.data()[j * h + i] = u[i * width + j];
  const float* g = grad_out.data();
  for (int64_t t = steps - 1; t >= 0; --t) {
    // dLoss/dh_t: from the output at this step plus, after the last step, from step t+1.
    float* dh = dh_.data();
    const bool later = t < steps - 1;
    for (int64_t i = 0; i < n; ++i) {
      float* row = dh + i * h;
      const float* from_next = dh_prev_.data() + i * h;
      const float* from_out = sequences_out() ? g + (i * steps + t) * h : (t == steps - 1 ? g + i * h : nullptr);
      if (from_out && later) {
        for (int64_t j = 0; j < h; ++j) row[j] = from_out[j] + from_next[j];
      } else if (from_out) {
        std::memcpy(row, from_out, sizeof(float) * static_cast<size_t>(h));
      } else if (later) {
        std::memcpy(row, from_next, sizeof(float) * static_cast<size_t>(h));
      } else {
        std::fill(row, row + h, 0.0f);
      }
    }
    const int64_t at = t * n * width;
    float* dz = dz_.data() + at;
    float* dr = separate_recurrent_ ? dr_.data() + at : dz;
    const bool direct = step_backward(t, n, z_.data() + at, separate_recurrent_ ? r_.data() + at : nullptr,
                                      hs_.data() + t * n * h, hs_.data() + (t + 1) * n * h, dh, dz, dr,
                                      dh_prev_.data());
    // h_{-1} is a constant: nothing flows from step 0 further back.
    if (t > 0) gemm(false, false, n, h, width, 1.0f, dr, width, ut_.data(), h, direct ? 1.0f : 0.0f, dh_prev_.data(), h);
  }
  // dU = sum_t h_{t-1}^T * dr_t (block 0 of hs is the zero initial state), dW = x^T * dz.
  const float* dr_all = separate_recurrent_ ? dr_.data() : dz_.data();
  gemm(true, false, h, width, rows, 1.0f, hs_.data(), h, dr_all, width, 0.0f, params_[1].grad, width);
  gemm(true, false, features_, width, rows, 1.0f, xt_.data(), features_, dz_.data(), width, 0.0f, params_[0].grad,
       width);
  column_sums(dz_.data(), rows, width, params_[2].grad);
  if (separate_recurrent_) column_sums(dr_.data(), rows, width, params_[3].grad);
  if (grad_in) {
    dxt_.resize({rows, features_});
    gemm(false, true, rows, features_, width, 1.0f, dz_.data(), width, params_[0].value, width, 0.0f, dxt_.data(),
         features_);
    grad_in->resize(in.shape());
    swap_leading_axes(dxt_.data(), steps, n, features_, grad_in->data());
  }
}

void Recurrent::forward_masked(const Tensor& in, const Tensor& mask, Tensor& out) {
  const int64_t n = in.batch(), steps = steps_, f = features_, h = options_.units;
  if (mask.size() != n * steps)
    throw Error(type_ + " layer: the step mask holds " + std::to_string(mask.size()) + " values for " +
                std::to_string(n) + " sequences of " + std::to_string(steps) + " steps (a bug upstream)");
  positions_.assign(static_cast<size_t>(n * steps), -1);
  lengths_.assign(static_cast<size_t>(n), 0);
  packed_in_.resize(in.shape());
  packed_in_.set_zero();
  const size_t row = sizeof(float) * static_cast<size_t>(f);
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = 0;
    for (int64_t t = 0; t < steps; ++t) {
      if (mask.data()[i * steps + t] == 0.0f) continue;
      positions_[static_cast<size_t>(i * steps + k)] = t;
      std::memcpy(packed_in_.data() + (i * steps + k) * f, in.data() + (i * steps + t) * f, row);
      ++k;
    }
    lengths_[static_cast<size_t>(i)] = k;
  }
  all_steps_ = true;
  forward_one(packed_in_, packed_out_);
  all_steps_ = false;
  if (reverse_) {
    // The reverse direction reads each sequence's real steps last to first.
    bind_reverse();
    reverse_packed_in_.resize(in.shape());
    reverse_packed_in_.set_zero();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t len = lengths_[static_cast<size_t>(i)];
      for (int64_t k = 0; k < len; ++k)
        std::memcpy(reverse_packed_in_.data() + (i * steps + k) * f, packed_in_.data() + (i * steps + len - 1 - k) * f,
                    row);
    }
    reverse_->all_steps_ = true;
    reverse_->forward_one(reverse_packed_in_, reverse_packed_out_);
    reverse_->all_steps_ = false;
  }
  const bool concat = reverse_ && !options_.merge_sum;
  const int64_t width = concat ? 2 * h : h;
  // Writes the merged state of sequence i's k-th real step to o.
  auto merged = [&](int64_t i, int64_t k, int64_t len, float* o) {
    const float* fw = packed_out_.data() + (i * steps + k) * h;
    std::memcpy(o, fw, sizeof(float) * static_cast<size_t>(h));
    if (!reverse_) return;
    const float* bw = reverse_packed_out_.data() + (i * steps + len - 1 - k) * h;
    if (concat) std::memcpy(o + h, bw, sizeof(float) * static_cast<size_t>(h));
    else for (int64_t j = 0; j < h; ++j) o[j] += bw[j];
  };
  if (options_.return_sequences) {
    out.resize({n, steps, width});
    out.set_zero();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t len = lengths_[static_cast<size_t>(i)];
      for (int64_t k = 0; k < len; ++k)
        merged(i, k, len, out.data() + (i * steps + positions_[static_cast<size_t>(i * steps + k)]) * width);
    }
  } else {
    out.resize({n, width});
    out.set_zero();  // a sequence with no real step keeps the zero initial state
    for (int64_t i = 0; i < n; ++i) {
      const int64_t len = lengths_[static_cast<size_t>(i)];
      if (len == 0) continue;
      // The forward state after the last real step; the reverse one's after the first.
      std::memcpy(out.data() + i * width, packed_out_.data() + (i * steps + len - 1) * h,
                  sizeof(float) * static_cast<size_t>(h));
      if (!reverse_) continue;
      const float* bw = reverse_packed_out_.data() + (i * steps + len - 1) * h;
      float* o = out.data() + i * width;
      if (concat) std::memcpy(o + h, bw, sizeof(float) * static_cast<size_t>(h));
      else for (int64_t j = 0; j < h; ++j) o[j] += bw[j];
    }
  }
}

void Recurrent::backward_masked(const Tensor& in, const Tensor& grad_out, Tensor* grad_in) {
  const int64_t n = in.batch(), steps = steps_, f = features_, h = options_.units;
  const bool concat = reverse_ && !options_.merge_sum;
  const int64_t width = concat ? 2 * h : h;
  packed_grad_.resize({n, steps, h});
  packed_grad_.set_zero();
  if (reverse_) {
    reverse_packed_grad_.resize({n, steps, h});
    reverse_packed_grad_.set_zero();
  }
  // Each output's gradient back to the packed step (and reverse step) it came from.
  auto route = [&](const float* g, int64_t i, int64_t forward_step, int64_t reverse_step) {
    float* fw = packed_grad_.data() + (i * steps + forward_step) * h;
    for (int64_t j = 0; j < h; ++j) fw[j] += g[j];
    if (!reverse_) return;
    float* bw = reverse_packed_grad_.data() + (i * steps + reverse_step) * h;
    const float* gb = concat ? g + h : g;
    for (int64_t j = 0; j < h; ++j) bw[j] += gb[j];
  };
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = lengths_[static_cast<size_t>(i)];
    if (options_.return_sequences) {
      for (int64_t k = 0; k < len; ++k)
        route(grad_out.data() + (i * steps + positions_[static_cast<size_t>(i * steps + k)]) * width, i, k,
              len - 1 - k);
    } else if (len > 0) {
      route(grad_out.data() + i * width, i, len - 1, len - 1);
    }
  }
  all_steps_ = true;
  backward_one(packed_in_, packed_grad_, grad_in ? &packed_in_grad_ : nullptr);
  all_steps_ = false;
  if (reverse_) {
    bind_reverse();
    reverse_->all_steps_ = true;
    reverse_->backward_one(reverse_packed_in_, reverse_packed_grad_, grad_in ? &reverse_packed_in_grad_ : nullptr);
    reverse_->all_steps_ = false;
  }
  if (!grad_in) return;
  grad_in->resize(in.shape());
  grad_in->set_zero();  // padded steps do not reach the output
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = lengths_[static_cast<size_t>(i)];
    for (int64_t k = 0; k < len; ++k) {
      float* gi = grad_in->data() + (i * steps + positions_[static_cast<size_t>(i * steps + k)]) * f;
      const float* gf = packed_in_grad_.data() + (i * steps + k) * f;
      for (int64_t j = 0; j < f; ++j) gi[j] += gf[j];
      if (!reverse_) continue;
      const float* gb = reverse_packed_in_grad_.data() + (i * steps + len - 1 - k) * f;
      for (int64_t j = 0; j < f; ++j) gi[j] += gb[j];
    }
  }
}

}  // namespace nntune::layers
