#include "user_store.h"

#include "am_codes.h"

#include <weft/text.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

namespace weft::auth {

using store::ReadTx;
using store::Statement;
using store::WriteTx;

namespace {

constexpr std::string_view kUserColumns = "id, name, salt, pw_hash, role, acl, version, created_ms";

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, kMax));
}

Error invalid(std::string message) {
  return Error{am_code::kInvalidParameters, std::move(message)};
}

Error no_user(std::int64_t id) {
  return Error{am_code::kUaNotExist, "user " + std::to_string(id) + " does not exist"};
}

Error no_chain_account(std::int64_t user_id, std::int64_t key_id) {
  return Error{am_code::kChainAccountNotExist,
               "user " + std::to_string(user_id) + " has no chain account " + std::to_string(key_id)};
}

// Runs `fn(WriteTx &) -> Result<T>` as one store write and returns its value once the write is durable.
template <class T, class F> Result<T> write_returning(store::Store &store, F &&fn) {
  std::optional<T> out;
  Status written = store.write([&](WriteTx &tx) -> Status {
    Result<T> r = fn(tx);
    if (!r) return r.error();
    out.emplace(std::move(*r));
    return Ok{};
  });
  if (!written) return written.error();
  return std::move(*out);
}

// Steps `select` to the end, turning each row into a T with `row`.
template <class T, class F> Result<std::vector<T>> collect(Statement &select, F &&row) {
  std::vector<T> out;
  for (;;) {
    auto more = select.step();
    if (!more) return more.error();
    if (!*more) return out;
    Result<T> value = row(select);
    if (!value) return value.error();
    out.push_back(std::move(*value));
  }
}

// The first row of `select` as a T, or nullopt when it gives none.
template <class T, class F> Result<std::optional<T>> first_row(Statement &select, F &&row) {
  auto more = select.step();
  if (!more) return more.error();
  if (!*more) return std::optional<T>();
  Result<T> value = row(select);
  if (!value) return value.error();
  return std::optional<T>(std::move(*value));
}

// One integer from a statement that gives at most one row; nullopt when it gives none.
Result<std::optional<std::int64_t>> one_int(Statement &select) {
  return first_row<std::int64_t>(select, [](Statement &s) -> Result<std::int64_t> { return s.column_int(0); });
}

// Binds text, or NULL for "": the nullable columns keep "none" as NULL.
void bind_or_null(Statement &s, int i, std::string_view text) {
  if (text.empty())
    s.bind_null(i);
  else
    s.bind(i, text);
}

// Columns kUserColumns, in order.
Result<User> user_from(const Statement &s) {
  User u;
  u.id = s.column_int(0);
  u.name = s.column_text(1);
  u.salt = s.column_blob(2);
  u.pw_hash = s.column_blob(3);
  std::string role = s.column_text(4);
  // The table's CHECK allows nothing else; anything else means the file was edited by hand.
  if (role != "admin" && role != "user")
    return Error{code::kStore, "router store: users row " + std::to_string(u.id) + " has role '" + role +
                                   "'; expected 'admin' or 'user'"};
  u.role = role == "admin" ? Role::kAdmin : Role::kUser;
  u.acl = s.column_text(5);
  u.version = s.column_int(6);
  u.created_ms = s.column_int(7);
  return u;
}

Result<std::optional<User>> find_user(store::Store &store, std::string_view where, auto &&bind) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<User>> {
    auto select = tx.prepare("SELECT " + std::string(kUserColumns) + " FROM users WHERE " + std::string(where));
    if (!select) return select.error();
    bind(*select);
    return first_row<User>(*select, user_from);
  });
}

