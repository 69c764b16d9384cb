// One open EVM chain: its node link, resources, the head it polls, the nonces of its senders and every transaction it
// has sent until the transaction is final. All state lives on the chain's loop thread; the verbs post onto it.
//
// A sent transaction is tracked until it is final, whether or not the caller still waits for it: its receipts are
// read at every new head (and once right after it is accepted, for nodes that mine at once); it is final when its
// block has `confirmations` blocks on top and the receipt is still there, so a reorg under that depth sends the
// same signed bytes again instead of losing the transaction; one not mined within `replace_after_blocks` blocks is
// signed again at the same nonce with fees raised by an eighth.
#pragma once

#include "evm_config.h"
#include "host_calls.h"
#include "json_rpc.h"
#include "nonces.h"
#include "op_book.h"
#include "stub_verbs.h"
#include "tx.h"

#include <weft/adapter.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <variant>

namespace weft::evm {

class EvmChain : private StubChain {
 public:
  EvmChain(EvmConfig config, plugin::Host host, std::string data_dir);
  ~EvmChain(); // completes every pending operation with WEFT_E_CANCELLED, then stops the loop
  EvmChain(const EvmChain &) = delete;
  EvmChain &operator=(const EvmChain &) = delete;

  using Verb = void (EvmChain::*)(const std::shared_ptr<Op> &, boost::json::object request);
  // Queues a verb on the loop (a plain call may go to the node from the calling thread instead: call_on_host);
  // returns the operation id cancel() takes.
  uint64_t start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Verb verb);
  void cancel(uint64_t op_id);

  // The verbs (on the loop).
  void list_resources(const std::shared_ptr<Op> &op, boost::json::object req);
  void call(const std::shared_ptr<Op> &op, boost::json::object req);
  void send_transaction(const std::shared_ptr<Op> &op, boost::json::object req);
  void block_height(const std::shared_ptr<Op> &op, boost::json::object req);
  void get_block(const std::shared_ptr<Op> &op, boost::json::object req);
  void get_receipt(const std::shared_ptr<Op> &op, boost::json::object req);
  void health(const std::shared_ptr<Op> &op, boost::json::object req);
  void account_info(const std::shared_ptr<Op> &op, boost::json::object req);
  void chain_info(const std::shared_ptr<Op> &op, boost::json::object req);
  void register_resource(const std::shared_ptr<Op> &op, boost::json::object req);
  // The Solidity stubs (stub_verbs.*): deployment, XA branches through the chain's WeftXAProxy, HTLC escrows.
  // deploy_stubs, xa_* and htlc_*: Body is the StubVerbs verb (the plugin's table names each).
  template <void (evm::StubVerbs::*Body)(const std::shared_ptr<Op> &, const boost::json::object &)>
  void stub(const std::shared_ptr<Op> &op, boost::json::object req) { (stubs_.*Body)(op, req); }

  // subscribe_v2 (evm_subscriptions.cpp): returns the id, or throws plugin::Failure. unsubscribe returns once no
  // record of that subscription can follow.
  uint64_t subscribe(const std::string &request, weft_record_fn on_record, void *ctx);
  void unsubscribe(uint64_t id);

 private:
  struct Sent;
  struct Sender;
  struct Sub;
  void emit(Sub &s, boost::json::object record, const std::string &cursor);
  void pump(const std::shared_ptr<Sub> &sub);
  void pump_all();
  void end_subscriptions(const std::string &reason);
  // What a deployment answers once its transaction is final, instead of the sent shape.
  using Then = StubChain::Done;
  // A write that reverted: while estimating gas (hash "", nothing sent) or on chain (the revert data found by running
  // it again on the state before its block; empty when the node gives none).
  using Refused = StubChain::Refused;
  struct Prepared {
    std::shared_ptr<Op> op;
    const ResourceConfig *res = nullptr; // the contract called; null for a deployment
    std::optional<Address> to;
    std::shared_ptr<const abi::ContractAbi> abi; // to decode revert reasons
    Then then;
    Refused refused; // when set, a revert goes here instead of becoming the sent shape's errorCode
    const abi::Function *fn = nullptr;
    Bytes calldata;
    std::string account;
    Address from{};
    std::optional<uint64_t> gas;
    U256 value;
  };
  // A write the adapter composes itself (stub calls, deployments, approvals): sent like any transaction; done once
  // final and successful, refused when it reverted.
  void send_call(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata, const std::string &account,
                 std::shared_ptr<const abi::ContractAbi> abi, Then done, Refused refused);
  // eth_call of fn(args) at `block` (a tag or a quantity): next(the decoded outputs); a revert or a node error fails op.
  void read_call(const std::shared_ptr<Op> &op, const Address &at, const abi::Function &fn,
                 const std::vector<std::string> &args, const std::string &block,
                 std::function<void(std::vector<std::string>)> next);
  // The eth_call of a `call` verb, once its XA check (if any) passed.
  void run_call(const std::shared_ptr<Op> &op, const ResourceConfig &res, const abi::Function *f, Bytes data,
                std::optional<Address> from);
  // The eth_call of a `call` verb encoded from the request: the resource, the function and the calldata, and the
  // account's address when it names one the host knows. Throws plugin::Failure. Any thread (resources_mu_ held
  // shared by the caller off the loop).
  struct CallPlan {
    const ResourceConfig *res = nullptr;
    const abi::Function *fn = nullptr;
    Bytes data;
    std::optional<Address> from;
  };
  CallPlan plan_call(const boost::json::object &req);

