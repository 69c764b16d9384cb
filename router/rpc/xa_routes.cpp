// The /xa family (WeCross 1.4, sheet §5-§7): start, commit, rollback, get and list XA transactions, POST only, verbs
// case-sensitive. Outcomes come back in envelope 0 with data.status; malformed requests in the 60000 range. The
// coordinator (xa/coordinator.h) does the work; these handlers parse, check who may act, and shape the answers.
// Weft adds POST /weft/xa/resolve for an admin to clear a heuristic transaction.
#include <boost/json.hpp>

#include <weft/text.hpp>

#include "routes.h"

#include "auth/auth_service.h"
#include "xa/coordinator.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct XaRequest {
  std::string xid;
  std::vector<std::string> paths;
};

Result<XaRequest> xa_request(const RpcRequest &r, bool need_paths) {
  if (auto e = r.check_version()) return *e;
  const json::object *data = r.data.if_object();
  if (data == nullptr) return Error{code::kXaPostData, "data must be an object {\"xaTransactionID\",\"paths\"}"};
  XaRequest out;
  const json::value *id = data->if_contains("xaTransactionID");
  if (id == nullptr || id->is_null()) return Error{code::kXaFieldMissing, "data.xaTransactionID is missing"};
  if (!id->is_string()) return Error{code::kXaPostData, "data.xaTransactionID must be a string"};
  out.xid = std::string(id->get_string());
  const json::value *paths = data->if_contains("paths");
  if (paths == nullptr || paths->is_null()) {
    if (need_paths) return Error{code::kXaFieldMissing, "data.paths is missing: name the resources zone.chain.resource"};
    return out;
  }
  if (!paths->is_array()) return Error{code::kXaPostData, "data.paths must be an array of path strings"};
  for (const auto &p : paths->get_array()) {
    if (!p.is_string()) return Error{code::kXaPostData, "data.paths must be an array of path strings"};
    out.paths.emplace_back(p.get_string());
  }
  if (out.paths.size() > 1024) return Error{code::kXaPostData, "at most 1024 paths"};
  return out;
}

Result<xa::Coordinator *> coordinator(RpcContext &ctx) {
  if (ctx.xa == nullptr) return Error{code::kInternal, "the XA coordinator is not running"};
  return ctx.xa;
}

using Verb = asio::awaitable<Result<xa::XaAnswer>> (xa::Coordinator::*)(xa::Actor, std::string,
                                                                        std::vector<std::string>);

asio::awaitable<Reply> act(RpcContext &ctx, const RpcRequest &r, Verb verb, bool need_paths) {
  auto c = coordinator(ctx);
  if (!c.ok()) co_return reply_error(c.error());
  auto req = xa_request(r, need_paths);
  if (!req.ok()) co_return reply_error(req.error());
  xa::Actor who = actor_of(r);
  if (r.session)
    for (const auto &p : req->paths) {
      bool chain_only = std::count(p.begin(), p.end(), '.') == 1;
      bool allowed = chain_only ? r.session->may_see_chain(p) : r.session->may_use(p);
      if (!allowed)
        co_return reply_error({code::kXaPermission, "Permission denied: " + r.session->name + " may not use " + p});
    }
  auto out = co_await ((*c)->*verb)(std::move(who), std::move(req->xid), std::move(req->paths));
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(out->json());
}

asio::awaitable<Reply> start(RpcContext &ctx, const RpcRequest &r) {
  auto reply = co_await act(ctx, r, &xa::Coordinator::start, true);
  co_return reply;
}

asio::awaitable<Reply> commit(RpcContext &ctx, const RpcRequest &r) {
  auto reply = co_await act(ctx, r, &xa::Coordinator::commit, false);
  co_return reply;
}

asio::awaitable<Reply> rollback(RpcContext &ctx, const RpcRequest &r) {
  auto reply = co_await act(ctx, r, &xa::Coordinator::rollback, false);
  co_return reply;
}

asio::awaitable<Reply> get(RpcContext &ctx, const RpcRequest &r) {
  auto c = coordinator(ctx);
  if (!c.ok()) co_return reply_error(c.error());
  auto req = xa_request(r, false);
  if (!req.ok()) co_return reply_error(req.error());
  auto out = co_await (*c)->get(actor_of(r), std::move(req->xid), std::move(req->paths));
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> list(RpcContext &ctx, const RpcRequest &r) {
  auto c = coordinator(ctx);
  if (!c.ok()) co_return reply_error(c.error());
  if (auto e = r.check_version()) co_return reply_error(*e);
  const json::object *data = r.data.if_object();
  if (data == nullptr) co_return reply_error({code::kXaPostData, "data must be an object {\"size\",\"offsets\",\"path\"}"});
  std::int64_t size = 0;
  const json::value *s = data->if_contains("size");
  if (s == nullptr || !(s->is_int64() || s->is_uint64()))
    co_return reply_error({code::kXaPostData, "data.size must be a number 1 to 1024"});
  size = s->is_int64() ? s->get_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(s->get_uint64(), 1u << 20));
  std::map<std::string, std::int64_t> offsets;
  if (const auto *o = data->if_contains("offsets"); o && !o->is_null()) {
    if (!o->is_object()) co_return reply_error({code::kXaPostData, "data.offsets must map chain paths to numbers"});
    for (const auto &[k, v] : o->get_object()) {
      if (!v.is_int64() && !v.is_uint64())
        co_return reply_error({code::kXaPostData, "data.offsets." + std::string(k) + " must be a number"});
      offsets[std::string(k)] = v.is_int64() ? v.get_int64() : -1;
    }
  }
  std::string filter;
  // WeCross's router reads "path" (its SDK sends "chainPath", which 1.4 drops: sheet §8.7); both are accepted here.
  if (const auto *p = data->if_contains("path"); p && p->is_string()) filter = std::string(p->get_string());
  if (r.session && !filter.empty() && !r.session->may_see_chain(filter))
    co_return reply_error({code::kXaPermission, "Permission denied: " + r.session->name + " may not see " + filter});
  auto out = co_await (*c)->list(actor_of(r), size, std::move(offsets), std::move(filter));
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

asio::awaitable<Reply> resolve(RpcContext &ctx, const RpcRequest &r) {
  auto c = coordinator(ctx);
  if (!c.ok()) co_return reply_error(c.error());
  auto req = xa_request(r, false);
  if (!req.ok()) co_return reply_error(req.error());
  std::string note;
  if (const auto *n = r.data.as_object().if_contains("note"); n && n->is_string()) note = std::string(n->get_string());
  auto out = co_await (*c)->resolve(actor_of(r), std::move(req->xid), std::move(note));
  if (!out.ok()) co_return reply_error(out.error());
  co_return reply_ok(std::move(*out));
}

} // namespace

void add_xa_routes(RouteTable &t) {
  t.add({kPost, "/xa/startXATransaction", start, true, "xa"});
  t.add({kPost, "/xa/commitXATransaction", commit, true, "xa"});
  t.add({kPost, "/xa/rollbackXATransaction", rollback, true, "xa"});
  t.add({kPost, "/xa/getXATransaction", get, true, "xa", PathMatch::Exact, true});
  t.add({kPost, "/xa/listXATransactions", list, true, "xa", PathMatch::Exact, true});
  t.add({kPost, "/weft/xa/resolve", resolve, true, "weft"});
}

} // namespace weft
