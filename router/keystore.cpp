// Key files are created through a private temporary file and link(2), so a crash never leaves a half-written key and
// two routers starting at once on one data dir end up with the same key instead of overwriting each other's.
#include "keystore.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <weft/text.hpp>

#include "accounts/chain_keys.h"
#include "core/secret_file.h"
#include <secp256k1_recovery.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

namespace weft {

namespace fs = std::filesystem;

struct Keystore::Key {
  std::string name;
  std::string algorithm;
  accounts::KeyAlgorithm kind = accounts::KeyAlgorithm::Secp256k1;
  std::array<std::uint8_t, 32> secret{};
  std::array<std::uint8_t, 64> public_key{};

  Key() = default;
  Key(const Key &) = default;
  Key &operator=(const Key &) = default;
  ~Key() { OPENSSL_cleanse(secret.data(), secret.size()); }
};

namespace {

constexpr std::string_view kSecp256k1 = "secp256k1";
constexpr std::string_view kSm2 = "sm2";
using accounts::KeyAlgorithm;

Error fail(const std::string &msg) {
  return Error{code::kInternal, msg};
}

std::string sys_error(int err) {
  return std::strerror(err);
}

// Wipes a buffer that held secret material when it goes out of scope, on every return path.
template <class Buf> struct Wipe {
  Buf &buf;
  ~Wipe() { OPENSSL_cleanse(buf.data(), buf.size()); }
};

// Creates missing directories with mode 0700; directories that already exist are left as the user set them.
Status make_private_dirs(const fs::path &dir) {
  if (dir.empty()) return Ok{};
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Ok{};
  if (dir.has_parent_path() && dir.parent_path() != dir)
    if (auto s = make_private_dirs(dir.parent_path()); !s) return s;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("cannot create key directory " + dir.string() + ": " + sys_error(errno));
  return Ok{};
}

using text::hex_value;

class FileCloser {
public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

// Whether a secret is a usable key of the curve: SM2's range check is chain_keys' own (it also refuses n-1).
bool valid_secret(const secp256k1_context *ctx, KeyAlgorithm kind, const std::array<std::uint8_t, 32> &secret) {
  if (kind == KeyAlgorithm::Secp256k1) return secp256k1_ec_seckey_verify(ctx, secret.data()) == 1;
  return accounts::public_key(kind, accounts::SecretKey(secret)).ok();
}

// Reads an existing key file (the shared reader), then checks it holds a valid key of the account's curve. An empty
// optional (not an error) when the file does not exist.
Result<std::optional<std::array<std::uint8_t, 32>>> read_key(const secp256k1_context *ctx, KeyAlgorithm kind,
                                                             const fs::path &path) {
  auto secret = read_secret_file(path, "key file");
  if (!secret || !*secret) return secret;
  if (!valid_secret(ctx, kind, **secret)) {
    OPENSSL_cleanse((*secret)->data(), 32);
    return fail("key file " + path.string() + " does not hold a valid " + std::string(accounts::name(kind)) +
                " secret key (zero or not below the curve order); restore it from a backup");
  }
  return secret;
}


// Creates a key file with a fresh key, or reads the one another process created first.
// A fresh secret key, in memory only.
Result<std::array<std::uint8_t, 32>> fresh_secret(const secp256k1_context *ctx, KeyAlgorithm kind) {
  std::array<std::uint8_t, 32> secret{};
  if (kind != KeyAlgorithm::Secp256k1) {
    auto key = accounts::generate_key(kind);
    if (!key) return key.error();
    std::copy(key->bytes().begin(), key->bytes().end(), secret.begin());
    return secret;
  }
  // Almost every 32-byte string is a valid secret; the loop only skips zero and values above the curve order.
  do {
    if (RAND_priv_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
      OPENSSL_cleanse(secret.data(), secret.size());
      return fail("the system random number generator failed");
    }
  } while (!secp256k1_ec_seckey_verify(ctx, secret.data()));
  return secret;
}

Result<std::array<std::uint8_t, 32>> create_key(const secp256k1_context *ctx, KeyAlgorithm kind,
                                                const fs::path &path) {
  if (auto s = make_private_dirs(path.parent_path()); !s) return s.error();
  auto fresh = fresh_secret(ctx, kind);
  if (!fresh) return fail("cannot create key " + path.string() + ": " + fresh.error().message);
  std::array<std::uint8_t, 32> secret = *fresh;
  OPENSSL_cleanse(fresh->data(), fresh->size());
  Wipe wipe_secret{secret};

  std::array<char, 65> text{};
  Wipe wipe_text{text};
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 32; ++i) {
    text[2 * i] = kHex[secret[i] >> 4];
    text[2 * i + 1] = kHex[secret[i] & 15];
  }
  text[64] = '\n';

