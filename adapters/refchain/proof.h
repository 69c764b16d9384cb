// Inclusion proofs: a transaction and its receipt are in a block whose header hashes to block_hash. Anyone holding
// the proof can check it offline; nothing here trusts the node that produced it.
#pragma once

#include "block.h"

#include <string>
#include <vector>

namespace weft::refchain {

struct InclusionProof {
  uint64_t block_number = 0;
  uint32_t index = 0;
  uint32_t tx_count = 0; // the Merkle tree size, needed to walk the audit path
  Hash tx_hash{};
  Hash receipt_hash{};
  std::vector<Hash> tx_path;
  std::vector<Hash> receipt_path;
  BlockHeader header;
  Hash block_hash{};
};

// Recomputes both Merkle roots from the leaves and paths, compares them with the header, and the header's hash
// with block_hash. On failure returns false and says which check failed in *why.
bool verify_proof(const InclusionProof &proof, std::string *why = nullptr);

} // namespace weft::refchain