// An ACL is a JSON array of strings. SQLite's JSON functions check it, so no JSON library is needed here.
Status check_acl(const ReadTx &tx, std::string_view acl) {
  // CASE evaluates its branches in order and lazily: json_type fails on text that is not JSON.
  auto select = tx.prepare("SELECT CASE WHEN NOT json_valid(?1) THEN -1 WHEN json_type(?1) <> 'array' THEN -1 "
                           "ELSE (SELECT count(*) FROM json_each(?1) WHERE type <> 'text') END");
  if (!select) return select.error();
  select->bind(1, acl);
  auto bad = one_int(*select);
  if (!bad) return bad.error();
  if (!*bad || **bad != 0)
    return invalid("acl must be a JSON array of resource paths or prefixes, such as [\"payment.bcos\"]; got " +
                   std::string(acl.substr(0, 80)));
  return Ok{};
}

// The user's current version; kUaNotExist when there is no such user.
Result<std::int64_t> user_version(const ReadTx &tx, std::int64_t user_id) {
  auto select = tx.prepare("SELECT version FROM users WHERE id = ?1");
  if (!select) return select.error();
  select->bind(1, user_id);
  auto version = one_int(*select);
  if (!version) return version.error();
  if (!*version) return no_user(user_id);
  return **version;
}

// Called after the user's version was bumped: the tokens of older versions are void, and go now.
Status delete_tokens_of(WriteTx &tx, std::int64_t user_id) {
  auto del = tx.prepare("DELETE FROM tokens WHERE user_id = ?1");
  if (!del) return del.error();
  return del->bind(1, user_id).run();
}

} // namespace

std::string_view to_string(Role role) {
  return role == Role::kAdmin ? "admin" : "user";
}

// ---- users

Result<User> create_user(store::Store &store, const User &user) {
  if (!text::is_name(user.name))
    return invalid("user name '" + user.name.substr(0, 80) + "' must be 1..64 letters, digits, '_' or '-'");
  if (user.salt.empty() || user.pw_hash.empty()) return invalid("user " + user.name + " needs a salt and a hash");
  return write_returning<User>(store, [&](WriteTx &tx) -> Result<User> {
    if (auto s = check_acl(tx, user.acl); !s) return s.error();
    auto exists = tx.prepare("SELECT 1 FROM users WHERE name = ?1");
    if (!exists) return exists.error();
    exists->bind(1, user.name);
    auto found = one_int(*exists);
    if (!found) return found.error();
    if (*found) return Error{am_code::kUaExists, "user " + user.name + " already exists"};

    auto insert = tx.prepare("INSERT INTO users (name, salt, pw_hash, role, acl, version, created_ms) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)");
    if (!insert) return insert.error();
    User created = user;
    created.version = 1;
    created.created_ms = user.created_ms != 0 ? user.created_ms : now_ms();
    insert->bind(1, user.name).bind_blob(2, user.salt).bind_blob(3, user.pw_hash).bind(4, to_string(user.role));
    insert->bind(5, user.acl).bind(6, created.created_ms);
    if (auto s = insert->run(); !s) return s.error();
    created.id = tx.last_insert_rowid();
    return created;
  });
}

Result<std::optional<User>> find_user_by_name(store::Store &store, std::string_view name) {
  return find_user(store, "name = ?1", [&](Statement &s) { s.bind(1, name); });
}

Result<std::optional<User>> find_user_by_id(store::Store &store, std::int64_t id) {
  return find_user(store, "id = ?1", [&](Statement &s) { s.bind(1, id); });
}

Result<std::vector<User>> list_users(store::Store &store) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<User>> {
    auto select = tx.prepare("SELECT " + std::string(kUserColumns) + " FROM users ORDER BY id");
    if (!select) return select.error();
    return collect<User>(*select, user_from);
  });
}

Result<std::int64_t> set_password(store::Store &store, std::int64_t user_id, std::span<const std::uint8_t> salt,
                                  std::span<const std::uint8_t> pw_hash) {
  if (salt.empty() || pw_hash.empty()) return invalid("a new password needs a salt and a hash");
  return write_returning<std::int64_t>(store, [&](WriteTx &tx) -> Result<std::int64_t> {
    auto update = tx.prepare("UPDATE users SET salt = ?2, pw_hash = ?3, version = version + 1 WHERE id = ?1");
    if (!update) return update.error();
    if (auto s = update->bind(1, user_id).bind_blob(2, salt).bind_blob(3, pw_hash).run(); !s) return s.error();
    if (tx.changes() == 0) return no_user(user_id);
    if (auto s = delete_tokens_of(tx, user_id); !s) return s.error();
    return user_version(tx, user_id);
  });
}

