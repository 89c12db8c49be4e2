// The orthogonal initialiser (Saxe et al. 2014): the block as a row-major matrix of fan_out
// columns, its rows (or columns, whichever are fewer) orthonormal: the Q of a QR decomposition of
// a normal matrix, signs fixed by R's diagonal (as Keras and PyTorch). Gain 1. The recurrent
// kernels' default: repeated products with an orthogonal matrix neither explode nor vanish at the
// start.
#include <Eigen/Core>
#include <Eigen/QR>
#include <algorithm>
#include <vector>

#include "nn/initializer_registry.hpp"

namespace nntune {
namespace {

void fill_orthogonal(float* values, int64_t size, int64_t cols, Rng& rng) {
  cols = std::clamp<int64_t>(cols, 1, size);
  const int64_t rows = (size + cols - 1) / cols;
  const int64_t big = std::max(rows, cols), small = std::min(rows, cols);
  std::vector<float> normal(static_cast<size_t>(big * small));
  init_detail::fill_normal(normal.data(), big * small, 1.0, rng);
  Eigen::MatrixXd a(big, small);
  for (int64_t i = 0; i < big; ++i)
    for (int64_t j = 0; j < small; ++j) a(i, j) = normal[static_cast<size_t>(i * small + j)];
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(big, small);
  const Eigen::MatrixXd r = qr.matrixQR();
  for (int64_t j = 0; j < small; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;  // makes Q unique, so Q is uniformly distributed
  for (int64_t i = 0; i < size; ++i) {
    const int64_t row = i / cols, col = i % cols;
    values[i] = static_cast<float>(rows >= cols ? q(row, col) : q(col, row));
  }
}

}  // namespace
}  // namespace nntune

NNTUNE_REGISTER_COMPONENTS(initializer_orthogonal) {
  using namespace nntune;
  initializer_registry().add(
      {.name = "orthogonal",
       .help = "Saxe et al. (2014): orthonormal rows or columns (QR of a normal matrix); recurrent kernels' default",
       .order = 9},
      [](const Initializer& /*init*/, float* values, int64_t size, int64_t /*fan_in*/, int64_t fan_out, Rng& rng) {
        fill_orthogonal(values, size, fan_out, rng);
      });
}
