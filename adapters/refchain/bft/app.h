// The seams of the BFT engine: what it asks of the replicated application (the ledger), of the network and of
// the validator's key. The engine itself does no I/O and starts no threads; a host (the embedded network in the
// plugin, weft-node, or the simulator in the tests) owns those and calls the engine from one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../bytes.h"
#include "../crypto.h"

namespace weft::refchain::bft {

// One validator's commit seal: its signature over commit_digest(chain_id, height, round, block_hash).
struct Seal {
  uint32_t validator = 0; // index in the validator set
  Signature signature{};
};

// Proof that a block committed: 2f+1 seals of distinct validators, all for the same round. Kept beside the block,
// never inside its hashed header, so nodes holding different 2f+1 sets still agree on the block hash.
struct CommitCert {
  uint32_t round = 0;
  std::vector<Seal> seals;
};

// Who proposed a committed block and when (both in its hashed header): what the round-0 proposer choice reads.
struct BlockOrigin {
  Address proposer{};
  uint64_t timestamp_ms = 0;
};

// A block as consensus sees it: opaque bytes the application can validate, and their hash.
struct BlockCandidate {
  Hash hash{};
  Bytes payload;
};

// The replicated application. Called only from the engine's thread.
class App {
 public:
  virtual ~App() = default;
  // Height of the last committed block (0 = genesis only) and its hash.
  virtual uint64_t height() = 0;
  virtual Hash head_hash() = 0;
  // Leader: builds block height()+1 from the pending transactions. With none, builds an empty block only if
  // allow_empty; otherwise nullopt.
  virtual std::optional<BlockCandidate> propose(uint64_t now_ms, bool allow_empty) = 0;
  // Any validator: checks that payload is a valid block height()+1 (parent, proposer a member, timestamp after the
  // parent's and not past now_ms + the allowed drift, every transaction valid, roots and state as claimed) and
  // returns its hash; nullopt with *why set if not. Executes it; the result is kept for commit.
  virtual std::optional<Hash> validate(ByteView payload, uint64_t now_ms, std::string *why) = 0;
  // Commits block height()+1 (previously validated, or validated here if not) with its certificate, durably and
  // atomically, before returning.
  virtual void commit(ByteView payload, const Hash &hash, const CommitCert &cert) = 0;
  // A committed block and its certificate, for block sync; nullopt beyond height() or for genesis.
  virtual std::optional<std::pair<Bytes, CommitCert>> committed_block(uint64_t number) = 0;
  // A committed block's proposer and timestamp; nullopt beyond height() or for genesis.
  virtual std::optional<BlockOrigin> block_origin(uint64_t number) = 0;
  // The proposer a block payload names, nullopt if the payload cannot be read. A fresh proposal must name its
  // sender: the proposer choice reads it from committed blocks.
  virtual std::optional<Address> payload_proposer(ByteView payload) = 0;
  // The engine's own durable state (its last votes): saved durably before a vote is sent, loaded at start.
  virtual void save_engine_state(ByteView state) = 0;
  virtual std::optional<Bytes> load_engine_state() = 0;
  // Whether transactions wait in the pool (so the leader should propose soon).
  virtual bool has_pending() = 0;
};

// The engine's view of the network: best-effort, unordered, may lose or duplicate messages.
class Network {
 public:
  virtual ~Network() = default;
  virtual void broadcast(ByteView message) = 0;             // to every other validator
  virtual void send(uint32_t validator, ByteView message) = 0; // to one validator, by index
};

// The validator's own key.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual const Address &address() const = 0;
  virtual Signature sign(const Hash &digest) = 0;
};

} // namespace weft::refchain::bft
