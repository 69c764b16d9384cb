// The /sys family: liveness, the router's and its chains' status, stub types, the resource list and the
// resource table's version, as WeCross 1.4 answers them (sheet §5, §6b).
#include <boost/json.hpp>
#include <openssl/opensslv.h>

#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <set>

#include "routes.h"

#include "auth/auth_service.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object resource_detail(const ResourceEntry &r) {
  return json::object{{"path", r.path},
                      {"distance", 0},
                      {"stubType", r.stub_type},
                      {"properties", r.properties},
                      {"checksum", nullptr}};
}

asio::awaitable<Reply> sys_test(RpcContext &, const RpcRequest &) { co_return reply_ok("OK!"); }

// Weft's status: version, uptime, and every chain with its state as the supervisor sees it and a fresh height,
// all chains asked at once with a short deadline (a chain that does not answer shows its last known height).
asio::awaitable<Reply> sys_status(RpcContext &ctx, const RpcRequest &) {
  constexpr uint32_t kHeightDeadlineMs = 2000;
  auto list = ctx.registry.chains();
  co_await ctx.chains.heights(list, kHeightDeadlineMs);
  json::array chains;
  for (const auto &c : list) {
    auto st = c->status();
    json::object o{{"path", c->path},
                   {"stubType", c->stub_type},
                   {"status", chain_state_name(st.state)},
                   {"reason", st.reason},
                   {"height", st.height ? json::value(*st.height) : json::value(nullptr)},
                   {"sinceMs", std::chrono::duration_cast<std::chrono::milliseconds>(st.since.time_since_epoch()).count()},
                   {"openAttempts", st.open_attempts}};
    chains.push_back(std::move(o));
  }
  json::array adapters, refused;
  for (const auto &lib : ctx.adapters->loaded) {
    json::array types;
    for (const auto &t : lib.stub_types) types.push_back(json::string(t));
    adapters.push_back(json::object{{"name", lib.name}, {"version", lib.version}, {"file", lib.file}, {"stubTypes", types}});
  }
  for (const auto &r : ctx.adapters->refused) refused.push_back(json::object{{"file", r.file}, {"reason", r.reason}});
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started).count();
  co_return reply_ok(json::object{{"version", ctx.version},
                                  {"uptimeSeconds", up},
                                  {"zone", ctx.zone},
                                  {"chains", std::move(chains)},
                                  {"adapters", std::move(adapters)},
                                  {"refusedAdapters", std::move(refused)}});
}

std::set<std::string> stub_types(const RpcContext &ctx) {
  std::set<std::string> types;
  for (const auto &lib : ctx.adapters->loaded) types.insert(lib.stub_types.begin(), lib.stub_types.end());
  return types;
}

asio::awaitable<Reply> sys_supported_stubs(RpcContext &ctx, const RpcRequest &) {
  json::array arr;
  for (const auto &t : stub_types(ctx)) arr.push_back(json::string(t));
  co_return reply_ok(json::object{{"stubTypes", std::move(arr)}});
}

asio::awaitable<Reply> sys_list_resources(RpcContext &ctx, const RpcRequest &r) {
  if (auto e = r.check_version()) co_return reply_error(*e);
  std::string prefix = r.param("path").value_or("");
  size_t offset = 0, size = SIZE_MAX;
  if (r.query.count("offset") || r.query.count("size")) {
    try {
      offset = std::stoul(r.query.count("offset") ? r.query.at("offset") : "0");
      size = std::stoul(r.query.count("size") ? r.query.at("size") : "1024");
    } catch (...) {
      co_return reply_error({code::kUriQuery, "offset and size must be non-negative integers"});
    }
    if (size < 1 || size > 1024) co_return reply_error({code::kUriQuery, "size must be 1..1024"});
  }
  json::array details;
  size_t total = 0;
  for (const auto &res : ctx.registry.resources()) {
    if (!prefix.empty() && res.chain_path != prefix && res.path != prefix) continue;
    if (res.name == "WeCrossProxy") continue; // the XA proxy is routed, never listed (sheet §6)
    if (r.session && !r.session->may_use(res.path)) continue; // a user sees what its access list names
    if (total++ < offset || details.size() >= size) continue;
    details.push_back(resource_detail(res));
  }
  co_return reply_ok(json::object{{"total", total}, {"resourceDetails", std::move(details)}});
}

