#pragma once
// Reading whole input files, transparently inflating gzip. Private to the data loaders and
// model IO; every error names the file and says what to do.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nntune::detail {

// Inferring more classes than this from the labels almost always means the label column is a
// regression target (or the wrong column); it also keeps the label-to-integer cast defined.
constexpr int64_t kMaxInferredClasses = 1000000;

// A file's contents. The storage is not zero-filled first: loading 47 MB of MNIST pixels should
// cost one pass over them, not two.
struct FileBytes {
  std::unique_ptr<char[]> storage;
  size_t size = 0;

  const char* data() const { return storage.get(); }
  std::string_view view() const { return {storage.get(), size}; }
};

// True when the bytes start with the gzip magic (1f 8b); the extension is never trusted.
bool looks_like_gzip(std::string_view bytes);

// The raw bytes of `path`. `what` describes the file for messages ("CSV file", "model file").
FileBytes read_raw_bytes(const std::string& path, const std::string& what);

// The file's contents, inflated when they are gzip-compressed (detected by content).
FileBytes read_bytes_maybe_gzip(const std::string& path, const std::string& what);

// The same as std::string, for callers that want one (one extra copy).
std::string read_raw_file(const std::string& path, const std::string& what);
std::string read_file_maybe_gzip(const std::string& path, const std::string& what);

// The element count of `dims` and its size in bytes at `item_size` bytes an element; false when
// either does not fit in 63 bits (a crafted or corrupt header). A zero dimension makes both 0.
bool checked_size(const std::vector<int64_t>& dims, size_t item_size, int64_t& count, size_t& bytes);

// Quotes a path for messages: 'data/train.csv'.
std::string quoted(const std::string& text);

}  // namespace nntune::detail
