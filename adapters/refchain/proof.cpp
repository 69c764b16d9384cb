#include "proof.h"

#include "bft/engine.h"

#include "merkle.h"

namespace weft::refchain {

bool verify_proof(const InclusionProof &p, std::string *why) {
  auto fail = [&](const char *reason) {
    if (why) *why = reason;
    return false;
  };
  if (p.header.number != p.block_number) return fail("the header is for another block number");
  if (p.tx_count != p.header.tx_count) return fail("txCount differs from the header's transaction count");
  if (!merkle_verify(p.tx_hash, p.index, p.tx_count, p.tx_path, p.header.tx_root))
    return fail("the transaction path does not lead to the header's transactions root");
  if (!merkle_verify(p.receipt_hash, p.index, p.tx_count, p.receipt_path, p.header.receipt_root))
    return fail("the receipt path does not lead to the header's receipts root");
  if (p.header.hash() != p.block_hash) return fail("the header does not hash to the block hash");
  return true;
}

bool verify_proof(const InclusionProof &p, const std::vector<Address> &validators, std::string *why) {
  if (!verify_proof(p, why)) return false;
  if (!p.cert) {
    if (why != nullptr) *why = "the proof carries no commit certificate";
    return false;
  }
  return bft::verify_commit_cert(p.header.chain_id, validators, p.header.number, p.block_hash, *p.cert, why);
}

} // namespace weft::refchain
