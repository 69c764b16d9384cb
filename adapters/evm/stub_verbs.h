// The XA and HTLC verbs over the Solidity stubs (stubs/evm/: WeftXAProxy, WeftHTLC), for any chain runtime that can
// send a contract write, read a contract and keep resources: the EVM and FISCO BCOS adapters. The chain implements
// StubChain; StubVerbs holds everything about the stubs themselves (what to deploy, how each verb becomes a call of a
// stub, what a stub's custom error means), so both adapters behave the same.
#pragma once

#include "evm_config.h"
#include "op_book.h"

#include <boost/json/object.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace weft::evm {

class StubChain {
public:
  virtual ~StubChain() = default;
  // Once final and successful: the sent shape (`hash`, `blockNumber`, `timestamp`, decoded `events` with `name` and
  // `data`, `contractAddress` for a deployment).
  using Done = std::function<void(const std::shared_ptr<Op> &, boost::json::object answer)>;
  // Reverted: while estimating (hash "", nothing sent) or on chain; data is the revert data, empty when unknown.
  using Refused = std::function<void(const std::shared_ptr<Op> &, const Bytes &data, const std::string &message,
                                     const std::string &hash)>;

  virtual void stub_succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer) = 0;
  virtual void stub_fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                         const std::string &details) = 0;
  // Runs next once the node is usable (or fails op).
  virtual void stub_ready(const std::shared_ptr<Op> &op, std::function<void()> next) = 0;
  // A write composed by the adapter, to `to` (none: a deployment), signed by account. Must not throw once queued:
  // done and refused run guarded (a Failure they throw fails op).
  virtual void stub_send(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata,
                         const std::string &account, std::shared_ptr<const abi::ContractAbi> abi, Done done,
                         Refused refused) = 0;
  // fn(args) read from `at`, at the latest block or (final_only) at the confirmation depth; next(the outputs).
  virtual void stub_read(const std::shared_ptr<Op> &op, const Address &at, const abi::Function &fn,
                         const std::vector<std::string> &args, bool final_only,
                         std::function<void(std::vector<std::string>)> next) = 0;
  // The transaction hashes of logs of `address` with topics [topic0, topic1] from a block on: next(one per log, in
  // order), each {"txHash","blockNumber","data":hex}; a chain that cannot query logs answers none.
  virtual void stub_logs(const std::shared_ptr<Op> &op, const Address &address, const Hash256 &topic0,
                         const std::string &topic1, uint64_t from_block,
                         std::function<void(std::vector<boost::json::object>)> next) = 0;
  virtual const std::deque<ResourceConfig> &stub_resources() const = 0;
  // Keeps a new resource (throws plugin::Failure when it cannot be written).
  virtual void stub_keep(ResourceConfig rc, const std::string &abi_text) = 0;
  virtual Address stub_address(const std::string &account) = 0;
  virtual uint64_t stub_head() const = 0;
  // Runs body; a Failure it throws (or any other exception) fails op instead of escaping into the chain's loop.
  void stub_guarded(const std::shared_ptr<Op> &op, const std::function<void()> &body);
  // done and refused, each run through stub_guarded: what a chain's stub_send keeps until the write ends.
  Done guarded(Done done);
  Refused guarded(Refused refused);
  // Guomi chains hash selectors with SM3: the built-in stubs (Keccak selectors) cannot serve them.
  virtual bool stub_guomi() const { return false; }
  // Whether stub_send runs a write before signing it (an EVM gas estimate), so a revert is refused unsent.
  virtual bool stub_simulates() const { return true; }
  virtual abi::Hasher stub_hasher() const { return abi::keccak; }
  // The chain id the XA proxy's start tickets name (block.chainid), once known; nullopt on chains that do not take
  // tickets. Then stub_sign signs a ticket's digest with an account through the host (65 bytes r || s || recovery id).
  virtual std::optional<uint64_t> stub_ticket_chain_id() const { return std::nullopt; }
  virtual Bytes stub_sign(const std::string &account, const Hash256 &digest);
};

// What a stub's refusal stands for, on every chain kind (the EVM stubs' custom errors, the Fabric chaincode's named
// refusals): a status, and the reference chain's receipt code for details.code. An unknown name: {WEFT_E_REJECTED, 1}.
struct StubRefusal {
  int32_t status;
  int code;
};
StubRefusal stub_refusal(const std::string &name);

