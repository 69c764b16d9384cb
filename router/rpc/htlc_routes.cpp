// Weft's HTLC routes (docs/htlc.md), all under /weft/htlc/ and all needing a login: newProposal, getProposal,
// listProposals, status, cancel, and safety (the gap delta two chains need now, for choosing timelocks).
#include <boost/json.hpp>

#include "routes.h"

#include "accounts/key_vault.h"
#include "auth/auth_service.h"
#include "htlc/engine.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Result<htlc::Engine *> engine(RpcContext &ctx) {
  if (ctx.htlc == nullptr) return Error{code::kInternal, "the HTLC engine is not running"};
  return ctx.htlc;
}

Result<std::string> id_of(const RpcRequest &r) {
  if (auto e = r.check_version()) return *e;
  const json::object *d = r.data.if_object();
  const json::value *id = d ? d->if_contains("id") : nullptr;
  if (id == nullptr || !id->is_string()) return Error{70101, "data.id must name the swap (0x + 64 hex)"};
  return std::string(id->get_string());
}

// Which key signs a side's transactions: as for sendTransaction (signer). A router account an admin names must exist
// here, since the swap acts on it for minutes.
htlc::Engine::AccountResolver resolver(RpcContext &ctx, const RpcRequest &r) {
  return [&ctx, &r](const std::string &chain_path, const std::string &named) -> Result<std::string> {
    auto chain = ctx.registry.chain(chain_path);
    if (!chain) return Error{code::kUriPath, "chain " + chain_path + " is not configured"};
    auto handle = signer(ctx, r, *chain, named, true);
    if (!handle.ok() || handle->starts_with("ua:") || *handle == chain->default_account) return handle;
    for (const auto &a : ctx.accounts)
      if (a.name == *handle) return handle;
    return Error{code::kChainAccount, "no router account named " + named};
  };
}

asio::awaitable<Reply> new_proposal(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  if (auto v = r.check_version()) co_return reply_error(*v);
  const json::object *d = r.data.if_object();
  if (d == nullptr) co_return reply_error({70101, "data must be the proposal {initiator, participant, hash, secret?}"});
  if (r.session)
    for (const char *side : {"initiator", "participant"})
      if (const auto *s = d->if_contains(side); s && s->is_object())
        if (const auto *p = s->as_object().if_contains("path"); p && p->is_string() &&
                                                                 !r.session->may_use(std::string(p->get_string())))
          co_return reply_error({70506, "Permission denied: " + r.session->name + " may not use " +
                                            std::string(p->get_string())});
  auto out = co_await (*e)->propose(actor_of(r), *d, resolver(ctx, r));
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> get_proposal(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  auto id = id_of(r);
  if (!id.ok()) co_return reply_error(id.error());
  auto out = (*e)->get(actor_of(r), *id);
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> list_proposals(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  std::int64_t offset = 0, size = 20;
  if (const json::object *d = r.data.if_object()) {
    if (const auto *o = d->if_contains("offset"); o && o->is_int64()) offset = o->get_int64();
    if (const auto *s = d->if_contains("size"); s && s->is_int64()) size = s->get_int64();
  }
  auto out = (*e)->list(actor_of(r), offset, size);
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> status(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  auto id = id_of(r);
  if (!id.ok()) co_return reply_error(id.error());
  auto out = co_await (*e)->status(actor_of(r), *id);
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> cancel(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  auto id = id_of(r);
  if (!id.ok()) co_return reply_error(id.error());
  auto out = co_await (*e)->cancel(actor_of(r), *id);
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> safety(RpcContext &ctx, const RpcRequest &r) {
  auto e = engine(ctx);
  if (!e.ok()) co_return reply_error(e.error());
  auto i = r.param("initiator"), p = r.param("participant");
  if (!i || !p) co_return reply_error({code::kUriQuery, "initiator and participant must name chains zone.chain"});
  auto out = co_await (*e)->measured_safety(*i, *p);
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

} // namespace

void add_htlc_routes(RouteTable &t) {
  t.add({kPost, "/weft/htlc/newProposal", new_proposal, true, "htlc"});
  t.add({kPost, "/weft/htlc/getProposal", get_proposal, true, "htlc"});
  t.add({kPost | kGet, "/weft/htlc/listProposals", list_proposals, true, "htlc"});
  t.add({kPost, "/weft/htlc/status", status, true, "htlc", PathMatch::Exact, true});
  t.add({kPost, "/weft/htlc/cancel", cancel, true, "htlc"});
  t.add({kGet, "/weft/htlc/safety", safety, true, "htlc"});
}

} // namespace weft
