#include "weft_net.h"

#include "ledger.h"
#include "node_client.h"
#include "transaction.h"
#include "validator_key.h"

#include <boost/json.hpp>

#include <openssl/rand.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace weft::bench {

namespace json = boost::json;
using namespace weft::refchain;
namespace fs = std::filesystem;

namespace {
constexpr auto kAskTimeout = std::chrono::milliseconds(30000);

std::string replace_line(std::string text, const std::string &prefix, const std::string &line) {
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return text + line + "\n";
  size_t end = text.find('\n', at + 1);
  return text.substr(0, at + 1) + line + text.substr(end);
}

// The framed submit request for a signed transaction; its id is its index in the load.
std::string submit_frame(size_t id, const Bytes &tx, uint64_t wait_ms) {
  std::string body = "{\"id\":" + std::to_string(id) + ",\"op\":\"submit\",\"wait_ms\":" + std::to_string(wait_ms) +
                     ",\"tx\":\"" + to_hex(tx) + "\"}";
  std::string out(4, '\0');
  auto n = static_cast<uint32_t>(body.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out + body;
}
} // namespace

WeftNetwork::WeftNetwork(WeftParams params) : p_(std::move(params)) {
  dir_ = make_temp_dir("weft-bench-refchain-");
}

WeftNetwork::~WeftNetwork() {
  stop_all();
  if (!p_.keep_dir) remove_tree(dir_);
}

void WeftNetwork::start() {
  std::vector<uint16_t> offsets;
  for (size_t i = 0; i < p_.validators; ++i) {
    offsets.push_back(static_cast<uint16_t>(i));
    offsets.push_back(static_cast<uint16_t>(100 + i));
  }
  base_ = free_base_port(offsets);
  Child init = spawn({p_.node_binary, "init-network", "--validators", std::to_string(p_.validators), "--dir", dir_,
                      "--host", "127.0.0.1", "--base-port", std::to_string(base_), "--chain-id", "7"},
                     dir_ + "/init.log", "init-network");
  if (!wait_until([&] { return !running(init); }, std::chrono::milliseconds(30000)))
    throw std::runtime_error("weft-node init-network did not finish: " + tail(dir_ + "/init.log"));
  if (!fs::exists(dir_ + "/network.yaml")) throw std::runtime_error("init-network failed: " + tail(dir_ + "/init.log"));
  for (size_t i = 0; i < p_.validators; ++i) {
    std::string cfg = dir_ + "/node" + std::to_string(i) + "/node.yaml";
    std::string text = replace_line(read_file(cfg), "log_level:", "log_level: warn");
    // No empty blocks while the benchmark runs, so the heads stand still once the load is committed.
    text += "block_interval_ms: " + std::to_string(p_.block_interval_ms) + "\nempty_block_interval_ms: 3600000\n" +
            "max_block_txs: " + std::to_string(p_.max_block_txs) + "\npool_limit: " + std::to_string(p_.pool_limit) +
            "\nround_timeout_ms: " + std::to_string(p_.round_timeout_ms) + "\n";
    write_file(cfg, text);
  }
  for (size_t i = 0; i < p_.validators; ++i) {
    std::string node = dir_ + "/node" + std::to_string(i);
    nodes_.push_back(spawn({p_.node_binary, "run", "-c", node + "/node.yaml"},
                           dir_ + "/node" + std::to_string(i) + ".log", "node" + std::to_string(i)));
  }
  for (size_t i = 0; i < p_.validators; ++i) {
    std::string ready = dir_ + "/node" + std::to_string(i) + "/ready";
    bool up = wait_until([&] { return fs::exists(ready) || !running(nodes_[i]); }, std::chrono::milliseconds(30000));
    if (!up || !running(nodes_[i]))
      throw std::runtime_error("node " + std::to_string(i) + " did not come up:\n" + tail(nodes_[i].log_path));
  }
  // Every node linked to every other before the clock starts.
  bool linked = wait_until(
      [&] {
        for (size_t i = 0; i < p_.validators; ++i)
          if (ask(i, "health").at("linkedPeers").to_number<uint64_t>() + 1 < p_.validators) return false;
        return true;
      },
      std::chrono::milliseconds(30000));
  if (!linked) throw std::runtime_error("the nodes did not link to each other within 30 s");
}

std::vector<Endpoint> WeftNetwork::clients() const {
  std::vector<Endpoint> out;
  for (size_t i = 0; i < p_.validators; ++i)
    out.push_back({"127.0.0.1", static_cast<uint16_t>(base_ + 100 + i)});
  return out;
}

std::vector<int> WeftNetwork::pids() const {
  std::vector<int> out;
  for (const auto &n : nodes_)
    out.push_back(n.pid);
  return out;
}

json::object WeftNetwork::ask(size_t node, const std::string &op, json::object fields) {
  net::NodeClient client({.nodes = {"127.0.0.1:" + std::to_string(base_ + 100 + node)}});
  return client.call(op, std::move(fields), kAskTimeout);
}

std::vector<std::string> WeftNetwork::prepare_transfers(size_t count, uint64_t supply, size_t recipients,
                                                        uint64_t wait_ms, unsigned threads) {
  ValidatorKey issuer = load_or_create_validator_key(dir_ + "/issuer.key");
  issuer_address_ = address_text(issuer.address);
  json::object info = ask(0, "chain_info");
  uint64_t chain_id = info.at("chainId").to_number<uint64_t>();

  auto make = [&](uint64_t height, const std::string &method, std::vector<std::string> args) {
    Transaction tx;
    tx.chain_id = chain_id;
    tx.nonce = random_nonce();
    // As far ahead as the chain allows, so no transfer expires however many blocks the run takes.
    tx.block_limit = height + kBlockLimitRange;
    tx.resource = "token";
    tx.method = method;
    tx.args = std::move(args);
    tx.signature = sign_digest(issuer.secret, tx.signing_digest());
    return tx;
  };
  Transaction mint = make(info.at("height").to_number<uint64_t>(), "mint", {issuer_address_, std::to_string(supply)});
  json::object receipt = ask(0, "submit", {{"tx", to_hex(mint.encode())}, {"wait_ms", 30000}});
  if (receipt.at("errorCode").to_number<int64_t>() != 0)
    throw std::runtime_error("mint failed: " + json::serialize(receipt));
  uint64_t height = ask(0, "block_height").at("height").to_number<uint64_t>();

  std::vector<std::string> to(std::max<size_t>(1, recipients));
  for (auto &a : to) {
    Address addr{};
    if (RAND_bytes(addr.data(), static_cast<int>(addr.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    a = address_text(addr);
  }
  std::vector<std::string> out(count);
  std::vector<std::thread> pool;
  threads = std::max(1u, threads);
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = t; i < count; i += threads)
        out[i] = submit_frame(i, make(height, "transfer", {to[i % to.size()], "1"}).encode(), wait_ms);
    });
  for (auto &th : pool)
    th.join();
  return out;
}

std::string WeftNetwork::check_agreement(uint64_t expected_issuer_balance, uint64_t *height, std::string *head) {
  std::vector<uint64_t> heights(p_.validators);
  bool same = wait_until(
      [&] {
        for (size_t i = 0; i < p_.validators; ++i)
          heights[i] = ask(i, "block_height").at("height").to_number<uint64_t>();
        return std::all_of(heights.begin(), heights.end(), [&](uint64_t h) { return h == heights[0]; });
      },
      std::chrono::milliseconds(30000));
  std::string problems;
  if (!same) {
    problems += "heights differ:";
    for (auto h : heights)
      problems += " " + std::to_string(h);
    return problems;
  }
  *height = heights[0];
  for (size_t i = 0; i < p_.validators; ++i) {
    std::string hash(ask(i, "get_block", {{"number", *height}}).at("hash").as_string());
    if (i == 0) *head = hash;
    if (hash != *head) problems += "node " + std::to_string(i) + " holds head " + hash + ", node 0 " + *head + "; ";
    json::object bal = ask(i, "call", {{"resource", "token"}, {"method", "balanceOf"}, {"args", {issuer_address_}}});
    std::string got(bal.at("result").as_array().at(0).as_string());
    if (got != std::to_string(expected_issuer_balance))
      problems += "node " + std::to_string(i) + ": issuer balance " + got + ", expected " +
                  std::to_string(expected_issuer_balance) + "; ";
  }
  return problems;
}

std::vector<std::string> WeftNetwork::stop_all() {
  std::vector<std::string> bad;
  for (auto &n : nodes_) {
    if (n.pid <= 0) continue;
    int code = stop(n);
    if (code != 0) bad.push_back(n.name + " (exit " + std::to_string(code) + ", log: " + tail(n.log_path, 600) + ")");
  }
  return bad;
}

} // namespace weft::bench
