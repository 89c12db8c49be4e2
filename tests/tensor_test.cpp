#include "nntune/tensor.hpp"

#include "nn/gemm.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

TEST(Tensor, CarriesNdShapeAndMatrixView) {
  Tensor t({2, 3, 4});
  EXPECT_EQ(t.batch(), 2);
  EXPECT_EQ(t.features(), 12);
  EXPECT_EQ(t.sample_shape(), (Shape{3, 4}));
  t.matrix()(1, 11) = 5.0f;
  EXPECT_EQ(t[23], 5.0f);
}

TEST(Tensor, GatherCopiesRows) {
  Tensor t({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor g = t.gather({2, 0});
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_EQ(g[0], 4.0f);
  EXPECT_EQ(g[3], 1.0f);
}

TEST(Tensor, WrongValueCountIsAnError) {
  EXPECT_ERROR_CONTAINS(Tensor({2, 2}, {1, 2, 3}), "(2, 2)", "needs 4 values, got 3");
}

// Every backend must compute the same product in all four transpose combinations.
TEST(Gemm, BackendsAgreeOnAllTransposes) {
  Rng rng(7);
  std::normal_distribution<float> normal;
  const int64_t m = 13, n = 7, k = 19;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      Matrix a = Matrix::NullaryExpr(ta ? k : m, ta ? m : k, [&] { return normal(rng); });
      Matrix b = Matrix::NullaryExpr(tb ? n : k, tb ? k : n, [&] { return normal(rng); });
      Matrix c0 = Matrix::NullaryExpr(m, n, [&] { return normal(rng); });
      Matrix expected = 0.5f * c0;
      expected.noalias() += 2.0f * (ta ? Matrix(a.transpose()) : a) * (tb ? Matrix(b.transpose()) : b);
      for (GemmBackend backend : {GemmBackend::Eigen, GemmBackend::OpenBlas}) {
        if (!gemm_backend_available(backend)) continue;
        GemmBackend before = gemm_backend();
        set_gemm_backend(backend);
        Matrix c = c0;
        gemm(ta, tb, m, n, k, 2.0f, a.data(), a.cols(), b.data(), b.cols(), 0.5f, c.data(), c.cols());
        set_gemm_backend(before);
        EXPECT_LT((c - expected).cwiseAbs().maxCoeff(), 1e-4f) << gemm_backend_name(backend) << ta << tb;
      }
    }
  }
}

}  // namespace
}  // namespace nntune
