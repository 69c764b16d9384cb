#include "auth_codes.h"

#include "am_codes.h"
#include "encoding.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <iterator>

namespace weft::auth {

namespace {

// A 1x1 transparent PNG (grey and alpha, 8 bits), CRCs checked.
constexpr std::string_view kBlankPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

} // namespace

AuthCodes::AuthCodes(const Options &options) : options_(options) {
  if (options_.max_outstanding == 0) options_.max_outstanding = 1;
}

Result<AuthCode> AuthCodes::issue() {
  std::array<std::uint8_t, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    return Error{code::kInternal, "auth code: the random generator failed; try again"};
  AuthCode code{hex_encode(random), std::string(kBlankPng)};
  std::lock_guard lock(mu_);
  // Read under the lock, so the list stays in time order and the expired tokens are at its front.
  const Clock::time_point now = Clock::now();
  while (!by_age_.empty() && (now - by_age_.front().at > options_.ttl || by_age_.size() >= options_.max_outstanding)) {
    by_token_.erase(by_age_.front().token);
    by_age_.pop_front();
  }
  by_age_.push_back(Issued{code.random_token, now});
  by_token_.emplace(by_age_.back().token, std::prev(by_age_.end()));
  return code;
}

Status AuthCodes::consume(std::string_view random_token) {
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mu_);
  auto found = by_token_.find(random_token);
  if (found == by_token_.end())
    return Error{am_code::kAuthCodeNotFound, "auth code not found or already used; ask /auth/authCode for a new one"};
  bool expired = now - found->second->at > options_.ttl;
  auto entry = found->second;
  by_token_.erase(found);
  by_age_.erase(entry);
  if (expired) return Error{am_code::kAuthCodeExpired, "auth code expired; ask /auth/authCode for a new one"};
  return Ok{};
}

std::size_t AuthCodes::outstanding() const {
  std::lock_guard lock(mu_);
  return by_age_.size();
}

} // namespace weft::auth
