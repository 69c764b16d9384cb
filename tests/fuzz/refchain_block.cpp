// Block headers, block payloads (a proposal's or block sync's block) and receipts of the reference chain, as peers
// and nodes send them. The first byte picks the decoder; each takes only canonical encodings, so whatever decodes
// must encode back to exactly the input.
#include "fuzz_check.h"

#include "block_payload.h"
#include "error.h"
#include "receipt.h"

using namespace weft::refchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  Bytes input(in.begin(), in.end());
  try {
    switch (data[0] % 3) {
    case 0: {
      BlockHeader h = BlockHeader::decode(in);
      FUZZ_CHECK(h.encode() == input, "header: encode(decode(bytes)) differs from the bytes");
      break;
    }
    case 1: {
      BlockPayload p = decode_block_payload(in);
      std::vector<Bytes> txs;
      for (const auto &tx : p.txs)
        txs.push_back(tx.encode());
      FUZZ_CHECK(encode_block_payload(p.header, txs) == input, "payload: encode(decode(bytes)) differs from the bytes");
      FUZZ_CHECK(payload_header(in).encode() == p.header.encode(), "payload: the header alone differs");
      break;
    }
    default: {
      Receipt r = Receipt::decode(in);
      FUZZ_CHECK(r.encode() == input, "receipt: encode(decode(bytes)) differs from the bytes");
      break;
    }
    }
  } catch (const DecodeError &) {
  }
  return 0;
}
