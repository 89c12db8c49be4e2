#pragma once
// Finite-difference gradient checks (central differences, loss accumulated in double) for
// layers and losses, in the spirit of dlib's test_layer and mlpack's CheckGradient. A layer is
// not done until these pass on it.
//
// Layers: the scalar is a random projection L = sum_i r_i * out_i (r ~ N(0, 1), fixed), so
// dL/dout = r and every output element takes part. The checker compares the layer's backward
// (input gradient and every parameter block) against (L(x + h) - L(x - h)) / 2h.
//
// Points where a piecewise-linear function (relu, leaky_relu, dropout...) has a kink within h
// give a meaningless central difference; they are recognised because the two one-sided
// differences disagree, skipped, and counted (a check fails if too many are skipped).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nntune/layer.hpp"
#include "nntune/loss.hpp"
#include "nntune/tensor.hpp"

namespace nntune::testing {

struct GradCheckOptions {
  double step = 1e-3;           // h, on float32 values of order 1
  double rtol = 1e-2;           // relative to max(|analytic|, |numeric|) of the element
  double atol = 1e-3;           // relative to the largest gradient magnitude in the block
  double kink_tolerance = 2e-2; // |right - left one-sided difference| above this (scaled) = a kink
  double max_skipped_fraction = 0.1;
  bool training = true;         // ForwardContext::training for layer checks
  uint64_t seed = 1234;         // the rng handed to every forward pass (same dropout mask each time)
  const Tensor* mask = nullptr; // the step mask handed to every forward pass (ForwardContext::mask)
  bool check_input = true;      // false for inputs that are not differentiable (token ids)
};

struct BlockCheck {
  std::string name;  // "input", "weight", "bias", "gamma", "beta", "output"
  int64_t checked = 0, skipped = 0, failed = 0;
  double max_abs_error = 0.0, max_rel_error = 0.0;
  std::string first_failure;
};

struct GradCheckReport {
  std::vector<BlockCheck> blocks;
  std::string notes;  // problems that are not per-element (e.g. backward did not overwrite)

  bool passed(const GradCheckOptions& options = {}) const {
    if (!notes.empty()) return false;
    for (const BlockCheck& b : blocks) {
      if (b.failed > 0 || b.checked == 0) return false;
      if (static_cast<double>(b.skipped) > options.max_skipped_fraction * static_cast<double>(b.checked + b.skipped))
        return false;
    }
    return !blocks.empty();
  }

  std::string summary() const {
    std::ostringstream out;
    for (const BlockCheck& b : blocks) {
      out << b.name << ": " << b.checked << " checked, " << b.skipped << " kinks skipped, " << b.failed
          << " failed, max abs err " << b.max_abs_error << ", max rel err " << b.max_rel_error;
      if (!b.first_failure.empty()) out << " (first failure: " << b.first_failure << ")";
      out << "\n";
    }
    out << notes;
    return out.str();
  }
};

// Owns the flat parameter/gradient buffers a Network would give the layer.
struct BoundLayer {
  std::unique_ptr<Layer> layer;
  std::vector<float> values, grads;
  Shape output_sample_shape;

