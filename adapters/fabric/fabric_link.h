// The gRPC side of a Fabric chain: one channel per peer and orderer (TLS, with the client certificate when mutual TLS
// is configured), and the three calls the classic client path makes: Endorser/ProcessProposal, AtomicBroadcast/
// Broadcast (one envelope per stream) and Deliver/DeliverFiltered (a long-lived stream). Completions run on gRPC's
// threads; the caller posts them onward. shutdown() cancels every call and returns once no completion can follow.
#pragma once

#include "fabric_config.h"

#include "common/common.pb.h"
#include "orderer/ab.grpc.pb.h"
#include "orderer/ab.pb.h"
#include "peer/events.grpc.pb.h"
#include "peer/peer.grpc.pb.h"
#include "peer/proposal.pb.h"
#include "peer/proposal_response.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace weft::fabric {

class Link {
public:
  explicit Link(const FabricConfig &config);
  ~Link(); // shutdown()
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;

  using EndorseDone = std::function<void(const grpc::Status &, const protos::ProposalResponse &)>;
  void endorse(size_t peer, const protos::SignedProposal &proposal, std::chrono::milliseconds timeout,
               EndorseDone done);

  // status is the stream's; answered tells whether the orderer answered before it ended.
  using BroadcastDone = std::function<void(const grpc::Status &, bool answered, const orderer::BroadcastResponse &)>;
  void broadcast(size_t orderer, const common::Envelope &envelope, std::chrono::milliseconds timeout,
                 BroadcastDone done);

  // Filtered blocks (or a status response) one at a time, then `ended` once with the stream's status. Returns a
  // token for cancel_deliver.
  using DeliverMessage = std::function<void(const protos::DeliverResponse &)>;
  using DeliverEnded = std::function<void(const grpc::Status &)>;
  uint64_t deliver(size_t peer, const common::Envelope &seek, DeliverMessage on_message, DeliverEnded ended);
  // Ends a Deliver stream early (its `ended` still runs); an unknown or finished token is ignored.
  void cancel_deliver(uint64_t token);

  // Cancels every call in flight and waits until every call's context is destroyed; later calls fail at once. The
  // channels are released by ~Link, on the closing thread: the last reference to a channel must never be dropped on
  // one of gRPC's callback threads.
  void shutdown();

  struct Tracker; // the calls in flight

private:
  std::shared_ptr<grpc::Channel> channel(const Endpoint &e, const FabricConfig &c);

  // Stubs share their channel's connection; both are safe to use from any thread.
  std::vector<std::unique_ptr<protos::Endorser::Stub>> endorsers_;
  std::vector<std::unique_ptr<protos::Deliver::Stub>> deliverers_;
  std::vector<std::unique_ptr<orderer::AtomicBroadcast::Stub>> broadcasters_;
  std::shared_ptr<Tracker> tracker_;
};

} // namespace weft::fabric
