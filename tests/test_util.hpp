#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <cstdint>
#include <string>
#include <vector>

#include "nntune/error.hpp"

namespace nntune::testing {

// Whether this build runs under AddressSanitizer. Sanitizers change what a few tests measure:
// their slowdown breaks wall-clock bounds, and their allocator places buffers elsewhere.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

// Tests that restart or stop the private PostgreSQL server of scripts/with_postgres.sh take
// turns (ctest runs test binaries in parallel): an exclusive lock on a file beside the server's
// data dir (NNTUNE_TEST_POSTGRES_DATADIR), held for the object's life.
class PostgresServerControlLock {
 public:
  PostgresServerControlLock();
  ~PostgresServerControlLock();
  PostgresServerControlLock(const PostgresServerControlLock&) = delete;
  PostgresServerControlLock& operator=(const PostgresServerControlLock&) = delete;

 private:
  int fd_ = -1;
};

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_file(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);

// The nntune binary run as a user would: `cd dir && nntune ARGS </dev/null`.
struct CliRun {
  int exit_code = -1;
  std::string out, err;
};
CliRun run_nntune(const TempDir& dir, const std::string& args);

// A CSV "a,b,label" of two classes that a small network separates in a few epochs.
std::string two_class_csv(int rows);

}  // namespace nntune::testing

// Asserts that `statement` throws nntune::Error whose message contains every given substring.
#define EXPECT_ERROR_CONTAINS(statement, ...)                                              \
  do {                                                                                     \
    try {                                                                                  \
      statement;                                                                           \
      ADD_FAILURE() << "expected nntune::Error from: " #statement;                         \
    } catch (const nntune::Error& error__) {                                               \
      for (const std::string& part__ : std::initializer_list<std::string>{__VA_ARGS__})    \
        EXPECT_NE(std::string(error__.what()).find(part__), std::string::npos)             \
            << "message \"" << error__.what() << "\" lacks \"" << part__ << "\"";           \
    }                                                                                      \
  } while (0)