Result<std::int64_t> set_role(store::Store &store, std::int64_t user_id, Role role) {
  return write_returning<std::int64_t>(store, [&](WriteTx &tx) -> Result<std::int64_t> {
    auto update = tx.prepare("UPDATE users SET role = ?2, version = version + 1 WHERE id = ?1 AND role <> ?2");
    if (!update) return update.error();
    if (auto s = update->bind(1, user_id).bind(2, to_string(role)).run(); !s) return s.error();
    if (tx.changes() > 0)
      if (auto s = delete_tokens_of(tx, user_id); !s) return s.error();
    return user_version(tx, user_id);
  });
}

Status set_acl(store::Store &store, std::int64_t user_id, std::string_view acl_json) {
  return store.write([&](WriteTx &tx) -> Status {
    if (auto s = check_acl(tx, acl_json); !s) return s;
    auto update = tx.prepare("UPDATE users SET acl = ?2 WHERE id = ?1");
    if (!update) return update.error();
    if (auto s = update->bind(1, user_id).bind(2, acl_json).run(); !s) return s;
    if (tx.changes() == 0) return no_user(user_id);
    return Ok{};
  });
}

Status remove_user(store::Store &store, std::int64_t user_id) {
  return store.write([&](WriteTx &tx) -> Status {
    // Tokens and chain accounts go with it: ON DELETE CASCADE (the writer runs with foreign_keys on).
    auto del = tx.prepare("DELETE FROM users WHERE id = ?1");
    if (!del) return del.error();
    if (auto s = del->bind(1, user_id).run(); !s) return s;
    if (tx.changes() == 0) return no_user(user_id);
    return Ok{};
  });
}

// ---- tokens

Status insert_token(store::Store &store, const TokenRecord &token) {
  if (token.expires_ms <= token.created_ms) return invalid("a token must expire after it is created");
  return store.write([&](WriteTx &tx) -> Status {
    // Only for the user's current version: a password changed while logging in voids this login too.
    auto insert = tx.prepare("INSERT INTO tokens (hash, user_id, user_version, created_ms, expires_ms) "
                             "SELECT ?1, id, version, ?4, ?5 FROM users WHERE id = ?2 AND version = ?3");
    if (!insert) return insert.error();
    insert->bind_blob(1, token.hash).bind(2, token.user_id).bind(3, token.user_version);
    if (auto s = insert->bind(4, token.created_ms).bind(5, token.expires_ms).run(); !s) return s;
    if (tx.changes() == 0)
      return Error{am_code::kUaModified,
                   "user " + std::to_string(token.user_id) + " was changed or removed while logging in; log in again"};
    return Ok{};
  });
}

Result<std::optional<User>> user_by_token(store::Store &store, const TokenHash &hash, std::int64_t now_ms) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<User>> {
    auto select = tx.prepare("SELECT u.id, u.name, u.salt, u.pw_hash, u.role, u.acl, u.version, u.created_ms "
                             "FROM tokens t JOIN users u ON u.id = t.user_id "
                             "WHERE t.hash = ?1 AND t.expires_ms > ?2 AND t.user_version = u.version");
    if (!select) return select.error();
    select->bind_blob(1, hash).bind(2, now_ms);
    return first_row<User>(*select, user_from);
  });
}

Result<bool> delete_token(store::Store &store, const TokenHash &hash) {
  return write_returning<bool>(store, [&](WriteTx &tx) -> Result<bool> {
    auto del = tx.prepare("DELETE FROM tokens WHERE hash = ?1");
    if (!del) return del.error();
    if (auto s = del->bind_blob(1, hash).run(); !s) return s.error();
    return tx.changes() > 0;
  });
}

