// IDX files (MNIST, Fashion-MNIST, ...): a big-endian header (magic 0x0000TTDD: data type TT,
// DD dimensions, then one u32 per dimension) followed by the raw data. Plain or gzip.
#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>

#include "data/file_bytes.hpp"
#include "nntune/data.hpp"
#include "nntune/error.hpp"

namespace nntune {
namespace {

constexpr unsigned kUnsignedByte = 0x08;

uint32_t read_be32(std::string_view bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         static_cast<uint32_t>(p[3]);
}

std::string hex(uint32_t value, int digits) {
  std::ostringstream out;
  out << "0x" << std::hex << std::uppercase;
  out.width(digits);
  out.fill('0');
  out << value;
  return out.str();
}

std::string hex8(uint32_t value) { return hex(value, 8); }

std::string type_name(unsigned code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
  }
}

struct IdxArray {
  std::vector<int64_t> dims;
  detail::FileBytes file;  // whole (inflated) file
  size_t data_offset;  // where the values start
};

// Reads and validates one IDX file with `rank` dimensions of unsigned bytes (-1: any rank).
IdxArray read_idx(const std::string& path, int rank, const std::string& kind) {
  const std::string what = "IDX " + kind + " file";
  IdxArray array;
  array.file = detail::read_bytes_maybe_gzip(path, what);
  const std::string_view bytes = array.file.view();
  const std::string prefix = what + " " + detail::quoted(path) + ": ";
  if (bytes.size() < 4)
    throw Error(prefix + "the file has only " + std::to_string(bytes.size()) +
                " bytes, too short for an IDX header; is this an IDX " + kind + " file?");
  const uint32_t magic = read_be32(bytes, 0);
  if (rank < 0) {  // any rank: the one the file says, at least 1
    rank = static_cast<int>(magic & 0xff);
    if (rank == 0) rank = -1;
  }
  const uint32_t expected_magic = kUnsignedByte << 8 | static_cast<uint32_t>(std::max(rank, 1));
  const unsigned type = (magic >> 8) & 0xff;
  const unsigned dims = magic & 0xff;
  if ((magic >> 16) != 0 || dims != static_cast<unsigned>(rank)) {
    std::string hint = "is this an IDX " + kind + " file?";
    const uint32_t other = kind == "images" ? 0x00000801u : 0x00000803u;
    if (magic == other) hint += " It looks like an IDX " + std::string(kind == "images" ? "labels" : "images") +
                                " file: are the images and labels paths swapped?";
    throw Error(prefix + "found magic number " + hex8(magic) + ", expected " + hex8(expected_magic) + " (" +
                std::to_string(rank) + "-dimensional unsigned bytes); " + hint);
  }
  if (type != kUnsignedByte)
    throw Error(prefix + "holds " + type_name(type) + " data (type code " + hex(type, 2) +
                "); only unsigned bytes (0x08), as the MNIST family uses, are supported");
  const size_t header_size = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header_size)
    throw Error(prefix + "the file is truncated inside its header (" + std::to_string(bytes.size()) + " of " +
                std::to_string(header_size) + " bytes); fetch it again");
  for (int d = 0; d < rank; ++d) array.dims.push_back(read_be32(bytes, 4 + 4 * static_cast<size_t>(d)));
  int64_t count = 0;
  size_t expected = 0;
  if (!detail::checked_size(array.dims, 1, count, expected)) {
    std::string dims;
    for (int64_t n : array.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(n);
    throw Error(prefix + "the header's dimensions " + dims +
                " are too large (their product does not fit in 64 bits); the file is corrupt or not an IDX file");
  }
  const size_t got = bytes.size() - header_size;
  if (got < expected)
    throw Error(prefix + "the file is truncated: expected " + std::to_string(expected) +
                " bytes of data after the header, got " + std::to_string(got) + "; fetch it again");
  if (got > expected)
    throw Error(prefix + "the file has " + std::to_string(got - expected) +
                " bytes more than its header describes (expected " + std::to_string(expected) +
                " bytes of data); the file is corrupt or not an IDX file");
  array.data_offset = header_size;
  return array;
}

}  // namespace

Tensor load_idx_array(const std::string& path) {
  const IdxArray array = read_idx(path, -1, "images");
  Shape shape = array.dims;
  if (shape.size() == 1) shape.push_back(1);
  Tensor out(shape);
  const auto* bytes = reinterpret_cast<const unsigned char*>(array.file.data() + array.data_offset);
  float* x = out.data();
  const int64_t count = out.size();
  for (int64_t i = 0; i < count; ++i) x[i] = static_cast<float>(bytes[i]);
  return out;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes) {
  if (num_classes < 0)
    throw Error("num_classes must be 0 (infer) or positive, got " + std::to_string(num_classes));
  const IdxArray images = read_idx(images_path, 3, "images");
  const IdxArray labels = read_idx(labels_path, 1, "labels");
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw Error("IDX images file " + detail::quoted(images_path) + " has " + std::to_string(n) +
                " images but labels file " + detail::quoted(labels_path) + " has " + std::to_string(labels.dims[0]) +
                " labels; give the labels file that belongs to these images");

  Dataset data;
  data.task = Task::Classification;
  data.source = images_path + " + " + labels_path;

  const auto* label_bytes = reinterpret_cast<const unsigned char*>(labels.file.data() + labels.data_offset);
  int64_t max_label = -1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = label_bytes[i];
    if (num_classes > 0 && label >= num_classes)
      throw Error("IDX labels file " + detail::quoted(labels_path) + ": label " + std::to_string(label) +
                  " of record " + std::to_string(i) + " (0-based) is out of range: num_classes is " +
                  std::to_string(num_classes) + ", so labels must be 0.." + std::to_string(num_classes - 1));
    max_label = std::max(max_label, label);
  }
  data.num_classes = num_classes > 0 ? num_classes : max_label + 1;
  data.y = Tensor({n, 1});
  float* y = data.y.data();
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(label_bytes[i]);

  data.x = Tensor({n, images.dims[1], images.dims[2]});
  const auto* pixels = reinterpret_cast<const unsigned char*>(images.file.data() + images.data_offset);
  float* x = data.x.data();
  const int64_t count = data.x.size();
  for (int64_t i = 0; i < count; ++i) x[i] = static_cast<float>(pixels[i]);  // vectorises
  return data;
}

}  // namespace nntune
