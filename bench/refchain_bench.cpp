// weft-bench-refchain: committed tx/s, commit latency and CPU per transaction of a 4-validator weft-node network,
// beside a 3-member etcd cluster given the same number of writes over the same connections at the same rate.
// Every figure comes from one run on one machine; every process it starts it stops by pid.
#include "etcd_cluster.h"
#include "load.h"
#include "procs.h"
#include "report.h"
#include "weft_net.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

using namespace weft::bench;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct Options {
  size_t txs = 20000;
  size_t conns = 32;
  double rate = 0;
  size_t max_in_flight = 10000;
  uint64_t block_txs = 1000;
  uint64_t block_interval_ms = 20;
  uint64_t round_timeout_ms = 2000;
  uint64_t wait_ms = 120000;
  size_t recipients = 1000;
  size_t value_bytes = 64;
  unsigned sign_threads = 2;
  std::string node_binary, etcd_binary = "etcd";
  bool no_etcd = false, keep_dirs = false;
  bool stop_one = false;
};

struct Figures {
  LoadResult load;
  std::vector<int64_t> cpu_us; // per server process over the load
  size_t servers = 0;
  double cpu_per_op(size_t ops) const {
    int64_t sum = 0;
    for (auto c : cpu_us)
      sum += c;
    return ops && servers ? double(sum) / double(servers) / double(ops) : 0;
  }
};

std::string find_in_path(const std::string &name) {
  if (name.find('/') != std::string::npos) return name;
  const char *path = getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= p.size();) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    fs::path candidate = fs::path(p.substr(start, end - start)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

Answer check_submit_answer(std::string_view body, int) {
  Answer a;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    a.index = SIZE_MAX;
    a.error = "unparsable answer: " + std::string(body.substr(0, 200));
    return a;
  }
  const json::object &o = v.as_object();
  const json::value *id = o.if_contains("id");
  a.index = id && id->is_number() ? id->to_number<size_t>() : SIZE_MAX;
  const json::value *status = o.if_contains("status");
  const json::value *result = o.if_contains("result");
  a.ok = status && status->is_number() && status->to_number<int64_t>() == 0 && result && result->is_object() &&
         result->as_object().if_contains("errorCode") && result->as_object().at("errorCode").to_number<int64_t>() == 0;
  if (!a.ok) a.error = "submit: " + std::string(body.substr(0, 300));
  return a;
}

Figures measure(LoadSpec spec, const std::vector<int> &pids) {
  Figures f;
  f.servers = pids.size();
  std::vector<int64_t> before(pids.size());
  f.load = run_load(spec, [&] {
    for (size_t i = 0; i < pids.size(); ++i)
      before[i] = cpu_us(pids[i]);
  });
  for (size_t i = 0; i < pids.size(); ++i)
    f.cpu_us.push_back(cpu_us(pids[i]) - before[i]);
  return f;
}

void print_failures(const std::string &what, const LoadResult &r) {
  if (r.failed == 0 && !r.timed_out) return;
  std::cerr << what << ": " << r.failed << " of " << r.sent << " requests failed" << (r.timed_out ? " (timed out)" : "")
            << "\n";
  for (const auto &e : r.errors)
    std::cerr << "  " << e << "\n";
}

LoadSpec weft_spec(const Options &o, std::vector<std::string> requests, std::vector<Endpoint> endpoints) {
  LoadSpec spec;
  spec.requests = std::move(requests);
  spec.endpoints = std::move(endpoints);
  spec.connections = o.conns;
  spec.rate = o.rate;
  spec.max_in_flight = o.max_in_flight;
  spec.wire = Wire::Framed;
  spec.check = check_submit_answer;
  spec.answer_timeout = std::chrono::milliseconds(o.wait_ms + 10000);
  return spec;
}

