// FISCO BCOS transactions as a node or a hostile peer could hand them over: 3.x TARS (a struct of structs, tags in any
// order, unknown tags skipped) and 2.x RLP. Whatever decodes must encode again, and that encoding must decode to the
// same transaction byte for byte; hashing it must not fail.
#include "fuzz_check.h"

#include "bcos_tx.h"

using namespace weft::bcos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> in(data, size);
  (void)tars::read_struct(in);
  if (auto tx = decode_tx(in); tx.ok()) {
    Bytes once = encode(*tx);
    auto again = decode_tx(once);
    FUZZ_CHECK(again.ok(), "a decoded 3.x transaction does not decode after encoding");
    FUZZ_CHECK(encode(*again) == once, "encode(decode(encode(tx))) differs from encode(tx)");
    (void)data_hash(tx->data, Crypto::Ecdsa);
    (void)data_hash(tx->data, Crypto::Sm);
  }
  if (auto d = decode_data(in); d.ok()) {
    Bytes once = encode(*d);
    auto again = decode_data(once);
    FUZZ_CHECK(again.ok(), "decoded 3.x transaction data does not decode after encoding");
    FUZZ_CHECK(encode(*again) == once, "encode(decode(encode(data))) differs from encode(data)");
  }
  (void)decode_signed(in);
  return 0;
}
