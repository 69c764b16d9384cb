// The universal accounts' tables of the router store (users, tokens, chain_accounts, audit), typed: the only code
// that holds their SQL. No crypto here: callers pass salts, password hashes, token hashes and sealed keys in and out.
#pragma once

#include "tokens.h"

#include "store/store.h"

#include <weft/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Errors: am_code::kInvalidParameters (40001), kUaExists (40002), kUaNotExist (40003), kChainAccountExists (40004),
// kChainAccountNotExist (40005) and kUaModified (40016) for what the caller asked; code::kStore when the store failed.
namespace weft::auth {

enum class Role { kAdmin, kUser };

// "admin" or "user", as stored.
std::string_view to_string(Role role);

struct User {
  std::int64_t id = 0; // set by the store
  std::string name;    // 1..64 of [A-Za-z0-9_-]; WeCross's SDK itself asks for 4..16
  std::vector<std::uint8_t> salt;
  std::vector<std::uint8_t> pw_hash;
  Role role = Role::kUser;
  std::string acl = "[]";   // JSON array of allowed resource paths or prefixes, as stored
  std::int64_t version = 1; // set by the store; bumped on a password or role change, which voids older tokens
  std::int64_t created_ms = 0;
};

// Adds a user; id and version are set by the store. A name in use: am_code::kUaExists.
Result<User> create_user(store::Store &store, const User &user);
Result<std::optional<User>> find_user_by_name(store::Store &store, std::string_view name);
Result<std::optional<User>> find_user_by_id(store::Store &store, std::int64_t id);
// Every user, in the order they were created.
Result<std::vector<User>> list_users(store::Store &store);
// Replace the password (or role) and bump the version, deleting the user's tokens in the same write; return the new
// version. A role equal to the current one changes nothing and keeps the tokens.
Result<std::int64_t> set_password(store::Store &store, std::int64_t user_id, std::span<const std::uint8_t> salt,
                                  std::span<const std::uint8_t> pw_hash);
Result<std::int64_t> set_role(store::Store &store, std::int64_t user_id, Role role);
// The ACL must be a JSON array; it takes effect on the next request, tokens stay valid.
Status set_acl(store::Store &store, std::int64_t user_id, std::string_view acl_json);
// Removes the user with its tokens and chain accounts.
Status remove_user(store::Store &store, std::int64_t user_id);

struct TokenRecord {
  TokenHash hash{}; // token_hash() of the credential
  std::int64_t user_id = 0;
  std::int64_t user_version = 0; // the user's version when it was issued
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0; // valid while now < expires_ms
};

// Stores a token. The user gone or its version no longer user_version (changed while logging in): kUaModified.
Status insert_token(store::Store &store, const TokenRecord &token);
// The token's user, if the token is known, not expired at now_ms, and was issued for the user's current version.
Result<std::optional<User>> user_by_token(store::Store &store, const TokenHash &hash, std::int64_t now_ms);
// Logout: true when the token was there.
Result<bool> delete_token(store::Store &store, const TokenHash &hash);
// Deletes the tokens expired at now_ms, and those of an older user version; returns how many.
Result<std::int64_t> delete_expired_tokens(store::Store &store, std::int64_t now_ms);

// A chain key as the router keeps it: sealed (AEAD) under master key version key_version. The caller seals and opens.
struct SealedKey {
  std::int64_t key_version = 0;
  std::vector<std::uint8_t> nonce;
  std::vector<std::uint8_t> ciphertext;
};

// What a listing shows of a chain account: never the sealed key.
struct ChainAccount {
  std::int64_t user_id = 0;
  std::int64_t key_id = 0; // the UA's own number for it (WeCross's keyID), unique per user
  std::string chain_type;  // the stub type it signs for, e.g. "BCOS3_ECDSA_EVM"
  std::string algorithm;   // the signature algorithm, e.g. "secp256k1"
  std::vector<std::uint8_t> public_key;
  std::string certificate; // PEM, for chains that need one; empty when none
  std::string msp_id;      // Fabric's MSP; empty when none
  bool is_default = false; // exactly one per (user, chain_type) while the user has any of that type
};

struct SealedChainAccount {
  ChainAccount account;
  SealedKey sealed;
};

// The key_id add_chain_account would give next: one more than the user's highest (1 for the first).
Result<std::int64_t> next_key_id(store::Store &store, std::int64_t user_id);
// Adds a chain account with its sealed key and returns it as stored. key_id 0 takes next_key_id in the same write.
// The first account of its chain_type becomes the default, as does one added with is_default. A key_id in use:
// kChainAccountExists; no such user: kUaNotExist.
Result<ChainAccount> add_chain_account(store::Store &store, const ChainAccount &account, const SealedKey &sealed);
// The user's chain accounts, by key_id.
Result<std::vector<ChainAccount>> list_chain_accounts(store::Store &store, std::int64_t user_id);
// One account with its sealed key, for signing.
Result<std::optional<SealedChainAccount>> sealed_chain_account(store::Store &store, std::int64_t user_id,
                                                               std::int64_t key_id);
// Removes one; if it was the default, the user's lowest key_id of that chain type becomes the default.
Status remove_chain_account(store::Store &store, std::int64_t user_id, std::int64_t key_id);
// Makes it the default of its chain type, and the one before it not. Unknown: kChainAccountNotExist.
Status set_default_chain_account(store::Store &store, std::int64_t user_id, std::int64_t key_id);

// Maps a row's sealed key to the same key sealed anew (under a new master key). It gets the row's listing, which
// holds what the caller binds into the AEAD's associated data. It runs on the store's writer thread: keep it quick.
// The router's own accounts' keys, sealed (router_keys).
struct SealedRouterKey {
  std::string name;
  std::string algorithm;
  SealedKey sealed;
};
Result<std::optional<SealedRouterKey>> find_router_key(store::Store &store, std::string_view name);
// Stores it once: an existing name is left as it is, and reported (am_code 40018).
Status add_router_key(store::Store &store, const SealedRouterKey &key);

// Re-seals users' chain keys and, in the same transaction, the router's own keys and the HTLC engine's secrets;
// those reach the callable as a ChainAccount with user_id 0, key_id 0 and chain_type "router:<name>" or
// "htlc:<swap id>" (algorithm empty).
using Reseal = std::function<Result<SealedKey>(const ChainAccount &account, const SealedKey &sealed)>;
// Re-seals every chain account of every user in ONE store write: all rows change, or, when `reseal` fails for any
// row (its error is returned) or the write fails, none. Returns how many rows were re-sealed.
Result<std::size_t> reseal_chain_accounts(store::Store &store, const Reseal &reseal);

struct AuditEvent {
  std::int64_t id = 0;
  std::int64_t at_ms = 0; // Unix time in milliseconds
  std::string event;      // e.g. "login", "login_failed", "logout", "user_created"
  std::string user;       // empty when none (stored as NULL), as are remote and detail
  std::string remote;     // the client's address
  std::string detail;
};

// Appends one event stamped with the current time and returns its id once it is durable. An empty event is refused.
Result<std::int64_t> append_audit(store::Store &store, std::string_view event, std::string_view user,
                                  std::string_view remote, std::string_view detail);
// The last `limit` events, the most recent first.
Result<std::vector<AuditEvent>> recent_audit(store::Store &store, std::size_t limit);

} // namespace weft::auth
