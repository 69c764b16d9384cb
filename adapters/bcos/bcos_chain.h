// One open FISCO BCOS chain (2.x or 3.x, ECDSA or guomi): its node link, its resources, and the transactions it has
// sent until their receipts arrive. All state lives on the chain's loop thread; the verbs post onto it.
//
// Replay protection is FISCO BCOS's own — a random nonce (2.x randomid, 3.x nonce) and a block limit — so, unlike
// Ethereum, there is no nonce book: concurrent sends never collide. A 2.x node answers a send with the hash at once
// and the receipt is read every poll_ms until it is there, or until the chain passes the transaction's block limit
// (then the node can never take it: refused). A 3.x node answers sendTransaction with the executed receipt.
#pragma once

#include "bcos_config.h"
#include "json_rpc.h"
#include "op_book.h"

#include <weft/adapter.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace weft::bcos {

using evm::Op;

class BcosChain {
public:
  BcosChain(BcosConfig config, plugin::Host host, std::string data_dir);
  ~BcosChain(); // completes every pending operation with WEFT_E_CANCELLED, then stops the loop
  BcosChain(const BcosChain &) = delete;
  BcosChain &operator=(const BcosChain &) = delete;

  using Verb = void (BcosChain::*)(const std::shared_ptr<Op> &, boost::json::object request);
  uint64_t start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Verb verb);
  void cancel(uint64_t op_id);

  void list_resources(const std::shared_ptr<Op> &op, boost::json::object req);
  void call(const std::shared_ptr<Op> &op, boost::json::object req);
  void send_transaction(const std::shared_ptr<Op> &op, boost::json::object req);
  void block_height(const std::shared_ptr<Op> &op, boost::json::object req);
  void get_block(const std::shared_ptr<Op> &op, boost::json::object req);
  void get_receipt(const std::shared_ptr<Op> &op, boost::json::object req);
  void health(const std::shared_ptr<Op> &op, boost::json::object req);
  void account_info(const std::shared_ptr<Op> &op, boost::json::object req);
  void chain_info(const std::shared_ptr<Op> &op, boost::json::object req);
  // Registers a deployed contract, or deploys one and registers it; kept in <data_dir>/resources.json.
  void register_resource(const std::shared_ptr<Op> &op, boost::json::object req);

private:
  struct Pending; // a transaction being signed, sent, and awaited

  void succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer);
  void fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message, const std::string &details = "");
  bool live(const std::shared_ptr<Op> &op) const;
  std::chrono::milliseconds rpc_timeout(const std::shared_ptr<Op> &op) const;

  // The params of a method: the group (and for 3.x the node name "") first, then the rest.
  boost::json::array params(boost::json::array rest) const;
  const char *algorithm() const { return cfg_.crypto == Crypto::Sm ? "sm2" : "secp256k1"; }
  std::string node_text() const;
  // A failed RPC answer as the verb's failure: unreachable or garbage is 40100, a JSON-RPC error from the node keeps
  // its code and message.
  void fail_rpc(const std::shared_ptr<Op> &op, const evm::RpcAnswer &a, const std::string &what);

  const BcosResource &resource(const boost::json::object &req) const;
  Address address_of_account(const std::string &account);

  void with_height(const std::shared_ptr<Op> &op, std::function<void(uint64_t)> next);
  // Takes the height, signs (2.x RLP or 3.x TARS, with a random nonce and block limit) and sends.
  void sign_and_send(std::shared_ptr<Pending> p);
  void send_signed2(std::shared_ptr<Pending> p);
  void poll_receipt(std::shared_ptr<Pending> p);
  // The sent transaction's answer: its receipt in the shape of receipt_answer, with the block's time.
  void answer_receipt(const std::shared_ptr<Pending> &p, const boost::json::object &receipt);
  void with_block_time(const std::shared_ptr<Op> &op, uint64_t block, std::function<void(uint64_t)> next);

  std::string registry_file() const;
  void load_registered();
  // Keeps a resource (written to the registry before it is offered); throws Failure when it cannot be written.
  void add_registered(BcosResource rc, const std::string &abi_text);

  BcosConfig cfg_; // its resources: the configured ones first, then those registered at run time
  plugin::Host host_;
  std::string data_dir_;
  size_t configured_ = 0;
  boost::json::array registered_; // what resources.json holds
  evm::Loop loop_;
  evm::JsonRpcClient rpc_;
  evm::OpBook book_;

  // Loop-only state.
  std::map<std::string, Address> account_addresses_;
  bool closing_ = false;
};

} // namespace weft::bcos
