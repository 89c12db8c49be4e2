#pragma once
// Shared by the fuzz targets: the readers under test take paths, so each input is written to a
// file first (one per process, in TMPDIR), optionally gzip-compressed so that the fuzzer explores
// the parser behind the gzip path too.
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace nntune::fuzz {

inline std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/nntune-fuzz-" + std::to_string(::getpid()) + "-" + name;
}

inline std::string gzip(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size())) + 32;
  std::string out(size, '\0');
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// Writes `data` to the file `name` (gzip-compressed when `compress`) and returns its path.
inline std::string write_input(const std::string& name, std::string_view data, bool compress = false) {
  const std::string path = temp_path(name);
  const std::string bytes = compress ? gzip(data) : std::string(data);
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) std::abort();
  std::fclose(file);
  return path;
}

}  // namespace nntune::fuzz
