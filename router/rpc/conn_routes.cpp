// The /conn family: the chains and zones this router knows, and its peers (none until routers form networks),
// as WeCross's web app reads them: {size, data:[...]} with optional offset and size (sheet §6b).
#include <boost/json.hpp>

#include <charconv>
#include <set>

#include "routes.h"

#include "auth/auth_service.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// WeCross leaves paging unchecked and, for some values, never answers. Here: both optional (all items when
// absent), a malformed or negative value is 10002, and an offset past the end is an empty page.
Result<std::pair<size_t, size_t>> paging(const RpcRequest &r) {
  auto number = [&](const char *name, size_t dflt) -> std::optional<size_t> {
    auto it = r.query.find(name);
    if (it == r.query.end() || it->second.empty()) return dflt;
    size_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || p != it->second.data() + it->second.size()) return std::nullopt;
    return v;
  };
  auto offset = number("offset", 0), size = number("size", SIZE_MAX);
  if (!offset || !size) return Error{code::kUriQuery, "offset and size must be non-negative integers"};
  return std::pair{*offset, *size};
}

json::array page(json::array all, size_t offset, size_t size) {
  json::array out;
  for (size_t i = offset; i < all.size() && out.size() < size; ++i) out.push_back(std::move(all[i]));
  return out;
}

json::object string_properties(const json::object &props) {
  json::object out;
  for (const auto &[k, v] : props) {
    if (v.is_string()) out[k] = v;
    else if (v.is_object() || v.is_array()) continue; // nested config is not a connection property
    else out[k] = json::serialize(v);
  }
  return out;
}

asio::awaitable<Reply> list_chains(RpcContext &ctx, const RpcRequest &r) {
  auto pg = paging(r);
  if (!pg.ok()) co_return reply_error(pg.error());
  auto zone = r.query.count("zone") ? r.query.at("zone") : std::string();
  json::array all;
  for (const auto &c : ctx.registry.chains()) {
    if (!zone.empty() && c->zone != zone) continue;
    if (r.session && !r.session->may_see_chain(c->path)) continue;
    auto st = c->status();
    all.push_back(json::object{{"zone", c->zone},
                               {"chain", c->name},
                               {"type", c->stub_type},
                               {"local", true},
                               {"blockNumber", st.height ? *st.height : 0},
                               {"properties", string_properties(c->properties)}});
  }
  size_t total = all.size();
  co_return reply_ok(json::object{{"size", total}, {"data", page(std::move(all), pg->first, pg->second)}});
}

asio::awaitable<Reply> list_zones(RpcContext &ctx, const RpcRequest &r) {
  auto pg = paging(r);
  if (!pg.ok()) co_return reply_error(pg.error());
  std::set<std::string> zones{ctx.zone};
  for (const auto &c : ctx.registry.chains()) zones.insert(c->zone);
  json::array all;
  for (const auto &z : zones) all.emplace_back(z);
  size_t total = all.size();
  co_return reply_ok(json::object{{"size", total}, {"data", page(std::move(all), pg->first, pg->second)}});
}

asio::awaitable<Reply> list_peers(RpcContext &, const RpcRequest &r) {
  auto pg = paging(r);
  if (!pg.ok()) co_return reply_error(pg.error());
  co_return reply_ok(json::object{{"size", 0}, {"data", json::array()}});
}

} // namespace

void add_conn_routes(RouteTable &t) {
  t.add({kGet | kPost, "/conn/listChains", list_chains, true, "conn"});
  t.add({kGet | kPost, "/conn/listZones", list_zones, true, "conn"});
  t.add({kGet | kPost, "/conn/listPeers", list_peers, true, "conn"});
}

} // namespace weft
