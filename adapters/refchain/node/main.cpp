// weft-node: one validator of the reference chain per process — its ledger and BFT engine (Validator), the peer
// mesh to the other validators, and the client API — plus the tools to lay out a network and send a transaction.
#include "client_server.h"
#include "error.h"
#include "node_client.h"
#include "node_config.h"
#include "peer_mesh.h"
#include "validator.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

using namespace weft::refchain;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// How far ahead `send` sets block_limit, as the plugin's send_transaction does: half the allowed range.
constexpr uint64_t kBlockLimitAhead = kBlockLimitRange / 2;

void log_at(int level, const std::string &m) {
  static const spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
                                                     spdlog::level::err};
  spdlog::log(levels[std::clamp(level, 0, 3)], "{}", m);
}

ValidatorKey existing_key(const std::string &path) {
  if (!fs::exists(path)) throw Error(WEFT_E_NOT_FOUND, "key file " + path + " does not exist");
  return load_or_create_validator_key(path);
}

void write_ready_file(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
    if (!out) throw Error(WEFT_E_UNAVAILABLE, "cannot write ready file " + tmp);
  }
  fs::rename(tmp, path); // whole or absent: a test polling it never reads half an address
}

int run(const std::string &config_path) {
  node::NodeConfig cfg = node::load_node_config(config_path);
  auto logger = spdlog::stderr_color_mt("weft-node");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ node" + std::to_string(cfg.index) + " %v");
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);

  ValidatorKey key = existing_key(cfg.key_file);
  if (key.address != cfg.validators[cfg.index].address)
    throw Error(WEFT_E_INVALID_ARGUMENT, "key file " + cfg.key_file + " holds " + address_text(key.address) +
                                             ", but validator " + std::to_string(cfg.index) + " is " +
                                             address_text(cfg.validators[cfg.index].address));
  fs::create_directories(cfg.data_dir);

  ValidatorOptions vo;
  vo.chain.ledger.chain_id = cfg.chain_id;
  vo.chain.ledger.max_block_txs = cfg.max_block_txs;
  vo.chain.ledger.pool_limit = cfg.pool_limit;
  vo.chain.ledger.resources = cfg.resources;
  vo.chain.ledger.xa_coordinator = cfg.xa_coordinator;
  vo.chain.validators = static_cast<uint32_t>(cfg.validators.size());
  vo.chain.block_interval_ms = cfg.block_interval_ms;
  vo.chain.empty_block_interval_ms = cfg.empty_block_interval_ms;
  vo.chain.round_timeout_ms = cfg.round_timeout_ms;
  vo.chain.block_time_offset_ms = cfg.block_time_offset_ms;
  vo.round_timeout_ms = cfg.round_timeout_ms;
  for (const auto &v : cfg.validators)
    vo.validators.push_back(v.address);
  vo.self = cfg.index;
  vo.db_path = (fs::path(cfg.data_dir) / "validator.sqlite").string();
  vo.key = key;

  net::PeerMeshOptions mo;
  mo.chain_id = cfg.chain_id;
  mo.self = cfg.index;
  mo.validators = vo.validators;
  for (const auto &v : cfg.validators)
    mo.peers.push_back(v.peer);
  mo.listen = cfg.listen;
  mo.key = key.secret;
  mo.idle_timeout = std::chrono::milliseconds(cfg.peer_idle_timeout_ms);

  // The mesh, the validator and the client server refer to each other; each pointer is set before anything that
  // reads it starts.
  std::atomic<Validator *> validator_ptr{nullptr};
  std::atomic<net::ClientServer *> server_ptr{nullptr};
  net::PeerMesh mesh(
      mo,
      [&](uint32_t, ByteView frame) {
        if (auto *v = validator_ptr.load()) v->deliver(frame);
      },
      log_at);
  Validator::Listeners listeners;
  listeners.committed = [&](const ExecutedBlock &b) {
    spdlog::debug("committed block {} {} with {} transactions", b.header.number, to_hex(b.header.hash()), b.txs.size());
    if (auto *s = server_ptr.load()) s->on_committed(b);
  };
  listeners.expired = [&](const std::vector<Hash> &hashes) {
    if (auto *s = server_ptr.load()) s->on_expired(hashes);
  };
  Validator validator(vo, mesh, listeners, log_at);
  validator_ptr = &validator;

  net::ClientBackend backend;
  backend.ledger = &validator.ledger();
  backend.validators = vo.validators;
  backend.self = cfg.index;
  backend.submit = [&validator](const Transaction &tx) { return validator.submit(tx); };
  backend.health = [&validator, &mesh, n = cfg.validators.size()](json::object &o) {
    auto st = validator.status();
    size_t linked = 0;
    for (uint32_t i = 0; i < n; ++i)
      linked += mesh.linked_to(i);
    auto ms = mesh.stats();
    o["round"] = st.round;
    o["proposer"] = st.proposer;
    o["roundChanges"] = st.round_changes;
    o["droppedMessages"] = st.dropped_messages;
    o["syncedBlocks"] = st.synced_blocks;
    o["linkedPeers"] = linked;
    o["droppedFrames"] = ms.frames_dropped;
  };
  net::ClientServerOptions so;
  so.listen = cfg.client_listen;
  so.max_connections = cfg.client_max_connections;
  so.idle_timeout = std::chrono::milliseconds(cfg.client_idle_timeout_ms);
  net::ClientServer server(so, backend, log_at);
  server_ptr = &server;

  validator.start();
  mesh.start();
  server.start();
  std::string client_address =
      cfg.client_listen.substr(0, cfg.client_listen.rfind(':')) + ":" + std::to_string(server.port());
  spdlog::info("validator {} ({}) of chain {} at height {}: peers on {}, clients on {}", cfg.index,
               address_text(key.address), cfg.chain_id, validator.ledger().height(), cfg.listen, client_address);
  if (!cfg.ready_file.empty()) write_ready_file(cfg.ready_file, client_address);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: stopping", sig);
  server.stop(); // no new client work
  mesh.stop();   // no new frames
  validator.stop();
  spdlog::info("stopped at height {}", validator.ledger().height());
  return 0;
}

