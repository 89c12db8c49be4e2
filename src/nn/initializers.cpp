// Parameter initialisers with the published formulas:
//   Glorot/Xavier (2010): normal std = sqrt(2 / (fan_in + fan_out)), uniform limit = sqrt(6 / (fan_in + fan_out))
//   He/Kaiming (2015):    normal std = sqrt(2 / fan_in),             uniform limit = sqrt(6 / fan_in)
//   LeCun (1998):         normal std = sqrt(1 / fan_in)
//   Orthogonal (Saxe et al. 2014): the block as a row-major matrix of fan_out columns, its rows
//   (or columns, whichever are fewer) orthonormal: the Q of a QR decomposition of a normal
//   matrix, signs fixed by R's diagonal (as Keras and PyTorch). Gain 1. The recurrent kernels'
//   default: repeated products with an orthogonal matrix neither explode nor vanish at the start.
// Normals are plain (not truncated), as in the papers and PyTorch. Random numbers come from
// the 64-bit Mersenne twister through our own uniform/Box-Muller transforms, because the
// standard distributions are not specified bit-for-bit: the same seed gives the same weights
// with every compiler and standard library.
#include <Eigen/Core>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>

#include "nntune/error.hpp"
#include "nntune/layer.hpp"

namespace nntune {
namespace {

// Uniform in [0, 1) from the top 53 bits.
double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

void fill_uniform(float* values, int64_t size, double limit, Rng& rng) {
  for (int64_t i = 0; i < size; ++i) values[i] = static_cast<float>((2.0 * uniform01(rng) - 1.0) * limit);
}

void fill_normal(float* values, int64_t size, double stddev, Rng& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < size; i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform01(rng)));  // 1 - u is in (0, 1]
    const double angle = kTwoPi * uniform01(rng);
    values[i] = static_cast<float>(stddev * radius * std::cos(angle));
    if (i + 1 < size) values[i + 1] = static_cast<float>(stddev * radius * std::sin(angle));
  }
}

// values (size) as the first values of a row-major matrix of `cols` columns with orthonormal rows
// or columns.
void fill_orthogonal(float* values, int64_t size, int64_t cols, Rng& rng) {
  cols = std::clamp<int64_t>(cols, 1, size);
  const int64_t rows = (size + cols - 1) / cols;
  const int64_t big = std::max(rows, cols), small = std::min(rows, cols);
  std::vector<float> normal(static_cast<size_t>(big * small));
  fill_normal(normal.data(), big * small, 1.0, rng);
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

const std::vector<std::string>& initializer_names() {
  static const std::vector<std::string> names = {"zeros",          "constant",  "normal",     "uniform",     "xavier_normal",
                                                 "xavier_uniform", "he_normal", "he_uniform", "lecun_normal", "orthogonal"};
  return names;
}

void initialize(const Initializer& init, float* values, int64_t size, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const std::string& name = init.name;
  const auto& names = initializer_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string allowed;
    for (const auto& n : names) allowed += (allowed.empty() ? "" : ", ") + n;
    throw Error("unknown initializer \"" + name + "\"; allowed: " + allowed);
  }
  if (name == "zeros") return std::fill(values, values + size, 0.0f);
  if (name == "constant") return std::fill(values, values + size, init.value);
  if (name == "normal") return fill_normal(values, size, init.scale, rng);
  if (name == "uniform") return fill_uniform(values, size, init.scale, rng);
  if (name == "orthogonal") return fill_orthogonal(values, size, fan_out, rng);
  if (fan_in <= 0 || (name.rfind("xavier", 0) == 0 && fan_out <= 0))
    throw Error("initializer \"" + name + "\" needs positive fan-in and fan-out, got fan_in=" + std::to_string(fan_in) +
                ", fan_out=" + std::to_string(fan_out));
  const double fan_avg_inv = 1.0 / static_cast<double>(fan_in + fan_out);
  const double fan_in_inv = 1.0 / static_cast<double>(fan_in);
  if (name == "xavier_normal") return fill_normal(values, size, std::sqrt(2.0 * fan_avg_inv), rng);
  if (name == "xavier_uniform") return fill_uniform(values, size, std::sqrt(6.0 * fan_avg_inv), rng);
  if (name == "he_normal") return fill_normal(values, size, std::sqrt(2.0 * fan_in_inv), rng);
  if (name == "he_uniform") return fill_uniform(values, size, std::sqrt(6.0 * fan_in_inv), rng);
  fill_normal(values, size, std::sqrt(fan_in_inv), rng);  // lecun_normal
}

}  // namespace nntune
