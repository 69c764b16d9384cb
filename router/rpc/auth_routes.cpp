// The /auth family, as WeCross 1.4's account manager answers it (sheet §4): the login key, image codes, login,
// register, logout, the caller's account, password change and an admin's access lists. Outcomes are envelope 0
// with the account manager's errorCode inside `data`; the slow parts run on the KDF pool.
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "accounts/key_vault.h"
#include "auth/am_codes.h"
#include "auth/auth_service.h"
#include "on_pool.h"
#include "routes.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object ua_json(const auth::Session &s) {
  return json::object{{"username", s.name}, {"uaID", std::to_string(s.user_id)}, {"pubKey", ""}, {"isAdmin", s.admin()}};
}

json::object am_json(const auth::AmAnswer &a) {
  json::object o{{"errorCode", a.error_code}, {"message", a.message}};
  if (!a.credential.empty()) o["credential"] = a.credential;
  if (a.ua) o["universalAccount"] = ua_json(*a.ua);
  return o;
}

json::object account_json(const auth::ChainAccount &a);

Reply no_auth() {
  return reply_error({code::kUaNotFound, "login is off on this router (auth.login: false)"});
}

// The ciphertext WeCross's SDK sends as `data`: a base64 string.
std::string ciphertext_of(const RpcRequest &r) { return r.data.is_string() ? std::string(r.data.get_string()) : ""; }

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<Reply> pub(RpcContext &ctx, const RpcRequest &) {
  if (!ctx.auth) co_return no_auth();
  co_return reply_ok(json::object{{"errorCode", 0}, {"message", "success"}, {"pub", ctx.auth->public_key()}});
}

asio::awaitable<Reply> auth_code(RpcContext &ctx, const RpcRequest &) {
  if (!ctx.auth) co_return no_auth();
  auto code = ctx.auth->auth_code();
  if (!code.ok()) co_return reply_error(code.error());
  co_return reply_ok(json::object{{"errorCode", 0},
                                  {"message", "success"},
                                  {"authCode", json::object{{"randomToken", code->random_token},
                                                            {"imageBase64", code->image_base64}}}});
}

asio::awaitable<Reply> login(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth) co_return no_auth();
  auto *svc = ctx.auth;
  std::string remote = r.remote.substr(0, r.remote.rfind(':'));
  std::string text = ciphertext_of(r);
  // Named, not a temporary of the co_await expression: GCC 12 destroys such temporaries twice.
  auto work = [svc, text, remote] { return svc->login(text, remote); };
  auto answer = co_await on_pool(svc->pool(), std::move(work));
  // A failure is answered late, the more so the more failures this user or address had: slow, never locked out.
  if (answer.error_code != 0) co_await sleep_for(svc->login_delay(answer.attempted_user, remote));
  co_return reply_ok(am_json(answer));
}

asio::awaitable<Reply> register_user(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth) co_return no_auth();
  auto *svc = ctx.auth;
  std::string remote = r.remote.substr(0, r.remote.rfind(':'));
  std::string text = ciphertext_of(r);
  auto work = [svc, text, remote] { return svc->register_user(text, remote); };
  auto answer = co_await on_pool(svc->pool(), std::move(work));
  co_return reply_ok(am_json(answer));
}

asio::awaitable<Reply> logout(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth || !r.session) co_return no_auth();
  auto *svc = ctx.auth;
  auto session = r.session;
  std::string credential = r.authorization, remote = r.remote;
  auto work = [svc, credential, session, remote] { return svc->logout(credential, *session, remote); };
  auto answer = co_await on_pool(svc->pool(), std::move(work));
  co_return reply_ok(am_json(answer));
}

asio::awaitable<Reply> change_password(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth || !r.session) co_return no_auth();
  auto *svc = ctx.auth;
  auto session = r.session;
  std::string text = ciphertext_of(r), remote = r.remote.substr(0, r.remote.rfind(':'));
  auto work = [svc, text, session, remote] { return svc->change_password(text, *session, remote); };
  auto answer = co_await on_pool(svc->pool(), std::move(work));
  if (answer.error_code != 0) co_await sleep_for(svc->login_delay(session->name, remote));
  co_return reply_ok(am_json(answer));
}

