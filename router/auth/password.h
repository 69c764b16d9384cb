// Passwords of universal accounts: what WeCross's client sends is sha256hex(salt + password), and only scrypt of that
// (with a per-user random salt) is stored. KdfPool runs those slow KDFs off the I/O threads, two at a time.
#pragma once

#include <weft/error.hpp>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace weft::auth {

// scrypt's cost: N = 2^15, r = 8, p = 1 takes 32 MiB and tens of milliseconds per call.
inline constexpr std::uint64_t kScryptN = std::uint64_t{1} << 15;
inline constexpr std::uint32_t kScryptR = 8;
inline constexpr std::uint32_t kScryptP = 1;
inline constexpr std::size_t kSaltBytes = 16;
inline constexpr std::size_t kPasswordHashBytes = 32;

struct PasswordHash {
  std::array<std::uint8_t, kSaltBytes> salt{};
  std::array<std::uint8_t, kPasswordHashBytes> hash{};
};

// What WeCross's SDK sends as the password (LoginSalt): sha256hex("1234567890~!#$%^&*()_+" + password), lower case.
// For tools and tests; the router only ever sees this form.
std::string client_password_hash(std::string_view password);

// scrypt of the client's hash under a fresh random salt. Fails (code::kInternal) only if OpenSSL does.
Result<PasswordHash> hash_password(std::string_view client_hash);

// true when `client_hash` is the one stored as (salt, hash); the comparison takes the same time wherever they differ.
// A salt or hash of the wrong size (a hand-edited store) is an error, not a "no".
Result<bool> verify_password(std::string_view client_hash, std::span<const std::uint8_t> salt,
                             std::span<const std::uint8_t> hash);

// The work of verify_password for a user that does not exist, so the time taken does not tell users apart.
void burn_kdf(std::string_view client_hash);

// Runs submitted work on its own threads, at most `threads` at once (2 by default): scrypt takes 32 MiB and a core,
// and must never run on an I/O thread. Work runs in submission order; an exception it throws is swallowed.
class KdfPool {
 public:
  explicit KdfPool(int threads = 2);
  // Runs everything already submitted (and whatever that submits), then joins the threads.
  ~KdfPool();
  KdfPool(const KdfPool &) = delete;
  KdfPool &operator=(const KdfPool &) = delete;

  void submit(std::function<void()> work);
  // Work submitted and not yet started: a caller may refuse new logins (code::kOverloaded) when it grows.
  std::size_t pending() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace weft::auth
