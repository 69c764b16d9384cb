// The router's keystore: every account's secret key stays here, and adapters ask it to sign digests.
// Key files are one line of 64 hex characters, mode 0600; a missing one is created with a fresh random key.
// An account's key is secp256k1 (Ethereum, FISCO BCOS) or SM2 (guomi chains such as FISCO BCOS's GM mode).
#pragma once

#include "config.h"
#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct secp256k1_context_struct;

namespace weft {

struct Signed {
  // secp256k1: 65 bytes r || s || recovery id (0..3), s always low. sm2: 64 bytes r || s.
  std::vector<std::uint8_t> signature;
  std::array<std::uint8_t, 64> public_key; // uncompressed x || y, without the 0x04 prefix
};

struct AccountInfo {
  std::string name;
  std::string algorithm;
  std::vector<std::uint8_t> public_key; // as in Signed::public_key
};

// Where the accounts' keys live at rest once a master key seals them (router.master_key_file): load answers a stored
// key or none; save stores one durably. Without it, keys stay in their 0600 files.
struct SealedKeys {
  std::function<Result<std::optional<std::array<std::uint8_t, 32>>>(const std::string &name)> load;
  std::function<Status(const std::string &name, const std::array<std::uint8_t, 32> &secret)> save;
};

// Thread-safe: nothing changes after open(); libsecp256k1 signs with a const context and SM2 signs through
// accounts/chain_keys (OpenSSL), which keeps no shared state.
class Keystore {
public:
  // Loads each account's key file (AccountConfig::key_file, or <data_dir>/keys/<name>.key when empty), creating a
  // missing one. Refuses a key file that group or others may access, or that does not hold exactly one valid key.
  // With `sealed`, a key found there is used; a key still in its plain file (or a new one) is sealed there first and
  // its plain file is then removed, so the keys move into the encrypted store on the first start with a master key.
  static Result<std::unique_ptr<Keystore>> open(const std::filesystem::path &data_dir,
                                                const std::vector<AccountConfig> &accounts,
                                                const SealedKeys *sealed = nullptr);

  ~Keystore();
  Keystore(const Keystore &) = delete;
  Keystore &operator=(const Keystore &) = delete;

  // secp256k1: signs a 32-byte digest (RFC 6979 nonce, so the same digest gives the same signature).
  // sm2: signs e = SM3(Z_A || digest) with the default user ID, as weft_host_v1::sign says (randomized).
  // Unknown account: code::kAccountNotFound; algorithm other than the account's: code::kChainAccount.
  Result<Signed> sign(std::string_view account, std::string_view algorithm, std::span<const std::uint8_t> digest) const;
  Result<std::vector<std::uint8_t>> public_key(std::string_view account, std::string_view algorithm) const;
  // Accounts in configuration order.
  std::vector<AccountInfo> list() const;

private:
  struct Key;
  Keystore();
  Result<const Key *> find(std::string_view account, std::string_view algorithm) const;

  secp256k1_context_struct *ctx_ = nullptr;
  std::vector<Key> keys_;
};

} // namespace weft
