// PBFT-style consensus for the reference chain, in its blockchain form (QBFT / IBFT 2.0): per height, rounds with a
// rotating proposer (round 0's chosen from recent blocks, skipping a validator that failed its turns); PROPOSAL,
// PREPARE and COMMIT with signed votes; ROUND-CHANGE carrying the prepared certificate so a new proposer cannot drop
// a block that may have committed; block sync of committed blocks with their
// certificates. Pure state machine: no I/O, no threads, no clock of its own — the host calls it from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app.h"

namespace weft::refchain::bft {

struct EngineConfig {
  uint64_t chain_id = 1;
  std::vector<Address> validators; // order is the index; round r's proposer is the r-th after round 0's
  uint32_t self = 0;               // this validator's index
  // A leader proposes waiting transactions at once when none were left waiting at the last commit, else once this
  // long has passed since the previous block's proposal (so consensus time counts towards it).
  uint64_t block_interval_ms = 100;
  uint64_t empty_block_interval_ms = 3000; // a leader proposes an empty block after this long without a commit
  uint64_t round_timeout_ms = 1000;       // round r times out after round_timeout_ms * 2^min(r, 6)
  uint64_t status_interval_ms = 500;      // how often a validator announces its height (drives block sync)
  uint32_t max_sync_blocks = 64;          // blocks per sync answer
  size_t max_message_bytes = 32u << 20;   // larger messages are dropped unread
};

struct EngineStatus {
  uint64_t height = 0;     // last committed
  uint32_t round = 0;      // current round at height + 1
  uint32_t proposer = 0;   // proposer of the current round
  uint64_t round_changes = 0;    // rounds abandoned since start
  uint64_t dropped_messages = 0; // malformed, badly signed, from non-members, for another chain
  uint64_t synced_blocks = 0;    // blocks taken from block sync
  uint64_t conflicting_votes = 0; // PREPAREs/COMMITs contradicting the same validator's earlier vote (byzantine)
};

// level: 0 debug, 1 info, 2 warn, 3 error.
using Logger = std::function<void(int level, const std::string &message)>;

class Engine {
 public:
  Engine(EngineConfig config, App &app, Network &net, Signer &signer, Logger log);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Restores the last votes from App::load_engine_state and starts the current height.
  void start(uint64_t now_ms);
  // One message from the network. Malformed, oversized, badly signed, from a non-member, for another chain or a
  // conflicting vote: dropped (counted and logged), returns false. Never throws.
  bool on_message(ByteView message, uint64_t now_ms);
  // Drives timeouts, proposing and status announcements: call it when next_tick_ms() comes, and after messages.
  void on_tick(uint64_t now_ms);
  // The earliest clock reading at which on_tick has work to do if no message and no new transaction arrives before
  // then (a new transaction into an empty pool must wake the caller, as must a message): a round's timeout, a block
  // that is due, a status announcement, a resend. At most the current clock when something is due now.
  uint64_t next_tick_ms() const;
  EngineStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The digest a commit seal signs; votes and seals sign the chain id, height and round.
Hash commit_digest(uint64_t chain_id, uint64_t height, uint32_t round, const Hash &block_hash);

// Checks a certificate against the validator set alone: at least quorum(n) seals, distinct members, each a valid
// low-S signature over commit_digest by the validator it names.
bool verify_commit_cert(uint64_t chain_id, const std::vector<Address> &validators, uint64_t height,
                        const Hash &block_hash, const CommitCert &cert, std::string *why);

// n - floor((n-1)/3): 2f+1 when n = 3f+1.
size_t quorum(size_t n);

Bytes encode_cert(const CommitCert &cert);
CommitCert decode_cert(ByteView bytes); // throws DecodeError

} // namespace weft::refchain::bft
