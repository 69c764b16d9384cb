// The consensus-free core of one validator: store, pool, replay window, contracts and block execution. It does no
// I/O besides its SQLite file and starts no threads; a block producer (solo sealing now, PBFT later) drives it
// through propose / execute / commit. Every public member is thread-safe (one mutex).
#pragma once

#include "contract.h"
#include "pool.h"
#include "proof.h"
#include "store.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace weft::refchain {

// A transaction's block_limit must lie in (height, height + kBlockLimitRange]; nonces are remembered for as many
// blocks, so a transaction can never be valid again once its nonce has left the window.
inline constexpr uint64_t kBlockLimitRange = 1000;

struct LedgerConfig {
  uint64_t chain_id = 1;
  size_t max_block_txs = 1000;
  size_t pool_limit = 20000;
  std::vector<ResourceConfig> resources;
  // The only address that may start, commit and roll back XA transactions; unset: the first to start or roll back.
  std::optional<Address> xa_coordinator;
};

// A block with everything needed to commit it.
struct ExecutedBlock {
  BlockHeader header;
  std::vector<VerifiedTx> txs;
  std::vector<Receipt> receipts;
  StateWrites writes;
};

// What a proposal attempt yields: a block (if there was anything, or an empty block was asked for) and the pool
// transactions dropped because their block_limit passed, so their waiters can be told.
struct Proposal {
  std::optional<ExecutedBlock> block;
  std::vector<Hash> expired;
};

class Ledger {
public:
  Ledger(LedgerConfig config, const std::string &db_path);

  uint64_t chain_id() const { return config_.chain_id; }
  const LedgerConfig &config() const { return config_; }
  uint64_t height();
  BlockHeader head();
  size_t pool_size();

  // Admits a transaction to the pool: signature, chain id, block limit, nonce window, pool capacity. Returns its
  // hash; throws Error (WEFT_E_REJECTED, or WEFT_E_INVALID_ARGUMENT for undecodable bytes).
  Hash submit(Transaction tx);
  Hash submit_bytes(ByteView encoded) { return submit(Transaction::decode(encoded)); }
  // Checks the signatures of a proposed block's transactions. One already in this validator's pool was checked
  // when it arrived; equal hashes (SHA-256 of the canonical encoding) mean the same signed bytes, so the pool's
  // verified copy stands for it. Any other transaction is verified here. Throws Error(WEFT_E_REJECTED).
  std::vector<VerifiedTx> verify_block_txs(std::vector<Transaction> txs);

  // Builds the next block from the pool (at most max_block_txs) on top of the head. With no transactions it
  // builds an empty block only if allow_empty. The timestamp is max(now_ms, parent + 1).
  Proposal propose(const Address &proposer, uint64_t now_ms, bool allow_empty);
  // Executes txs as block head+1 and returns the block this validator would commit (PBFT followers compare it with
  // the leader's header). Throws Error(WEFT_E_REJECTED) if a transaction is not valid at that height.
  ExecutedBlock execute(const std::vector<VerifiedTx> &txs, const Address &proposer, uint64_t timestamp_ms);
  // Stores the block with its commit certificate (empty: none), advances the replay window and removes its
  // transactions from the pool.
  void commit(const ExecutedBlock &block, ByteView cert = {});

  // A read-only call on the committed state (as the zero address, at the head's number and time). Throws Error:
  // WEFT_E_NOT_FOUND for an unknown resource or method, WEFT_E_INVALID_ARGUMENT for a write method, a wrong arity
  // or a bad argument.
  std::vector<std::string> call(const std::string &resource, const std::string &method,
                                const std::vector<std::string> &args);
  // Checks that a transaction could run (resource, method, arity) before it is signed.
  void check_invocation(const std::string &resource, const std::string &method, size_t arity);
  const Contract *contract(const std::string &resource) const;
  // The XA transaction holding a resource's lock in the committed state, nullopt when unlocked.
  std::optional<std::string> xa_lock_holder(const std::string &resource);

  std::optional<BlockHeader> header(uint64_t number);
  std::vector<Hash> block_tx_hashes(uint64_t number);
  std::optional<TxRecord> find_tx(const Hash &hash);
  std::optional<InclusionProof> proof(const Hash &tx_hash);
  // A committed block's transactions (canonical encodings, block order) and its commit certificate.
  std::vector<Bytes> block_tx_bodies(uint64_t number);
  std::optional<Bytes> cert(uint64_t number);
  // The consensus engine's durable state, kept in this validator's store.
  void save_engine_state(ByteView state);
  std::optional<Bytes> load_engine_state();

private:
  void check_replay(const Transaction &tx, uint64_t height) const;
  ExecutedBlock execute_locked(const std::vector<VerifiedTx> &txs, const Address &proposer, uint64_t timestamp_ms);
  Receipt run(StateOverlay &block_state, const VerifiedTx &tx, BlockContext block, uint32_t index);
  StateOverlay committed_state();
  void remember_nonces(uint64_t number, const std::vector<Nonce> &nonces);

  LedgerConfig config_;
  Contracts contracts_; // every configured resource and the XA proxy
  std::mutex mu_;
  Store store_;
  Pool pool_;
  BlockHeader head_;
  std::unordered_map<Nonce, uint64_t, NonceKey> seen_nonces_; // nonce -> block it was committed in
  std::map<uint64_t, std::vector<Nonce>> nonces_by_block_; // for evicting the window's oldest block
};

} // namespace weft::refchain
