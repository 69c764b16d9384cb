#include "auth_service.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <weft/text.hpp>

#include <algorithm>

#include "auth/am_codes.h"

namespace weft::auth {

namespace json = boost::json;

namespace {

constexpr std::string_view kWrong = "account or password incorrect";
constexpr size_t kMaxCachedSessions = 100000;
// A session is served from memory for at most a minute, then the store is asked again: a token revoked by another
// process (weft-router account ...) or expired stops working within a minute; those revoked here, at once.
constexpr int64_t kCacheMs = 60000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AmAnswer fail(int code, std::string message) {
  AmAnswer a;
  a.error_code = code;
  a.message = std::move(message);
  return a;
}

// WeCross's client sends sha256hex(salt + password): 64 hex digits.
bool is_client_hash(std::string_view s) { return s.size() == 64 && text::is_hex(s); }

std::string str(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The decrypted credentials {"username","password","randomToken"} (and others by route), or none.
std::optional<json::object> credentials(const LoginKey &key, std::string_view ciphertext) {
  auto plain = key.decrypt(ciphertext);
  if (!plain.ok()) return std::nullopt;
  json::error_code ec;
  auto v = json::parse(*plain, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::vector<std::string> acl_of(const std::string &text) {
  std::vector<std::string> out;
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (!ec && v.is_array())
    for (const auto &e : v.as_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

} // namespace

bool Session::may_use(std::string_view path) const {
  if (admin()) return true;
  for (const auto &entry : acl) {
    if (entry == "*" || entry == path) return true;
    if (path.size() > entry.size() && path.starts_with(entry) && path[entry.size()] == '.') return true;
  }
  return false;
}

bool Session::may_see_chain(std::string_view chain) const {
  if (may_use(chain)) return true;
  for (const auto &entry : acl)
    if (entry.size() > chain.size() && entry.starts_with(chain) && entry[chain.size()] == '.') return true;
  return false;
}

Session session_of(const User &u) {
  return Session{u.id, u.name, u.role, acl_of(u.acl), u.version};
}

AuthService::AuthService(store::Store &store, const AuthOptions &options, std::unique_ptr<LoginKey> key)
    : store_(store), options_(options), login_key_(std::move(key)),
      codes_(AuthCodes::Options{options.auth_code_life, 100000}) {}

Result<std::unique_ptr<AuthService>> AuthService::create(store::Store &store, const AuthOptions &options) {
  LoginKey::Options ko;
  ko.period = options.login_key_period;
  auto key = LoginKey::create(ko);
  if (!key.ok()) return key.error();
  std::unique_ptr<AuthService> svc(new AuthService(store, options, std::move(*key)));
  svc->forget_expired_tokens();
  return svc;
}

// Expired tokens are dropped from the store at start and then at most once an hour, on a login.
void AuthService::forget_expired_tokens() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (last_token_sweep_ && now - *last_token_sweep_ < std::chrono::hours(1)) return;
    last_token_sweep_ = now;
  }
  (void)delete_expired_tokens(store_, now_ms());
}

void AuthService::audit(std::string_view event, std::string_view user, std::string_view remote,
                        std::string_view detail) {
  (void)append_audit(store_, event, user, remote, detail);
}

std::chrono::milliseconds AuthService::login_delay(std::string_view user, std::string_view remote) const {
  std::lock_guard lock(mu_);
  int worst = 0;
  auto now = std::chrono::steady_clock::now();
  for (const auto &key : {"u:" + std::string(user), "a:" + std::string(remote)}) {
    if (key == "u:") continue; // no name could be read: only the address counts
    auto it = failures_.find(key);
    // Failures are forgotten 15 minutes after the last one.
    if (it != failures_.end() && now - it->second.last < std::chrono::minutes(15))
      worst = std::max(worst, it->second.count);
  }
  if (worst == 0) return std::chrono::milliseconds(0);
  // 100 ms after the first failure, doubling, at most 5 s: slow for a guesser, never a lockout.
  return std::chrono::milliseconds(std::min<int64_t>(5000, int64_t(100) << std::min(worst - 1, 10)));
}

void AuthService::count_failure(std::string_view user, std::string_view remote) {
  std::lock_guard lock(mu_);
  if (failures_.size() > 100000) failures_.clear(); // bounded memory under a spray of names and addresses
  auto now = std::chrono::steady_clock::now();
  for (const auto &key : {"u:" + std::string(user), "a:" + std::string(remote)}) {
    if (key == "u:") continue;
    auto &f = failures_[key];
    if (now - f.last >= std::chrono::minutes(15)) f.count = 0;
    ++f.count;
    f.last = now;
  }
}

void AuthService::clear_failures(std::string_view user, std::string_view remote) {
  std::lock_guard lock(mu_);
  failures_.erase("u:" + std::string(user));
  failures_.erase("a:" + std::string(remote));
}

Result<Session> AuthService::issue_token(const User &u, std::string &credential) {
  auto token = new_token();
  if (!token.ok()) return token.error();
  TokenRecord rec;
  rec.hash = token_hash(*token);
  rec.user_id = u.id;
  rec.user_version = u.version;
  rec.created_ms = now_ms();
  rec.expires_ms = rec.created_ms + std::chrono::duration_cast<std::chrono::milliseconds>(options_.token_life).count();
  if (auto s = insert_token(store_, rec); !s.ok()) return s.error();
  credential = std::move(*token);
  Session session = session_of(u);
  std::lock_guard lock(mu_);
  if (sessions_.size() >= kMaxCachedSessions) sessions_.clear();
  sessions_[rec.hash] = Cached{session, std::min(rec.expires_ms, rec.created_ms + kCacheMs)};
  return session;
}

AmAnswer AuthService::login(std::string_view ciphertext, const std::string &remote) {
  auto creds = credentials(*login_key_, ciphertext);
  std::string name = creds ? str(*creds, "username") : "";
  std::string pw = creds ? str(*creds, "password") : "";
  auto refuse = [&](int code, std::string_view why, bool burn) {
    if (burn) burn_kdf(is_client_hash(pw) ? pw : std::string(64, '0'));
    count_failure(name, remote);
    audit("login_failed", name, remote, why);
    AmAnswer a = fail(code, code == am_code::kLoginFailed ? std::string(kWrong) : std::string(why));
    a.attempted_user = name;
    return a;
  };
  if (!creds || !is_client_hash(pw) || name.empty()) return refuse(am_code::kLoginFailed, "unreadable credentials", true);
  if (auto used = codes_.consume(str(*creds, "randomToken")); !used.ok())
    return refuse(used.error().code, used.error().message, true);
  auto user = find_user_by_name(store_, name);
  if (!user.ok()) return refuse(am_code::kLoginFailed, "store: " + user.error().message, true);
  if (!*user) return refuse(am_code::kLoginFailed, "no such user", true);
  auto ok = verify_password(pw, (*user)->salt, (*user)->pw_hash);
  if (!ok.ok() || !*ok) return refuse(am_code::kLoginFailed, "wrong password", false);
  std::string credential;
  auto session = issue_token(**user, credential);
  if (!session.ok()) return refuse(am_code::kLoginFailed, "store: " + session.error().message, false);
  clear_failures(name, remote);
  audit("login", name, remote, "");
  forget_expired_tokens();
  AmAnswer a;
  a.credential = std::move(credential);
  a.ua = std::move(*session);
  return a;
}

AmAnswer AuthService::register_user(std::string_view ciphertext, const std::string &remote) {
  auto creds = credentials(*login_key_, ciphertext);
  std::string name = creds ? str(*creds, "username") : "";
  std::string pw = creds ? str(*creds, "password") : "";
  if (!creds || !is_client_hash(pw)) {
    burn_kdf(std::string(64, '0'));
    audit("register_failed", name, remote, "unreadable request");
    return fail(am_code::kLoginFailed, std::string(kWrong));
  }
  if (!options_.allow_register) {
    burn_kdf(pw);
    audit("register_failed", name, remote, "registration is off");
    return fail(am_code::kCreateUaFailed, "registration is turned off on this router; ask an admin to add you");
  }
  if (auto used = codes_.consume(str(*creds, "randomToken")); !used.ok()) {
    burn_kdf(pw);
    return fail(used.error().code, used.error().message);
  }
  if (!text::is_name(name, 64)) {
    burn_kdf(pw);
    return fail(am_code::kInvalidParameters, "username must be 1..64 letters, digits, '_' or '-'");
  }
  auto h = hash_password(pw);
  if (!h.ok()) return fail(am_code::kCreateUaFailed, h.error().message);
  User u;
  u.name = name;
  u.salt.assign(h->salt.begin(), h->salt.end());
  u.pw_hash.assign(h->hash.begin(), h->hash.end());
  u.role = Role::kUser;
  u.created_ms = now_ms();
  auto created = create_user(store_, u);
  if (!created.ok()) {
    audit("register_failed", name, remote, created.error().message);
    return fail(created.error().code == am_code::kUaExists ? am_code::kUaExists : am_code::kCreateUaFailed,
                created.error().message);
  }
  audit("user_created", name, remote, "registered");
  AmAnswer a;
  a.ua = session_of(*created);
  return a;
}

AmAnswer AuthService::change_password(std::string_view ciphertext, const Session &who, const std::string &remote) {
  auto creds = credentials(*login_key_, ciphertext);
  std::string old_pw = creds ? str(*creds, "oldPassword") : "";
  std::string new_pw = creds ? str(*creds, "newPassword") : "";
  if (!creds || !is_client_hash(old_pw) || !is_client_hash(new_pw)) {
    burn_kdf(std::string(64, '0'));
    return fail(am_code::kLoginFailed, std::string(kWrong));
  }
  auto user = find_user_by_id(store_, who.user_id);
  if (!user.ok() || !*user) return fail(am_code::kUaNotExist, "the user no longer exists");
  auto ok = verify_password(old_pw, (*user)->salt, (*user)->pw_hash);
  if (!ok.ok() || !*ok) {
    count_failure(who.name, remote);
    audit("password_change_failed", who.name, remote, "wrong old password");
    return fail(am_code::kLoginFailed, std::string(kWrong));
  }
  auto h = hash_password(new_pw);
  if (!h.ok()) return fail(am_code::kFlushData, h.error().message);
  if (auto s = set_password(store_, who.user_id, h->salt, h->hash); !s.ok())
    return fail(am_code::kFlushData, s.error().message);
  forget_user(who.user_id);
  audit("password_changed", who.name, remote, "");
  return AmAnswer{};
}

AmAnswer AuthService::logout(std::string_view credential, const Session &who, const std::string &remote) {
  auto hash = token_hash(credential);
  (void)delete_token(store_, hash);
  {
    std::lock_guard lock(mu_);
    sessions_.erase(hash);
  }
  audit("logout", who.name, remote, "");
  return AmAnswer{};
}

AmAnswer AuthService::set_access_list(const Session &admin, std::string_view user,
                                      const std::vector<std::string> &paths, const std::string &remote) {
  auto u = find_user_by_name(store_, user);
  if (!u.ok()) return fail(am_code::kFlushData, u.error().message);
  if (!*u) return fail(am_code::kUaNotExist, "no user named '" + std::string(user) + "'");
  json::array arr;
  for (const auto &p : paths) arr.emplace_back(p);
  if (auto s = set_acl(store_, (*u)->id, json::serialize(arr)); !s.ok()) return fail(am_code::kInvalidPath, s.error().message);
  forget_user((*u)->id);
  audit("acl_set", admin.name, remote, std::string(user) + " " + json::serialize(arr));
  return AmAnswer{};
}

void AuthService::forget_user(std::int64_t user_id) {
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&](const auto &kv) { return kv.second.session.user_id == user_id; });
}

std::optional<Session> AuthService::check(std::string_view credential) {
  if (credential.empty()) return std::nullopt;
  auto hash = token_hash(credential);
  int64_t now = now_ms();
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(hash);
    if (it != sessions_.end()) {
      if (it->second.expires_ms > now) return it->second.session;
      sessions_.erase(it);
    }
  }
  // Not seen since this process started (a restart): the store decides.
  auto user = user_by_token(store_, hash, now);
  if (!user.ok() || !*user) return std::nullopt;
  Session s = session_of(**user);
  std::lock_guard lock(mu_);
  if (sessions_.size() >= kMaxCachedSessions) sessions_.clear();
  sessions_[hash] = Cached{s, now + kCacheMs};
  return s;
}

} // namespace weft::auth
