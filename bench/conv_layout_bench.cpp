// The measurement behind conv2d's memory layout (docs/architecture.md): one 3x3 "same"
// convolution, forward and backward (weights and input), at batch 128, on the two layers of the
// Fashion-MNIST CNN, lowered to GEMMs in two ways through the same nntune::gemm seam:
//   NHWC (what conv2d does): im2col of a chunk of samples, rows = pixels, one product
//        (pixels x kh*kw*C) * (kh*kw*C x F) whose output rows are already NHWC;
//   NCHW (Caffe / PyTorch's slow_conv2d): per sample, col = (C*kh*kw x pixels) and
//        out = W (F x C*kh*kw) * col, an F x pixels product per sample.
// Usage: conv_layout_bench [REPEATS] (default 20); prints ms per batch and GFLOP/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "nn/gemm.hpp"
#include "nntune/layer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape4 {
  int64_t n, h, w, c, f;  // 3x3 kernel, stride 1, padding 1
};

// Caffe-style per-sample NCHW convolution, forward and backward.
class NchwConv {
 public:
  explicit NchwConv(Shape4 s) : s_(s), k_(s.c * 9), p_(s.h * s.w) {
    weight_.assign(static_cast<size_t>(s.f * k_), 0.01f);
    weight_grad_.resize(weight_.size());
    bias_.assign(static_cast<size_t>(s.f), 0.1f);
    col_.resize(static_cast<size_t>(k_ * p_));
  }

  void forward(const float* in, float* out) {
    for (int64_t n = 0; n < s_.n; ++n) {
      im2col(in + n * s_.c * p_);
      float* o = out + n * s_.f * p_;
      nntune::gemm(false, false, s_.f, p_, k_, 1.0f, weight_.data(), k_, col_.data(), p_, 0.0f, o, p_);
      for (int64_t f = 0; f < s_.f; ++f)
        for (int64_t p = 0; p < p_; ++p) o[f * p_ + p] += bias_[static_cast<size_t>(f)];
    }
  }

  void backward(const float* in, const float* grad_out, float* grad_in) {
    for (int64_t n = 0; n < s_.n; ++n) {
      im2col(in + n * s_.c * p_);
      const float* g = grad_out + n * s_.f * p_;
      // dW (F x K) += dz (F x P) * col^T (P x K)
      nntune::gemm(false, true, s_.f, k_, p_, 1.0f, g, p_, col_.data(), p_, n == 0 ? 0.0f : 1.0f,
                   weight_grad_.data(), k_);
      // dcol (K x P) = W^T (K x F) * dz (F x P), then col2im
      nntune::gemm(true, false, k_, p_, s_.f, 1.0f, weight_.data(), k_, g, p_, 0.0f, col_.data(), p_);
      col2im(grad_in + n * s_.c * p_);
    }
  }

 private:
  void im2col(const float* image) {
    float* dst = col_.data();
    for (int64_t c = 0; c < s_.c; ++c)
      for (int64_t ky = 0; ky < 3; ++ky)
        for (int64_t kx = 0; kx < 3; ++kx)
          for (int64_t y = 0; y < s_.h; ++y) {
            const int64_t iy = y + ky - 1;
            for (int64_t x = 0; x < s_.w; ++x, ++dst) {
              const int64_t ix = x + kx - 1;
              *dst = (iy < 0 || iy >= s_.h || ix < 0 || ix >= s_.w) ? 0.0f : image[(c * s_.h + iy) * s_.w + ix];
            }
          }
  }
  void col2im(float* image) {
    std::fill(image, image + s_.c * p_, 0.0f);
    const float* src = col_.data();
    for (int64_t c = 0; c < s_.c; ++c)
      for (int64_t ky = 0; ky < 3; ++ky)
        for (int64_t kx = 0; kx < 3; ++kx)
          for (int64_t y = 0; y < s_.h; ++y) {
            const int64_t iy = y + ky - 1;
            for (int64_t x = 0; x < s_.w; ++x, ++src) {
              const int64_t ix = x + kx - 1;
              if (iy >= 0 && iy < s_.h && ix >= 0 && ix < s_.w) image[(c * s_.h + iy) * s_.w + ix] += *src;
            }
          }
  }

  Shape4 s_;
  int64_t k_, p_;
  std::vector<float> weight_, weight_grad_, bias_, col_;
};

template <typename F>
double best_ms(int repeats, F&& f) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::stoi(argv[1]) : 20;
  const Shape4 shapes[] = {{128, 28, 28, 1, 32}, {128, 14, 14, 32, 64}};
  std::printf("%-22s %-6s %10s %10s %12s\n", "layer", "layout", "fwd_ms", "fwd+bwd_ms", "GFLOP/s");
  for (const Shape4& s : shapes) {
    const double flops = 2.0 * s.n * s.h * s.w * s.f * s.c * 9;  // one product's multiply-adds
    const std::vector<float> in(static_cast<size_t>(s.n * s.h * s.w * s.c), 0.5f);
    const std::vector<float> grad(static_cast<size_t>(s.n * s.h * s.w * s.f), 0.25f);
    char name[64];
    std::snprintf(name, sizeof(name), "%lldx%lldx%lld->%lld", static_cast<long long>(s.h), static_cast<long long>(s.w),
                  static_cast<long long>(s.c), static_cast<long long>(s.f));

    // NHWC: the real layer.
    auto layer = nntune::make_layer({{"type", "conv2d"}, {"filters", s.f}, {"kernel", 3}, {"padding", "same"}});
    layer->build({s.h, s.w, s.c});
    int64_t total = 0;
    for (const auto& b : layer->params()) total += b.size;
    std::vector<float> values(static_cast<size_t>(total), 0.01f), grads(static_cast<size_t>(total));
    int64_t offset = 0;
    for (auto& b : layer->params()) {
      b.value = values.data() + offset;
      b.grad = grads.data() + offset;
      offset += b.size;
    }
    nntune::Tensor x({s.n, s.h, s.w, s.c}, in), out, g({s.n, s.h, s.w, s.f}, grad), gin;
    const nntune::ForwardContext ctx{false, nullptr};
    const double nhwc_fwd = best_ms(repeats, [&] { layer->forward(x, out, ctx); });
    const double nhwc_all = best_ms(repeats, [&] {
      layer->forward(x, out, ctx);
      layer->backward(x, out, g, &gin);
    });
    std::printf("%-22s %-6s %10.2f %10.2f %12.1f\n", name, "NHWC", nhwc_fwd, nhwc_all, 3 * flops / nhwc_all / 1e6);

    NchwConv nchw(s);
    std::vector<float> o(grad.size()), gi(in.size());
    const double nchw_fwd = best_ms(repeats, [&] { nchw.forward(in.data(), o.data()); });
    const double nchw_all = best_ms(repeats, [&] {
      nchw.forward(in.data(), o.data());
      nchw.backward(in.data(), grad.data(), gi.data());
    });
    std::printf("%-22s %-6s %10.2f %10.2f %12.1f\n", name, "NCHW", nchw_fwd, nchw_all, 3 * flops / nchw_all / 1e6);
  }
  std::printf("GFLOP/s: 3 products (forward, dW, dIn) of 2*N*H*W*F*C*9 FLOP over the fwd+bwd time\n");
  return 0;
}
