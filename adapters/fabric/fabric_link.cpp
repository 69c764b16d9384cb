#include "fabric_link.h"

#include "orderer/ab.grpc.pb.h"
#include "peer/events.grpc.pb.h"
#include "peer/peer.grpc.pb.h"

#include <map>

namespace weft::fabric {

// Every call in flight registers its context here, so shutdown can cancel it and wait until it is gone. A call's
// context holds a reference to its channel, and the last reference to a channel must not be dropped on one of
// gRPC's callback threads (the channel's destructor tears down the completion queue that thread runs, a double free
// under load); so a call is "gone" only once its context is destroyed, and the Link's own channel references outlive
// every call.
struct Link::Tracker {
  // Recursive: cancelling a call may complete it on the cancelling thread, whose completion comes back here.
  std::recursive_mutex mu;
  std::condition_variable_any cv;
  std::set<grpc::ClientContext *> live;              // contexts that may still be cancelled
  std::map<uint64_t, grpc::ClientContext *> streams; // Deliver streams by token
  uint64_t next_token = 1;
  size_t calls = 0; // calls whose context still exists
  bool closed = false;

  bool add(grpc::ClientContext *ctx) {
    std::lock_guard<std::recursive_mutex> lock(mu);
    if (closed) return false;
    live.insert(ctx);
    ++calls;
    return true;
  }
  // The call completed: its context may no longer be cancelled (it is about to be destroyed).
  void finishing(grpc::ClientContext *ctx) {
    std::lock_guard<std::recursive_mutex> lock(mu);
    live.erase(ctx);
    std::erase_if(streams, [ctx](const auto &kv) { return kv.second == ctx; });
  }
  // Its context was destroyed.
  void gone() {
    std::lock_guard<std::recursive_mutex> lock(mu);
    if (--calls == 0) cv.notify_all();
  }
};

namespace {

grpc::Status closed_status() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "the chain is closing");
}

std::chrono::system_clock::time_point after(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

struct UnaryEndorse {
  grpc::ClientContext ctx;
  protos::SignedProposal request;
  protos::ProposalResponse response;
  Link::EndorseDone done;
};

class BroadcastCall : public grpc::ClientBidiReactor<common::Envelope, orderer::BroadcastResponse> {
public:
  BroadcastCall(std::shared_ptr<Link::Tracker> t, common::Envelope env, Link::BroadcastDone done)
      : tracker_(std::move(t)), env_(std::move(env)), done_(std::move(done)) {}
  grpc::ClientContext ctx;

  void start(orderer::AtomicBroadcast::Stub &stub) {
    stub.async()->Broadcast(&ctx, this);
    StartWrite(&env_);
    StartRead(&answer_);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override { answered_ = ok; }
  // A call the closed Link never started: answered at once, never counted.
  void refuse(const grpc::Status &s) {
    done_(s, false, answer_);
    delete this;
  }
  void OnDone(const grpc::Status &s) override {
    done_(s, answered_, answer_);
    auto tracker = tracker_;
    tracker->finishing(&ctx);
    delete this;
    tracker->gone();
  }

private:
  std::shared_ptr<Link::Tracker> tracker_;
  common::Envelope env_;
  orderer::BroadcastResponse answer_;
  bool answered_ = false;
  Link::BroadcastDone done_;
};

class DeliverCall : public grpc::ClientBidiReactor<common::Envelope, protos::DeliverResponse> {
public:
  DeliverCall(std::shared_ptr<Link::Tracker> t, common::Envelope seek, Link::DeliverMessage on_message,
              Link::DeliverEnded ended)
      : tracker_(std::move(t)), seek_(std::move(seek)), on_message_(std::move(on_message)), ended_(std::move(ended)) {}
  grpc::ClientContext ctx;

  void start(protos::Deliver::Stub &stub) {
    stub.async()->DeliverFiltered(&ctx, this);
    // No WritesDone: a peer serves one seek at a time and reads the next only when the last one ends, and this one
    // never ends; the stream closes by cancellation.
    StartWrite(&seek_);
    StartRead(&answer_);
    StartCall();
  }
  void refuse(const grpc::Status &s) {
    ended_(s);
    delete this;
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    on_message_(answer_);
    answer_.Clear();
    StartRead(&answer_);
  }
  void OnDone(const grpc::Status &s) override {
    ended_(s);
    auto tracker = tracker_;
    tracker->finishing(&ctx);
    delete this;
    tracker->gone();
  }

private:
  std::shared_ptr<Link::Tracker> tracker_;
  common::Envelope seek_;
  protos::DeliverResponse answer_;
  Link::DeliverMessage on_message_;
  Link::DeliverEnded ended_;
};

} // namespace

std::shared_ptr<grpc::Channel> Link::channel(const Endpoint &e, const FabricConfig &c) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 << 20);
  // A restarted peer is found again within about two seconds, not after gRPC's back-off of up to two minutes. (Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also takes it as the time a connection attempt, TLS handshake included,
  // may last, 20 s by default; a small value fails handshakes on a loaded machine.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 300);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // Each chain gets its own connections: two chains on one peer must not share a subchannel (and its credentials).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (c.tls) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = e.tls_ca_pem;
    o.pem_private_key = c.client_key_pem;
    o.pem_cert_chain = c.client_cert_pem;
    creds = grpc::SslCredentials(o);
    if (!e.server_name.empty()) args.SetSslTargetNameOverride(e.server_name);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(e.address, creds, args);
}