// The same load twice through validators 0-2's client ports: with all four validators up, then with validator 3
// stopped (SIGSTOP, as a hung host). The second load starts once the stop has cost its round timeout: single
// transfers are committed one after another until validator 0 has seen a round change and a commit after it.
// Validator 3 is continued at the end and must catch up to the same head as the others.
int run_stop_one(const Options &o) {
  constexpr size_t kWarmUp = 16; // at most this many single transfers until the stop has cost its round change
  size_t warm_up_sent = 0;
  bool failed = false;
  Figures healthy, stopped;
  uint64_t head_height = 0;
  std::string head_hash;
  try {
    WeftParams wp;
    wp.node_binary = o.node_binary;
    wp.max_block_txs = o.block_txs;
    wp.block_interval_ms = o.block_interval_ms;
    wp.round_timeout_ms = o.round_timeout_ms;
    wp.pool_limit = std::max<uint64_t>(20000, 2 * o.max_in_flight);
    wp.keep_dir = o.keep_dirs;
    WeftNetwork net(wp);
    std::cerr << "weft: starting 4 validators in " << net.dir() << "\n";
    net.start();
    std::vector<Endpoint> survivors = net.clients();
    survivors.resize(3);
    std::vector<int> pids = net.pids();
    const uint64_t supply = uint64_t(o.txs) * 10;
    healthy = measure(
        weft_spec(o, net.prepare_transfers(o.txs, supply, o.recipients, o.wait_ms, o.sign_threads), survivors), pids);
    print_failures("weft, healthy", healthy.load);
    auto requests = net.prepare_transfers(o.txs, supply, o.recipients, o.wait_ms, o.sign_threads);
    auto warm_up = net.prepare_transfers(kWarmUp, kWarmUp, 1, o.wait_ms, 1);
    int victim = pids[3];
    ::kill(victim, SIGSTOP);
    auto stopped_at = Clock::now();
    auto round_changes = [&] { return net.ask(0, "health").at("roundChanges").to_number<uint64_t>(); };
    uint64_t changes = round_changes();
    bool changed = false;
    for (const auto &frame : warm_up) {
      json::object req = json::parse(frame.substr(4)).as_object();
      net.ask(0, "submit", {{"tx", req.at("tx")}, {"wait_ms", o.wait_ms}});
      ++warm_up_sent;
      if (changed) break; // a commit after the round change
      changed = round_changes() > changes;
    }
    std::cerr << "weft: validator 3 stopped; " << warm_up_sent << " single transfers took "
              << fixed(std::chrono::duration<double>(Clock::now() - stopped_at).count(), 2) << " s"
              << (changed ? ", including its round change" : ", and no round change came") << "\n";
    pids.resize(3);
    stopped = measure(weft_spec(o, std::move(requests), survivors), pids);
    print_failures("weft, one stopped", stopped.load);
    ::kill(victim, SIGCONT);
    std::string disagree =
        net.check_agreement(2 * supply + kWarmUp - healthy.load.ok - stopped.load.ok - warm_up_sent, &head_height,
                            &head_hash);
    if (!disagree.empty()) std::cerr << "weft: the nodes disagree: " << disagree << "\n";
    auto bad = net.stop_all();
    for (const auto &b : bad)
      std::cerr << "weft: " << b << "\n";
    failed |= healthy.load.ok != o.txs || stopped.load.ok != o.txs || !disagree.empty() || !bad.empty();
  } catch (const std::exception &e) {
    std::cerr << "weft: " << e.what() << "\n";
    failed = true;
  }
  std::cout << "\nmachine: " << machine_description() << "\n"
            << "load: " << o.txs << " transfers over " << o.conns << " connections to validators 0-2, target rate "
            << (o.rate > 0 ? fixed(o.rate, 0) + "/s" : std::string("as fast as possible")) << ", twice: all 4 up, then "
            << "validator 3 stopped (SIGSTOP), from after its first round change (round timeout " << o.round_timeout_ms
            << " ms)\nweft: max_block_txs " << o.block_txs << ", block_interval_ms " << o.block_interval_ms << "\n\n";
  Table table({"", "healthy", "one stopped", "stopped/healthy"});
  auto ratio = [](double a, double b) { return b > 0 ? fixed(a / b, 2) : std::string("-"); };
  auto add = [&](const std::string &label, double h, double s, int decimals) {
    table.row({label, fixed(h, decimals), fixed(s, decimals), ratio(s, h)});
  };
  add("committed (tx/s)", healthy.load.committed_rate(), stopped.load.committed_rate(), 0);
  add("p50 latency (ms)", healthy.load.percentile(50), stopped.load.percentile(50), 1);
  add("p99 latency (ms)", healthy.load.percentile(99), stopped.load.percentile(99), 1);
  add("CPU us per tx per validator", healthy.cpu_per_op(healthy.load.ok), stopped.cpu_per_op(stopped.load.ok), 1);
  table.rule();
  table.row({"committed / submitted", std::to_string(healthy.load.ok) + "/" + std::to_string(healthy.load.sent),
             std::to_string(stopped.load.ok) + "/" + std::to_string(stopped.load.sent), ""});
  std::cout << table.render() << "\nweft heads: "
            << (head_hash.empty()
                    ? "not compared"
                    : "identical on all 4 nodes at height " + std::to_string(head_height) + " (" + head_hash + ")")
            << "\n";
  if (failed) std::cout << "\nFAILED: see the messages above\n";
  return failed ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  o.node_binary = (fs::read_symlink("/proc/self/exe").parent_path() / "weft-node").string();
  CLI::App app{"weft-bench-refchain: a 4-validator weft-node network against a 3-member etcd cluster, same load.\n"
               "Figures: sustained committed tx/s, p50/p99 commit latency (submit to commit answer), CPU microseconds "
               "per committed transaction per validator (utime+stime from /proc)."};
  app.add_option("-n,--txs", o.txs, "transfers to commit (etcd: as many puts)")->default_val(o.txs);
  app.add_option("-c,--conns", o.conns, "client connections, spread over the nodes (etcd: over its members)")
      ->default_val(o.conns);
  app.add_option("-r,--rate", o.rate,
                 "offered load in requests/s, open loop; 0 = as fast as the in-flight bound allows")
      ->default_val(o.rate);
  app.add_option("--max-in-flight", o.max_in_flight, "requests awaiting their answer, over all connections")
      ->default_val(o.max_in_flight);
  app.add_option("--block-txs", o.block_txs, "max_block_txs: transactions per block")->default_val(o.block_txs);
  app.add_option("--block-interval-ms", o.block_interval_ms, "block_interval_ms: at most this long until a block")
      ->default_val(o.block_interval_ms);
  app.add_option("--round-timeout-ms", o.round_timeout_ms, "round_timeout_ms of the validators")
      ->default_val(o.round_timeout_ms);
  app.add_option("--wait-ms", o.wait_ms, "each submit's wait_ms; answers later than this fail the run")
      ->default_val(o.wait_ms);
  app.add_option("--recipients", o.recipients, "distinct transfer recipients")->default_val(o.recipients);
  app.add_option("--value-bytes", o.value_bytes, "etcd value size")->default_val(o.value_bytes);
  app.add_option("--sign-threads", o.sign_threads, "threads signing the transfers before the clock starts")
      ->default_val(o.sign_threads);
  app.add_option("--node-binary", o.node_binary, "weft-node to run (default: next to this program)");
  app.add_option("--etcd-binary", o.etcd_binary, "etcd to run (default: from PATH)")->default_val(o.etcd_binary);
  app.add_flag("--no-etcd", o.no_etcd, "skip the etcd baseline");
  app.add_flag("--keep-dirs", o.keep_dirs, "keep the nodes' and members' directories and logs");
  app.add_flag("--stop-one", o.stop_one,
               "instead: the load twice through validators 0-2, all up, then with validator 3 stopped (no etcd)");
  CLI11_PARSE(app, argc, argv);
  if (o.txs == 0 || o.conns == 0 || o.max_in_flight == 0) {
    std::cerr << "--txs, --conns and --max-in-flight must be above 0\n";
    return 2;
  }
  if (!o.no_etcd && !o.stop_one) {
    o.etcd_binary = find_in_path(o.etcd_binary);
    if (o.etcd_binary.empty()) {
      std::cerr << "etcd not found (scripts/bench-deps.sh installs it); or pass --no-etcd\n";
      return 2;
    }
  }
  install_interrupt_handler();
  if (o.stop_one) return run_stop_one(o);
  bool failed = false;
  Figures weft, etcd;
  uint64_t head_height = 0;
  std::string head_hash, etcd_version;
  try {
    WeftParams wp;
    wp.node_binary = o.node_binary;
    wp.max_block_txs = o.block_txs;
    wp.block_interval_ms = o.block_interval_ms;
    wp.round_timeout_ms = o.round_timeout_ms;
    wp.pool_limit = std::max<uint64_t>(20000, 2 * o.max_in_flight);
    wp.keep_dir = o.keep_dirs;
    WeftNetwork net(wp);
    std::cerr << "weft: starting 4 validators in " << net.dir() << "\n";
    net.start();
    const uint64_t supply = uint64_t(o.txs) * 10;
    auto t = Clock::now();
    LoadSpec spec;
    spec.requests = net.prepare_transfers(o.txs, supply, o.recipients, o.wait_ms, o.sign_threads);
    std::cerr << "weft: minted and signed " << o.txs << " transfers in "
              << fixed(std::chrono::duration<double>(Clock::now() - t).count(), 1) << " s; submitting\n";
    spec.endpoints = net.clients();
    spec.connections = o.conns;
    spec.rate = o.rate;
    spec.max_in_flight = o.max_in_flight;
    spec.wire = Wire::Framed;
    spec.check = check_submit_answer;
    spec.answer_timeout = std::chrono::milliseconds(o.wait_ms + 10000);
    weft = measure(std::move(spec), net.pids());
    print_failures("weft", weft.load);
    std::string disagree = net.check_agreement(supply - weft.load.ok, &head_height, &head_hash);
    if (!disagree.empty()) std::cerr << "weft: the nodes disagree: " << disagree << "\n";
    auto bad = net.stop_all();
    for (const auto &b : bad)
      std::cerr << "weft: " << b << "\n";
    failed |= weft.load.ok != o.txs || !disagree.empty() || !bad.empty();
  } catch (const std::exception &e) {
    std::cerr << "weft: " << e.what() << "\n";
    failed = true;
  }
  if (!o.no_etcd) {
    try {
      EtcdCluster cluster(o.etcd_binary, 3, o.keep_dirs);
      cluster.start();
      etcd_version = cluster.version();
      std::cerr << "etcd " << etcd_version << ": 3 members healthy; writing\n";
      LoadSpec spec;
      spec.requests = EtcdCluster::put_requests(o.txs, o.value_bytes);
      spec.endpoints = cluster.clients();
      spec.connections = o.conns;
      spec.rate = o.rate;
      spec.max_in_flight = o.max_in_flight;
      spec.wire = Wire::Http;
      spec.check = check_put_answer;
      spec.answer_timeout = std::chrono::milliseconds(o.wait_ms + 10000);
      etcd = measure(std::move(spec), cluster.pids());
      print_failures("etcd", etcd.load);
      std::string missing = etcd.load.ok == o.txs ? cluster.check(o.txs, o.value_bytes, 20) : "";
      if (!missing.empty()) std::cerr << "etcd: " << missing << "\n";
      auto bad = cluster.stop_all();
      for (const auto &b : bad)
        std::cerr << "etcd: " << b << "\n";
      failed |= etcd.load.ok != o.txs || !missing.empty();
    } catch (const std::exception &e) {
      std::cerr << "etcd: " << e.what() << "\n";
      failed = true;
    }
  }

  std::cout << "\nmachine: " << machine_description() << "\n"
            << "load: " << o.txs << " requests over " << o.conns << " connections, target rate "
            << (o.rate > 0 ? fixed(o.rate, 0) + "/s" : std::string("as fast as possible")) << ", at most "
            << o.max_in_flight << " in flight\n"
            << "weft: 4 validators (weft-node), max_block_txs " << o.block_txs << ", block_interval_ms "
            << o.block_interval_ms << "; asset transfers, signed before the clock starts\n";
  if (!o.no_etcd)
    std::cout << "etcd " << etcd_version << ": 3 members, v3 HTTP gateway puts of " << o.value_bytes
              << "-byte values\n";
  std::cout << "\n";
  bool both = !o.no_etcd;
  Table table(both ? std::vector<std::string>{"", "weft", "etcd", "weft/etcd"} : std::vector<std::string>{"", "weft"});
  auto ratio = [](double a, double b) { return b > 0 ? fixed(a / b, 2) : std::string("-"); };
  auto add = [&](const std::string &label, double w, double e, int decimals) {
    if (both)
      table.row({label, fixed(w, decimals), fixed(e, decimals), ratio(w, e)});
    else
      table.row({label, fixed(w, decimals)});
  };
  auto offered = [](const LoadResult &r) {
    return r.send_span_s > 0.05 ? fixed(r.offered_rate(), 0) : std::string("all at once");
  };
  if (both)
    table.row({"offered rate (req/s)", offered(weft.load), offered(etcd.load), ""});
  else
    table.row({"offered rate (req/s)", offered(weft.load)});
  add("committed (tx/s)", weft.load.committed_rate(), etcd.load.committed_rate(), 0);
  add("p50 latency (ms)", weft.load.percentile(50), etcd.load.percentile(50), 1);
  add("p99 latency (ms)", weft.load.percentile(99), etcd.load.percentile(99), 1);
  add("CPU us per op per server", weft.cpu_per_op(weft.load.ok), etcd.cpu_per_op(etcd.load.ok), 1);
  add("client CPU us per op", weft.load.ok ? double(weft.load.client_cpu_us) / double(weft.load.ok) : 0,
      etcd.load.ok ? double(etcd.load.client_cpu_us) / double(etcd.load.ok) : 0, 1);
  table.rule();
  auto count = [](const LoadResult &r) { return std::to_string(r.ok) + "/" + std::to_string(r.sent); };
  if (both)
    table.row({"committed / submitted", count(weft.load), count(etcd.load), ""});
  else
    table.row({"committed / submitted", count(weft.load)});
  add("elapsed (s)", weft.load.elapsed_s, etcd.load.elapsed_s, 2);
  std::cout << table.render() << "\nweft CPU us per tx by node:";
  for (auto c : weft.cpu_us)
    std::cout << " " << fixed(weft.load.ok ? double(c) / double(weft.load.ok) : 0, 1);
  std::cout << "\nweft heads: "
            << (head_hash.empty()
                    ? "not compared"
                    : "identical on all 4 nodes at height " + std::to_string(head_height) + " (" + head_hash + ")")
            << "\n";
  if (failed) std::cout << "\nFAILED: see the messages above\n";
  return failed ? 1 : 0;
}
