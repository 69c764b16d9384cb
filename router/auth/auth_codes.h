// The image codes of /auth/authCode: each answer carries a randomToken that the next login or register must bring
// back, once, within its life. The image is a fixed blank PNG: WeCross's SDK never shows it and sends no code.
#pragma once

#include <weft/error.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace weft::auth {

struct AuthCode {
  std::string random_token; // 64 lower-case hex digits (32 random bytes)
  std::string image_base64; // a PNG
};

// Thread-safe. Memory stays bounded: past max_outstanding, issuing forgets the oldest unused token.
class AuthCodes {
 public:
  struct Options {
    std::chrono::milliseconds ttl = std::chrono::seconds(120);
    std::size_t max_outstanding = 100000;
  };

  AuthCodes() : AuthCodes(Options{}) {}
  explicit AuthCodes(const Options &options);

  // A new token. Fails (code::kInternal) only if the random generator does.
  Result<AuthCode> issue();

  // Succeeds once per issued token. Unknown, evicted or already used: am_code::kAuthCodeNotFound (40009); older than
  // the ttl: am_code::kAuthCodeExpired (40008), and the token is forgotten.
  Status consume(std::string_view random_token);

  // Tokens issued and neither consumed, evicted nor found expired yet.
  std::size_t outstanding() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Issued {
    std::string token;
    Clock::time_point at;
  };

  Options options_;
  mutable std::mutex mu_;
  std::list<Issued> by_age_;                                                   // oldest first
  std::unordered_map<std::string_view, std::list<Issued>::iterator> by_token_; // keys view into by_age_'s strings
};

} // namespace weft::auth