int send(const std::vector<std::string> &clients, const std::string &key_file, const std::string &resource,
         const std::string &method, const std::vector<std::string> &args, uint64_t wait_ms) {
  ValidatorKey key = existing_key(key_file);
  net::NodeClient client({.nodes = clients});
  auto timeout = std::chrono::milliseconds(wait_ms + 10000);
  json::object info = client.call("chain_info", {}, timeout);
  Transaction tx;
  tx.chain_id = info.at("chainId").to_number<uint64_t>();
  tx.nonce = random_nonce();
  tx.block_limit = info.at("height").to_number<uint64_t>() + kBlockLimitAhead;
  tx.resource = resource;
  tx.method = method;
  tx.args = args;
  tx.signature = sign_digest(key.secret, tx.signing_digest());
  json::object receipt = client.call("submit", {{"tx", to_hex(tx.encode())}, {"wait_ms", wait_ms}}, timeout);
  std::cout << json::serialize(receipt) << std::endl;
  auto code = receipt.find("errorCode");
  return code == receipt.end() || code->value().to_number<int64_t>() == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and run() takes them with
  // sigwait on the main thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);

  CLI::App app{"weft-node: one validator of a Weft reference chain"};
  app.require_subcommand(1);

  auto *init = app.add_subcommand("init-network", "write node.yaml and validator.key for each validator of a network");
  node::NetworkPlan plan;
  init->add_option("--validators", plan.validators, "number of validators")->default_val(4);
  init->add_option("--dir", plan.dir, "output directory")->required();
  init->add_option("--host", plan.host, "host every node listens on and is reached at")->default_val("127.0.0.1");
  init->add_option("--base-port", plan.base_port, "peer port of validator 0; client ports start 100 above")
      ->default_val(30300);
  init->add_option("--chain-id", plan.chain_id, "chain id")->default_val(1)->check(CLI::Range(uint64_t(1), UINT64_MAX));

  auto *runc = app.add_subcommand("run", "run one validator");
  std::string config;
  runc->add_option("-c,--config", config, "node.yaml")->required();

  auto *sendc = app.add_subcommand("send", "sign a transaction with a key file, submit it and print its receipt");
  std::vector<std::string> clients, args;
  std::string key_file, resource, method;
  uint64_t wait_ms = 30000;
  sendc->add_option("--client", clients, "client address host:port of a node (repeat for failover)")
      ->required()
      ->delimiter(',');
  sendc->add_option("--key", key_file, "key file (hex secret, mode 0600)")->required();
  sendc->add_option("--resource", resource, "resource name")->required();
  sendc->add_option("--method", method, "method name")->required();
  sendc->add_option("--wait-ms", wait_ms, "how long to wait for the commit")->default_val(30000);
  sendc->add_option("args", args, "method arguments");

  auto *keyc = app.add_subcommand("new-key", "create a key file (mode 0600) if missing and print its address");
  std::string new_key;
  keyc->add_option("--key", new_key, "key file")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*init) {
      node::init_network(plan);
      std::cout << "wrote " << plan.validators << " validators to " << plan.dir << std::endl;
      return 0;
    }
    if (*runc) {
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      return run(config);
    }
    if (*sendc) return send(clients, key_file, resource, method, args, wait_ms);
    if (*keyc) {
      std::cout << address_text(load_or_create_validator_key(new_key).address) << std::endl;
      return 0;
    }
  } catch (const node::ConfigError &e) {
    std::cerr << e.what() << std::endl;
    return 2;
  } catch (const Error &e) {
    std::cerr << "weft-node: " << e.what() << " (status " << e.status << ")" << std::endl;
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "weft-node: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
