// Who is calling: WeCross's login flow (RSA-encrypted credentials, single-use auth codes), tokens that survive a
// restart and die with logout, a password or role change or the user's removal, sessions with their access lists,
// slowed brute force, and the audit log. The blocking parts (scrypt, RSA, the store) are marked: run them on the
// KDF pool, never on an I/O thread.
#pragma once

#include <weft/error.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_codes.h"
#include "auth/login_key.h"
#include "auth/password.h"
#include "auth/tokens.h"
#include "auth/user_store.h"
#include "store/store.h"

namespace weft::auth {

// A logged-in user as a request sees it.
struct Session {
  std::int64_t user_id = 0;
  std::string name;
  Role role = Role::kUser;
  std::vector<std::string> acl; // resource paths, or prefixes of them ("payment.ledger1"); "*" for all
  std::int64_t version = 0;
  bool admin() const { return role == Role::kAdmin; }
  // An admin may use everything; a user what its access list names: a path itself or a zone/chain prefix of it.
  bool may_use(std::string_view resource_path) const;
  // May use some resource of this chain ("zone.chain"): for the /trans and /conn routes.
  bool may_see_chain(std::string_view chain_path) const;
};

// An account-manager answer: WeCross puts these inside `data` with envelope 0 (sheet §4).
struct AmAnswer {
  int error_code = 0; // 0 or an am_code
  std::string message = "success";
  std::string credential;     // login: "Bearer …"
  std::string attempted_user; // login: the name tried, to slow the next attempt
  std::optional<Session> ua;  // login, register
};

struct AuthOptions {
  std::chrono::seconds token_life{18000}; // WeCross's default: 5 h
  bool allow_register = false;
  std::chrono::milliseconds auth_code_life{120000};
  std::chrono::milliseconds login_key_period{std::chrono::hours(24)};
};

class AuthService {
 public:
  static Result<std::unique_ptr<AuthService>> create(store::Store &store, const AuthOptions &options);

  // /auth/pub and /auth/authCode: cheap.
  std::string public_key() const { return login_key_->public_key_base64(); }
  Result<AuthCode> auth_code() { return codes_.issue(); }

  // Blocking. Every failure of decryption, padding, JSON, auth code or credentials costs the same KDF work; all but
  // a spent or expired auth code answer 40007 "account or password incorrect".
  AmAnswer login(std::string_view ciphertext, const std::string &remote);
  AmAnswer register_user(std::string_view ciphertext, const std::string &remote);
  AmAnswer change_password(std::string_view ciphertext, const Session &who, const std::string &remote);
  AmAnswer logout(std::string_view credential, const Session &who, const std::string &remote);
  // Admin only (the route checks): sets a user's access list.
  AmAnswer set_access_list(const Session &admin, std::string_view user, const std::vector<std::string> &paths,
                           const std::string &remote);

  // The session of an Authorization value, or none. Served from memory; a store read on a miss (after a restart).
  std::optional<Session> check(std::string_view credential);

  // Brute force is slowed, never locked out: the delay before answering a login for this user from this address.
  std::chrono::milliseconds login_delay(std::string_view user, std::string_view remote) const;

  KdfPool &pool() { return pool_; }
  store::Store &store() { return store_; }
  void audit(std::string_view event, std::string_view user, std::string_view remote, std::string_view detail);

 private:
  AuthService(store::Store &store, const AuthOptions &options, std::unique_ptr<LoginKey> key);
  void forget_user(std::int64_t user_id);
  void forget_expired_tokens();
  void count_failure(std::string_view user, std::string_view remote);
  void clear_failures(std::string_view user, std::string_view remote);
  Result<Session> issue_token(const User &u, std::string &credential);

  store::Store &store_;
  AuthOptions options_;
  std::unique_ptr<LoginKey> login_key_;
  AuthCodes codes_;
  KdfPool pool_{2};

  struct Cached {
    Session session;
    std::int64_t expires_ms;
  };
  mutable std::mutex mu_;
  std::map<TokenHash, Cached> sessions_;
  struct Failures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::map<std::string, Failures, std::less<>> failures_; // "u:name" and "a:address"
  std::optional<std::chrono::steady_clock::time_point> last_token_sweep_;
};

Session session_of(const User &u);

} // namespace weft::auth
