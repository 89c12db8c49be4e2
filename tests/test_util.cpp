#include "test_util.hpp"

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

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  write_file(path, bytes);
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

}  // namespace nntune::testing
