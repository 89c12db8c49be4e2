#pragma once
// Reading whole input files, transparently inflating gzip. Private to the data loaders and
// model IO; every error names the file and says what to do.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace nntune::detail {

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

// Quotes a path for messages: 'data/train.csv'.
std::string quoted(const std::string& text);

}  // namespace nntune::detail
