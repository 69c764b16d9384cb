// Fixtures the router's unit tests share: a temporary directory removed at the end, and waits that scale with
// WEFT_TEST_TIME_SCALE so sanitizer builds and slow machines pass.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace weft::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string &prefix = "weft-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
};

inline std::chrono::milliseconds scaled(int ms) {
  const char *s = std::getenv("WEFT_TEST_TIME_SCALE");
  double scale = s ? std::atof(s) : 1.0;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms * (scale > 0 ? scale : 1.0)));
}

} // namespace weft::test
