// Users' chain keys at rest: each sealed with AES-256-GCM under the master key (router.master_key_file), bound to
// (user, key id, algorithm), opened only for the moment of a signature. Generates, imports, signs, rotates.
#pragma once

#include <weft/error.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "accounts/chain_keys.h"
#include "accounts/key_wrap.h"
#include "auth/user_store.h"
#include "store/store.h"

namespace weft::accounts {

// The signature algorithm a chain of this stub type expects: sm2 for WeCross's GM types, p256 for Fabric,
// secp256k1 otherwise (RefChain, BCOS, EVM).
KeyAlgorithm algorithm_for_stub_type(std::string_view stub_type);

struct Signature {
  std::vector<std::uint8_t> signature;
  PublicKey public_key{};
};

class KeyVault {
 public:
  // Loads the master key (refused unless mode 0600 or stricter). The store's rows carry the key version they
  // were sealed under; a row of another version than the current one is refused, not guessed at.
  static Result<std::unique_ptr<KeyVault>> open(store::Store &store, const std::filesystem::path &master_key_file);

  // A new chain account for the user: the key made here (secret_hex empty) or imported. Blocking (store).
  Result<auth::ChainAccount> add(std::int64_t user_id, const std::string &chain_type, KeyAlgorithm algorithm,
                                 std::string_view secret_hex, const std::string &certificate,
                                 const std::string &msp_id, bool make_default);
  // Signs with the user's key `key_id`, refusing an algorithm other than the key's. Blocking (store).
  Result<Signature> sign(std::int64_t user_id, std::int64_t key_id, std::string_view algorithm,
                         std::span<const std::uint8_t> digest);
  Result<PublicKey> public_key(std::int64_t user_id, std::int64_t key_id, std::string_view algorithm);
  // The default chain account of the user for a stub type, if any.
  Result<std::optional<auth::ChainAccount>> default_for(std::int64_t user_id, std::string_view chain_type);
  Result<std::optional<auth::ChainAccount>> find(std::int64_t user_id, std::int64_t key_id);

  // The router's own accounts' keys (router.yaml), sealed in the store. Blocking (store).
  Result<std::optional<SecretKey>> load_router_key(const std::string &name, KeyAlgorithm algorithm) const;
  Status save_router_key(const std::string &name, KeyAlgorithm algorithm, const SecretKey &secret);

  // A 32-byte secret of the HTLC engine (a swap's preimage), sealed under the master key and bound to `label` (the
  // swap's id): {version, nonce, ciphertext}. open_secret refuses another label, version or a changed byte.
  Result<SealedKey> seal_secret(std::span<const std::uint8_t> secret, std::string_view label) const;
  Result<SecretKey> open_secret(const SealedKey &sealed, std::string_view label) const;
  std::uint32_t key_version() const { return version_; }

  // Re-seals every row under a new master key in one store transaction, then replaces the key file. Offline tool.
  static Status rotate(store::Store &store, const std::filesystem::path &master_key_file);

 private:
  KeyVault(store::Store &store, MasterKey key, std::uint32_t version)
      : store_(store), master_(std::move(key)), version_(version) {}
  Result<SecretKey> unseal(const auth::SealedChainAccount &row) const;

  store::Store &store_;
  MasterKey master_;
  std::uint32_t version_;
  // Rows whose sealed secret was seen to belong to their registered public key, by (user id, key id), with what was
  // checked: the row's public key, key version, nonce and ciphertext. A row that changed is checked again.
  using CheckedRow =
      std::tuple<std::vector<std::uint8_t>, std::int64_t, std::vector<std::uint8_t>, std::vector<std::uint8_t>>;
  mutable std::mutex checked_mu_;
  std::map<std::pair<std::int64_t, std::int64_t>, CheckedRow> checked_;
};

// "ua:<user id>:<key id>": how the router names a user's chain account to an adapter, which hands it back to sign.
std::string account_handle(std::int64_t user_id, std::int64_t key_id);
std::optional<std::pair<std::int64_t, std::int64_t>> parse_account_handle(std::string_view handle);

} // namespace weft::accounts
