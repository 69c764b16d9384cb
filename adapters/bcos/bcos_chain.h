// One open FISCO BCOS chain (2.x or 3.x, ECDSA or guomi): its node link, its resources, and the transactions it has
// sent until their receipts arrive. All state lives on the chain's loop thread; the verbs post onto it.
//
// Replay protection is FISCO BCOS's own — a random nonce (2.x randomid, 3.x nonce) and a block limit — so, unlike
// Ethereum, there is no nonce book: concurrent sends never collide. A 2.x node answers a send with the hash at once
// and the receipt is read every poll_ms until it is there, or until the chain passes the transaction's block limit
// (then the node can never take it: refused). A 3.x node answers sendTransaction with the executed receipt.
#pragma once

#include "bcos_config.h"
#include "host_calls.h"
#include "json_rpc.h"
#include "op_book.h"
#include "stub_verbs.h"

#include <weft/adapter.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <variant>

namespace weft::bcos {

using evm::Op;

class BcosChain : private evm::StubChain {
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
  // XA and HTLC through the Solidity stubs (adapters/evm/stub_verbs.*), as on EVM chains.
  // deploy_stubs, xa_* and htlc_*: Body is the StubVerbs verb (the plugin's table names each).
  template <void (evm::StubVerbs::*Body)(const std::shared_ptr<Op> &, const boost::json::object &)>
  void stub(const std::shared_ptr<Op> &op, boost::json::object req) { (stubs_.*Body)(op, req); }

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
  // its code and message. rpc_failure is the same as an outcome, for any thread.
  void fail_rpc(const std::shared_ptr<Op> &op, const evm::RpcAnswer &a, const std::string &what);
  evm::HostCalls::Outcome rpc_failure(const evm::RpcAnswer &a, const std::string &what) const;

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

  // The call RPC of either version: next(status, output) as the node answered, or op failed when it did not.
  void node_call(const std::shared_ptr<Op> &op, const Address &to, const Bytes &data, const Address &from,
                 std::function<void(uint64_t status, uint64_t height, Bytes output)> next);
  boost::json::array call_params(const Address &to, const Bytes &data, const Address &from) const;
  // What the node answered to the call RPC: its status, height and output, or the failure it comes to. Any thread.
  struct NodeCallAnswer {
    uint64_t status = 0;
    uint64_t height = 0;
    Bytes output;
  };
  std::variant<NodeCallAnswer, evm::HostCalls::Outcome> node_call_answer(const evm::RpcAnswer &a) const;
  // The `call` verb's request, encoded; throws plugin::Failure. Any thread (resources_mu_ held shared off the loop).
  struct CallPlan {
    const BcosResource *res = nullptr;
    const evm::abi::Function *fn = nullptr;
    Bytes data;
    Address from{};
  };
  CallPlan plan_call(const boost::json::object &req);
  // The `call` verb's answer for the node's.
  static evm::HostCalls::Outcome call_outcome(const BcosResource &res, const evm::abi::Function &f, Version version,
                                              uint64_t status, uint64_t height, const Bytes &output);
  // A plain call (no XA id) on the router's threads (evm::HostCalls); nullopt when the loop must take it.
  std::optional<uint64_t> call_on_host(plugin::Completion &done, uint32_t deadline_ms, const std::string &request);

  // StubChain: what the stub verbs need from this chain.
  void stub_succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer) override { succeed(op, answer); }
  void stub_fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                 const std::string &details) override {
    fail(op, status, message, details);
  }
  void stub_ready(const std::shared_ptr<Op> &op, std::function<void()> next) override;
  void stub_send(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata, const std::string &account,
                 std::shared_ptr<const evm::abi::ContractAbi> abi, Done done, Refused refused) override;
  void stub_read(const std::shared_ptr<Op> &op, const Address &at, const evm::abi::Function &fn,
                 const std::vector<std::string> &args, bool final_only,
                 std::function<void(std::vector<std::string>)> next) override;
  // FISCO BCOS's JSON-RPC has no log query: step hashes are not known here (xa_status answers them empty).
  void stub_logs(const std::shared_ptr<Op> &, const Address &, const Hash256 &, const std::string &, uint64_t,
                 std::function<void(std::vector<boost::json::object>)> next) override {
    next({});
  }
  const std::deque<evm::ResourceConfig> &stub_resources() const override { return cfg_.resources; }
  void stub_keep(evm::ResourceConfig rc, const std::string &abi_text) override { add_registered(std::move(rc), abi_text); }
  Address stub_address(const std::string &account) override { return address_of_account(account); }
  uint64_t stub_head() const override { return height_; }
  bool stub_guomi() const override { return cfg_.crypto == Crypto::Sm; }
  bool stub_simulates() const override { return false; } // a FISCO BCOS write is found reverted in its receipt
  evm::abi::Hasher stub_hasher() const override;

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
  std::unique_ptr<evm::HostCalls> host_calls_; // plain calls on the router's threads, when the chain has them
  // cfg_.resources grows on the loop under an exclusive lock; the host path reads it under a shared one.
  mutable std::shared_mutex resources_mu_;
  std::mutex accounts_mu_; // account_addresses_

  // Loop-only state.
  std::map<std::string, Address> account_addresses_;
  bool closing_ = false;
  uint64_t height_ = 0; // the latest height the node gave
  evm::StubVerbs stubs_{*this};
};

} // namespace weft::bcos
