// The RPC's one route table. Each route is one entry: the HTTP methods it serves, its path, its handler, whether
// it needs a login, and its family (for metrics). Each family adds its routes from its own file (sys_routes.cpp,
// resource_routes.cpp, trans_routes.cpp, conn_routes.cpp, weft_routes.cpp; later auth, xa, htlc). Matching follows
// WeCross's rules: see docs/rpc.md "Routing".
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chains/chain_service.h"
#include "chains/registry.h"
#include "loader.h"
#include "request.h"

namespace weft {

namespace auth {
class AuthService;
}
namespace accounts {
class KeyVault;
}
namespace xa {
class Coordinator;
struct Actor;
}
namespace htlc {
class Engine;
}

struct AccountSummary {
  std::string name;
  std::string algorithm;
};

// What the routes may read of the router; everything here is fixed once the RPC serves, or thread-safe.
struct RpcContext {
  const Registry &registry;
  ChainService &chains;
  std::string version;
  std::string zone;
  std::chrono::steady_clock::time_point started;
  const LoadReport *adapters = nullptr;
  std::vector<AccountSummary> accounts;
  std::string rpc_address;      // host:port the RPC listens on
  std::string data_dir;         // for the disk figures of /sys/systemStatus
  auth::AuthService *auth = nullptr; // null when login is off (auth.login: false)
  accounts::KeyVault *vault = nullptr; // null without router.master_key_file
  xa::Coordinator *xa = nullptr;        // the XA coordinator (/xa routes, XA steps of sendTransaction)
  htlc::Engine *htlc = nullptr;         // the HTLC engine (/weft/htlc routes)
  // Replaces a chain's resources with its adapter's new list_resources answer (chain path, stub type, answer), after
  // /weft/resource/add added one. Null where nothing may change them.
  std::function<Status(const std::string &, const std::string &, std::string_view)> set_resources;
};

enum Method : unsigned {
  kGet = 1u << 0,
  kPost = 1u << 1,
  kPut = 1u << 2,
  kDelete = 1u << 3,
  kHead = 1u << 4,
  kPatch = 1u << 5,
  kOptions = 1u << 6,
  kOtherMethod = 1u << 7,
  kAnyMethod = ~0u,
};
unsigned method_bit(std::string_view method);

using RouteHandler = boost::asio::awaitable<Reply> (*)(RpcContext &, const RpcRequest &);

enum class PathMatch {
  Exact,        // the path, case-sensitive
  ResourcePath, // /resource/{zone}/{chain}[/{resource}]/{verb}: 4 or 5 segments
};

struct Route {
  unsigned methods;
  std::string_view path; // "/sys/test"; for ResourcePath the prefix "/resource"
  RouteHandler handler;
  bool login;            // WeCross's shouldLogin for this path
  std::string_view family;
  PathMatch match = PathMatch::Exact;
  // Only reads, and waits on chains to answer: pipelined requests of one connection that do so may run alongside
  // each other (a route that answers from memory gains nothing from it). ResourcePath routes decide by verb instead:
  // call.
  bool parallel = false;
};

// Families WeCross routes: a method they do not route gets WeCross's 404, not 405.
bool is_wecross_family(std::string_view family);
// WeCross's shouldLogin: every path except those whose last segment starts with test, status, supportedStubs,
// login or register.
bool wecross_should_login(std::string_view path);

class RouteTable {
 public:
  void add(Route r) { routes_.push_back(r); }
  struct Found {
    const Route *route = nullptr; // set when status is 200
    int status = 404;             // 200, 404 or 405
    std::string allow;            // for 405
    std::string_view family = "other";
  };
  Found find(std::string_view method, const RpcRequest &r) const;
  // Whether the request may run alongside other pipelined requests of its connection: its route is `parallel` (on
  // /resource, its verb is call).
  bool parallel(std::string_view method, const RpcRequest &r) const;
  const std::vector<Route> &routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Who a request acts as, for the XA coordinator and the HTLC engine: the logged-in user, or an anonymous admin
// when the router runs without login.
xa::Actor actor_of(const RpcRequest &r);
// Which key signs for the request on `chain` (resource_routes.cpp, DESIGN "Which key signs"): a logged-in user's
// chain account (`named` as its keyID, or its default for the chain's type); an admin, or a router without login,
// may name one of the router's accounts and falls back to the chain's default account.
Result<std::string> signer(RpcContext &ctx, const RpcRequest &r, const Chain &chain, const std::string &named,
                           bool send);

// The open chain named by the request's `path` parameter ("zone.chain"): 10002 when missing or malformed (as
// WeCross's /trans answers), 10001 when unknown, 40100 when not open.
Result<std::shared_ptr<Chain>> chain_param(RpcContext &ctx, const RpcRequest &r);

// The verb of a /resource path (its last segment), lowercase: WeCross matches verbs case-insensitively.
std::string resource_verb_name(const RpcRequest &r);

void add_sys_routes(RouteTable &t);
void add_resource_routes(RouteTable &t);
void add_trans_routes(RouteTable &t);
void add_conn_routes(RouteTable &t);
void add_weft_routes(RouteTable &t);
void add_auth_routes(RouteTable &t);
void add_xa_routes(RouteTable &t);
void add_htlc_routes(RouteTable &t);

// Every route the router serves today.
RouteTable default_routes();

} // namespace weft
