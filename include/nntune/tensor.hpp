#pragma once
// A batch of float32 samples. Dimension 0 is the batch; the rest is the shape of one
// sample, carried N-d so convolutional and recurrent layers fit without a rewrite.
// Storage is row-major and contiguous, so any tensor is also a (batch x features) matrix.
#include <Eigen/Core>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace nntune {

using Shape = std::vector<int64_t>;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix, Eigen::Aligned16>;
using ConstMatrixMap = Eigen::Map<const Matrix, Eigen::Aligned16>;
using Rng = std::mt19937_64;

int64_t shape_size(const Shape& shape);
std::string shape_string(const Shape& shape);  // "(128, 784)"
// (n, sample...): the shape of a batch of n samples.
Shape with_batch(int64_t n, const Shape& sample_shape);
// Whether two shapes are the same but for axes of size 1: (28, 28) and (28, 28, 1) are.
bool same_but_unit_axes(const Shape& a, const Shape& b);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape);  // zero-filled
  Tensor(Shape shape, std::vector<float> values);

  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t batch() const { return shape_.empty() ? 0 : shape_[0]; }
  int64_t features() const;  // product of dims 1..rank-1 (1 for rank 1)
  int64_t size() const { return static_cast<int64_t>(size_); }
  Shape sample_shape() const { return Shape(shape_.begin() + (shape_.empty() ? 0 : 1), shape_.end()); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

  // (batch x features) views, no copy.
  MatrixMap matrix() { return MatrixMap(data_.data(), batch(), features()); }
  ConstMatrixMap matrix() const { return ConstMatrixMap(data_.data(), batch(), features()); }

  // Change the shape; keeps the allocation when it is large enough (no per-batch mallocs).
  // Contents are unspecified afterwards.
  void resize(const Shape& shape);
  void set_zero();
  // Same data, another shape of the same size.
  void reshape(const Shape& shape);

  // Copy of rows [begin, end) of dim 0, or of the given rows (gather).
  Tensor rows(int64_t begin, int64_t end) const;
  Tensor gather(const std::vector<int64_t>& indices) const;
  void gather_into(const std::vector<int64_t>& indices, int64_t begin, int64_t end, Tensor& out) const;

 private:
  Shape shape_;
  size_t size_ = 0;
  std::vector<float, Eigen::aligned_allocator<float>> data_;
};

}  // namespace nntune
