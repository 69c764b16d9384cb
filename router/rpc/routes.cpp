#include "routes.h"

#include "auth/auth_service.h"
#include "xa/coordinator.h"

#include <weft/text.hpp>

#include <array>

namespace weft {

unsigned method_bit(std::string_view m) {
  if (m == "GET") return kGet;
  if (m == "POST") return kPost;
  if (m == "PUT") return kPut;
  if (m == "DELETE") return kDelete;
  if (m == "HEAD") return kHead;
  if (m == "PATCH") return kPatch;
  if (m == "OPTIONS") return kOptions;
  return kOtherMethod;
}

namespace {
std::string allow_list(unsigned methods) {
  static constexpr std::array<std::pair<unsigned, const char *>, 7> kNames{
      {{kGet, "GET"}, {kHead, "HEAD"}, {kPost, "POST"}, {kPut, "PUT"}, {kDelete, "DELETE"}, {kPatch, "PATCH"},
       {kOptions, "OPTIONS"}}};
  std::string out;
  for (auto [bit, name] : kNames)
    if (methods & bit) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

bool path_matches(const Route &route, const RpcRequest &r) {
  if (route.match == PathMatch::ResourcePath)
    return (r.parts.size() == 4 || r.parts.size() == 5) && r.parts[0] == route.path.substr(1);
  return r.path == route.path;
}
} // namespace

bool is_wecross_family(std::string_view f) {
  return f == "sys" || f == "resource" || f == "trans" || f == "conn" || f == "xa" || f == "auth";
}

bool wecross_should_login(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (std::string_view open : {"test", "status", "supportedStubs", "login", "register"})
    if (last.starts_with(open)) return false;
  return true;
}

RouteTable::Found RouteTable::find(std::string_view method, const RpcRequest &r) const {
  unsigned bit = method_bit(method);
  unsigned allowed = 0;
  std::string_view family = "other";
  for (const auto &route : routes_) {
    if (!path_matches(route, r)) continue;
    family = route.family;
    if (route.methods & bit) return Found{&route, 200, "", route.family};
    allowed |= route.methods;
  }
  if (allowed == 0 || is_wecross_family(family)) return Found{nullptr, 404, "", family};
  return Found{nullptr, 405, allow_list(allowed), family};
}

bool RouteTable::parallel(std::string_view method, const RpcRequest &r) const {
  auto found = find(method, r);
  if (found.status != 200) return false;
  if (found.route->match != PathMatch::ResourcePath) return found.route->parallel;
  return resource_verb_name(r) == "call";
}

Result<std::shared_ptr<Chain>> chain_param(RpcContext &ctx, const RpcRequest &r) {
  auto path = r.param("path");
  if (!path || path->empty()) return Error{code::kUriQuery, "parameter 'path' (zone.chain) is required"};
  auto dot = path->find('.');
  if (dot == std::string::npos || !text::is_name(path->substr(0, dot)) || !text::is_name(path->substr(dot + 1)))
    return Error{code::kUriQuery, "'" + *path + "' is not a chain path zone.chain"};
  if (r.session && !r.session->may_see_chain(*path))
    return Error{code::kUriQuery, "Permission denied: " + r.session->name + " may not use chain " + *path};
  return ctx.chains.open_chain(*path);
}

xa::Actor actor_of(const RpcRequest &r) {
  if (!r.session) return xa::Actor{"anonymous", 0, true};
  return xa::Actor{r.session->name, r.session->user_id, r.session->admin()};
}

RouteTable default_routes() {
  RouteTable t;
  add_sys_routes(t);
  add_resource_routes(t);
  add_trans_routes(t);
  add_conn_routes(t);
  add_weft_routes(t);
  add_auth_routes(t);
  add_xa_routes(t);
  add_htlc_routes(t);
  return t;
}

} // namespace weft