  BoundLayer(std::unique_ptr<Layer> l, const Shape& input_sample_shape, uint64_t seed = 42) : layer(std::move(l)) {
    output_sample_shape = layer->build(input_sample_shape);
    int64_t total = 0;
    for (const ParamBlock& b : layer->params()) total += b.size;
    values.assign(static_cast<size_t>(total), 0.0f);
    grads.assign(static_cast<size_t>(total), 0.0f);
    int64_t offset = 0;
    for (ParamBlock& b : layer->params()) {
      b.value = values.data() + offset;
      b.grad = grads.data() + offset;
      offset += b.size;
    }
    Rng rng(seed);
    layer->init_params(rng);
  }
  Layer* operator->() { return layer.get(); }
};

namespace detail {

// Standard normals from the seed (Box-Muller on the Mersenne twister; portable).
inline std::vector<double> normal_values(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> out(static_cast<size_t>(count));
  for (auto& v : out) {
    const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    v = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  return out;
}

// Compares analytic[i] against the numeric derivative of f w.r.t. *x[i] for every element.
template <typename Scalar>
BlockCheck check_block(const std::string& name, float* x, int64_t size, const std::vector<double>& analytic,
                       Scalar&& f, const GradCheckOptions& opt) {
  BlockCheck check;
  check.name = name;
  const double h = opt.step;
  std::vector<double> numeric(static_cast<size_t>(size)), kink(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    const float original = x[i];
    const double f0 = f();
    x[i] = static_cast<float>(original + h);
    const double plus_step = static_cast<double>(x[i]) - original;  // the step float actually took
    const double f_plus = f();
    x[i] = static_cast<float>(original - h);
    const double minus_step = original - static_cast<double>(x[i]);
    const double f_minus = f();
    x[i] = original;
    const double right = (f_plus - f0) / plus_step, left = (f0 - f_minus) / minus_step;
    numeric[static_cast<size_t>(i)] = (f_plus - f_minus) / (plus_step + minus_step);
    kink[static_cast<size_t>(i)] = std::fabs(right - left);
  }
  double scale = 0.0;
  for (int64_t i = 0; i < size; ++i)
    scale = std::max({scale, std::fabs(analytic[static_cast<size_t>(i)]), std::fabs(numeric[static_cast<size_t>(i)])});
  scale = std::max(scale, 1e-12);
  for (int64_t i = 0; i < size; ++i) {
    const double a = analytic[static_cast<size_t>(i)], n = numeric[static_cast<size_t>(i)];
    if (kink[static_cast<size_t>(i)] > opt.kink_tolerance * std::max(scale, 1.0)) {
      ++check.skipped;
      continue;
    }
    ++check.checked;
    const double err = std::fabs(a - n);
    const double rel = err / std::max({std::fabs(a), std::fabs(n), opt.atol * scale});
    check.max_abs_error = std::max(check.max_abs_error, err);
    check.max_rel_error = std::max(check.max_rel_error, rel);
    if (err > opt.rtol * std::max(std::fabs(a), std::fabs(n)) + opt.atol * scale) {
      if (check.failed++ == 0) {
        std::ostringstream out;
        out << name << "[" << i << "] analytic " << a << " vs numeric " << n;
        check.first_failure = out.str();
      }
    }
  }
  return check;
}

}  // namespace detail

// Checks dLoss/dInput and every parameter block of a built, bound layer on `input`.
inline GradCheckReport check_layer_gradients(Layer& layer, Tensor input, const GradCheckOptions& opt = {}) {
  GradCheckReport report;
  Tensor out;
  auto run_forward = [&](Tensor& result) {
    Rng rng(opt.seed);  // a fresh generator per pass: dropout draws the same mask every time
    ForwardContext ctx;
    ctx.training = opt.training;
    ctx.rng = &rng;
    ctx.mask = opt.mask;
    layer.forward(input, result, ctx);
  };
  run_forward(out);
  const std::vector<double> projection = detail::normal_values(out.size(), opt.seed + 1);
  Tensor grad_out(out.shape());
  for (int64_t i = 0; i < out.size(); ++i) grad_out[i] = static_cast<float>(projection[static_cast<size_t>(i)]);

  // Analytic gradients. Parameter gradients start as garbage: backward must overwrite them.
  for (ParamBlock& b : layer.params()) std::fill(b.grad, b.grad + b.size, 12345.0f);
  Tensor grad_in;
  layer.backward(input, out, grad_out, &grad_in);
  std::vector<std::vector<double>> param_grads;
  for (const ParamBlock& b : layer.params()) param_grads.emplace_back(b.grad, b.grad + b.size);
  if (grad_in.shape() != input.shape())
    report.notes += "grad_in has shape " + shape_string(grad_in.shape()) + ", input " + shape_string(input.shape()) + "\n";

  // Skipping the input gradient (the first layer of a network) must not change the rest.
  run_forward(out);
  layer.backward(input, out, grad_out, nullptr);
  for (size_t k = 0; k < layer.params().size(); ++k) {
    const ParamBlock& b = layer.params()[k];
    for (int64_t j = 0; j < b.size; ++j)
      if (static_cast<double>(b.grad[j]) != param_grads[k][static_cast<size_t>(j)]) {
        report.notes += b.name + " gradient differs when grad_in is null\n";
        break;
      }
  }

  Tensor probe;
  auto projected = [&]() {
    run_forward(probe);
    double total = 0.0;
    for (int64_t i = 0; i < probe.size(); ++i) total += projection[static_cast<size_t>(i)] * probe[i];
    return total;
  };
  std::vector<double> input_grad(grad_in.data(), grad_in.data() + std::min(grad_in.size(), input.size()));
  input_grad.resize(static_cast<size_t>(input.size()), 0.0);
  if (opt.check_input)
    report.blocks.push_back(detail::check_block("input", input.data(), input.size(), input_grad, projected, opt));
  for (size_t k = 0; k < layer.params().size(); ++k) {
    ParamBlock& b = layer.params()[k];
    report.blocks.push_back(detail::check_block(b.name, b.value, b.size, param_grads[k], projected, opt));
  }
  return report;
}

// Checks a loss's dLoss/dOutput.
inline GradCheckReport check_loss_gradient(const Loss& loss, Tensor output, const Tensor& target,
                                           const GradCheckOptions& opt = {}) {
  GradCheckReport report;
  Tensor grad;
  loss.forward_backward(output, target, &grad);
  if (grad.shape() != output.shape())
    report.notes += "gradient has shape " + shape_string(grad.shape()) + ", output " + shape_string(output.shape()) + "\n";
  std::vector<double> analytic(grad.data(), grad.data() + std::min(grad.size(), output.size()));
  analytic.resize(static_cast<size_t>(output.size()), 0.0);
  auto value = [&]() { return loss.forward_backward(output, target, nullptr); };
  report.blocks.push_back(detail::check_block("output", output.data(), output.size(), analytic, value, opt));
  return report;
}

// A tensor of N(0, scale^2) values, the same for the same seed.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Tensor t(shape);
  const std::vector<double> v = detail::normal_values(t.size(), seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(scale * v[static_cast<size_t>(i)]);
  return t;
}

// The gradient check of a bound layer as a gtest expectation, with the numbers in the log.
inline void expect_gradients_ok(Layer& layer, const Tensor& input, const GradCheckOptions& options = {}) {
  const GradCheckReport report = check_layer_gradients(layer, input, options);
  EXPECT_TRUE(report.passed(options)) << layer.config().dump() << "\n" << report.summary();
  std::cout << layer.config().dump() << "\n" << report.summary();
}

}  // namespace nntune::testing
