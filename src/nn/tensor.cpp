#include "nntune/tensor.hpp"

#include <cstring>
#include <sstream>

#include "nntune/error.hpp"

namespace nntune {

int64_t shape_size(const Shape& shape) {
  // The product of the non-zero dimensions must fit as well (features() multiplies them even
  // when the batch is empty).
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension in shape " + shape_string(shape));
    if (d == 0) empty = true;
    else if (__builtin_mul_overflow(n, d, &n))
      throw Error("shape " + shape_string(shape) + " has more elements than can be stored");
  }
  return empty ? 0 : n;
}

Shape with_batch(int64_t n, const Shape& sample_shape) {
  Shape shape = {n};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  return shape;
}

bool same_but_unit_axes(const Shape& a, const Shape& b) {
  Shape a_kept, b_kept;
  for (int64_t d : a)
    if (d != 1) a_kept.push_back(d);
  for (int64_t d : b)
    if (d != 1) b_kept.push_back(d);
  return a_kept == b_kept;
}

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) out << ',';
  out << ')';
  return out.str();
}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  size_ = static_cast<size_t>(shape_size(shape_));
  data_.assign(size_, 0.0f);
}

Tensor::Tensor(Shape shape, std::vector<float> values) : shape_(std::move(shape)) {
  size_ = static_cast<size_t>(shape_size(shape_));
  if (values.size() != size_)
    throw Error("tensor of shape " + shape_string(shape_) + " needs " + std::to_string(size_) +
                " values, got " + std::to_string(values.size()));
  data_.assign(values.begin(), values.end());
}

int64_t Tensor::features() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

void Tensor::resize(const Shape& shape) {
  size_t n = static_cast<size_t>(shape_size(shape));
  if (n > data_.size()) data_.resize(n);
  shape_ = shape;
  size_ = n;
}

void Tensor::set_zero() { std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(size_), 0.0f); }

void Tensor::reshape(const Shape& shape) {
  if (static_cast<size_t>(shape_size(shape)) != size_)
    throw Error("cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
  shape_ = shape;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  Shape s = shape_;
  s[0] = end - begin;
  Tensor out(s);
  const int64_t f = features();
  // An empty slice has no storage to copy into (memcpy from or to null is undefined even for 0 bytes).
  if (end > begin && f > 0)
    std::memcpy(out.data(), data() + begin * f, sizeof(float) * static_cast<size_t>((end - begin) * f));
  return out;
}

Tensor Tensor::gather(const std::vector<int64_t>& indices) const {
  Tensor out;
  gather_into(indices, 0, static_cast<int64_t>(indices.size()), out);
  return out;
}

void Tensor::gather_into(const std::vector<int64_t>& indices, int64_t begin, int64_t end, Tensor& out) const {
  // Called once per batch: assign() reuses out's shape capacity, so no allocation after warm-up.
  out.shape_.assign(shape_.begin(), shape_.end());
  out.shape_[0] = end - begin;
  out.size_ = static_cast<size_t>(shape_size(out.shape_));
  if (out.size_ > out.data_.size()) out.data_.resize(out.size_);
  const int64_t f = features();
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(out.data() + (i - begin) * f, data() + indices[static_cast<size_t>(i)] * f,
                sizeof(float) * static_cast<size_t>(f));
}

}  // namespace nntune
