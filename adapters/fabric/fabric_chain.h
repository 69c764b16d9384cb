// One open Fabric chain: a channel with its peers and orderers, its chaincodes as resources, and the Deliver streams
// that tell commit status and feed subscriptions. All state lives on the chain's loop thread; gRPC completions post
// onto it.
//
// A send is the classic client path: a signed proposal to every endorsing peer of the resource, the endorsements in
// one signed envelope to the first orderer that takes it, then the transaction's validation code from the chain's
// Deliver stream of filtered blocks. That stream is signed by the chain's service account, carries the TLS
// certificate hash under mutual TLS, and resumes after the last block it saw whenever it breaks.
#pragma once

#include "fabric_config.h"
#include "fabric_link.h"
#include "fabric_messages.h"
#include "json_rpc.h"
#include "op_book.h"

#include <weft/adapter.hpp>

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::fabric {

using evm::Op;

// A request's string field, "" when absent or not a string.
std::string str_of(const boost::json::object &o, const char *key);
// A decimal number with nothing around it.
std::optional<uint64_t> number_of(std::string_view s);

class FabricChain {
public:
  FabricChain(FabricConfig config, plugin::Host host, std::string stub_type);
  ~FabricChain(); // completes every pending operation with WEFT_E_CANCELLED, ends every stream, stops the loop
  FabricChain(const FabricChain &) = delete;
  FabricChain &operator=(const FabricChain &) = delete;

  using Verb = void (FabricChain::*)(const std::shared_ptr<Op> &, boost::json::object request);
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

  // XA and HTLC over Weft's chaincode stubs (fabric_stubs.cpp; docs/adapters.md, "XA and HTLC on Fabric chains").
  void xa_start(const std::shared_ptr<Op> &op, boost::json::object req);
  void xa_commit(const std::shared_ptr<Op> &op, boost::json::object req);
  void xa_rollback(const std::shared_ptr<Op> &op, boost::json::object req);
  void xa_status(const std::shared_ptr<Op> &op, boost::json::object req);
  void htlc_lock(const std::shared_ptr<Op> &op, boost::json::object req);
  void htlc_unlock(const std::shared_ptr<Op> &op, boost::json::object req);
  void htlc_refund(const std::shared_ptr<Op> &op, boost::json::object req);
  void htlc_status(const std::shared_ptr<Op> &op, boost::json::object req);

  // subscribe_v2: kind "blocks" or "events" (one resource's chaincode events), each on a Deliver stream of its own.
  uint64_t subscribe(const std::string &request, weft_record_fn on_record, void *ctx);
  void unsubscribe(uint64_t id);

private:
  struct Watch;
  struct Waiter;
  struct Sub;
  struct Signing {
    std::string account;
    std::string creator; // serialized identity
    std::string msp_id;
  };
  using Endorsements = std::vector<protos::ProposalResponse>;

  Signing signing(const std::string &account) const; // throws Failure(WEFT_E_ACCOUNT)
  Signing service_signing() const;                   // options.service_account's, with a hint when it cannot
  Signer signer(const std::string &account) const;
  const ChaincodeResource &resource(const boost::json::object &req) const;
  std::chrono::milliseconds timeout(const std::shared_ptr<Op> &op) const;
  // Runs fn; a plugin::Failure or other exception fails op instead of escaping into the loop.
  void guarded(const std::shared_ptr<Op> &op, const std::function<void()> &fn);

  // Proposal to the given peers; next runs once every peer answered (gRPC failures fail op).
  void endorse(const std::shared_ptr<Op> &op, const std::vector<size_t> &peers, const std::string &chaincode,
               const std::vector<std::string> &args, const Signing &who,
               std::function<void(std::shared_ptr<Proposal>, Endorsements)> next);
  // A qscc query on the first peer, signed by the service account: next gets the answer's payload. A "not found"
  // answer fails op with WEFT_E_NOT_FOUND.
  void qscc(const std::shared_ptr<Op> &op, std::vector<std::string> args, std::function<void(std::string)> next);
  void broadcast(const std::shared_ptr<Op> &op, std::shared_ptr<common::Envelope> env, size_t orderer,
                 std::string errors);
  void fail_grpc(const std::shared_ptr<Op> &op, const grpc::Status &s, const std::string &who);

  // Stubs (fabric_stubs.cpp). A write composed by the adapter, endorsed by every configured peer: then gets the
  // sent shape (errorCode the chaincode's status when it refused, nothing ordered; else the validation code).
  using Sent = std::function<void(boost::json::object)>;
  void submit(const std::shared_ptr<Op> &op, const std::string &chaincode, const std::vector<std::string> &args,
              const Signing &who, Sent then);
  // Orders an endorsed envelope and waits for its validation code (fabric_chain.cpp): then gets the sent shape.
  void order(const std::shared_ptr<Op> &op, std::shared_ptr<common::Envelope> env, const std::string &tx_id,
             const std::string &result, Sent then);
  // A read on the first peer, signed by the service account: then gets the chaincode's answer; a refusal fails op.
  void query(const std::shared_ptr<Op> &op, const std::string &chaincode, const std::vector<std::string> &args,
             std::function<void(std::string)> then);
  // send_transaction to an XA-capable chaincode (a step, or a plain write through the proxy's forward): true when it
  // took the request.
  bool send_through_proxy(const std::shared_ptr<Op> &op, const ChaincodeResource &res, const boost::json::object &req);
  // A call with options.XA_TRANSACTION_ID: reads (call again without the option) only while that transaction is
  // processing and holds the resource; true when it took the request.
  bool call_in_xa(const std::shared_ptr<Op> &op, const ChaincodeResource &res, const boost::json::object &req);
  Signing coordinator(const std::string &account) const;
  void stub_decide(const std::shared_ptr<Op> &op, const boost::json::object &req, const std::string &verb);
  void htlc_write(const std::shared_ptr<Op> &op, const boost::json::object &req, const std::string &fn,
                  std::vector<std::string> args);

  // Deliver streams (fabric_deliver.cpp).
  bool commit_watch_placed() const;  // the commit watch has seen a block, so it knows where it resumes
  // Off the loop: the number of the next block the channel will commit, as the commit watch knows it or, before it
  // has seen a block, as the peer's GetChainInfo answers. Throws Failure when the peer cannot say.
  uint64_t next_block_now();
  std::string deliver_state() const; // "streaming", "connecting", or why its last stream ended
  void end_streams();                // at close: every subscription ends with an "end" record
  uint64_t open_watch(std::optional<uint64_t> from, std::function<void(const protos::FilteredBlock &)> on_block,
                      std::function<void(const std::string &)> on_refused = {});
  void connect(const std::shared_ptr<Watch> &w);
  void close_watch(uint64_t id);
  void on_commit_block(const protos::FilteredBlock &block);
  void on_sub_block(const std::shared_ptr<Sub> &sub, const protos::FilteredBlock &block);
  void emit(Sub &s, boost::json::object record, const std::string &cursor);

  FabricConfig cfg_;
  plugin::Host host_;
  std::string stub_type_;
  std::map<std::string, size_t> peer_index_;
  evm::Loop loop_;
  Link link_;
  evm::OpBook book_;

  // Loop-only state.
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t next_watch_ = 1;
  uint64_t commit_watch_ = 0;
  std::map<std::string, std::shared_ptr<Waiter>> waiters_; // by transaction id (a Waiter with `then` is a stub's)
  std::vector<std::function<void()>> until_watching_;      // broadcasts held until the commit watch has a block
  std::map<uint64_t, std::shared_ptr<Sub>> subs_;
  uint64_t next_sub_ = 1;
  bool closing_ = false;
};

} // namespace weft::fabric
