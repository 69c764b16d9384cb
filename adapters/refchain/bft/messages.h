// The wire encoding of the BFT engine's messages. Every message is
//   type u8 | chain_id u64 | height u64 | round u32 | body      (the signed part)
//   || signature 65 || attachment (ROUND-CHANGE only: blob of the prepared block's payload, unsigned)
// and its signature covers SHA-256 of "weft-refchain-bft-v1" followed by the signed part. A COMMIT's signed part is
// (COMMIT, chain_id, height, round, block hash), so its signature is the commit seal over commit_digest().
#pragma once

#include <optional>
#include <vector>

#include "app.h"

namespace weft::refchain::bft {

enum class MessageType : uint8_t {
  Proposal = 1,
  Prepare = 2,
  Commit = 3,
  RoundChange = 4,
  Status = 5,
  SyncRequest = 6,
  SyncResponse = 7,
};

// What a ROUND-CHANGE says it prepared: quorum PREPARE signatures over (h, round, hash). The PREPAREs all have the
// same signed part, so the certificate is just their signatures.
struct PreparedCert {
  uint32_t round = 0;
  Hash hash{};
  std::vector<Signature> prepares;
};

// An optional prepared certificate as ROUND-CHANGE messages and the saved vote state both write it:
//   flag u8 (0 none, 1 present) | round u32 | hash 32 | count u32 | count x signature 65
void write_prepared(Writer &w, const std::optional<PreparedCert> &prepared);
std::optional<PreparedCert> read_prepared(Reader &r); // throws DecodeError

struct SyncBlock {
  Bytes payload;
  CommitCert cert;
};

struct Message {
  MessageType type = MessageType::Status;
  uint64_t chain_id = 0;
  uint64_t height = 0; // STATUS: the sender's committed height; SYNC-REQUEST: first block wanted
  uint32_t round = 0;
  // PROPOSAL, PREPARE, COMMIT: the block hash.
  Hash hash{};
  // PROPOSAL: the block; ROUND-CHANGE: the prepared block (the unsigned attachment, may be empty).
  Bytes payload;
  // PROPOSAL in round > 0: the quorum of signed ROUND-CHANGEs (encoded without their attachment).
  std::vector<Bytes> justification;
  // ROUND-CHANGE: what the sender prepared at this height, if anything.
  std::optional<PreparedCert> prepared;
  // SYNC-RESPONSE: consecutive committed blocks starting at `height`.
  std::vector<SyncBlock> blocks;
  Signature signature{};

  Bytes encode_signed_part() const;
  Hash digest() const;
  // The whole message; with_attachment = false leaves out a ROUND-CHANGE's payload (inside a justification).
  Bytes encode(bool with_attachment = true) const;
  // Throws DecodeError on unknown type, truncation, oversized fields or trailing bytes.
  static Message decode(ByteView bytes, size_t max_bytes);
};

// The digest of a signed part (domain-separated from transactions and any other signature of the chain).
Hash bft_digest(ByteView signed_part);

// The digest every PREPARE for (chain_id, height, round, hash) signs; prepared certificates are checked against it.
Hash prepare_digest(uint64_t chain_id, uint64_t height, uint32_t round, const Hash &hash);

// Fills in the signature.
void sign_message(Message &m, Signer &signer);

} // namespace weft::refchain::bft
