#include "block.h"

#include "error.h"
#include "merkle.h"

namespace weft::refchain {

Bytes BlockHeader::encode() const {
  Writer w;
  w.u8(version);
  w.u64(chain_id);
  w.u64(number);
  w.raw(parent_hash);
  w.u64(timestamp_ms);
  w.raw(proposer);
  w.u32(tx_count);
  w.raw(tx_root);
  w.raw(receipt_root);
  w.raw(state_hash);
  return w.take();
}

BlockHeader BlockHeader::decode(ByteView bytes) {
  Reader r(bytes);
  BlockHeader h;
  h.version = r.u8("header version");
  if (h.version != kBlockVersion) throw DecodeError("unknown block header version " + std::to_string(h.version));
  h.chain_id = r.u64("chain_id");
  h.number = r.u64("number");
  h.parent_hash = r.fixed<32>("parent_hash");
  h.timestamp_ms = r.u64("timestamp_ms");
  h.proposer = r.fixed<20>("proposer");
  h.tx_count = r.u32("tx_count");
  h.tx_root = r.fixed<32>("tx_root");
  h.receipt_root = r.fixed<32>("receipt_root");
  h.state_hash = r.fixed<32>("state_hash");
  r.expect_end("block header");
  return h;
}

BlockHeader genesis_header(uint64_t chain_id) {
  BlockHeader h;
  h.chain_id = chain_id;
  h.tx_root = merkle_root(std::vector<Hash>{});
  h.receipt_root = merkle_root(std::vector<Hash>{});
  Writer w;
  w.raw(view("weft-refchain genesis"));
  w.u64(chain_id);
  h.state_hash = sha256(w.bytes());
  return h;
}

} // namespace weft::refchain
