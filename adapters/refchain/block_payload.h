// A whole block as consensus and block sync carry it: the header encoding followed by the block's transactions.
//   header (kHeaderBytes) | u32 count | count x (u32 length + canonical transaction encoding)
#pragma once

#include <vector>

#include "block.h"
#include "transaction.h"

namespace weft::refchain {

// At most this many transactions in a block payload a validator accepts from the network.
inline constexpr uint32_t kMaxPayloadTxs = 100000;

struct BlockPayload {
  BlockHeader header;
  std::vector<Transaction> txs;
};

Bytes encode_block_payload(const BlockHeader &header, const std::vector<Bytes> &tx_encodings);
// Throws DecodeError on truncated, oversized or trailing bytes.
BlockPayload decode_block_payload(ByteView payload);
// The header alone (for its hash) without decoding the transactions.
BlockHeader payload_header(ByteView payload);

} // namespace weft::refchain
