// weft-bench-router: what the router's RPC costs, each figure beside a baseline measured in the same run with the
// same client (keep-alive HTTP/1.1 or framed connections, C in parallel): GET /sys/test against nginx answering the
// same JSON body; a kv read through the router (chain in remote mode on a 4-node weft-node network) against the same
// `call` sent straight to the nodes; a kv write through the router (signed by its keystore) against pre-signed
// `submit`s sent straight to the nodes. Every process it starts it stops by pid.
#include "load.h"
#include "procs.h"
#include "report.h"
#include "router_procs.h"
#include "router_requests.h"
#include "weft_net.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

using namespace weft::bench;
namespace fs = std::filesystem;

namespace {

struct Options {
  size_t requests = 200000, reads = 50000, writes = 20000;
  size_t conns = 16, write_conns = 128, depth = 1;
  double rate = 0, read_rate = 0, write_rate = 0;
  unsigned router_threads = 2, remote_connections = 4, nginx_workers = 2, sign_threads = 2;
  std::string remote_io = "host";
  uint64_t block_txs = 1000, block_interval_ms = 20, wait_ms = 120000;
  std::string router_binary, plugin_dir, node_binary, nginx_binary = "nginx";
  bool keep_dirs = false;
  bool proxy = true; // nginx as a plain TCP proxy in front of the nodes: a third figure for reads and writes
  std::string paths = "sys,get,set"; // which of the three loads to run
  bool runs(const std::string &p) const { return ("," + paths + ",").find("," + p + ",") != std::string::npos; }
};

// One measured load and the CPU each group of server processes spent over it.
struct Run {
  LoadResult load;
  std::map<std::string, int64_t> cpu_us;
  double cpu_per_ok(const std::string &group) const {
    auto it = cpu_us.find(group);
    return it == cpu_us.end() || load.ok == 0 ? 0 : double(it->second) / double(load.ok);
  }
};

int64_t total_cpu(const std::vector<int> &pids) {
  int64_t sum = 0;
  for (int p : pids)
    sum += std::max<int64_t>(0, cpu_us(p));
  return sum;
}

Run measure(const Options &o, std::vector<Endpoint> endpoints, size_t conns, double rate, Wire wire,
            std::vector<std::string> requests, Checker check, const std::map<std::string, std::vector<int>> &groups) {
  LoadSpec spec;
  spec.endpoints = std::move(endpoints);
  spec.connections = conns;
  spec.rate = rate;
  spec.max_in_flight_per_conn = o.depth;
  spec.max_in_flight = conns * o.depth;
  spec.wire = wire;
  spec.requests = std::move(requests);
  spec.check = std::move(check);
  spec.answer_timeout = std::chrono::milliseconds(o.wait_ms + 10000);
  Run run;
  std::map<std::string, int64_t> before;
  run.load = run_load(spec, [&] {
    for (const auto &[name, pids] : groups)
      before[name] = total_cpu(pids);
  });
  for (const auto &[name, pids] : groups)
    run.cpu_us[name] = total_cpu(pids) - before[name];
  return run;
}

// A short unmeasured load first, so connection set-up, first allocations and caches are not in the figures.
void warm_up(const Options &o, const std::vector<Endpoint> &endpoints, size_t conns, Wire wire,
             std::vector<std::string> requests, Checker check) {
  if (requests.size() > 2000) requests.resize(2000);
  measure(o, endpoints, conns, 0, wire, std::move(requests), std::move(check), {});
}

bool report_failures(const std::string &what, const Run &r, size_t expected) {
  bool bad = r.load.ok != expected || r.load.failed > 0 || r.load.timed_out;
  if (bad) {
    std::cerr << what << ": " << r.load.ok << " of " << expected << " answered successfully"
              << (r.load.timed_out ? " (timed out)" : "") << "\n";
    for (const auto &e : r.load.errors)
      std::cerr << "  " << e << "\n";
  }
  return bad;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  fs::path bin = fs::read_symlink("/proc/self/exe").parent_path();
  o.router_binary = (bin / "weft-router").string();
  o.node_binary = (bin / "weft-node").string();
  o.plugin_dir = (bin.parent_path() / "plugins").string();
  CLI::App app{"weft-bench-router: the cost of weft-router's RPC, each figure against a baseline in the same run.\n"
               "1. GET /sys/test on the router vs nginx answering the same JSON body (2 workers, access log off).\n"
               "2. kv get: POST /resource/payment/ledger1/store/call through the router (chain in remote mode on 4 "
               "weft-node validators) vs the same call op sent to the nodes' client API.\n"
               "3. kv set: sendTransaction through the router (its keystore signs) vs pre-signed submits to the "
               "nodes; every acknowledged transaction is then looked up on the chain.\n"
               "Closed loop by default: each connection has --depth requests in flight; --rate makes it open loop.\n"
               "Reads and writes also go through nginx as a plain TCP proxy (--no-proxy skips it). After the table: "
               "the CPU per request each target leaves anything in the middle when the cores are the limit."};
  app.add_option("--requests", o.requests, "GET /sys/test requests (each server)")->default_val(o.requests);
  app.add_option("--reads", o.reads, "kv reads (each path)")->default_val(o.reads);
  app.add_option("--writes", o.writes, "kv writes (each path)")->default_val(o.writes);
  app.add_option("-c,--conns", o.conns, "connections for /sys/test and reads (direct: spread over the nodes)")
      ->default_val(o.conns);
  app.add_option("--write-conns", o.write_conns,
                 "connections for writes; the router serves one request at a time per connection and a write waits "
                 "for its block, so writes need many")
      ->default_val(o.write_conns);
  app.add_option("--depth", o.depth, "requests in flight per connection (1 = closed loop; more = pipelined)")
      ->default_val(o.depth);
  app.add_option("--rate", o.rate, "open loop: /sys/test requests/s (0 = closed loop)")->default_val(o.rate);
  app.add_option("--read-rate", o.read_rate, "open loop: reads/s (0 = closed loop)")->default_val(o.read_rate);
  app.add_option("--write-rate", o.write_rate, "open loop: writes/s (0 = closed loop)")->default_val(o.write_rate);
  app.add_option("--router-threads", o.router_threads, "the router's rpc.threads")->default_val(o.router_threads);
  app.add_option("--remote-connections", o.remote_connections, "the chain's remote_connections (router to nodes)")
      ->default_val(o.remote_connections);
  app.add_option("--remote-io", o.remote_io,
                 "the chain's remote_io: answers read on the router's I/O threads (host) or the plugin's (thread)")
      ->check(CLI::IsMember({"host", "thread"}))
      ->default_val(o.remote_io);
  app.add_option("--nginx-workers", o.nginx_workers, "nginx worker processes")->default_val(o.nginx_workers);
  app.add_option("--block-txs", o.block_txs, "max_block_txs of the nodes")->default_val(o.block_txs);
  app.add_option("--block-interval-ms", o.block_interval_ms, "block_interval_ms of the nodes")
      ->default_val(o.block_interval_ms);
  app.add_option("--wait-ms", o.wait_ms, "how long a write may wait for its commit")->default_val(o.wait_ms);
  app.add_option("--router-binary", o.router_binary, "weft-router to run (default: next to this program)");
  app.add_option("--plugin-dir", o.plugin_dir, "the router's plugin_dir (default: ../plugins from this program)");
  app.add_option("--node-binary", o.node_binary, "weft-node to run (default: next to this program)");
  app.add_option("--nginx-binary", o.nginx_binary, "nginx to run (default: from PATH or sbin)")
      ->default_val(o.nginx_binary);
  app.add_option("--paths", o.paths, "which loads to run, comma-separated: sys, get, set (e.g. to profile one)")
      ->default_val(o.paths);
  app.add_flag("--keep-dirs", o.keep_dirs, "keep the router's, nginx's and the nodes' directories and logs");
  app.add_flag("!--no-proxy", o.proxy,
               "skip the third figure of reads and writes: the direct load sent through nginx as a plain TCP proxy "
               "in front of the nodes (its stream module), which prices a process in the middle by itself");
  CLI11_PARSE(app, argc, argv);
  if (o.requests == 0 || o.reads == 0 || o.writes == 0 || o.conns == 0 || o.write_conns == 0 || o.depth == 0) {
    std::cerr << "--requests, --reads, --writes, --conns, --write-conns and --depth must be above 0\n";
    return 2;
  }
  std::string nginx = find_program(o.nginx_binary);
  if (nginx.empty()) {
    std::cerr << "nginx not found (scripts/bench-deps.sh installs it)\n";
    return 2;
  }
  install_interrupt_handler();
  bool failed = false;
  Run sys_router, sys_nginx, get_router, get_direct, get_proxy, set_router, set_direct, set_proxy;
  std::string nginx_version;
  try {
    WeftParams wp;
    wp.node_binary = o.node_binary;
    wp.max_block_txs = o.block_txs;
    wp.block_interval_ms = o.block_interval_ms;
    wp.pool_limit = std::max<uint64_t>(20000, 4 * o.writes);
    wp.keep_dir = o.keep_dirs;
    WeftNetwork net(wp);
    std::cerr << "weft: starting 4 validators\n";
    net.start();
    RouterParams rp;
    rp.router_binary = o.router_binary;
    rp.plugin_dir = fs::absolute(o.plugin_dir).string();
    rp.nodes = net.clients();
    rp.threads = o.router_threads;
    rp.remote_connections = o.remote_connections;
    rp.remote_io = o.remote_io;
    rp.request_timeout_ms = o.wait_ms;
    rp.keep_dir = o.keep_dirs;
    RouterProcess router(rp);
    router.start();
    NginxServer ngx(nginx, kSysTestBody, o.nginx_workers, o.keep_dirs);
    ngx.start();
    nginx_version = ngx.version();
    const std::vector<Endpoint> at_router{router.endpoint()}, nodes = net.clients();
    // The proxy: as many workers as the router has I/O threads; each client connection goes to one node, in turn,
    // as the direct load spreads its connections.
    NginxServer relay(nginx, "", o.router_threads, o.keep_dirs, nodes);
    if (o.proxy && (o.runs("get") || o.runs("set"))) relay.start();
    const std::vector<Endpoint> at_proxy{relay.endpoint()};
    const std::map<std::string, std::vector<int>> with_proxy{{"router", relay.pids()}, {"nodes", net.pids()}};
    const std::map<std::string, std::vector<int>> with_router{{"router", {router.pid()}}, {"nodes", net.pids()}},
        nodes_only{{"nodes", net.pids()}};

    if (o.runs("sys")) {
      std::cerr << "1. GET /sys/test: nginx " << nginx_version << ", then the router\n";
      warm_up(o, {ngx.endpoint()}, o.conns, Wire::Http, sys_test_requests(o.requests), check_http_ok());
      sys_nginx = measure(o, {ngx.endpoint()}, o.conns, o.rate, Wire::Http, sys_test_requests(o.requests),
                          check_http_ok(), {{"server", ngx.pids()}});
      warm_up(o, at_router, o.conns, Wire::Http, sys_test_requests(o.requests), check_http_ok());
      sys_router = measure(o, at_router, o.conns, o.rate, Wire::Http, sys_test_requests(o.requests), check_http_ok(),
                           {{"server", {router.pid()}}});
      failed |= report_failures("nginx /sys/test", sys_nginx, o.requests);
      failed |= report_failures("router /sys/test", sys_router, o.requests);
    }

    if (o.runs("get")) {
      std::cerr << "2. kv get: straight to the nodes, then through the router\n";
      const std::string key = "bench-key";
      Run seed = measure(
          o, at_router, 1, 0, Wire::Http,
          {http_post("/resource/payment/ledger1/store/sendTransaction",
                     R"({"version":"1","data":{"method":"set","args":[")" + key + R"(","value"],"options":{}}})")},
          check_router_tx(nullptr), {});
      if (report_failures("setting the key read", seed, 1)) throw std::runtime_error("the router cannot write");
      warm_up(o, nodes, o.conns, Wire::Framed, node_get_requests(o.reads, key), check_node_tx(nullptr));
      get_direct = measure(o, nodes, o.conns, o.read_rate, Wire::Framed, node_get_requests(o.reads, key),
                           check_node_tx(nullptr), nodes_only);
      warm_up(o, at_router, o.conns, Wire::Http, router_get_requests(o.reads, key), check_router_tx(nullptr));
      get_router = measure(o, at_router, o.conns, o.read_rate, Wire::Http, router_get_requests(o.reads, key),
                           check_router_tx(nullptr), with_router);
      failed |= report_failures("direct get", get_direct, o.reads);
      failed |= report_failures("router get", get_router, o.reads);
      if (o.proxy) {
        warm_up(o, at_proxy, o.conns, Wire::Framed, node_get_requests(o.reads, key), check_node_tx(nullptr));
        get_proxy = measure(o, at_proxy, o.conns, o.read_rate, Wire::Framed, node_get_requests(o.reads, key),
                            check_node_tx(nullptr), with_proxy);
        failed |= report_failures("proxy get", get_proxy, o.reads);
      }
    }

    std::vector<std::string> acknowledged;
    if (o.runs("set")) {
      std::cerr << "3. kv set: pre-signed submits straight to the nodes, then sendTransaction through the router\n";
      auto signed_sets = node_set_requests(net, o.writes, "direct-", o.wait_ms, o.sign_threads);
      set_direct = measure(o, nodes, o.write_conns, o.write_rate, Wire::Framed, std::move(signed_sets),
                           check_node_tx(&acknowledged), nodes_only);
      set_router = measure(o, at_router, o.write_conns, o.write_rate, Wire::Http,
                           router_set_requests(o.writes, "router-"), check_router_tx(&acknowledged), with_router);
      failed |= report_failures("direct set", set_direct, o.writes);
      failed |= report_failures("router set", set_router, o.writes);
      if (o.proxy) {
        auto proxied_sets = node_set_requests(net, o.writes, "proxy-", o.wait_ms, o.sign_threads);
        set_proxy = measure(o, at_proxy, o.write_conns, o.write_rate, Wire::Framed, std::move(proxied_sets),
                            check_node_tx(&acknowledged), with_proxy);
        failed |= report_failures("proxy set", set_proxy, o.writes);
      }
    }
    std::cerr << "checking " << acknowledged.size() << " acknowledged transactions on the chain\n";
    std::string missing = check_receipts(nodes, acknowledged);
    if (!missing.empty()) {
      std::cerr << "LOST: " << missing << "\n";
      failed = true;
    }

    if (int code = ngx.stop(); code != 0) std::cerr << "nginx exited " << code << "\n", failed = true;
    if (int code = relay.stop(); code != 0) std::cerr << "nginx (proxy) exited " << code << "\n", failed = true;
    if (int code = router.stop(); code != 0)
      std::cerr << "weft-router exited " << code << ":\n" << router.log_tail() << "\n", failed = true;
    for (const auto &b : net.stop_all())
      std::cerr << "weft-node: " << b << "\n", failed = true;
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    failed = true;
  }

  auto loop = [&](double rate, size_t conns) {
    return std::to_string(conns) + " connections, " +
           (rate > 0 ? "open loop at " + fixed(rate, 0) + "/s" : "closed loop") + ", " + std::to_string(o.depth) +
           " in flight per connection";
  };
  std::cout << "\nmachine: " << machine_description() << "\n"
            << "1. GET /sys/test x" << o.requests << ", " << loop(o.rate, o.conns) << "; router rpc.threads "
            << o.router_threads << " vs nginx " << nginx_version << " (" << o.nginx_workers << " workers)\n"
            << "2. kv get x" << o.reads << ", " << loop(o.read_rate, o.conns)
            << "; router (remote mode, remote_connections " << o.remote_connections << ", remote_io " << o.remote_io
            << ") vs the nodes' client API\n"
            << "3. kv set x" << o.writes << ", " << loop(o.write_rate, o.write_conns)
            << "; answered at commit; 4 validators, max_block_txs " << o.block_txs << ", block_interval_ms "
            << o.block_interval_ms << "\n\n";
  // The proxy's columns: the same direct load through nginx as a TCP proxy; its "router CPU" is nginx's.
  Table table({"", "router", "baseline", "router/baseline", "proxy", "proxy/baseline"});
  auto ratio = [](double a, double b) { return b > 0 ? fixed(a / b, 2) : std::string("-"); };
  auto figures = [&](const std::string &what, const Run &r, const Run &b, const Run *x) {
    auto with = [&](std::vector<std::string> cells, double xv, double bv, int decimals) {
      bool has = x != nullptr && x->load.ok > 0;
      cells.push_back(has ? fixed(xv, decimals) : "-");
      cells.push_back(has ? ratio(xv, bv) : "-");
      table.row(std::move(cells));
    };
    with({what + " (/s)", fixed(r.load.committed_rate(), 0), fixed(b.load.committed_rate(), 0),
          ratio(r.load.committed_rate(), b.load.committed_rate())},
         x ? x->load.committed_rate() : 0, b.load.committed_rate(), 0);
    for (double p : {50.0, 99.0})
      with({"  p" + fixed(p, 0) + " latency (ms)", fixed(r.load.percentile(p), 2), fixed(b.load.percentile(p), 2),
            ratio(r.load.percentile(p), b.load.percentile(p))},
           x ? x->load.percentile(p) : 0, b.load.percentile(p), 2);
  };
  auto cpu = [&](const std::string &label, const std::string &group, const Run &r, const Run &b, const Run *x) {
    double rc = r.cpu_per_ok(group), bc = b.cpu_per_ok(group);
    bool has = x != nullptr && x->load.ok > 0;
    double xc = has ? x->cpu_per_ok(group) : 0;
    table.row({label, fixed(rc, 1), b.cpu_us.count(group) ? fixed(bc, 1) : "-", ratio(rc, bc),
               has ? fixed(xc, 1) : "-", has && b.cpu_us.count(group) ? ratio(xc, bc) : "-"});
  };
  table.row({"1. GET /sys/test", "router", "nginx", "", "", ""});
  figures("  requests", sys_router, sys_nginx, nullptr);
  cpu("  server CPU us/request", "server", sys_router, sys_nginx, nullptr);
  table.rule();
  table.row({"2. kv get", "router", "direct", "", "proxy", ""});
  figures("  reads", get_router, get_direct, &get_proxy);
  cpu("  router (proxy) CPU us/read", "router", get_router, get_direct, &get_proxy);
  cpu("  4 nodes' CPU us/read", "nodes", get_router, get_direct, &get_proxy);
  table.rule();
  table.row({"3. kv set", "router", "direct", "", "proxy", ""});
  figures("  committed", set_router, set_direct, &set_proxy);
  cpu("  router (proxy) CPU us/tx", "router", set_router, set_direct, &set_proxy);
  cpu("  4 nodes' CPU us/tx", "nodes", set_router, set_direct, &set_proxy);
  std::cout << table.render();
  auto client = [](const Run &r) {
    return r.load.ok ? fixed(double(r.load.client_cpu_us) / double(r.load.ok), 1) : "-";
  };
  std::cout << "client CPU us/request: /sys/test " << client(sys_router) << " / " << client(sys_nginx) << ", get "
            << client(get_router) << " / " << client(get_direct) << ", set " << client(set_router) << " / "
            << client(set_direct) << " (router / baseline)\n";
  // If the shared cores are what limits both runs, a run's rate is their capacity over the CPU all processes spend
  // per request. Reaching `target` of direct then leaves whatever sits in the middle at most
  // (nodes + client per direct request) x (1/target - 1), and less when the nodes or the client spend more per
  // request through it (they do). Printed so that every run shows what the target asks of any relay here.
  auto budget = [&](const char *what, const char *unit, double target, const Run &direct, const Run &router,
                    const Run &proxy) {
    if (direct.load.ok == 0 || direct.load.elapsed_s <= 0) return;
    double per = direct.cpu_per_ok("nodes") + double(direct.load.client_cpu_us) / double(direct.load.ok);
    double busy = per * direct.load.committed_rate() / 1e6;
    std::cout << "  " << what << " >= " << fixed(target, 1) << "x direct: at most " << fixed(per * (1 / target - 1), 1)
              << " us/" << unit << " (router " << (router.load.ok ? fixed(router.cpu_per_ok("router"), 1) : "-")
              << ", proxy " << (proxy.load.ok ? fixed(proxy.cpu_per_ok("router"), 1) : "-")
              << "); the direct run kept " << fixed(busy, 2) << " of " << std::thread::hardware_concurrency()
              << " cores busy (nodes and client)\n";
  };
  if (get_direct.load.ok || set_direct.load.ok)
    std::cout << "CPU the targets leave anything in the middle, if the cores are the limit:\n";
  budget("kv get", "read", 0.8, get_direct, get_router, get_proxy);
  budget("kv set", "tx", 0.9, set_direct, set_router, set_proxy);
  if (failed) std::cout << "\nFAILED: see the messages above\n";
  return failed ? 1 : 0;
}