Link::Link(const FabricConfig &config) : tracker_(std::make_shared<Tracker>()) {
  for (const auto &p : config.peers) {
    auto ch = channel(p, config);
    endorsers_.push_back(protos::Endorser::NewStub(ch));
    deliverers_.push_back(protos::Deliver::NewStub(ch));
  }
  for (const auto &o : config.orderers)
    broadcasters_.push_back(orderer::AtomicBroadcast::NewStub(channel(o, config)));
}

Link::~Link() {
  shutdown();
  // The channels go here, on the closing thread, never on one of gRPC's.
  endorsers_.clear();
  deliverers_.clear();
  broadcasters_.clear();
}

void Link::endorse(size_t peer, const protos::SignedProposal &proposal, std::chrono::milliseconds timeout,
                   EndorseDone done) {
  auto call = std::make_shared<UnaryEndorse>();
  call->request = proposal;
  call->done = std::move(done);
  call->ctx.set_deadline(after(timeout));
  if (!tracker_->add(&call->ctx)) {
    call->done(closed_status(), call->response);
    return;
  }
  UnaryEndorse *c = call.get();
  endorsers_.at(peer)->async()->ProcessProposal(&c->ctx, &c->request, &c->response,
                                                [call = std::move(call), tracker = tracker_](grpc::Status s) mutable {
                                                  call->done(s, call->response);
                                                  tracker->finishing(&call->ctx);
                                                  call.reset();
                                                  tracker->gone();
                                                });
}

void Link::broadcast(size_t orderer, const common::Envelope &envelope, std::chrono::milliseconds timeout,
                     BroadcastDone done) {
  auto *call = new BroadcastCall(tracker_, envelope, std::move(done));
  call->ctx.set_deadline(after(timeout));
  if (!tracker_->add(&call->ctx)) {
    call->refuse(closed_status());
    return;
  }
  call->start(*broadcasters_.at(orderer));
}

uint64_t Link::deliver(size_t peer, const common::Envelope &seek, DeliverMessage on_message, DeliverEnded ended) {
  auto *call = new DeliverCall(tracker_, seek, std::move(on_message), std::move(ended));
  uint64_t token = 0;
  {
    std::lock_guard<std::recursive_mutex> lock(tracker_->mu);
    if (!tracker_->closed) {
      tracker_->live.insert(&call->ctx);
      ++tracker_->calls;
      token = tracker_->next_token++;
      tracker_->streams[token] = &call->ctx;
    }
  }
  if (token == 0) {
    call->refuse(closed_status());
    return 0;
  }
  call->start(*deliverers_.at(peer));
  return token;
}

void Link::cancel_deliver(uint64_t token) {
  std::lock_guard<std::recursive_mutex> lock(tracker_->mu);
  auto it = tracker_->streams.find(token);
  if (it != tracker_->streams.end()) it->second->TryCancel();
}

void Link::shutdown() {
  std::unique_lock<std::recursive_mutex> lock(tracker_->mu);
  tracker_->closed = true;
  const std::vector<grpc::ClientContext *> live(tracker_->live.begin(), tracker_->live.end());
  for (auto *ctx : live)
    if (tracker_->live.contains(ctx)) ctx->TryCancel();
  tracker_->cv.wait(lock, [&] { return tracker_->calls == 0; });
}

} // namespace weft::fabric