asio::awaitable<Reply> list_account(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth || !r.session) co_return no_auth();
  auto *svc = ctx.auth;
  auto session = r.session;
  auto work = [svc, session] { return auth::list_chain_accounts(svc->store(), session->user_id); };
  auto accounts = co_await on_pool(svc->pool(), std::move(work));
  if (!accounts.ok()) co_return reply_error(accounts.error());
  json::array list;
  for (const auto &a : *accounts) list.push_back(account_json(a));
  json::object ua = ua_json(*session);
  ua["chainAccounts"] = std::move(list);
  ua["allowChainPaths"] = json::value_from(session->acl);
  co_return reply_ok(ua);
}

// {"username":..., "allowChainPaths":[...]}: an admin sets who may use what.
asio::awaitable<Reply> access_control_list(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth || !r.session) co_return no_auth();
  if (!r.session->admin())
    co_return reply_error({code::kPermissionDenied, "Permission denied: " + r.session->name + " is not an admin"});
  const json::object *d = r.data.if_object();
  const json::value *user = d ? d->if_contains("username") : nullptr;
  const json::value *paths = d ? d->if_contains("allowChainPaths") : nullptr;
  if (!user || !user->is_string() || !paths || !paths->is_array())
    co_return reply_error({code::kPostData, "data must be {\"username\":str,\"allowChainPaths\":[str]}"});
  std::vector<std::string> list;
  for (const auto &p : paths->get_array()) {
    if (!p.is_string()) co_return reply_error({code::kPostData, "allowChainPaths must be strings"});
    list.emplace_back(p.get_string());
  }
  auto *svc = ctx.auth;
  auto session = r.session;
  std::string name(user->get_string()), remote = r.remote;
  auto work = [svc, session, name, list, remote] { return svc->set_access_list(*session, name, list, remote); };
  auto answer = co_await on_pool(svc->pool(), std::move(work));
  co_return reply_ok(am_json(answer));
}

json::object account_json(const auth::ChainAccount &a) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string pub;
  for (uint8_t b : a.public_key) pub += {kHex[b >> 4], kHex[b & 15]};
  // WeCross's ChainAccount fields (keyID, identity, type, isDefault, pubKey, ext), plus Weft's algorithm. For a
  // Fabric account pubKey is its certificate and ext its MSP id, as WeCross's account manager keeps them.
  json::object o{{"keyID", a.key_id},
                 {"identity", pub},
                 {"type", a.chain_type},
                 {"algorithm", a.algorithm},
                 {"isDefault", a.is_default},
                 {"pubKey", a.certificate.empty() ? pub : a.certificate},
                 {"ext", a.msp_id}};
  return o;
}

Reply am_error(int code, std::string message) {
  return reply_ok(json::object{{"errorCode", code}, {"message", std::move(message)}});
}