// A stub's custom error, decoded: its name and arguments.
struct StubError {
  std::string name;
  std::vector<std::string> args;
};

class StubVerbs {
public:
  explicit StubVerbs(StubChain &chain) : chain_(chain) {}

  // The verbs (on the chain's loop; they may throw plugin::Failure before anything is sent).
  void deploy_stubs(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void xa_start(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void xa_commit(const std::shared_ptr<Op> &op, const boost::json::object &req) { decide(op, req, true); }
  void xa_rollback(const std::shared_ptr<Op> &op, const boost::json::object &req) { decide(op, req, false); }
  void xa_status(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void htlc_lock(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void htlc_unlock(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void htlc_refund(const std::shared_ptr<Op> &op, const boost::json::object &req);
  void htlc_status(const std::shared_ptr<Op> &op, const boost::json::object &req);

  const ResourceConfig *xa_proxy() const; // the chain's WeCrossProxy, or null
  // Whether a step may carry its branch's start (the proxy has startStep and the chain's id is known).
  bool starts_in_step() const;
  bool xa_capable(const ResourceConfig &r) const;
  // Whether a send_transaction to this resource with these options goes through the proxy (a step, or a write to an
  // XA-capable contract while the chain has a proxy). Throws plugin::Failure for a step the chain cannot take.
  bool through_proxy(const ResourceConfig &business, const boost::json::object &options) const;
  // A send_transaction through the proxy: a step of the transaction in options, or a plain write through forward().
  // The answer is the sent shape with the business method's `result` and `resource` the business contract.
  void send_through_proxy(const std::shared_ptr<Op> &op, const ResourceConfig &business, const abi::Function &fn,
                          const Bytes &calldata, const std::string &account, const boost::json::object &options);
  // A call inside an XA transaction: next() only while it is processing and holds the resource.
  void call_in_xa(const std::shared_ptr<Op> &op, const ResourceConfig &res, const std::string &xid,
                  std::function<void()> next);
  // The business ABI with the proxy's errors added, to decode what a write through the proxy reverts with.
  std::shared_ptr<const abi::ContractAbi> through_proxy_abi(const ResourceConfig &business);

private:
  std::string targets_of(const boost::json::array &names, const std::string &what) const;
  Bytes start_step(const boost::json::value &start, const std::string &xid, uint64_t seq, const std::string &target,
                   const std::string &data);
  const ResourceConfig &named(const std::string &name) const;
  const ResourceConfig *at_address(const std::string &address) const; // the resource there, or null
  const ResourceConfig &htlc_of(const boost::json::object &req) const;
  StubChain::Refused refuse_as(std::shared_ptr<const abi::ContractAbi> abi, std::string what);
  // A send_transaction's answer for a write that reverted (through the proxy): the sent shape with the reference
  // chain's code of the stub's error (1 for a business contract's own) in errorCode.
  boost::json::object failed_send(const std::optional<StubError> &e, const std::string &message,
                                  const std::string &hash) const;
  void decide(const std::shared_ptr<Op> &op, const boost::json::object &req, bool commit);
  // A plain write to an XA-capable contract, through the proxy's forward().
  void forward(const std::shared_ptr<Op> &op, const std::string &name,
               std::shared_ptr<const abi::ContractAbi> proxy_abi, const std::string &target, const std::string &data,
               const std::string &account, std::shared_ptr<const abi::ContractAbi> abi);
  void htlc_write(const std::shared_ptr<Op> &op, const ResourceConfig &h, const char *method,
                  std::vector<std::string> args, const std::string &account, const std::string &sender,
                  const std::string &id, const char *state);
  void deploy_next(const std::shared_ptr<Op> &op, std::shared_ptr<boost::json::object> plan, boost::json::array done);
  // The step hashes of a transaction by seq (empty where the chain cannot query logs).
  void step_hashes(const std::shared_ptr<Op> &op, const std::string &xid, uint64_t from_block,
                   std::function<void(std::map<uint64_t, std::string>)> next);

  StubChain &chain_;
  std::map<const ResourceConfig *, std::shared_ptr<const abi::ContractAbi>> proxy_abis_;
};

} // namespace weft::evm