Result<std::int64_t> delete_expired_tokens(store::Store &store, std::int64_t now_ms) {
  return write_returning<std::int64_t>(store, [&](WriteTx &tx) -> Result<std::int64_t> {
    auto del = tx.prepare("DELETE FROM tokens WHERE expires_ms <= ?1 OR "
                          "user_version <> (SELECT version FROM users WHERE users.id = tokens.user_id)");
    if (!del) return del.error();
    if (auto s = del->bind(1, now_ms).run(); !s) return s.error();
    return tx.changes();
  });
}

// ---- chain accounts

namespace {

constexpr std::string_view kAccountColumns =
    "user_id, key_id, chain_type, algorithm, public_key, certificate, msp_id, is_default";

// Columns kAccountColumns, in order.
Result<ChainAccount> account_from(const Statement &s) {
  ChainAccount a;
  a.user_id = s.column_int(0);
  a.key_id = s.column_int(1);
  a.chain_type = s.column_text(2);
  a.algorithm = s.column_text(3);
  a.public_key = s.column_blob(4);
  a.certificate = s.column_text(5);
  a.msp_id = s.column_text(6);
  a.is_default = s.column_int(7) != 0;
  return a;
}

// Columns kAccountColumns, then key_version, nonce, ciphertext.
Result<SealedChainAccount> sealed_from(const Statement &s) {
  auto account = account_from(s);
  if (!account) return account.error();
  return SealedChainAccount{std::move(*account), SealedKey{s.column_int(8), s.column_blob(9), s.column_blob(10)}};
}

Status check_sealed(const SealedKey &sealed) {
  if (sealed.nonce.empty() || sealed.ciphertext.empty()) return invalid("a sealed key needs a nonce and a ciphertext");
  return Ok{};
}

Result<std::int64_t> next_key_id(const ReadTx &tx, std::int64_t user_id) {
  auto select = tx.prepare("SELECT COALESCE(MAX(key_id), 0) + 1 FROM chain_accounts WHERE user_id = ?1");
  if (!select) return select.error();
  select->bind(1, user_id);
  auto next = one_int(*select);
  if (!next) return next.error();
  return next->value_or(1);
}

// Clears the default of the user's chain type, but for key_id.
Status clear_default(WriteTx &tx, std::int64_t user_id, std::string_view chain_type, std::int64_t key_id) {
  auto update = tx.prepare("UPDATE chain_accounts SET is_default = 0 "
                           "WHERE user_id = ?1 AND chain_type = ?2 AND key_id <> ?3 AND is_default = 1");
  if (!update) return update.error();
  return update->bind(1, user_id).bind(2, chain_type).bind(3, key_id).run();
}

} // namespace

Result<std::int64_t> next_key_id(store::Store &store, std::int64_t user_id) {
  return store.read([&](ReadTx &tx) { return next_key_id(tx, user_id); });
}