asio::awaitable<Reply> sys_state(RpcContext &ctx, const RpcRequest &) {
  co_return reply_ok(json::object{{"seq", ctx.registry.seq()}});
}

asio::awaitable<Reply> sys_router_status(RpcContext &ctx, const RpcRequest &) {
  std::string stubs;
  for (const auto &t : stub_types(ctx)) stubs += (stubs.empty() ? "" : ",") + t;
  co_return reply_ok(json::object{{"version", ctx.version},
                                  {"supportedStubs", stubs},
                                  {"rpcNetInfo", ctx.rpc_address},
                                  {"p2pNetInfo", nullptr},
                                  {"adminAccount", nullptr},
                                  {"enableAccessControl", false}});
}

std::string gigabytes(unsigned long long bytes) { return std::to_string(bytes >> 30) + "GB"; }

// WeCross reports its JVM and security provider; a native router reports the OS, OpenSSL as the provider, and
// null for what it has none of (a JVM, TLS named groups).
asio::awaitable<Reply> sys_system_status(RpcContext &ctx, const RpcRequest &) {
  struct utsname u {};
  uname(&u);
  json::object o{{"osName", u.sysname},
                 {"osArch", u.machine},
                 {"osVersion", u.release},
                 {"javaVMVersion", nullptr},
                 {"javaVMVendor", nullptr},
                 {"javaVMName", nullptr},
                 {"providerName", "OpenSSL"},
                 {"providerVersion", OPENSSL_VERSION_TEXT},
                 {"providerInfo", "libcrypto, the router's TLS and signature provider"},
                 {"namedGroups", nullptr},
                 {"disabledNamedGroups", nullptr}};
  struct statvfs fs {};
  if (statvfs(ctx.data_dir.c_str(), &fs) == 0) {
    o["totalDiskSpace"] = gigabytes(static_cast<unsigned long long>(fs.f_blocks) * fs.f_frsize);
    o["totalDiskFreeSpace"] = gigabytes(static_cast<unsigned long long>(fs.f_bfree) * fs.f_frsize);
    o["totalDiskUsable"] = gigabytes(static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize);
  } else {
    o["totalDiskSpace"] = o["totalDiskFreeSpace"] = o["totalDiskUsable"] = nullptr;
  }
  struct sysinfo si {};
  if (sysinfo(&si) == 0) {
    o["totalMemorySize"] = gigabytes(static_cast<unsigned long long>(si.totalram) * si.mem_unit);
    o["freeMemorySize"] = gigabytes(static_cast<unsigned long long>(si.freeram) * si.mem_unit);
  } else {
    o["totalMemorySize"] = o["freeMemorySize"] = nullptr;
  }
  co_return reply_ok(o);
}

} // namespace

void add_sys_routes(RouteTable &t) {
  t.add({kGet | kPost, "/sys/test", sys_test, false, "sys"});
  t.add({kGet | kPost, "/sys/status", sys_status, false, "sys"});
  t.add({kGet | kPost, "/sys/supportedStubs", sys_supported_stubs, false, "sys"});
  t.add({kGet | kPost, "/sys/listResources", sys_list_resources, true, "sys"});
  t.add({kGet, "/sys/state", sys_state, true, "sys"});
  t.add({kGet, "/sys/routerStatus", sys_router_status, true, "sys"});
  t.add({kGet, "/sys/systemStatus", sys_system_status, true, "sys"});
}

} // namespace weft
