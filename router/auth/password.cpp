// scrypt through OpenSSL 3's EVP_KDF "SCRYPT" (the default provider), so no other crypto library is needed.
#include "password.h"

#include "encoding.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>


namespace weft::auth {

namespace {

// The salt WeCross's SDK puts before the password (rpc/common/LoginSalt.java).
constexpr std::string_view kClientSalt = "1234567890~!#$%^&*()_+";

// Room for scrypt's 128 * r * N bytes plus its small buffers; OpenSSL refuses parameters needing more than this.
constexpr std::uint64_t kScryptMaxMem = 64ull * 1024 * 1024;

Status scrypt(std::string_view input, std::span<const std::uint8_t> salt, std::span<std::uint8_t> out) {
  EVP_KDF *kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf); // the context holds its own reference
  if (!ctx) return Error{code::kInternal, "password: OpenSSL offers no SCRYPT KDF; check the OpenSSL 3 installation"};
  std::uint64_t n = kScryptN, maxmem = kScryptMaxMem;
  std::uint32_t r = kScryptR, p = kScryptP;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char *>(input.data()), input.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t *>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return Error{code::kInternal, "password: scrypt failed (out of memory?); try again"};
  return Ok{};
}

} // namespace

std::string client_password_hash(std::string_view password) {
  std::string salted(kClientSalt);
  salted += password;
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char *>(salted.data()), salted.size(), digest.data());
  OPENSSL_cleanse(salted.data(), salted.size());
  return hex_encode(digest);
}

Result<PasswordHash> hash_password(std::string_view client_hash) {
  PasswordHash out;
  if (RAND_bytes(out.salt.data(), static_cast<int>(out.salt.size())) != 1)
    return Error{code::kInternal, "password: the random generator failed; try again"};
  if (auto s = scrypt(client_hash, out.salt, out.hash); !s) return s.error();
  return out;
}

Result<bool> verify_password(std::string_view client_hash, std::span<const std::uint8_t> salt,
                             std::span<const std::uint8_t> hash) {
  if (salt.size() != kSaltBytes || hash.size() != kPasswordHashBytes)
    return Error{code::kInternal, "password: the stored salt or hash has the wrong size (" +
                                      std::to_string(salt.size()) + ", " + std::to_string(hash.size()) +
                                      " bytes); reset the user's password"};
  std::array<std::uint8_t, kPasswordHashBytes> derived{};
  if (auto s = scrypt(client_hash, salt, derived); !s) return s.error();
  return CRYPTO_memcmp(derived.data(), hash.data(), derived.size()) == 0;
}

void burn_kdf(std::string_view client_hash) {
  // A fixed salt and hash: no user has them, and they are never compared equal in a way that matters.
  static constexpr std::array<std::uint8_t, kSaltBytes> kSalt{};
  static constexpr std::array<std::uint8_t, kPasswordHashBytes> kHash{};
  (void)verify_password(client_hash, kSalt, kHash);
}

KdfPool::KdfPool(int threads) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

KdfPool::~KdfPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto &t : threads_)
    t.join();
}

void KdfPool::submit(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
}

std::size_t KdfPool::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void KdfPool::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return; // stopping, and drained
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      if (work) work();
    } catch (...) {
      // The pool outlives a failing task; the task reports its own outcome.
    }
    work = nullptr; // destroy what it captured outside the lock
    lock.lock();
  }
}

} // namespace weft::auth
