// NumPy .npy arrays: "\x93NUMPY", version, a Python-dict header (descr, fortran_order, shape),
// then the raw little-endian values in C order.
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "data/file_bytes.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian machine");

const char kSupportedDtypes[] = "<f4 (float32), <f8 (float64), <i4 (int32), <i8 (int64), |u1 (uint8), |i1 (int8)";

enum class Dtype { F4, F8, I4, I8, U1, I1 };

struct NpyHeader {
  Dtype dtype = Dtype::F4;
  size_t item_size = 4;
  Shape shape;
  size_t data_offset = 0;
};

// The text after `key` and its colon in the header dict, or npos.
size_t find_value(const std::string& header, const std::string& key) {
  for (const char quote : {'\'', '"'}) {
    const size_t at = header.find(quote + key + quote);
    if (at == std::string::npos) continue;
    size_t colon = header.find(':', at + key.size() + 2);
    if (colon == std::string::npos) return std::string::npos;
    ++colon;
    while (colon < header.size() && header[colon] == ' ') ++colon;
    return colon;
  }
  return std::string::npos;
}

NpyHeader parse_header(std::string_view bytes, const std::string& path) {
  const std::string prefix = ".npy file " + detail::quoted(path) + ": ";
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 6 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    std::string hint = "is this a .npy file written by numpy.save?";
    if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] == 'K')
      hint = "it looks like a .npz archive (a zip of arrays); save each array with numpy.save instead";
    throw Error(prefix + "does not start with the .npy magic \"\\x93NUMPY\"; " + hint);
  }
  if (bytes.size() < 10) throw Error(prefix + "the file is truncated inside its header; write it again");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length = 0, header_start = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (major == 1) {
    header_length = static_cast<size_t>(b[8]) | static_cast<size_t>(b[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(prefix + "the file is truncated inside its header; write it again");
    header_length = static_cast<size_t>(b[8]) | static_cast<size_t>(b[9]) << 8 | static_cast<size_t>(b[10]) << 16 |
                    static_cast<size_t>(b[11]) << 24;
    header_start = 12;
  } else {
    throw Error(prefix + "format version " + std::to_string(major) + "." +
                std::to_string(static_cast<unsigned char>(bytes[7])) +
                " is not supported (versions 1.0, 2.0 and 3.0 are)");
  }
  if (bytes.size() < header_start + header_length)
    throw Error(prefix + "the file is truncated inside its header; write it again");
  const std::string header(bytes.substr(header_start, header_length));

  NpyHeader result;
  result.data_offset = header_start + header_length;

  const size_t descr_at = find_value(header, "descr");
  if (descr_at == std::string::npos || (header[descr_at] != '\'' && header[descr_at] != '"'))
    throw Error(prefix + "the header has no simple 'descr' entry (structured arrays are not supported); "
                "supported dtypes: " + kSupportedDtypes);
  const size_t descr_end = header.find(header[descr_at], descr_at + 1);
  const std::string descr = header.substr(descr_at + 1, descr_end - descr_at - 1);
  struct Known {
    const char* name;
    Dtype dtype;
    size_t size;
  };
  static const Known kKnown[] = {{"<f4", Dtype::F4, 4}, {"<f8", Dtype::F8, 8}, {"<i4", Dtype::I4, 4},
                                 {"<i8", Dtype::I8, 8}, {"|u1", Dtype::U1, 1}, {"<u1", Dtype::U1, 1},
                                 {"|i1", Dtype::I1, 1}, {"<i1", Dtype::I1, 1}};
  bool found = false;
  for (const Known& known : kKnown) {
    if (descr == known.name) {
      result.dtype = known.dtype;
      result.item_size = known.size;
      found = true;
    }
  }
  if (!found)
    throw Error(prefix + "dtype '" + descr + "' is not supported; supported dtypes: " + kSupportedDtypes +
                " (convert with array.astype(numpy.float32))");

  const size_t fortran_at = find_value(header, "fortran_order");
  if (fortran_at != std::string::npos && header.compare(fortran_at, 4, "True") == 0)
    throw Error(prefix + "the array is stored in Fortran (column-major) order; only C order is supported: "
                "save numpy.ascontiguousarray(array) instead");

  const size_t shape_at = find_value(header, "shape");
  if (shape_at == std::string::npos || header[shape_at] != '(')
    throw Error(prefix + "the header has no 'shape' entry; the file is corrupt, write it again");
  const size_t shape_end = header.find(')', shape_at);
  if (shape_end == std::string::npos) throw Error(prefix + "the header's 'shape' entry is malformed");
  int64_t current = -1;
  for (size_t i = shape_at + 1; i < shape_end; ++i) {
    const char c = header[i];
    if (c >= '0' && c <= '9') {
      current = (current < 0 ? 0 : current * 10) + (c - '0');
      if (current > (int64_t{1} << 40)) throw Error(prefix + "the header's shape has an absurd dimension");
    } else if (c == ',') {
      if (current >= 0) result.shape.push_back(current);
      current = -1;
    } else if (c != ' ' && c != 'L') {
      throw Error(prefix + "the header's 'shape' entry is malformed: " + header.substr(shape_at, shape_end - shape_at + 1));
    }
  }
  if (current >= 0) result.shape.push_back(current);
  if (result.shape.empty())
    throw Error(prefix + "holds a 0-dimensional (scalar) array; save an array with at least one dimension");
  return result;
}

std::string element_index(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] == 0 ? 0 : flat % shape[d];
    flat = shape[d] == 0 ? 0 : flat / shape[d];
  }
  return shape_string(index);
}

