// RLP from EVM and FISCO BCOS 2.x nodes: the decoder takes only canonical encodings, so whatever it accepts must
// encode back to exactly the input.
#include "fuzz_check.h"

#include "rlp.h"

using namespace weft::evm;

namespace {
rlp::Bytes encode(const rlp::Item &item) {
  if (!item.is_list) return rlp::encode_bytes(item.bytes);
  std::vector<rlp::Bytes> parts;
  for (const auto &child : item.items)
    parts.push_back(encode(child));
  return rlp::encode_list(parts);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto item = rlp::decode(in);
  if (!item.ok()) return 0;
  rlp::Bytes out = encode(*item);
  FUZZ_CHECK(out == rlp::Bytes(in.begin(), in.end()), "encode(decode(bytes)) differs from the bytes");
  return 0;
}
