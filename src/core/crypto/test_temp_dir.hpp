// TestTempDir: a fresh private directory for one test, removed with everything in it when
// the object goes out of scope. Used by the *_test.cpp files of this folder only.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {

class TestTempDir {
 public:
  TestTempDir() : path_(std::filesystem::temp_directory_path() / ("ms-crypto-test-" + to_hex(random_bytes(8)))) {
    std::filesystem::create_directories(path_);
  }
  ~TestTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

  // Number of directory entries, to prove no temporary file was left behind.
  std::size_t entry_count() const {
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator(path_), std::filesystem::directory_iterator()));
  }

 private:
  std::filesystem::path path_;
};

inline void write_test_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline std::string read_test_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace ms::crypto
