// Inclusion proofs: a transaction and its receipt are in a block whose header hashes to block_hash. Anyone holding
// the proof can check it offline; nothing here trusts the node that produced it.
#pragma once

#include <optional>

#include "bft/app.h"

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
  std::optional<bft::CommitCert> cert; // the validators' commit seals on block_hash (absent on a chain without them)
};

// Recomputes both Merkle roots from the leaves and paths, compares them with the header, and the header's hash
// with block_hash. On failure returns false and says which check failed in *why.
bool verify_proof(const InclusionProof &proof, std::string *why = nullptr);

// The full check against a validator set alone: the above, and a commit certificate holding a quorum of valid
// seals on block_hash by distinct members of `validators`. Proves the transaction committed without trusting the
// node that served the proof.
bool verify_proof(const InclusionProof &proof, const std::vector<Address> &validators, std::string *why = nullptr);

} // namespace weft::refchain