Result<ChainAccount> add_chain_account(store::Store &store, const ChainAccount &account, const SealedKey &sealed) {
  if (account.chain_type.empty() || account.algorithm.empty() || account.public_key.empty())
    return invalid("a chain account needs a chain type, an algorithm and a public key");
  if (account.key_id < 0) return invalid("key_id " + std::to_string(account.key_id) + " is negative");
  if (auto s = check_sealed(sealed); !s) return s.error();
  return write_returning<ChainAccount>(store, [&](WriteTx &tx) -> Result<ChainAccount> {
    if (auto exists = user_version(tx, account.user_id); !exists) return exists.error();
    ChainAccount added = account;
    if (added.key_id == 0) {
      auto next = next_key_id(tx, added.user_id);
      if (!next) return next.error();
      added.key_id = *next;
    }
    auto clash = tx.prepare("SELECT 1 FROM chain_accounts WHERE user_id = ?1 AND key_id = ?2");
    if (!clash) return clash.error();
    clash->bind(1, added.user_id).bind(2, added.key_id);
    auto taken = one_int(*clash);
    if (!taken) return taken.error();
    if (*taken)
      return Error{am_code::kChainAccountExists, "user " + std::to_string(added.user_id) +
                                                     " already has chain account " + std::to_string(added.key_id)};
    auto default_of_type = tx.prepare("SELECT key_id FROM chain_accounts "
                                      "WHERE user_id = ?1 AND chain_type = ?2 AND is_default = 1");
    if (!default_of_type) return default_of_type.error();
    default_of_type->bind(1, added.user_id).bind(2, added.chain_type);
    auto current_default = one_int(*default_of_type);
    if (!current_default) return current_default.error();
    const bool type_has_default = current_default->has_value();
    added.is_default = account.is_default || !type_has_default;
    if (added.is_default && type_has_default)
      if (auto s = clear_default(tx, added.user_id, added.chain_type, added.key_id); !s) return s.error();

    auto insert = tx.prepare("INSERT INTO chain_accounts (user_id, key_id, chain_type, algorithm, public_key, "
                             "certificate, msp_id, is_default, key_version, nonce, ciphertext) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!insert) return insert.error();
    insert->bind(1, added.user_id).bind(2, added.key_id).bind(3, added.chain_type).bind(4, added.algorithm);
    insert->bind_blob(5, added.public_key);
    bind_or_null(*insert, 6, added.certificate);
    bind_or_null(*insert, 7, added.msp_id);
    insert->bind(8, std::int64_t{added.is_default ? 1 : 0}).bind(9, sealed.key_version);
    insert->bind_blob(10, sealed.nonce).bind_blob(11, sealed.ciphertext);
    if (auto s = insert->run(); !s) return s.error();
    return added;
  });
}

Result<std::vector<ChainAccount>> list_chain_accounts(store::Store &store, std::int64_t user_id) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<ChainAccount>> {
    auto select = tx.prepare("SELECT " + std::string(kAccountColumns) +
                             " FROM chain_accounts WHERE user_id = ?1 ORDER BY key_id");
    if (!select) return select.error();
    select->bind(1, user_id);
    return collect<ChainAccount>(*select, account_from);
  });
}

Result<std::optional<SealedChainAccount>> sealed_chain_account(store::Store &store, std::int64_t user_id,
                                                               std::int64_t key_id) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<SealedChainAccount>> {
    auto select = tx.prepare("SELECT " + std::string(kAccountColumns) +
                             ", key_version, nonce, ciphertext FROM chain_accounts WHERE user_id = ?1 AND key_id = ?2");
    if (!select) return select.error();
    select->bind(1, user_id).bind(2, key_id);
    return first_row<SealedChainAccount>(*select, sealed_from);
  });
}

Status remove_chain_account(store::Store &store, std::int64_t user_id, std::int64_t key_id) {
  return store.write([&](WriteTx &tx) -> Status {
    auto select = tx.prepare("SELECT " + std::string(kAccountColumns) +
                             " FROM chain_accounts WHERE user_id = ?1 AND key_id = ?2");
    if (!select) return select.error();
    select->bind(1, user_id).bind(2, key_id);
    auto removed = first_row<ChainAccount>(*select, account_from);
    if (!removed) return removed.error();
    if (!*removed) return no_chain_account(user_id, key_id);
    auto del = tx.prepare("DELETE FROM chain_accounts WHERE user_id = ?1 AND key_id = ?2");
    if (!del) return del.error();
    if (auto s = del->bind(1, user_id).bind(2, key_id).run(); !s) return s;
    if (!(*removed)->is_default) return Ok{};
    // The type keeps exactly one default while the user has any account of it.
    auto promote = tx.prepare("UPDATE chain_accounts SET is_default = 1 WHERE id = (SELECT id FROM chain_accounts "
                              "WHERE user_id = ?1 AND chain_type = ?2 ORDER BY key_id LIMIT 1)");
    if (!promote) return promote.error();
    return promote->bind(1, user_id).bind(2, (*removed)->chain_type).run();
  });
}

