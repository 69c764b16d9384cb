// The validator mesh of weft-node: each validator listens on its peer address and dials every other validator;
// links are authenticated by the handshake in handshake.h and carry length-prefixed frames. A validator sends on
// the links it dialed and receives on the links it accepted, so each direction is authenticated by its sender.
// Best effort, as Outbox promises: each peer has a bounded send queue that drops its oldest frame when full, and
// dropped links are redialled with backoff forever. One io_context on one thread of its own.
#pragma once

#include "validator.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::refchain::net {

struct PeerMeshOptions {
  uint64_t chain_id = 1;
  uint32_t self = 0;
  std::vector<Address> validators; // the validator set, in index order
  std::vector<std::string> peers;  // "host:port" of each validator's peer port, same order (ours is not dialled)
  std::string listen;              // "host:port" to bind; port 0 picks a free one (tests)
  SecretKey key{};                 // this validator's key, signs our handshake answers
  size_t max_frame_bytes = 32u << 20;
  size_t send_queue_frames = 4096; // per peer
  std::chrono::milliseconds handshake_timeout{5000};
  // An accepted link that delivers no byte for this long is dropped: validators announce their status every
  // 500 ms, so only a stalled or vanished dialler stays silent, and it redials once it is back.
  std::chrono::milliseconds idle_timeout{15000};
  std::chrono::milliseconds max_backoff{1000};
};

struct PeerMeshStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t frames_dropped = 0;      // send queues full: the oldest frame was dropped
  uint64_t connections_refused = 0; // failed handshakes, oversized or garbage frames
  uint64_t idle_links_dropped = 0;  // accepted links silent for idle_timeout
};

class PeerMesh : public Outbox {
public:
  using OnFrame = std::function<void(uint32_t from_index, ByteView frame)>; // on the mesh's thread
  using Log = std::function<void(int level, const std::string &message)>;   // 0 debug .. 3 error

  // Checks the options (throws Error); binds and dials nothing until start().
  PeerMesh(PeerMeshOptions options, OnFrame on_frame, Log log);
  ~PeerMesh() override; // stops
  PeerMesh(const PeerMesh &) = delete;
  PeerMesh &operator=(const PeerMesh &) = delete;

  // Binds the listen address (throws Error if it cannot) and starts the thread that accepts and dials.
  void start();
  // Closes every link and the listener and joins the thread. Idempotent.
  void stop();

  // Queue a frame for one peer, or for all; thread-safe, never blocks on the network. Frames for ourselves or an
  // unknown index are ignored.
  void send(uint32_t validator, ByteView frame) override;
  void broadcast(ByteView frame) override;

  uint16_t listen_port() const;             // the bound port, after start()
  bool linked_to(uint32_t validator) const; // our link to that peer passed its handshake
  PeerMeshStats stats() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace weft::refchain::net
