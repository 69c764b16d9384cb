// The RSA key of /auth/pub: WeCross's SDK encrypts its login and register requests to it (RSA-3072, PKCS#1 v1.5).
// A fresh key is made at start and replaced every `period`; the key before the current one is still accepted.
#pragma once

#include <weft/error.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

namespace weft::auth {

class LoginKey {
 public:
  struct Key; // opaque: one RSA key pair and its public half, encoded
  struct Options {
    std::chrono::milliseconds period = std::chrono::hours(24); // zero: never rotate on its own (rotate() still works)
    int bits = 3072;
  };

  // Generates the first key (this takes a fraction of a second) and, when period > 0, starts the thread that
  // rotates it. Errors carry code::kInternal.
  static Result<std::unique_ptr<LoginKey>> create(const Options &options);
  static Result<std::unique_ptr<LoginKey>> create() { return create(Options{}); }

  // Stops the rotation thread.
  ~LoginKey();
  LoginKey(const LoginKey &) = delete;
  LoginKey &operator=(const LoginKey &) = delete;

  // Base64 of the current key's X.509 SubjectPublicKeyInfo DER: what /auth/pub answers as "pub".
  std::string public_key_base64() const;

  // Decrypts what the SDK sent (base64 of one RSA block) with the current key, and the previous one.
  //
  // Padding-oracle guard: OpenSSL 3.0 (Debian's) has no implicit rejection, so PKCS#1 v1.5 padding errors are
  // observable. Every failure here — bad base64, a block of the wrong length, bad padding, under either key — gives
  // the SAME error: am_code::kLoginFailed, "account or password incorrect", exactly the answer to a wrong password.
  // Both keys are always tried, whichever succeeds. The CALLER must then do the same KDF work as for a wrong password
  // (burn_kdf) before answering, so the time taken does not say whether decryption failed either.
  Result<std::string> decrypt(std::string_view base64_ciphertext) const;

  // Makes a new current key; the current one becomes the previous one, and the one before is forgotten.
  // Safe while other threads decrypt. Errors carry code::kInternal and leave the keys as they were.
  Status rotate();

 private:
  explicit LoginKey(const Options &options) : options_(options) {}
  void rotate_loop();

  Options options_;
  mutable std::shared_mutex keys_mu_;
  std::shared_ptr<const Key> current_, previous_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread rotator_;
};

} // namespace weft::auth