std::string str_field(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// {"type":stubType, "secKey"?:hex, "algorithm"?, "isDefault"?, "cert"?, "mspID"?}: without secKey the router makes
// the key itself, so it never travels; with one, only over TLS or from this machine.
asio::awaitable<Reply> add_chain_account(RpcContext &ctx, const RpcRequest &r) {
  if (!ctx.auth || !r.session) co_return no_auth();
  if (!ctx.vault)
    co_return am_error(am_code::kConfigItem, "this router keeps no chain accounts: set router.master_key_file");
  const json::object *d = r.data.if_object();
  if (!d) co_return am_error(am_code::kInvalidParameters, "data must be an object {\"type\", ...}");
  std::string type = str_field(*d, "type"), secret = str_field(*d, "secKey"), alg_name = str_field(*d, "algorithm");
  if (type.empty()) co_return am_error(am_code::kInvalidParameters, "type (the chain's stub type) is required");
  if (!secret.empty() && !r.secure && !r.loopback)
    co_return am_error(am_code::kInvalidParameters,
                       "a private key is accepted only over TLS or from this machine; omit secKey to have the router "
                       "make the key");
  auto alg = alg_name.empty() ? std::optional(accounts::algorithm_for_stub_type(type)) : accounts::parse_algorithm(alg_name);
  if (!alg) co_return am_error(am_code::kChainAccountTypeNotFound, "algorithm must be secp256k1, sm2 or p256");
  bool make_default = d->contains("isDefault") && d->at("isDefault").is_bool() && d->at("isDefault").get_bool();
  auto *vault = ctx.vault;
  auto *svc = ctx.auth;
  auto session = r.session;
  // WeCross's client names the certificate pubKey (a PEM) and the MSP id ext; Weft also reads cert and mspID.
  std::string cert = str_field(*d, "cert"), msp = str_field(*d, "mspID"), remote = r.remote;
  if (cert.empty() && str_field(*d, "pubKey").find("-----BEGIN CERTIFICATE-----") != std::string::npos)
    cert = str_field(*d, "pubKey");
  if (msp.empty()) msp = str_field(*d, "ext");
  auto work = [vault, svc, session, type, secret, alg, cert, msp, make_default, remote] {
    auto added = vault->add(session->user_id, type, *alg, secret, cert, msp, make_default);
    if (added.ok())
      svc->audit("chain_account_added", session->name, remote, type + " key " + std::to_string(added->key_id));
    return added;
  };
  auto added = co_await on_pool(svc->pool(), std::move(work));
  if (!added.ok()) co_return am_error(am_code::kInvalidParameters, added.error().message);
  co_return reply_ok(json::object{{"errorCode", 0}, {"message", "success"}, {"chainAccount", account_json(*added)}});
}

asio::awaitable<Reply> remove_or_default(RpcContext &ctx, const RpcRequest &r, bool remove) {
  if (!ctx.auth || !r.session) co_return no_auth();
  const json::object *d = r.data.if_object();
  const json::value *key = d ? d->if_contains("keyID") : nullptr;
  if (!key || !(key->is_int64() || key->is_uint64()))
    co_return am_error(am_code::kInvalidParameters, "data must carry keyID (an integer)");
  auto *svc = ctx.auth;
  auto session = r.session;
  int64_t key_id = key->to_number<int64_t>();
  std::string remote = r.remote;
  auto work = [svc, session, key_id, remove, remote]() -> Status {
    Status s = remove ? auth::remove_chain_account(svc->store(), session->user_id, key_id)
                      : auth::set_default_chain_account(svc->store(), session->user_id, key_id);
    if (s.ok())
      svc->audit(remove ? "chain_account_removed" : "chain_account_default", session->name, remote,
                 "key " + std::to_string(key_id));
    return s;
  };
  auto done = co_await on_pool(svc->pool(), std::move(work));
  if (!done.ok()) co_return am_error(am_code::kChainAccountNotExist, done.error().message);
  co_return reply_ok(json::object{{"errorCode", 0}, {"message", "success"}});
}

asio::awaitable<Reply> remove_chain_account(RpcContext &ctx, const RpcRequest &r) {
  co_return co_await remove_or_default(ctx, r, true);
}
asio::awaitable<Reply> set_default_account(RpcContext &ctx, const RpcRequest &r) {
  co_return co_await remove_or_default(ctx, r, false);
}

} // namespace

// The account manager's rule, not shouldLogin: pub, authCode, login and register need no token.
void add_auth_routes(RouteTable &t) {
  t.add({kGet | kPost, "/auth/pub", pub, false, "auth"});
  t.add({kGet | kPost, "/auth/authCode", auth_code, false, "auth"});
  t.add({kPost, "/auth/login", login, false, "auth"});
  t.add({kPost, "/auth/register", register_user, false, "auth"});
  t.add({kPost, "/auth/logout", logout, true, "auth"});
  t.add({kGet | kPost, "/auth/listAccount", list_account, true, "auth"});
  t.add({kPost, "/auth/changePassword", change_password, true, "auth"});
  t.add({kPost, "/auth/admin/accessControlList", access_control_list, true, "auth"});
  t.add({kPost, "/auth/addChainAccount", add_chain_account, true, "auth"});
  t.add({kPost, "/auth/removeChainAccount", remove_chain_account, true, "auth"});
  t.add({kPost, "/auth/setDefaultAccount", set_default_account, true, "auth"});
}

} // namespace weft
