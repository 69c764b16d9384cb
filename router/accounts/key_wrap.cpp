// GCM authenticates be32(key_version) || aad, so neither the version nor the owner of a sealed key can be swapped.
// The master key file is created through a private temporary file and link(2), like the keystore's key files: a
// crash never leaves half a key under the real name, and link refuses to replace an existing file.
#include "key_wrap.h"

#include "core/secret_file.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <weft/text.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace weft::accounts {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kTagSize = 16;
constexpr std::size_t kSecretSize = 32;
constexpr std::string_view kAadLabel = "weft-chain-key-v1";

Error fail(std::string msg) {
  return Error{code::kInternal, std::move(msg)};
}

std::string sys_error(int err) {
  return std::strerror(err);
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Wipes a buffer that held secret material on every return path.
template <class Buf> struct Wipe {
  Buf &buf;
  ~Wipe() { OPENSSL_cleanse(buf.data(), buf.size()); }
};
template <class Buf> Wipe(Buf &) -> Wipe<Buf>; // for compilers without aggregate CTAD (clang before 17)

std::array<std::uint8_t, 4> be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v)};
}

void put_be64(std::vector<std::uint8_t> &out, std::int64_t value) {
  auto v = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Starts AES-256-GCM with a 96-bit nonce and feeds it the AAD. EVP_CipherInit_ex's enc: 1 seal, 0 open.
Result<CipherCtx> start_gcm(const MasterKey &master, const std::array<std::uint8_t, 12> &nonce,
                            std::uint32_t key_version, std::span<const std::uint8_t> aad, int enc) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  auto version = be32(key_version);
  int len = 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, master.bytes().data(), nonce.data(), enc) != 1 ||
      EVP_CipherUpdate(ctx.get(), nullptr, &len, version.data(), static_cast<int>(version.size())) != 1 ||
      (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)) {
    ERR_clear_error();
    return fail("cannot start AES-256-GCM");
  }
  return ctx;
}


} // namespace

MasterKey::MasterKey(std::span<const std::uint8_t, 32> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

MasterKey::MasterKey(MasterKey &&other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

MasterKey &MasterKey::operator=(MasterKey &&other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

MasterKey::~MasterKey() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

Result<MasterKey> load_master_key(const fs::path &path) {
  auto key = read_secret_file(path, "master key file");
  if (!key) return key.error();
  if (!*key)
    return fail("master key file " + path.string() +
                " does not exist; restore it from a backup (without it no sealed chain key can be opened)");
  MasterKey out(**key);
  OPENSSL_cleanse((*key)->data(), 32);
  return out;
}

Status create_master_key(const fs::path &path) {
  std::array<std::uint8_t, 32> key{};
  Wipe wipe_key{key};
  if (RAND_priv_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    ERR_clear_error();
    return fail("cannot create master key " + path.string() + ": the system random number generator failed");
  }
  std::array<char, 65> text{};
  Wipe wipe_text{text};
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < key.size(); ++i) {
    text[2 * i] = kHex[key[i] >> 4];
    text[2 * i + 1] = kHex[key[i] & 15];
  }
  text[64] = '\n';

  // Unique per process and call; a leftover with the same name can only come from a crashed process with our pid.
  static std::atomic<unsigned> counter{0};
  fs::path tmp = path;
  tmp += "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".tmp";
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return fail("cannot create master key file " + tmp.string() + ": " + sys_error(errno));
  // fchmod makes the mode exact whatever the umask; fsync makes the key durable before it is visible by name.
  Status written =
      ::fchmod(fd.get(), 0600) == 0 ? write_fully(fd.get(), text.data(), text.size()) : fail(sys_error(errno));
  if (written && ::fsync(fd.get()) != 0) written = fail(sys_error(errno));
  if (::close(fd.release()) != 0 && written) written = fail(sys_error(errno));
  if (!written) {
    ::unlink(tmp.c_str());
    return fail("cannot write master key file " + tmp.string() + ": " + written.error().message);
  }
  // link(2), unlike rename(2), fails when the name exists: an existing master key is never replaced.
  int linked = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno == EEXIST)
    return fail("master key file " + path.string() + " already exists; refusing to overwrite it");
  if (linked != 0) return fail("cannot create master key file " + path.string() + ": " + sys_error(link_errno));
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok{};
}

Result<SealedKey> seal(const MasterKey &master, std::uint32_t key_version, std::span<const std::uint8_t> plaintext,
                       std::span<const std::uint8_t> aad) {
  if (plaintext.size() != kSecretSize)
    return fail("seal takes a 32-byte secret key, got " + std::to_string(plaintext.size()) + " bytes");
  SealedKey out;
  out.key_version = key_version;
  // Random 96-bit nonces: with one master key, a collision stays negligible for far more keys than a router holds.
  if (RAND_bytes(out.nonce.data(), static_cast<int>(out.nonce.size())) != 1) {
    ERR_clear_error();
    return fail("cannot seal a key: the system random number generator failed");
  }
  auto ctx = start_gcm(master, out.nonce, key_version, aad, 1);
  if (!ctx) return ctx.error();
  out.ciphertext.resize(plaintext.size() + kTagSize);
  int len = 0, final_len = 0;
  if (EVP_EncryptUpdate(ctx->get(), out.ciphertext.data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx->get(), out.ciphertext.data() + len, &final_len) != 1 ||
      static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          out.ciphertext.data() + plaintext.size()) != 1) {
    ERR_clear_error();
    return fail("AES-256-GCM sealing failed");
  }
  return out;
}

Result<SecretKey> open(const MasterKey &master, const SealedKey &sealed, std::span<const std::uint8_t> aad) {
  if (sealed.ciphertext.size() != kSecretSize + kTagSize)
    return fail("a sealed key must be " + std::to_string(kSecretSize + kTagSize) + " bytes (key and tag), got " +
                std::to_string(sealed.ciphertext.size()));
  auto ctx = start_gcm(master, sealed.nonce, sealed.key_version, aad, 0);
  if (!ctx) return ctx.error();
  std::array<std::uint8_t, kSecretSize> plain{};
  Wipe wipe_plain{plain};
  std::array<std::uint8_t, kTagSize> tag{};
  std::copy(sealed.ciphertext.end() - kTagSize, sealed.ciphertext.end(), tag.begin());
  int len = 0, final_len = 0;
  // The plaintext only leaves this function once the tag has checked; on failure it is wiped unread.
  bool ok =
      EVP_DecryptUpdate(ctx->get(), plain.data(), &len, sealed.ciphertext.data(), static_cast<int>(kSecretSize)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx->get(), plain.data() + len, &final_len) == 1 &&
      static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len) == kSecretSize;
  ERR_clear_error();
  if (!ok)
    return fail("cannot open a sealed key (master key version " + std::to_string(sealed.key_version) +
                "): authentication failed, so the master key is not the one that sealed it, the key belongs to "
                "another account or key id, or the stored data is corrupt");
  return SecretKey(plain);
}

std::vector<std::uint8_t> account_aad(std::int64_t ua_id, std::int64_t key_id, KeyAlgorithm algorithm) {
  std::string_view alg = name(algorithm);
  std::vector<std::uint8_t> out(kAadLabel.begin(), kAadLabel.end());
  out.reserve(kAadLabel.size() + 8 + 8 + 1 + alg.size());
  put_be64(out, ua_id);
  put_be64(out, key_id);
  out.push_back(static_cast<std::uint8_t>(alg.size()));
  out.insert(out.end(), alg.begin(), alg.end());
  return out;
}

} // namespace weft::accounts