  // The host path of a plain call (no XA id): parsed, encoded and sent on the calling thread through host_calls_,
  // answered on the host thread that reads the node's answer. nullopt when the loop must take it (an XA call, or a
  // request it refuses: the loop's path gives the same error); otherwise the op id.
  std::optional<uint64_t> call_on_host(plugin::Completion &done, uint32_t deadline_ms, const std::string &request);


  // StubChain: what the stub verbs need from this chain.
  void stub_succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer) override { succeed(op, answer); }
  void stub_fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                 const std::string &details) override {
    fail(op, status, message, details);
  }
  void stub_ready(const std::shared_ptr<Op> &op, std::function<void()> next) override { ready(op, std::move(next)); }
  void stub_send(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata, const std::string &account,
                 std::shared_ptr<const abi::ContractAbi> abi, Done done, Refused refused) override {
    send_call(op, to, std::move(calldata), account, std::move(abi), std::move(done), std::move(refused));
  }
  void stub_read(const std::shared_ptr<Op> &op, const Address &at, const abi::Function &fn,
                 const std::vector<std::string> &args, bool final_only,
                 std::function<void(std::vector<std::string>)> next) override {
    read_call(op, at, fn, args, final_only ? head_minus_confirmations() : "latest", std::move(next));
  }
  void stub_logs(const std::shared_ptr<Op> &op, const Address &address, const Hash256 &topic0,
                 const std::string &topic1, uint64_t from_block,
                 std::function<void(std::vector<boost::json::object>)> next) override;
  const std::deque<ResourceConfig> &stub_resources() const override { return resources_; }
  void stub_keep(ResourceConfig rc, const std::string &abi_text) override { add_registered(std::move(rc), abi_text); }
  Address stub_address(const std::string &account) override { return address_of_account(account); }
  uint64_t stub_head() const override { return head_.number; }
  std::optional<uint64_t> stub_ticket_chain_id() const override { return chain_id_; }
  Bytes stub_sign(const std::string &account, const Hash256 &digest) override;

  StubVerbs stubs_{*this};
  struct Head {
    uint64_t number = 0;
    uint64_t timestamp_ms = 0;
    uint64_t time_of = 0; // the block whose time timestamp_ms is (a receipt can raise number before a poll reads it)
    std::optional<U256> base_fee;
    std::chrono::steady_clock::time_point seen{};
  };

  void succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer);
  void fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message, const std::string &details = "");
  bool live(const std::shared_ptr<Op> &op) const;

  const ResourceConfig &resource(const boost::json::object &req) const;
  Address address_of_account(const std::string &account);
  std::chrono::milliseconds rpc_timeout(const std::shared_ptr<Op> &op) const;

  // Makes sure the node's chain id is known and matches the config, then runs next (or fails op).
  void ready(const std::shared_ptr<Op> &op, std::function<void()> next);
  void poll_head();
  void on_head(const boost::json::object &block); // update_head, then tick
  bool update_head(const boost::json::object &block);
  void tick(); // every poll: rebroadcasts, receipts of every tracked transaction, nonce gaps
  // all: the poll's check of every tracked transaction (one at a time); otherwise sends just accepted. done runs
  // once the answer is handled (or at once when there is nothing to ask).
  void check_receipts(const std::vector<std::shared_ptr<Sent>> &which, bool all = false,
                      std::function<void()> done = {});
  // A send the node just accepted: its receipt is asked for at once, again as soon as that answer says it is not
  // there, then 1, 2, 4 and 8 ms later (kFollowUpMs), before it is left to the head polls. A node that mines on
  // demand seals the block just after it answers the send, so a receipt asked for at once is often not there yet
  // and would otherwise wait a whole poll. Every send whose check is due goes in one batch, so a burst of sends
  // costs a few requests, not a few per send.
  void follow_up(const std::shared_ptr<Sent> &sent);
  void pump_follow_ups();
  void on_receipt(const std::shared_ptr<Sent> &sent, const std::string &hash, const boost::json::value &receipt);
  void maybe_replace(const std::shared_ptr<Sent> &sent); // after replace_after_blocks without a receipt
  void replace(const std::shared_ptr<Sent> &sent);       // re-signs at the same nonce, fees raised or current
  void fill_gaps();

  // The send path.
  void send_prepared(std::shared_ptr<Prepared> p);
  void sign_and_broadcast(const std::shared_ptr<Sent> &sent, bool replacement);
  // First: the first signed version; Replace: re-signed at the same nonce with higher fees; Again: the same bytes
  // once more (the node was unreachable, forgot it, or its block left the chain).
  enum class Why { First, Replace, Again };
  // Queues the signed bytes for the node (Sender::to_broadcast); send_raw is one eth_sendRawTransaction of them.
  void broadcast(const std::shared_ptr<Sent> &sent, const std::string &hash, Why why);
  void next_broadcast(Sender &s);
  void send_raw(const std::shared_ptr<Sent> &sent, const std::string &hash, Why why);
  void answer_mined(const std::shared_ptr<Sent> &sent, const boost::json::object &receipt);
  void fees(const std::shared_ptr<Op> &op, std::function<void(U256 a, U256 b)> next);
  void read_fee(std::chrono::milliseconds timeout, std::function<void(const RpcAnswer *failed)> then);
  Sender &sender(const std::string &account, const Address &from);
  void with_nonce(Sender &s, const std::shared_ptr<Op> &op, std::function<void(uint64_t)> next);
  void release_nonce(Sender &s, uint64_t nonce);
  void drop(const std::shared_ptr<Sent> &sent);

  boost::json::object receipt_json(const boost::json::object &receipt, const boost::json::object *tx) const;
  const ResourceConfig *resource_at(const std::string &address_hex) const;

  std::string registry_file() const;
  void load_registered();
  void save_registered();
  void add_registered(ResourceConfig rc, const std::string &abi_text);
  std::string head_minus_confirmations() const; // the block tag of final state: "latest" or head - confirmations

  EvmConfig cfg_;
  // The configured resources, then the registered ones (a deque: Sent and calls keep pointers into it). A name
  // registered again is looked up from the back, so the latest wins.
  std::deque<ResourceConfig> resources_;
  boost::json::array registered_;
  plugin::Host host_;
  std::string data_dir_;
  Loop loop_;
  JsonRpcClient rpc_;
  // The host path of plain calls (call_on_host), when the chain has one (HostCalls::open).
  std::unique_ptr<HostCalls> host_calls_;
  std::atomic<uint64_t> head_number_{0}; // head_.number, for the host path's answers

  // resources_ grows on the loop (registerResource) under an exclusive lock; the host path reads under a shared one.
  mutable std::shared_mutex resources_mu_;
  std::mutex accounts_mu_; // account_addresses_

  OpBook book_;

  // Loop-only state.
  std::optional<uint64_t> chain_id_;
  std::string node_error_; // why the node is unusable (wrong chain id), "" when fine
  std::vector<std::function<void()>> waiting_ready_;
  bool asking_chain_id_ = false;
  Head head_;
  bool checking_all_ = false;
  uint64_t poll_timer_ = 0;
  struct FollowUp {
    std::shared_ptr<Sent> sent;
    int done = 0; // checks so far
    std::chrono::steady_clock::time_point due;
  };
  static constexpr std::array<int, 5> kFollowUpMs{0, 1, 2, 4, 8};
  std::vector<FollowUp> follow_ups_;
  bool following_ = false; // a follow-up batch is in flight
  uint64_t follow_timer_ = 0;
  std::chrono::steady_clock::time_point follow_timer_due_{};
  std::map<std::string, std::unique_ptr<Sender>> senders_; // by address
  std::set<std::shared_ptr<Sent>> tracked_;
  std::map<std::string, Address> account_addresses_;
  std::optional<U256> gas_price_cache_, tip_cache_;
  std::chrono::steady_clock::time_point fee_cache_at_{};
  bool fee_reading_ = false;
  std::vector<std::function<void(const RpcAnswer *)>> fee_waiting_;
  bool closing_ = false;
  std::map<uint64_t, std::shared_ptr<Sub>> subs_;
  uint64_t next_sub_ = 1;
};

} // namespace weft::evm
