// Weft's own routes, beside WeCross's: the router's accounts (with their addresses on a chain), a transaction's
// inclusion proof, and a chain's timing facts. A method they do not serve gets 405 with Allow.
#include <boost/json.hpp>

#include <weft/text.hpp>

#include "auth/auth_service.h"
#include "routes.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

asio::awaitable<Reply> router_accounts(RpcContext &ctx, const RpcRequest &r) {
  std::shared_ptr<Chain> chain;
  if (r.param("path")) {
    auto c = chain_param(ctx, r);
    if (!c.ok()) co_return reply_error(c.error());
    chain = *c;
  }
  json::array out;
  for (const auto &a : ctx.accounts) {
    json::object o{{"name", a.name}, {"algorithm", a.algorithm}};
    if (chain) {
      auto addr = co_await ctx.chains.address(chain, a.name);
      if (addr.ok()) o["address"] = *addr;
      else o["error"] = addr.error().message;
      o["default"] = a.name == chain->default_account;
    }
    out.push_back(std::move(o));
  }
  co_return reply_ok(json::object{{"accounts", std::move(out)}});
}

asio::awaitable<Reply> proof(RpcContext &ctx, const RpcRequest &r) {
  auto chain = chain_param(ctx, r);
  if (!chain.ok()) co_return reply_error(chain.error());
  auto hash = r.param("txHash");
  if (!hash || !text::is_hex(*hash, 128))
    co_return reply_error({code::kUriQuery, "parameter 'txHash' must be a hex transaction hash"});
  auto p = co_await ctx.chains.proof(*chain, *hash);
  if (!p.ok()) {
    Error e = p.error();
    if (e.code == code::kChainNotFound) e.code = code::kTransNotFound;
    co_return reply_error(e);
  }
  co_return reply_ok(std::move(*p));
}

asio::awaitable<Reply> chain_info(RpcContext &ctx, const RpcRequest &r) {
  auto chain = chain_param(ctx, r);
  if (!chain.ok()) co_return reply_error(chain.error());
  auto info = co_await ctx.chains.info(*chain);
  if (!info.ok()) co_return reply_error(info.error());
  co_return reply_ok(json::object{{"path", (*chain)->path},
                                  {"height", info->height},
                                  {"blockTime", info->block_time_ms},
                                  {"finalityBlocks", info->finality_blocks},
                                  {"blockIntervalMs", info->block_interval_ms}});
}

// The routes that change a chain's resources are for admins.
std::optional<Error> admins_only(const RpcRequest &r) {
  if (r.session && !r.session->admin())
    return Error{code::kPermissionDenied, "Permission denied: " + r.session->name + " is not an admin"};
  return std::nullopt;
}

// data.options.account: the router account a deployment is signed with ("" for the chain's default).
std::string options_account(const json::object &d) {
  if (const auto *o = d.if_contains("options"); o && o->is_object())
    if (const auto *a = o->as_object().if_contains("account"); a && a->is_string()) return std::string(a->as_string());
  return "";
}

// A verb that adds resources to a chain (a registration, a deployment of stubs): it waits for its block, so it gets the
// deadline of a transaction; then the chain's resources are listed again, so the new ones are routed at once.
asio::awaitable<Reply> change_resources(RpcContext &ctx, std::shared_ptr<Chain> chain, Verb verb, json::object req,
                                        std::string path) {
  auto answer = co_await ctx.chains.invoke(chain, verb, json::serialize(req), ctx.chains.request_timeout_ms());
  if (!answer.ok()) co_return reply_error(answer.error());
  auto listed = co_await ctx.chains.invoke(chain, Verb::ListResources, "{}");
  if (!listed.ok()) co_return reply_error(listed.error());
  if (ctx.set_resources) {
    auto applied = ctx.set_resources(chain->path, chain->stub_type, *listed);
    if (!applied.ok()) co_return reply_error({code::kChainInternal, applied.error().message});
  }
  boost::system::error_code ec;
  auto v = json::parse(*answer, ec);
  if (ec) co_return reply_error({code::kChainInternal, "the adapter answered with malformed JSON"});
  if (v.is_object()) v.as_object()["path"] = path;
  co_return reply_ok(std::move(v));
}

