// One validator's durable state in one SQLite file: blocks, transactions with their receipts, contract state and
// the chain's identity. WAL with synchronous=FULL; a block and everything it changes commit in one SQLite
// transaction, so a crash leaves either the whole block or none of it. Not thread-safe: its owner serializes.
#pragma once

#include "block.h"
#include "receipt.h"
#include "state.h"
#include "transaction.h"

#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace weft::refchain {

struct TxRecord {
  Transaction tx;
  Receipt receipt;
};

class Store {
public:
  // Opens (creating if need be) the file. On a new file writes genesis for chain_id; on an existing file checks
  // that it belongs to chain_id and throws Error otherwise.
  Store(const std::string &path, uint64_t chain_id);
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  uint64_t height() const { return height_; }
  std::optional<BlockHeader> header(uint64_t number);
  std::vector<Hash> block_tx_hashes(uint64_t number);
  std::optional<TxRecord> find_tx(const Hash &hash);
  std::optional<std::string> state_get(const std::string &resource, const std::string &key);
  // The committed keys of `resource` that start with `prefix`, in key order.
  StateEntries state_scan(const std::string &resource, const std::string &prefix);
  // The nonces of every transaction in blocks with number >= first_block (to rebuild the replay window).
  std::vector<std::pair<uint64_t, Nonce>> nonces_since(uint64_t first_block);

  // The canonical encodings of a block's transactions, in block order.
  std::vector<Bytes> block_tx_bodies(uint64_t number);
  // The commit certificate stored beside a block (consensus's seals), if any.
  std::optional<Bytes> cert(uint64_t number);
  // A small durable value outside the chain itself (the consensus engine's last votes): written with
  // synchronous=FULL in its own transaction, so it is on disk when save returns.
  void save_meta(const std::string &key, ByteView value);
  std::optional<Bytes> load_meta(const std::string &key);

  // Writes block header.number == height()+1 with its transactions, receipts, state writes (a nullopt value deletes
  // the key) and commit certificate (empty: none), atomically.
  void commit(const BlockHeader &header, const std::vector<VerifiedTx> &txs, const std::vector<Receipt> &receipts,
              const StateWrites &writes, ByteView cert = {});

private:
  class Statement;
  void exec(const char *sql);
  sqlite3_stmt *prepare(const char *sql);
  void write_block(const BlockHeader &header, const std::vector<VerifiedTx> &txs, const std::vector<Receipt> &receipts,
                   const StateWrites &writes, ByteView cert);

  sqlite3 *db_ = nullptr;
  std::string path_;
  uint64_t height_ = 0;
  std::vector<sqlite3_stmt *> cache_; // prepared statements, finalized on close
};

} // namespace weft::refchain
