//===- TempFiles.h - Temporary directories and file reads for tests -------===//
//
// Shared by the tests that write bundles and kernels to disk (BundleTest,
// RuntimeTest).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_TEMPFILES_H
#define ATTN_TEST_UNIT_TEMPFILES_H

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace attn_test {

/// A fresh directory under gtest's temp dir (empty string on failure).
inline std::string makeTempDir() {
  std::string templ = ::testing::TempDir() + "attn-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  const char *d = mkdtemp(buf.data());
  return d ? std::string(d) : std::string();
}

/// A temp directory removed with everything in it at scope exit.
struct ScopedTempDir {
  std::string path = makeTempDir();
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path.empty())
      std::filesystem::remove_all(path, ec);
  }
};

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace attn_test

#endif // ATTN_TEST_UNIT_TEMPFILES_H
