#include "login_key.h"

#include "am_codes.h"
#include "encoding.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <vector>

namespace weft::auth {

struct LoginKey::Key {
  EVP_PKEY *pkey = nullptr;
  std::string spki_base64;
  std::size_t block_bytes = 0; // the modulus size: every ciphertext is exactly this long

  Key() = default;
  Key(const Key &) = delete;
  Key &operator=(const Key &) = delete;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

Error login_failed() {
  return Error{am_code::kLoginFailed, "account or password incorrect"};
}

Result<std::shared_ptr<const LoginKey::Key>> generate(int bits) {
  auto key = std::make_shared<LoginKey::Key>();
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 &&
            EVP_PKEY_generate(ctx, &key->pkey) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return Error{code::kInternal, "login key: cannot generate an RSA-" + std::to_string(bits) + " key"};
  }
  unsigned char *der = nullptr;
  int len = i2d_PUBKEY(key->pkey, &der);
  if (len <= 0) {
    ERR_clear_error();
    return Error{code::kInternal, "login key: cannot encode the public key"};
  }
  key->spki_base64 = base64_encode(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  key->block_bytes = static_cast<std::size_t>(EVP_PKEY_get_size(key->pkey));
  return std::shared_ptr<const LoginKey::Key>(std::move(key));
}

std::optional<std::string> decrypt_with(const LoginKey::Key &key, const std::vector<std::uint8_t> &block) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key.pkey, nullptr);
  std::string out(key.block_bytes, '\0');
  std::size_t out_len = out.size();
  bool ok =
      ctx && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
      EVP_PKEY_decrypt(ctx, reinterpret_cast<unsigned char *>(out.data()), &out_len, block.data(), block.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  // What failed stays out of the thread's error queue, where later code could read (or log) it.
  ERR_clear_error();
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

} // namespace

Result<std::unique_ptr<LoginKey>> LoginKey::create(const Options &options) {
  if (options.bits < 2048)
    return Error{code::kInternal, "login key: " + std::to_string(options.bits) + " bits is too weak; use 2048 or more"};
  auto first = generate(options.bits);
  if (!first) return first.error();
  std::unique_ptr<LoginKey> key(new LoginKey(options));
  key->current_ = std::move(*first);
  try {
    if (options.period.count() > 0) key->rotator_ = std::thread([k = key.get()] { k->rotate_loop(); });
  } catch (const std::exception &e) {
    return Error{code::kInternal, std::string("login key: cannot start the rotation thread: ") + e.what()};
  }
  return key;
}

LoginKey::~LoginKey() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (rotator_.joinable()) rotator_.join();
}

std::string LoginKey::public_key_base64() const {
  std::shared_lock lock(keys_mu_);
  return current_->spki_base64;
}

Result<std::string> LoginKey::decrypt(std::string_view base64_ciphertext) const {
  std::shared_ptr<const Key> current, previous;
  {
    std::shared_lock lock(keys_mu_);
    current = current_;
    previous = previous_;
  }
  auto block = base64_decode(base64_ciphertext);
  if (!block || block->size() != current->block_bytes) return login_failed();
  // Both keys, always: which one the block was made for must not show in the time taken.
  std::optional<std::string> by_current = decrypt_with(*current, *block);
  std::optional<std::string> by_previous;
  if (previous && previous->block_bytes == block->size()) by_previous = decrypt_with(*previous, *block);
  // A block made for one key passes the other's padding check about once in 2^16 tries, as noise. The SDK encrypts a
  // JSON object, so when both pass, the one that starts like one is the real plaintext.
  auto looks_like_json = [](const std::string &s) { return !s.empty() && s.front() == '{'; };
  if (by_current && (!by_previous || looks_like_json(*by_current))) return std::move(*by_current);
  if (by_previous) return std::move(*by_previous);
  return login_failed();
}

Status LoginKey::rotate() {
  auto fresh = generate(options_.bits);
  if (!fresh) return fresh.error();
  std::shared_ptr<const Key> forgotten;
  {
    std::unique_lock lock(keys_mu_);
    forgotten = std::move(previous_);
    previous_ = std::move(current_);
    current_ = std::move(*fresh);
  }
  return Ok{}; // `forgotten` is freed here, outside the lock
}

void LoginKey::rotate_loop() {
  // After a failed rotation the keys stay as they were; try again soon rather than a whole period later.
  constexpr std::chrono::milliseconds kRetry = std::chrono::minutes(1);
  std::chrono::milliseconds wait = options_.period;
  std::unique_lock lock(stop_mu_);
  for (;;) {
    if (stop_cv_.wait_for(lock, wait, [&] { return stopping_; })) return;
    lock.unlock();
    bool rotated = rotate().ok();
    lock.lock();
    wait = rotated ? options_.period : std::min(options_.period, kRetry);
  }
}

} // namespace weft::auth
