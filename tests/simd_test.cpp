// The kernels built per instruction set (nn/simd.hpp) compute what the baseline build computes,
// on every level this CPU runs (the others are skipped).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nn/layers/activation_kernels.hpp"
#include "nn/simd.hpp"
#include "train/optimizer_kernels.hpp"

namespace nntune {
namespace {

using simd::Level;
namespace ok = optimizer_kernels;

constexpr int64_t kN = 1037;  // not a multiple of any vector width: the tails run too

std::vector<float> random_values(uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(kN);
  for (float& x : v) x = u(rng);
  return v;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  for (int64_t i = 0; i < kN; ++i)  // FMA contraction may change the last bit or two
    ASSERT_NEAR(a[i], b[i], 2e-6f * std::max(1.0f, std::abs(b[i]))) << what << " at " << i;
}

// Runs `step` on fresh copies of the same buffers with the level's kernels and the baseline's.
template <typename Step>
void compare_levels(const char* what, Step step) {
  for (Level level : {Level::Avx2, Level::Avx512}) {
    if (!simd::supported(level)) continue;
    std::vector<float> w = random_values(1, -1, 1), s1 = random_values(2, 0, 1), s2 = random_values(3, 0, 1);
    std::vector<float> w0 = w, a0 = s1, b0 = s2;
    const std::vector<float> g = random_values(4, -2, 2);
    step(ok::kernels(level), w.data(), s1.data(), s2.data(), g.data());
    step(ok::kernels(Level::Baseline), w0.data(), a0.data(), b0.data(), g.data());
    SCOPED_TRACE(simd::name(level));
    expect_close(w, w0, what);
    expect_close(s1, a0, what);
    expect_close(s2, b0, what);
  }
}

TEST(SimdKernels, OptimizerRulesMatchTheBaselineOnEveryLevel) {
  compare_levels("scale", [](const ok::Kernels& k, float* w, float*, float*, const float*) { k.scale(w, kN, 0.99f); });
  compare_levels("add_scaled", [](const ok::Kernels& k, float* w, float* out, float*, const float* g) {
    k.add_scaled(out, g, w, kN, 0.01f);
  });
  compare_levels("sgd", [](const ok::Kernels& k, float* w, float*, float*, const float* g) {
    k.sgd(w, nullptr, g, kN, 0.1f, 0.0f, false);
  });
  compare_levels("nesterov", [](const ok::Kernels& k, float* w, float* v, float*, const float* g) {
    k.sgd(w, v, g, kN, 0.1f, 0.9f, true);
  });
  compare_levels("adagrad", [](const ok::Kernels& k, float* w, float* s, float*, const float* g) {
    k.adagrad(w, s, g, kN, 0.1f, 1e-8f);
  });
  compare_levels("rmsprop", [](const ok::Kernels& k, float* w, float* v, float* buf, const float* g) {
    k.rmsprop(w, v, buf, g, kN, 0.01f, 0.9f, 1e-8f, 0.5f);
  });
  compare_levels("adam", [](const ok::Kernels& k, float* w, float* m, float* v, const float* g) {
    k.adam(w, m, v, g, kN, 0.01f, 1.3f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f);
  });
}

// The buffers of a training run (std::vector parameters and optimiser state) start wherever the
// allocator puts them. A vectorised loop handles a buffer's unaligned head or tail apart from its
// body; if the two rounded differently (Eigen's packet sqrt is an approximation its scalar head
// does not share), a run's result would depend on the addresses. So every element must come out
// the same bits at every offset.
TEST(SimdKernels, OptimizerRulesGiveTheSameBitsWhereverTheBuffersStart) {
  const std::vector<float> w = random_values(1, -1, 1), s1 = random_values(2, 0, 1), s2 = random_values(3, 0, 1),
                           g = random_values(4, -2, 2);
  const int64_t n = kN - 16;
  using Step = void (*)(const ok::Kernels&, float*, float*, float*, const float*, int64_t);
  const std::vector<std::pair<const char*, Step>> rules = {
      {"adam", [](const ok::Kernels& k, float* w, float* m, float* v, const float* g, int64_t n) {
         k.adam(w, m, v, g, n, 0.01f, 1.3f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f);
       }},
      {"rmsprop", [](const ok::Kernels& k, float* w, float* v, float* buf, const float* g, int64_t n) {
         k.rmsprop(w, v, buf, g, n, 0.01f, 0.9f, 1e-8f, 0.5f);
       }},
      {"adagrad", [](const ok::Kernels& k, float* w, float* s, float*, const float* g, int64_t n) {
         k.adagrad(w, s, g, n, 0.1f, 1e-8f);
       }},
      {"sgd", [](const ok::Kernels& k, float* w, float* v, float*, const float* g, int64_t n) {
         k.sgd(w, v, g, n, 0.1f, 0.9f, true);
       }}};
  for (Level level : {Level::Baseline, Level::Avx2, Level::Avx512}) {
    if (!simd::supported(level)) continue;
    SCOPED_TRACE(simd::name(level));
    for (const auto& [name, step] : rules) {
      SCOPED_TRACE(name);
      std::vector<float> first;
      for (int64_t offset = 0; offset < 16; ++offset) {
        // Each buffer at its own offset from the vector's (aligned) start.
        std::vector<float> wb(kN + 16), ab(kN + 16), bb(kN + 16), gb(kN + 16);
        const int64_t ow = offset, oa = (offset * 5) % 16, ob = (offset * 7) % 16, og = (offset * 3) % 16;
        std::copy(w.begin(), w.begin() + n, wb.begin() + ow);
        std::copy(s1.begin(), s1.begin() + n, ab.begin() + oa);
        std::copy(s2.begin(), s2.begin() + n, bb.begin() + ob);
        std::copy(g.begin(), g.begin() + n, gb.begin() + og);
        for (int repeat = 0; repeat < 3; ++repeat)
          step(ok::kernels(level), wb.data() + ow, ab.data() + oa, bb.data() + ob, gb.data() + og, n);
        std::vector<float> result(wb.begin() + ow, wb.begin() + ow + n);
        result.insert(result.end(), ab.begin() + oa, ab.begin() + oa + n);
        result.insert(result.end(), bb.begin() + ob, bb.begin() + ob + n);
        if (offset == 0)
          first = result;
        else
          ASSERT_EQ(result, first) << "buffers at offsets " << ow << ", " << oa << ", " << ob << ", " << og;
      }
    }
  }
}

// Dropout's mask is a function of the key and each value's position: the same bits on every level
// and wherever the buffers start (backward regenerates the forward's mask from the key).
TEST(SimdKernels, DropoutMaskIsTheSameOnEveryLevelAndAtEveryAddress) {
  layers::DropoutKey key;
  key.seed = 0x1234abcd5678ef01ULL;
  key.drop_below = static_cast<uint32_t>(0.35 * 4294967296.0);
  key.keep_scale = 1.0f / 0.65f;
  const std::vector<float> x = random_values(8, -1, 1);
  std::vector<float> y0(kN);
  layers::activation_kernels(Level::Baseline).dropout(x.data(), y0.data(), kN, key);
  int64_t dropped = 0;
  for (int64_t i = 0; i < kN; ++i) {
    if (y0[i] == 0.0f) {
      ++dropped;
    } else {
      ASSERT_EQ(y0[i], x[i] * key.keep_scale) << i;
    }
  }
  EXPECT_NEAR(static_cast<double>(dropped) / kN, 0.35, 0.05);
  for (Level level : {Level::Baseline, Level::Avx2, Level::Avx512}) {
    if (!simd::supported(level)) continue;
    SCOPED_TRACE(simd::name(level));
    for (int64_t offset = 0; offset < 16; ++offset) {
      std::vector<float> xb(kN + 16), yb(kN + 16);
      std::copy(x.begin(), x.end(), xb.begin() + offset);
      const int64_t out_offset = (offset * 7) % 16;
      layers::activation_kernels(level).dropout(xb.data() + offset, yb.data() + out_offset, kN, key);
      ASSERT_EQ(std::vector<float>(yb.begin() + out_offset, yb.begin() + out_offset + kN), y0) << "offset " << offset;
    }
  }
}

TEST(SimdKernels, ActivationsMatchTheBaselineOnEveryLevel) {
  using layers::Activation;
  using layers::ActivationKind;
  const int64_t rows = 7, cols = kN / 7;  // 148 columns: full vectors and a tail per row
  const std::vector<float> z = random_values(5, -4, 4), bias = random_values(6, -1, 1), dy = random_values(7, -1, 1);
  for (int kind = 0; kind <= static_cast<int>(ActivationKind::Softmax); ++kind) {
    const Activation act{static_cast<ActivationKind>(kind), 0.2f, 0.7f};
    SCOPED_TRACE(layers::activation_name(act.kind));
    const auto& base = layers::activation_kernels(Level::Baseline);
    std::vector<float> y0(kN), dz0(kN), db0(cols), sums0(cols);
    base.forward(act, z.data(), bias.data(), y0.data(), rows, cols);
    base.backward(act, z.data(), y0.data(), dy.data(), dz0.data(), db0.data(), rows, cols);
    base.column_sums(dy.data(), rows, cols, sums0.data());
    for (Level level : {Level::Avx2, Level::Avx512}) {
      if (!simd::supported(level)) continue;
      SCOPED_TRACE(simd::name(level));
      const auto& k = layers::activation_kernels(level);
      std::vector<float> y(kN), dz(kN), db(cols), sums(cols);
      k.forward(act, z.data(), bias.data(), y.data(), rows, cols);
      k.backward(act, z.data(), y0.data(), dy.data(), dz.data(), db.data(), rows, cols);
      k.column_sums(dy.data(), rows, cols, sums.data());
      for (int64_t i = 0; i < rows * cols; ++i) {
        // Vectorised exp/tanh/erf differ from the scalar ones in the last bits.
        ASSERT_NEAR(y[i], y0[i], 1e-5f * std::max(1.0f, std::abs(y0[i]))) << "forward at " << i;
        ASSERT_NEAR(dz[i], dz0[i], 1e-5f * std::max(1.0f, std::abs(dz0[i]))) << "backward at " << i;
      }
      for (int64_t c = 0; c < cols; ++c) {
        ASSERT_NEAR(db[c], db0[c], 1e-4f) << "bias gradient at " << c;
        ASSERT_NEAR(sums[c], sums0[c], 1e-5f) << "column sums at " << c;
      }
    }
  }
}

TEST(SimdKernels, TheChosenLevelIsOneThisCpuRuns) {
  EXPECT_TRUE(simd::supported(simd::level())) << simd::name(simd::level());
  EXPECT_TRUE(simd::supported(Level::Baseline));
}

}  // namespace
}  // namespace nntune