  // Unique per process and call; a leftover with the same name can only come from a crashed process with our pid.
  static std::atomic<unsigned> counter{0};
  fs::path tmp = path;
  tmp += "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("cannot create key file " + tmp.string() + ": " + sys_error(errno));
  FileCloser closer(fd);
  // fchmod makes the mode exact whatever the umask; fsync makes the key durable before it is visible by name.
  Status written = ::fchmod(fd, 0600) == 0 ? write_fully(fd, text.data(), text.size()) : fail(sys_error(errno));
  if (written && ::fsync(fd) != 0) written = fail(sys_error(errno));
  if (::close(closer.release()) != 0 && written) written = fail(sys_error(errno));
  if (!written) {
    ::unlink(tmp.c_str());
    return fail("cannot write key file " + tmp.string() + ": " + written.error().message);
  }
  int linked = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  if (linked != 0 && (link_errno == EPERM || link_errno == EOPNOTSUPP)) {
    // A file system without hard links: rename is atomic too, only not exclusive.
    linked = ::rename(tmp.c_str(), path.c_str());
    link_errno = errno;
  }
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno == EEXIST) {
    auto theirs = read_key(ctx, kind, path);
    if (!theirs) return theirs.error();
    if (!*theirs) return fail("key file " + path.string() + " vanished while it was being created; start again");
    Wipe wipe_theirs{**theirs};
    return std::array<std::uint8_t, 32>(**theirs);
  }
  if (linked != 0) return fail("cannot create key file " + path.string() + ": " + sys_error(link_errno));
  if (int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::array<std::uint8_t, 32>(secret);
}

} // namespace

Keystore::Keystore() : ctx_(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) {}

Keystore::~Keystore() {
  keys_.clear();
  if (ctx_) secp256k1_context_destroy(ctx_);
}

Result<std::unique_ptr<Keystore>> Keystore::open(const fs::path &data_dir, const std::vector<AccountConfig> &accounts,
                                                 const SealedKeys *sealed) {
  std::unique_ptr<Keystore> ks(new Keystore());
  if (!ks->ctx_) return fail("cannot create a secp256k1 context");
  // Blinds the context's precomputed tables against timing side channels, per libsecp256k1's advice.
  std::array<std::uint8_t, 32> seed{};
  Wipe wipe_seed{seed};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1 ||
      !secp256k1_context_randomize(ks->ctx_, seed.data()))
    return fail("cannot randomize the secp256k1 context: the system random number generator failed");

  ks->keys_.reserve(accounts.size());
  for (const auto &acc : accounts) {
    if (acc.algorithm != kSecp256k1 && acc.algorithm != kSm2)
      return Error{code::kChainAccount, "account '" + acc.name + "': algorithm '" + acc.algorithm +
                                            "' is not supported for router accounts; use secp256k1 or sm2"};
    const KeyAlgorithm kind = acc.algorithm == kSm2 ? KeyAlgorithm::Sm2 : KeyAlgorithm::Secp256k1;
    if (std::any_of(ks->keys_.begin(), ks->keys_.end(), [&](const Key &k) { return k.name == acc.name; }))
      return fail("account '" + acc.name + "' is configured twice; account names must be unique");
    fs::path path = acc.key_file.empty() ? data_dir / "keys" / (acc.name + ".key") : acc.key_file;
    Key key;
    key.name = acc.name;
    key.algorithm = acc.algorithm;
    key.kind = kind;
    // With a master key the sealed copy is the key; a plain file's key (or a new one, which never touches the disk
    // in the clear) moves in, and the plain file goes once the sealed copy is durable.
    std::optional<std::array<std::uint8_t, 32>> stored;
    if (sealed != nullptr) {
      auto loaded = sealed->load(acc.name);
      if (!loaded) return loaded.error();
      if (*loaded) {
        stored = **loaded;
        OPENSSL_cleanse((*loaded)->data(), 32);
      }
    }
    if (stored && !valid_secret(ks->ctx_, kind, *stored)) {
      OPENSSL_cleanse(stored->data(), stored->size());
      return fail("the sealed key of account '" + acc.name + "' is not a valid " + acc.algorithm + " secret key");
    }
    if (stored) {
      key.secret = *stored;
      OPENSSL_cleanse(stored->data(), stored->size());
    } else {
      auto existing = read_key(ks->ctx_, kind, path);
      if (!existing) return existing.error();
      auto secret = *existing ? Result<std::array<std::uint8_t, 32>>(**existing)
                              : sealed != nullptr ? fresh_secret(ks->ctx_, kind) : create_key(ks->ctx_, kind, path);
      if (*existing) OPENSSL_cleanse(existing->value().data(), 32);
      if (!secret) return secret.error();
      key.secret = *secret;
      OPENSSL_cleanse(secret->data(), secret->size());
      if (sealed != nullptr)
        if (auto s = sealed->save(acc.name, key.secret); !s) return s.error();
    }
    if (sealed != nullptr) {
      // Also a plain copy left by a start that stopped right after sealing.
      std::error_code ec;
      if (fs::exists(path, ec)) {
        fs::remove(path, ec);
        if (ec) return fail("cannot remove the plain key file " + path.string() + " now that it is sealed: " + ec.message());
      }
    }
    if (kind == KeyAlgorithm::Secp256k1) {
      secp256k1_pubkey pub;
      std::array<std::uint8_t, 65> serialized{};
      std::size_t len = serialized.size();
      if (!secp256k1_ec_pubkey_create(ks->ctx_, &pub, key.secret.data()) ||
          !secp256k1_ec_pubkey_serialize(ks->ctx_, serialized.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED))
        return fail("cannot derive the public key of account '" + acc.name + "'");
      std::copy(serialized.begin() + 1, serialized.end(), key.public_key.begin());
    } else {
      auto pub = accounts::public_key(kind, accounts::SecretKey(key.secret));
      if (!pub) return fail("cannot derive the public key of account '" + acc.name + "': " + pub.error().message);
      key.public_key = *pub;
    }
    ks->keys_.push_back(key);
  }
  return ks;
}

