// Weft's own routes, beside WeCross's: the router's accounts (with their addresses on a chain), a transaction's
// inclusion proof, and a chain's timing facts. A method they do not serve gets 405 with Allow.
#include <boost/json.hpp>

#include <weft/text.hpp>

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

} // namespace

void add_weft_routes(RouteTable &t) {
  t.add({kGet, "/weft/accounts", router_accounts, true, "weft"});
  t.add({kGet, "/weft/proof", proof, true, "weft"});
  t.add({kGet, "/weft/chainInfo", chain_info, true, "weft"});
}

} // namespace weft
