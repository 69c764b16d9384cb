// The /resource family: /resource/{zone}/{chain}/{resource}/{verb} (and {zone}/{chain}/{verb}), any HTTP method,
// the verb matched case-insensitively, as WeCross routes them: detail, call, sendTransaction, customCommand.
#include <boost/json.hpp>

#include <weft/text.hpp>

#include <algorithm>
#include <cctype>

#include "envelope.h"
#include "routes.h"

#include "accounts/key_vault.h"
#include "auth/auth_service.h"
#include "xa/coordinator.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

std::string resource_verb_name(const RpcRequest &r) {
  std::string verb = r.parts.back();
  std::transform(verb.begin(), verb.end(), verb.begin(), [](unsigned char c) { return std::tolower(c); });
  return verb;
}

namespace {

// The request's TransactionRequest, type-checked.
Result<TxRequest> tx_request(const RpcRequest &r, const ResourceEntry &res) {
  if (auto e = r.check_version()) return *e;
  const json::object *data = r.data.if_object();
  if (data == nullptr) return Error{code::kPostData, "data must be an object {\"method\",\"args\",\"options\"}"};
  TxRequest t;
  t.resource = res.name;
  const json::value *method = data->if_contains("method");
  if (method == nullptr || !method->is_string() || method->get_string().empty())
    return Error{code::kPostData, "data.method must be a non-empty string"};
  t.method = std::string(method->get_string());
  if (const auto *a = data->if_contains("args"); a != nullptr && !a->is_null()) {
    if (!a->is_array()) return Error{code::kPostData, "data.args must be an array of strings"};
    for (const auto &e : a->get_array()) {
      if (!e.is_string()) return Error{code::kPostData, "data.args must be an array of strings"};
      t.args.emplace_back(e.get_string());
    }
  }
  if (const auto *o = data->if_contains("options"); o != nullptr && !o->is_null()) {
    if (!o->is_object()) return Error{code::kPostData, "data.options must be an object"};
    t.options = o->get_object();
  }
  if (const auto *a = t.options.if_contains("account")) {
    if (!a->is_string() || a->get_string().empty())
      return Error{code::kPostData, "data.options.account must be an account name"};
    t.account = std::string(a->get_string());
  }
  return t;
}

// The XA options of a TransactionRequest (sheet §6): XA_TRANSACTION_ID, a string ("" or "0": none), and
// XA_TRANSACTION_SEQ, a number (the SDK sends a millisecond timestamp) or a decimal string.
struct XaOptions {
  std::string xid;
  std::optional<std::int64_t> seq;
};

Result<XaOptions> xa_options(const json::object &options) {
  XaOptions out;
  if (const auto *id = options.if_contains("XA_TRANSACTION_ID"); id && !id->is_null()) {
    if (!id->is_string()) return Error{code::kXaPostData, "options.XA_TRANSACTION_ID must be a string"};
    out.xid = std::string(id->get_string());
    if (out.xid == "0") out.xid.clear();
  }
  if (const auto *q = options.if_contains("XA_TRANSACTION_SEQ"); q && !q->is_null()) {
    if (q->is_int64() && q->get_int64() >= 0) {
      out.seq = q->get_int64();
    } else if (q->is_uint64() && q->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      out.seq = static_cast<std::int64_t>(q->get_uint64());
    } else if (q->is_string() && !q->get_string().empty() && q->get_string().size() <= 18 &&
               std::all_of(q->get_string().begin(), q->get_string().end(), ::isdigit)) {
      out.seq = std::stoll(std::string(q->get_string()));
    } else {
      return Error{code::kXaPostData, "options.XA_TRANSACTION_SEQ must be a non-negative integer"};
    }
  }
  return out;
}

asio::awaitable<Reply> resource_verb(RpcContext &ctx, const RpcRequest &r) {
  const auto &p = r.parts;
  std::string verb = resource_verb_name(r);
  if (p.size() == 4) {
    if (verb == "customcommand")
      co_return reply_error({code::kChainUnsupported, "customCommand is not offered by chain " + p[1] + "." + p[2]});
    co_return reply_error({code::kUriPath, "Unsupported method: " + p.back()});
  }
  std::string path = p[1] + "." + p[2] + "." + p[3];
  if (!text::is_name(p[1]) || !text::is_name(p[2]) || !text::is_name(p[3]))
    co_return reply_error({code::kPathFormat, "'" + path + "' is not a resource path zone.chain.resource"});
  if (r.session && !r.session->may_use(path))
    co_return reply_error({code::kPermissionDenied, "Permission denied: " + r.session->name + " may not use " + path +
                                                        "; an admin grants it with /auth/admin/accessControlList"});
  auto res = ctx.registry.resource(path);
  if (!res) {
    // A chain that is still opening (or down) will list its resources once it is up.
    auto chain = ctx.registry.chain(p[1] + "." + p[2]);
    if (chain && !chain->handle())
      co_return reply_error({code::kChainUnreachable, "chain " + chain->path + " is not available: " +
                                                          (chain->status().reason.empty() ? "still opening"
                                                                                          : chain->status().reason)});
    co_return reply_error({code::kUriPath, "Resource not found: " + path});
  }
  if (verb == "detail")
    co_return reply_ok(json::object{{"path", path},
                                    {"distance", 0},
                                    {"stubType", res->stub_type},
                                    {"properties", res->properties},
                                    {"checksum", nullptr}});
  bool send = verb == "sendtransaction";
  if (verb == "call" || send) {
    auto req = tx_request(r, *res);
    if (!req.ok()) co_return reply_error(req.error());
    auto chain = ctx.chains.open_chain(res->chain_path);
    if (!chain.ok()) co_return reply_error(chain.error());
    auto xa = xa_options(req->options);
    if (!xa.ok()) co_return reply_error(xa.error());
    xa::Actor who = actor_of(r);
    // Inside a transaction, whose it is and whether it holds the path come before the choice of a signer.
    if (!xa->xid.empty()) {
      if (ctx.xa == nullptr) co_return reply_error({code::kInternal, "the XA coordinator is not running"});
      Status ready = co_await ctx.xa->prepare_call(who, xa->xid, path, !send);
      if (!ready.ok()) co_return reply_error(ready.error());
    }
    // A plain write to a resource an unfinished transaction of this router holds is refused here, as its chain
    // would once the transaction's branch started there (a deferred start has not locked it on the chain yet).
    if (send && xa->xid.empty() && ctx.xa != nullptr)
      if (std::string held = ctx.xa->holder(path); !held.empty())
        co_return reply_error({code::kChainBusy, "resource " + path + " is locked by XA transaction " + held +
                                                     "; retry when it ends"});
    auto account = signer(ctx, r, **chain, req->account, send);
    if (!account.ok()) co_return reply_error(account.error());
    req->account = std::move(*account);
    if (!xa->xid.empty()) {
      if (send) {
        if (!xa->seq) co_return reply_error({code::kXaFieldMissing, "options.XA_TRANSACTION_SEQ is missing"});
        req->options.erase("XA_TRANSACTION_ID");
        req->options.erase("XA_TRANSACTION_SEQ");
        xa::StepRequest step{xa->xid, *xa->seq, path, std::move(*req)};
        auto answer = co_await ctx.xa->step(std::move(who), std::move(step));
        if (!answer.ok()) co_return reply_error(answer.error());
        co_return reply_ok(std::move(*answer));
      }
    }
    auto out = co_await ctx.chains.transact(*chain, std::move(*req), send);
    if (!out.ok()) co_return reply_error(out.error());
    co_return reply_ok_text(tx_outcome_json(*out));
  }
  if (verb == "customcommand")
    co_return reply_error({code::kChainUnsupported, "customCommand is not offered by resource " + path});
  co_return reply_error({code::kUriPath, "Unsupported method: " + p.back()});
}

} // namespace