Status set_default_chain_account(store::Store &store, std::int64_t user_id, std::int64_t key_id) {
  return store.write([&](WriteTx &tx) -> Status {
    auto select = tx.prepare("SELECT chain_type FROM chain_accounts WHERE user_id = ?1 AND key_id = ?2");
    if (!select) return select.error();
    select->bind(1, user_id).bind(2, key_id);
    auto chain_type =
        first_row<std::string>(*select, [](Statement &s) -> Result<std::string> { return s.column_text(0); });
    if (!chain_type) return chain_type.error();
    if (!*chain_type) return no_chain_account(user_id, key_id);
    // Cleared before set: the unique index allows one default per type at every step.
    if (auto s = clear_default(tx, user_id, **chain_type, key_id); !s) return s;
    auto update = tx.prepare("UPDATE chain_accounts SET is_default = 1 WHERE user_id = ?1 AND key_id = ?2");
    if (!update) return update.error();
    return update->bind(1, user_id).bind(2, key_id).run();
  });
}

Result<std::size_t> reseal_chain_accounts(store::Store &store, const Reseal &reseal) {
  if (!reseal) return invalid("reseal_chain_accounts needs a function");
  return write_returning<std::size_t>(store, [&](WriteTx &tx) -> Result<std::size_t> {
    // Read every row first, then update: no statement steps over rows it is changing.
    auto select = tx.prepare("SELECT " + std::string(kAccountColumns) +
                             ", key_version, nonce, ciphertext FROM chain_accounts ORDER BY id");
    if (!select) return select.error();
    auto rows = collect<SealedChainAccount>(*select, sealed_from);
    if (!rows) return rows.error();
    auto update = tx.prepare("UPDATE chain_accounts SET key_version = ?3, nonce = ?4, ciphertext = ?5 "
                             "WHERE user_id = ?1 AND key_id = ?2");
    if (!update) return update.error();
    for (const SealedChainAccount &row : *rows) {
      // An error here (or an exception) fails the write, which rolls back every row updated before it.
      Result<SealedKey> fresh = reseal(row.account, row.sealed);
      if (!fresh) return fresh.error();
      if (auto s = check_sealed(*fresh); !s) return s.error();
      update->reset().bind(1, row.account.user_id).bind(2, row.account.key_id).bind(3, fresh->key_version);
      update->bind_blob(4, fresh->nonce).bind_blob(5, fresh->ciphertext);
      if (auto s = update->run(); !s) return s.error();
    }
    // The router's own keys, in the same transaction.
    auto keys = tx.prepare("SELECT name, algorithm, key_version, nonce, ciphertext FROM router_keys ORDER BY name");
    if (!keys) return keys.error();
    std::vector<SealedRouterKey> router_rows;
    for (;;) {
      auto step = keys->step();
      if (!step) return step.error();
      if (!*step) break;
      router_rows.push_back({keys->column_text(0), keys->column_text(1),
                             SealedKey{keys->column_int(2), keys->column_blob(3), keys->column_blob(4)}});
    }
    auto update_key = tx.prepare("UPDATE router_keys SET key_version = ?2, nonce = ?3, ciphertext = ?4 WHERE name = ?1");
    if (!update_key) return update_key.error();
    for (const auto &k : router_rows) {
      ChainAccount as_account;
      as_account.chain_type = "router:" + k.name;
      as_account.algorithm = k.algorithm;
      Result<SealedKey> fresh = reseal(as_account, k.sealed);
      if (!fresh) return fresh.error();
      if (auto s = check_sealed(*fresh); !s) return s.error();
      update_key->reset().bind(1, k.name).bind(2, fresh->key_version).bind_blob(3, fresh->nonce);
      update_key->bind_blob(4, fresh->ciphertext);
      if (auto s = update_key->run(); !s) return s.error();
    }
    // The HTLC engine's sealed secrets, in the same transaction: "htlc:<swap id>".
    auto secrets = tx.prepare("SELECT id, secret_version, secret_nonce, secret_sealed FROM htlc_swaps "
                              "WHERE secret_sealed IS NOT NULL ORDER BY id");
    if (!secrets) return secrets.error();
    std::vector<std::pair<std::string, SealedKey>> secret_rows;
    for (;;) {
      auto step = secrets->step();
      if (!step) return step.error();
      if (!*step) break;
      secret_rows.emplace_back(secrets->column_text(0),
                               SealedKey{secrets->column_int(1), secrets->column_blob(2), secrets->column_blob(3)});
    }
    auto update_secret =
        tx.prepare("UPDATE htlc_swaps SET secret_version = ?2, secret_nonce = ?3, secret_sealed = ?4 WHERE id = ?1");
    if (!update_secret) return update_secret.error();
    for (const auto &[id, sealed] : secret_rows) {
      ChainAccount as_account;
      as_account.chain_type = "htlc:" + id;
      Result<SealedKey> fresh = reseal(as_account, sealed);
      if (!fresh) return fresh.error();
      if (auto s = check_sealed(*fresh); !s) return s.error();
      update_secret->reset().bind(1, id).bind(2, fresh->key_version).bind_blob(3, fresh->nonce);
      update_secret->bind_blob(4, fresh->ciphertext);
      if (auto s = update_secret->run(); !s) return s.error();
    }
    return rows->size() + router_rows.size() + secret_rows.size();
  });
}

