#include "test_util.hpp"

#include "test_builders.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace nntune::testing {

namespace {
// NNTUNE_STORAGE stands for --storage in every command: one left in a developer's shell must
// not send the tests' studies to their database. A test that wants it sets it itself.
const bool storage_env_cleared = [] {
  unsetenv("NNTUNE_STORAGE");
  return true;
}();
}  // namespace

PostgresServerControlLock::PostgresServerControlLock() {
  const char* datadir = std::getenv("NNTUNE_TEST_POSTGRES_DATADIR");
  if (!datadir || !*datadir) return;
  const std::string path = (std::filesystem::path(datadir).parent_path() / "nntune-server-control.lock").string();
  fd_ = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);  // CLOEXEC: a server pg_ctl starts must not inherit it
  if (fd_ >= 0) flock(fd_, LOCK_EX);
}

PostgresServerControlLock::~PostgresServerControlLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("nntune_test_" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

CliRun run_nntune(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string command = "cd '" + dir.path().string() + "' && '" + NNTUNE_CLI + "' " + args + " >'" + out +
                              "' 2>'" + err + "' </dev/null";
  const int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_file(out);
  run.err = read_file(err);
  return run;
}

std::string two_class_csv(int rows) {
  std::string csv = "a,b,label\n";
  for (int i = 0; i < rows; ++i) {
    const int cls = i % 2;
    csv += std::to_string(cls * 3.0 + (i % 7) * 0.1) + "," + std::to_string(1.0 - cls * 2.0 + (i % 5) * 0.1) + "," +
           std::to_string(cls) + "\n";
  }
  return csv;
}

std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data, int major,
                      const std::string& fortran) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  // The magic, the version and the header's length (2 bytes in version 1, 4 after) come first;
  // the header is padded with blanks so that the data starts at a multiple of 64.
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY";
  bytes.push_back(static_cast<char>(major));
  bytes.push_back(0);
  const size_t n = header.size();
  bytes.push_back(static_cast<char>(n & 0xff));
  bytes.push_back(static_cast<char>((n >> 8) & 0xff));
  if (major != 1) {
    bytes.push_back(static_cast<char>((n >> 16) & 0xff));
    bytes.push_back(static_cast<char>((n >> 24) & 0xff));
  }
  return bytes + header + data;
}

void write_npy(const std::string& path, const Shape& shape, const std::vector<float>& values) {
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i) tuple += (i ? ", " : "") + std::to_string(shape[i]);
  tuple += shape.size() == 1 ? ",)" : ")";
  write_file(path, npy_bytes("<f4", tuple, raw_bytes(values)));
}

Tensor run_forward(Layer& layer, const Tensor& in, bool training, uint64_t seed) {
  Rng rng(seed);
  Tensor out;
  layer.forward(in, out, ForwardContext{training, &rng});
  return out;
}

}  // namespace nntune::testing