template <typename Source>
void convert(const char* data, float* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    Source value;
    std::memcpy(&value, data + i * static_cast<int64_t>(sizeof(Source)), sizeof(Source));
    out[i] = static_cast<float>(value);
  }
}

}  // namespace

Tensor load_npy(const std::string& path) {
  const detail::FileBytes file = detail::read_bytes_maybe_gzip(path, ".npy file");
  const std::string_view bytes = file.view();
  const NpyHeader header = parse_header(bytes, path);
  int64_t count = 0;
  size_t expected = 0;
  if (!detail::checked_size(header.shape, header.item_size, count, expected))
    throw Error(".npy file " + detail::quoted(path) + ": shape " + shape_string(header.shape) +
                " is too large (its size does not fit in 64 bits); the header is corrupt, write the file again");
  const size_t got = bytes.size() - header.data_offset;
  if (got < expected)
    throw Error(".npy file " + detail::quoted(path) + ": the file is truncated: shape " +
                shape_string(header.shape) + " needs " + std::to_string(expected) + " bytes of data, got " +
                std::to_string(got) + "; write it again");
  Tensor out(header.shape);
  const char* data = bytes.data() + header.data_offset;
  switch (header.dtype) {
    case Dtype::F4:
      if (expected > 0) std::memcpy(out.data(), data, expected);  // an empty tensor has no storage
      break;
    case Dtype::F8: convert<double>(data, out.data(), count); break;
    case Dtype::I4: convert<int32_t>(data, out.data(), count); break;
    case Dtype::I8: convert<int64_t>(data, out.data(), count); break;
    case Dtype::U1: convert<uint8_t>(data, out.data(), count); break;
    case Dtype::I1: convert<int8_t>(data, out.data(), count); break;
  }
  if (header.dtype == Dtype::F4 || header.dtype == Dtype::F8) {
    const float* values = out.data();
    for (int64_t i = 0; i < count; ++i) {
      if (!std::isfinite(values[i]))
        throw Error(".npy file " + detail::quoted(path) + ": element " + element_index(i, header.shape) + " is " +
                    (std::isnan(values[i]) ? "NaN" : "infinite (or too large for float32)") +
                    "; remove or impute such values first");
    }
  }
  return out;
}

Dataset load_npy_dataset(const std::string& x_path, const std::string& y_path, Task task, int64_t num_classes) {
  if (num_classes < 0)
    throw Error("num_classes must be 0 (infer) or positive, got " + std::to_string(num_classes));
  Dataset data;
  data.task = task;
  data.source = x_path + " + " + y_path;
  data.x = load_npy(x_path);
  data.y = load_npy(y_path);
  const int64_t n = data.x.batch();
  if (data.y.batch() != n)
    throw Error(".npy files " + detail::quoted(x_path) + " and " + detail::quoted(y_path) + " disagree: x has " +
                std::to_string(n) + " rows but y has " + std::to_string(data.y.batch()) +
                "; both need one row per sample");
  if (data.x.rank() == 1) data.x.reshape({n, 1});
  if (task == Task::Regression) {
    // (n, steps, values) stays: targets per step for a sequence output; else one row per sample.
    if (data.y.rank() != 3) data.y.reshape({n, data.y.features()});
    return data;
  }
  // (n, steps) labels are per step only with the steps of x, which also tells them from one-hot rows.
  const bool per_step = data.y.rank() == 2 && data.y.shape()[1] > 1 && data.x.rank() >= 2 &&
                        data.x.shape()[1] == data.y.shape()[1];
  if (data.y.rank() > 2 || (data.y.rank() == 2 && data.y.shape()[1] != 1 && !per_step))
    throw Error(".npy file " + detail::quoted(y_path) + ": classification labels must be class indices of shape (n,) "
                "or (n, 1), or one per step of x (n, steps) for a sequence output, got " + shape_string(data.y.shape()) +
                " for x of shape " + shape_string(data.x.shape()) +
                " (for one-hot labels save numpy.argmax(y, axis=-1) instead; for targets use task regression)");
  // (n, steps) with steps > 1: a class index per step (sequence tagging), kept as it is.
  const int64_t steps = data.y.rank() == 2 ? data.y.shape()[1] : 1;
  data.y.reshape({n, steps});
  auto where = [&](int64_t i) {
    return steps == 1 ? "of row " + std::to_string(i) + " (0-based)"
                      : "of row " + std::to_string(i / steps) + ", step " + std::to_string(i % steps) + " (0-based)";
  };
  int64_t max_label = -1;
  for (int64_t i = 0; i < n * steps; ++i) {
    const float label = data.y[i];
    if (label < 0.0f || label != std::floor(label))
      throw Error(".npy file " + detail::quoted(y_path) + ": label " + std::to_string(label) + " " + where(i) +
                  " is not a non-negative integer class index; classification "
                  "labels must be 0, 1, 2, ... (for a numeric target use task regression)");
    if (num_classes > 0 && label >= static_cast<float>(num_classes))
      throw Error(".npy file " + detail::quoted(y_path) + ": label " + std::to_string(static_cast<int64_t>(label)) +
                  " " + where(i) + " is out of range: num_classes is " +
                  std::to_string(num_classes) + ", so labels must be 0.." + std::to_string(num_classes - 1));
    if (label >= static_cast<float>(detail::kMaxInferredClasses))
      throw Error(".npy file " + detail::quoted(y_path) + ": label " + std::to_string(label) + " " + where(i) +
                  " is too large for a class index; is y a regression target? "
                  "(set task regression)");
    max_label = std::max(max_label, static_cast<int64_t>(label));
  }
  data.num_classes = num_classes > 0 ? num_classes : max_label + 1;
  return data;
}

}  // namespace nntune
