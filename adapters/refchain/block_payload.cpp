#include "block_payload.h"

#include "error.h"

namespace weft::refchain {

Bytes encode_block_payload(const BlockHeader &header, const std::vector<Bytes> &tx_encodings) {
  Writer w;
  w.raw(header.encode());
  w.u32(static_cast<uint32_t>(tx_encodings.size()));
  for (const auto &tx : tx_encodings)
    w.blob(tx);
  return w.take();
}

BlockHeader payload_header(ByteView payload) {
  if (payload.size() < kHeaderBytes) throw DecodeError("block payload shorter than a header");
  return BlockHeader::decode(payload.first(kHeaderBytes));
}

BlockPayload decode_block_payload(ByteView payload) {
  BlockPayload out;
  out.header = payload_header(payload);
  Reader r(payload.subspan(kHeaderBytes));
  uint32_t count = r.u32("transaction count");
  if (count > kMaxPayloadTxs) throw DecodeError("block payload holds too many transactions");
  if (count != out.header.tx_count) throw DecodeError("block payload's transaction count differs from its header's");
  out.txs.reserve(std::min<size_t>(count, r.remaining() / 4));
  for (uint32_t i = 0; i < count; ++i)
    out.txs.push_back(Transaction::decode(r.blob(kMaxTxBytes, "transaction")));
  r.expect_end("block payload");
  return out;
}

} // namespace weft::refchain
