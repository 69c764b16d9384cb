// Chain accounts' secret keys at rest: sealed with AES-256-GCM under the router's master key, bound by the AAD to
// the account and key they belong to. Also the master key file: one line of 64 hex characters, mode 0600.
#pragma once

#include "chain_keys.h"

#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace weft::accounts {

// The 32-byte AES-256 key that seals every chain key; wiped from memory when destroyed. Move-only.
class MasterKey {
 public:
  explicit MasterKey(std::span<const std::uint8_t, 32> bytes);
  MasterKey(MasterKey &&other) noexcept;
  MasterKey &operator=(MasterKey &&other) noexcept;
  MasterKey(const MasterKey &) = delete;
  MasterKey &operator=(const MasterKey &) = delete;
  ~MasterKey();

  std::span<const std::uint8_t, 32> bytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

// Reads a master key file: exactly 64 hex characters, optionally followed by one newline. Refuses a file that
// is missing, not a regular file, malformed, or that group or others may read or write (mode & 077).
Result<MasterKey> load_master_key(const std::filesystem::path &path);

// Writes a fresh random master key in that format with mode 0600. Refuses to overwrite an existing file; the
// directory must exist. The file appears complete or not at all.
Status create_master_key(const std::filesystem::path &path);

struct SealedKey {
  std::uint32_t key_version = 0;        // which master key sealed it, so keys can be rotated; authenticated too
  std::array<std::uint8_t, 12> nonce{}; // random for every seal
  std::vector<std::uint8_t> ciphertext; // the 16-byte GCM tag at its end
};

// Seals a secret key's 32 bytes (SecretKey::bytes()); refuses any other length. The AAD is authenticated, not
// stored: open must be given the same one, so a sealed key copied to another account's row does not open.
Result<SealedKey> seal(const MasterKey &master, std::uint32_t key_version, std::span<const std::uint8_t> plaintext,
                       std::span<const std::uint8_t> aad);

// Fails, without revealing any plaintext, when the master key, the AAD, the key version, the nonce or a bit of
// the ciphertext or tag differs from what seal used.
Result<SecretKey> open(const MasterKey &master, const SealedKey &sealed, std::span<const std::uint8_t> aad);

// The AAD of a chain account's key: "weft-chain-key-v1" || be64(ua_id) || be64(key_id) || u8 length ||
// algorithm name. Fixed-width integers and a length-prefixed name keep every triple's encoding distinct.
std::vector<std::uint8_t> account_aad(std::int64_t ua_id, std::int64_t key_id, KeyAlgorithm algorithm);

} // namespace weft::accounts