// ---- the router's own keys

Result<std::optional<SealedRouterKey>> find_router_key(store::Store &store, std::string_view name) {
  return store.read([&](ReadTx &tx) -> Result<std::optional<SealedRouterKey>> {
    auto select =
        tx.prepare("SELECT name, algorithm, key_version, nonce, ciphertext FROM router_keys WHERE name = ?1");
    if (!select) return select.error();
    select->bind(1, name);
    return first_row<SealedRouterKey>(*select, [](Statement &s) -> Result<SealedRouterKey> {
      return SealedRouterKey{s.column_text(0), s.column_text(1),
                             SealedKey{s.column_int(2), s.column_blob(3), s.column_blob(4)}};
    });
  });
}

Status add_router_key(store::Store &store, const SealedRouterKey &key) {
  if (auto s = check_sealed(key.sealed); !s) return s.error();
  return store.write([&](WriteTx &tx) -> Status {
    auto insert = tx.prepare("INSERT INTO router_keys (name, algorithm, key_version, nonce, ciphertext) "
                             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING");
    if (!insert) return insert.error();
    insert->bind(1, key.name).bind(2, key.algorithm).bind(3, key.sealed.key_version).bind_blob(4, key.sealed.nonce);
    insert->bind_blob(5, key.sealed.ciphertext);
    if (auto s = insert->run(); !s) return s.error();
    if (tx.changes() == 0)
      return Error{am_code::kAccountExists, "router key '" + key.name + "' is already stored"};
    return Ok{};
  });
}

// ---- audit

Result<std::int64_t> append_audit(store::Store &store, std::string_view event, std::string_view user,
                                  std::string_view remote, std::string_view detail) {
  if (event.empty()) return invalid("an audit event needs a name");
  const std::int64_t at_ms = now_ms();
  return write_returning<std::int64_t>(store, [&](WriteTx &tx) -> Result<std::int64_t> {
    auto insert = tx.prepare("INSERT INTO audit (at_ms, event, user, remote, detail) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!insert) return insert.error();
    insert->bind(1, at_ms).bind(2, event);
    bind_or_null(*insert, 3, user);
    bind_or_null(*insert, 4, remote);
    bind_or_null(*insert, 5, detail);
    if (auto s = insert->run(); !s) return s.error();
    return tx.last_insert_rowid();
  });
}

Result<std::vector<AuditEvent>> recent_audit(store::Store &store, std::size_t limit) {
  return store.read([&](ReadTx &tx) -> Result<std::vector<AuditEvent>> {
    auto select = tx.prepare("SELECT id, at_ms, event, user, remote, detail FROM audit ORDER BY id DESC LIMIT ?1");
    if (!select) return select.error();
    select->bind(1, clamp_limit(limit));
    return collect<AuditEvent>(*select, [](Statement &s) -> Result<AuditEvent> {
      return AuditEvent{s.column_int(0),  s.column_int(1),  s.column_text(2),
                        s.column_text(3), s.column_text(4), s.column_text(5)};
    });
  });
}

} // namespace weft::auth