Result<const Keystore::Key *> Keystore::find(std::string_view account, std::string_view algorithm) const {
  auto it = std::find_if(keys_.begin(), keys_.end(), [&](const Key &k) { return k.name == account; });
  if (it == keys_.end()) {
    std::string names;
    for (const auto &k : keys_)
      names += (names.empty() ? "" : ", ") + k.name;
    return Error{code::kAccountNotFound,
                 "account '" + std::string(account) + "' not found; " +
                     (names.empty() ? "no accounts are configured (add one under accounts in the router config)"
                                    : "configured accounts: " + names)};
  }
  if (algorithm != it->algorithm)
    return Error{code::kChainAccount, "account '" + it->name + "' holds a " + it->algorithm +
                                          " key; cannot use it as '" + std::string(algorithm) + "'"};
  return &*it;
}

Result<Signed> Keystore::sign(std::string_view account, std::string_view algorithm,
                              std::span<const std::uint8_t> digest) const {
  auto key = find(account, algorithm);
  if (!key) return key.error();
  if ((*key)->kind != KeyAlgorithm::Secp256k1) {
    auto sig = accounts::sign((*key)->kind, accounts::SecretKey((*key)->secret), digest, &(*key)->public_key);
    if (!sig) return fail("signing failed for account '" + std::string(account) + "': " + sig.error().message);
    return Signed{std::move(*sig), (*key)->public_key};
  }
  if (digest.size() != 32)
    return fail("cannot sign for account '" + std::string(account) + "': the digest must be 32 bytes, got " +
                std::to_string(digest.size()));
  secp256k1_ecdsa_recoverable_signature sig;
  // libsecp256k1 always produces a low-S signature, which chains with malleability rules (ours included) require.
  if (!secp256k1_ecdsa_sign_recoverable(ctx_, &sig, digest.data(), (*key)->secret.data(), nullptr, nullptr))
    return fail("signing failed for account '" + std::string(account) + "'");
  Signed out{std::vector<std::uint8_t>(65), (*key)->public_key};
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_, out.signature.data(), &recid, &sig);
  out.signature[64] = static_cast<std::uint8_t>(recid);
  return out;
}

Result<std::vector<std::uint8_t>> Keystore::public_key(std::string_view account, std::string_view algorithm) const {
  auto key = find(account, algorithm);
  if (!key) return key.error();
  return std::vector<std::uint8_t>((*key)->public_key.begin(), (*key)->public_key.end());
}

std::vector<AccountInfo> Keystore::list() const {
  std::vector<AccountInfo> out;
  for (const auto &k : keys_)
    out.push_back({k.name, k.algorithm, std::vector<std::uint8_t>(k.public_key.begin(), k.public_key.end())});
  return out;
}

} // namespace weft