// Who signs (sheet §4, DESIGN "Which key signs"): a logged-in user's chain account — the one options.account names
// by its keyID, or its default for the chain's stub type; an admin may name one of the router's own accounts, and
// falls back to the chain's default account; a user's call (which signs nothing) falls back to it too. Without
// login, the chain's default or the router account named.
Result<std::string> signer(RpcContext &ctx, const RpcRequest &r, const Chain &chain, const std::string &named,
                           bool send) {
  if (!r.session) return named.empty() ? chain.default_account : named;
  const auth::Session &s = *r.session;
  bool numeric = !named.empty() && std::all_of(named.begin(), named.end(), ::isdigit) && named.size() < 18;
  if (ctx.vault != nullptr) {
    if (numeric) {
      auto a = ctx.vault->find(s.user_id, std::stoll(named));
      if (!a.ok()) return a.error();
      if (!*a) return Error{code::kChainAccount, s.name + " has no chain account " + named};
      return accounts::account_handle(s.user_id, (*a)->key_id);
    }
    if (named.empty()) {
      auto d = ctx.vault->default_for(s.user_id, chain.stub_type);
      if (!d.ok()) return d.error();
      if (*d) return accounts::account_handle(s.user_id, (*d)->key_id);
    }
  }
  if (s.admin()) return named.empty() ? chain.default_account : named; // the router's own accounts
  // A call signs nothing: without an account of its own, a user reads as the chain's default account.
  if (!send && named.empty()) return chain.default_account;
  return Error{code::kChainAccount, named.empty() ? s.name + " has no chain account for " + chain.stub_type +
                                                          "; add one with /auth/addChainAccount"
                                                    : s.name + " may sign only with its own chain accounts (by keyID)"};
}

void add_resource_routes(RouteTable &t) {
  t.add({kAnyMethod, "/resource", resource_verb, true, "resource", PathMatch::ResourcePath});
}

} // namespace weft
