#include "data/file_bytes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "nntune/error.hpp"

namespace nntune::detail {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

bool looks_like_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

bool checked_size(const std::vector<int64_t>& dims, size_t item_size, int64_t& count, size_t& bytes) {
  // The product of the non-zero dimensions must fit too: Tensor::features() multiplies them
  // even when the batch dimension is 0.
  int64_t product = 1;
  bool empty = false;
  for (int64_t d : dims) {
    if (d < 0) return false;
    if (d == 0) empty = true;
    else if (__builtin_mul_overflow(product, d, &product)) return false;
  }
  int64_t total = 0;
  if (__builtin_mul_overflow(product, static_cast<int64_t>(item_size), &total)) return false;
  count = empty ? 0 : product;
  bytes = empty ? 0 : static_cast<size_t>(total);
  return true;
}

namespace {

// Deflate cannot compress better than about 1032:1, so a larger size hint is garbage (a
// truncated file whose last four bytes are not a real gzip trailer).
constexpr size_t kMaxDeflateRatio = 1032;

// Closes a POSIX file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string open_error(const std::string& path, const std::string& what, int err) {
  std::string message = "cannot read " + what + " " + quoted(path) + ": " + std::strerror(err);
  if (err == ENOENT) message += "; check the path (relative paths are relative to the working directory)";
  return message;
}

// Grows the buffer to `capacity` bytes, keeping the first `used`.
void grow(FileBytes& buffer, size_t& capacity, size_t used, size_t new_capacity) {
  std::unique_ptr<char[]> bigger(new char[new_capacity]);
  if (used) std::memcpy(bigger.get(), buffer.storage.get(), used);
  buffer.storage = std::move(bigger);
  capacity = new_capacity;
}

// Inflates a (possibly multi-member) gzip stream. Sized from the gzip trailer so a 47 MB
// MNIST file inflates in one pass without reallocations.
FileBytes inflate_gzip(std::string_view compressed, const std::string& path, const std::string& what) {
  size_t hint = 0;
  if (compressed.size() >= 18) {
    // ISIZE: uncompressed size of the last member modulo 2^32, little endian.
    const auto* tail = reinterpret_cast<const unsigned char*>(compressed.data() + compressed.size() - 4);
    hint = static_cast<size_t>(tail[0]) | static_cast<size_t>(tail[1]) << 8 | static_cast<size_t>(tail[2]) << 16 |
           static_cast<size_t>(tail[3]) << 24;
    if (hint > compressed.size() * kMaxDeflateRatio) hint = 0;
  }
  size_t capacity = 0;
  FileBytes out;
  grow(out, capacity, 0, std::max(hint + 1, compressed.size() * 4 + 1024));

  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) throw Error("zlib could not start inflating " + quoted(path));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  size_t input_left = compressed.size();
  size_t produced = 0;
  const size_t max_chunk = std::numeric_limits<uInt>::max() / 2;
  for (;;) {
    if (produced == capacity) grow(out, capacity, produced, capacity * 2);
    const size_t in_chunk = std::min(input_left, max_chunk);
    const size_t out_chunk = std::min(capacity - produced, max_chunk);
    stream.avail_in = static_cast<uInt>(in_chunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.storage.get() + produced);
    stream.avail_out = static_cast<uInt>(out_chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    input_left -= in_chunk - stream.avail_in;
    produced += out_chunk - stream.avail_out;
    if (status == Z_STREAM_END) {
      // Another gzip member may follow (files made by concatenation); anything else is ignored
      // as the gzip tool does with trailing garbage.
      if (input_left >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b) {
        inflateReset(&stream);
        continue;
      }
      break;
    }
    if (status == Z_OK) continue;
    if (status == Z_BUF_ERROR && input_left == 0) {
      inflateEnd(&stream);
      throw Error("the gzip data in " + what + " " + quoted(path) +
                  " ends early: the file is truncated (an interrupted download?); fetch it again");
    }
    if (status == Z_BUF_ERROR) continue;  // no progress possible in this chunk: go on
    const std::string reason = stream.msg ? stream.msg : "error " + std::to_string(status);
    inflateEnd(&stream);
    throw Error(what + " " + quoted(path) + " starts like gzip but cannot be inflated (zlib: " + reason +
                "); the file is corrupt, fetch it again");
  }
  inflateEnd(&stream);
  out.size = produced;
  return out;
}

}  // namespace

FileBytes read_raw_bytes(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(open_error(path, what, errno));
  FdCloser closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error(open_error(path, what, errno));
  if (S_ISDIR(info.st_mode)) throw Error(what + " " + quoted(path) + " is a directory; give the path of a file");
  // Read the size fstat reports, and keep going in case the file grew (or is a pipe).
  FileBytes bytes;
  size_t capacity = 0;
  grow(bytes, capacity, 0, static_cast<size_t>(std::max<off_t>(info.st_size, 0)) + 1);
  size_t done = 0;
  for (;;) {
    if (done == capacity) grow(bytes, capacity, done, capacity * 2);
    const ssize_t got = ::read(fd, bytes.storage.get() + done, capacity - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(open_error(path, what, errno));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  bytes.size = done;
  return bytes;
}

FileBytes read_bytes_maybe_gzip(const std::string& path, const std::string& what) {
  FileBytes bytes = read_raw_bytes(path, what);
  if (!looks_like_gzip(bytes.view())) return bytes;
  return inflate_gzip(bytes.view(), path, what);
}

std::string read_raw_file(const std::string& path, const std::string& what) {
  return std::string(read_raw_bytes(path, what).view());
}

std::string read_file_maybe_gzip(const std::string& path, const std::string& what) {
  return std::string(read_bytes_maybe_gzip(path, what).view());
}

}  // namespace nntune::detail
