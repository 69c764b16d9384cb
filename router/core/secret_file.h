// The one reader of a private secret file: 32 bytes as 64 hex digits and an optional newline, in a regular file that
// only its owner may read or write. Account key files and the master key file both use it. Header-only and POSIX.
#pragma once

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weft/error.hpp>
#include <weft/text.hpp>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace weft {

// nullopt when the file does not exist; an error naming the file (never its content) when it is not a regular file,
// group or others may access it, or it does not hold exactly one secret. `label` names it: "key file", ...
inline Result<std::optional<std::array<std::uint8_t, 32>>> read_secret_file(const std::filesystem::path &path,
                                                                             std::string_view label) {
  auto fail = [&](const std::string &why) { return Error{code::kInternal, std::string(label) + " " + path.string() + why}; };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::array<std::uint8_t, 32>>();
    return fail(": cannot open it: " + std::string(std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(": cannot stat it: " + std::string(std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return fail(" is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(std::string(" has mode ") + mode + ", so group or others can read it (or write it); run 'chmod 600 " +
                path.string() + "'");
  }
  // One byte more than the longest valid content, to tell "too long" from "exactly right".
  std::array<char, 66> text{};
  std::array<std::uint8_t, 32> secret{};
  std::size_t len = 0;
  while (len < text.size()) {
    ssize_t n = ::read(fd, text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(text.data(), text.size());
      return fail(": cannot read it: " + std::string(std::strerror(errno)));
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
  }
  bool ok = len == 64 || (len == 65 && text[64] == '\n');
  for (std::size_t i = 0; ok && i < secret.size(); ++i) {
    int hi = text::hex_value(text[2 * i]), lo = text::hex_value(text[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    secret[i] = static_cast<std::uint8_t>(ok ? hi * 16 + lo : 0);
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return fail(" is malformed: expected one line of 64 hex characters; restore it from a backup");
  }
  return std::optional(secret);
}

// Writes all of data to fd, through short writes and interruptions; the error says why (errno's text).
inline Status write_fully(int fd, const char *data, std::size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{code::kInternal, std::strerror(errno)};
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return Ok{};
}

} // namespace weft
