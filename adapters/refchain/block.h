// Block headers of the reference chain: canonical encoding, hash, and the genesis block every replica derives from
// the chain id alone.
//   version u8 | chain_id u64 | number u64 | parent_hash 32 | timestamp_ms u64 | proposer 20 | tx_count u32
//   | tx_root 32 | receipt_root 32 | state_hash 32
// tx_count is the size of both Merkle trees, so a proof's leaf position is authenticated with the header.
// Commit signatures (with PBFT) will travel beside the header, never inside it, so the hash does not depend on
// which quorum signed.
#pragma once

#include "bytes.h"
#include "crypto.h"

namespace weft::refchain {

inline constexpr uint8_t kBlockVersion = 1;
inline constexpr size_t kHeaderBytes = 1 + 8 + 8 + 32 + 8 + 20 + 4 + 32 + 32 + 32;

struct BlockHeader {
  uint8_t version = kBlockVersion;
  uint64_t chain_id = 0;
  uint64_t number = 0;
  Hash parent_hash{};
  uint64_t timestamp_ms = 0;
  Address proposer{};
  uint32_t tx_count = 0; // transactions (and receipts) in the block
  Hash tx_root{};
  Hash receipt_root{};
  Hash state_hash{};

  Bytes encode() const;
  Hash hash() const { return sha256(encode()); }
  static BlockHeader decode(ByteView bytes);
};

// Block 0: number 0, zero parent, time 0, zero proposer, empty-tree roots, and state_hash = SHA-256("weft-refchain
// genesis" || chain_id u64): distinct per chain id, equal on every replica.
BlockHeader genesis_header(uint64_t chain_id);

} // namespace weft::refchain