// {"path":"zone.chain.name","address","abi"} registers a deployed contract as a resource; with "bytecode" (and
// "args" for its constructor) instead of "address" the chain deploys it first, signed by the chain's default account
// or options.account. Admins only; the adapter keeps the resource across restarts.
asio::awaitable<Reply> register_resource(RpcContext &ctx, const RpcRequest &r) {
  if (auto denied = admins_only(r)) co_return reply_error(*denied);
  const json::object *d = r.data.if_object();
  const json::value *path = d ? d->if_contains("path") : nullptr;
  const json::value *abi = d ? d->if_contains("abi") : nullptr;
  if (path == nullptr || !path->is_string() || abi == nullptr || !(abi->is_string() || abi->is_array()))
    co_return reply_error({code::kPostData, "data must be {\"path\":\"zone.chain.name\",\"abi\":..., and \"address\" "
                                            "or \"bytecode\"}"});
  const std::string p(path->as_string());
  const auto dot = p.rfind('.');
  if (dot == std::string::npos || p.find('.') == dot)
    co_return reply_error({code::kPathFormat, "'" + p + "' is not a resource path zone.chain.resource"});
  const std::string chain_path = p.substr(0, dot), name = p.substr(dot + 1);
  auto chain = ctx.chains.open_chain(chain_path);
  if (!chain.ok()) co_return reply_error(chain.error());
  json::object req{{"name", name}, {"abi", abi->is_string() ? json::value(abi->as_string()) : json::value(json::serialize(*abi))}};
  for (const char *key : {"address", "bytecode", "args"})
    if (const auto *v = d->if_contains(key)) req[key] = *v;
  if (req.contains("bytecode")) {
    auto account = signer(ctx, r, **chain, options_account(*d), true);
    if (!account.ok()) co_return reply_error(account.error());
    req["account"] = *account;
  }
  co_return co_await change_resources(ctx, *chain, Verb::RegisterResource, std::move(req), p);
}

// {"path":"zone.chain","stubs":["xa","htlc"],"htlc":{"asset","name"},"coordinator"} deploys the chain's XA proxy
// and HTLC escrows (docs/xa.md, docs/htlc.md), signed by the chain's default account or options.account; the proxy's
// coordinator is that account unless "coordinator" names another router account. Admins only.
asio::awaitable<Reply> deploy_stubs(RpcContext &ctx, const RpcRequest &r) {
  if (auto denied = admins_only(r)) co_return reply_error(*denied);
  const json::object *d = r.data.if_object();
  const json::value *path = d ? d->if_contains("path") : nullptr;
  const json::value *stubs = d ? d->if_contains("stubs") : nullptr;
  if (path == nullptr || !path->is_string() || stubs == nullptr || !stubs->is_array())
    co_return reply_error({code::kPostData, "data must be {\"path\":\"zone.chain\",\"stubs\":[\"xa\",\"htlc\"], and "
                                            "\"htlc\":{\"asset\":...} for an HTLC}"});
  auto chain = ctx.chains.open_chain(std::string(path->as_string()));
  if (!chain.ok()) co_return reply_error(chain.error());
  json::object req{{"stubs", *stubs}};
  for (const char *key : {"htlc", "coordinator"})
    if (const auto *v = d->if_contains(key)) req[key] = *v;
  auto account = signer(ctx, r, **chain, options_account(*d), true);
  if (!account.ok()) co_return reply_error(account.error());
  req["account"] = *account;
  co_return co_await change_resources(ctx, *chain, Verb::DeployStubs, std::move(req), (*chain)->path);
}

} // namespace

void add_weft_routes(RouteTable &t) {
  t.add({kGet, "/weft/accounts", router_accounts, true, "weft"});
  t.add({kGet, "/weft/proof", proof, true, "weft", PathMatch::Exact, true});
  t.add({kGet, "/weft/chainInfo", chain_info, true, "weft", PathMatch::Exact, true});
  t.add({kPost, "/weft/resource/add", register_resource, true, "weft"});
  t.add({kPost, "/weft/chain/deployStubs", deploy_stubs, true, "weft"});
}

} // namespace weft
