#include "validator_key.h"

#include "error.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace weft::refchain {

namespace {
std::string sys_error() { return std::strerror(errno); }

ValidatorKey from_secret(const SecretKey &s) {
  ValidatorKey k;
  k.secret = s;
  k.public_key = public_key_of(s);
  k.address = address_of(k.public_key);
  return k;
}

ValidatorKey create(const std::string &path) {
  SecretKey s{};
  do {
    if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) throw Error(WEFT_E_INTERNAL, "RAND_bytes failed");
  } while (!valid_secret_key(s));
  // O_EXCL: two validators racing for one file must not both believe they own a fresh key.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(WEFT_E_UNAVAILABLE, "cannot create validator key " + path + ": " + sys_error());
  std::string text = to_hex(s) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw Error(WEFT_E_UNAVAILABLE, "cannot write validator key " + path + ": " + sys_error());
  return from_secret(s);
}
} // namespace

ValidatorKey load_or_create_validator_key(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return create(path);
    throw Error(WEFT_E_UNAVAILABLE, "cannot read validator key " + path + ": " + sys_error());
  }
  if ((st.st_mode & 077) != 0)
    throw Error(WEFT_E_INVALID_ARGUMENT, "validator key " + path + " is accessible by group or others; chmod 600 it");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(WEFT_E_UNAVAILABLE, "cannot open validator key " + path + ": " + sys_error());
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) throw Error(WEFT_E_UNAVAILABLE, "cannot read validator key " + path + ": " + sys_error());
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  Bytes b;
  try {
    b = from_hex(text);
  } catch (const Error &) {
    b.clear();
  }
  SecretKey s{};
  if (b.size() != s.size()) throw Error(WEFT_E_INVALID_ARGUMENT, "validator key " + path + " is not 32 bytes of hex");
  std::copy(b.begin(), b.end(), s.begin());
  if (!valid_secret_key(s)) throw Error(WEFT_E_INVALID_ARGUMENT, "validator key " + path + " is not a valid key");
  return from_secret(s);
}

} // namespace weft::refchain
