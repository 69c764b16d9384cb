// Transactions of the reference chain as clients submit them and peers gossip them: the decoder takes only the
// canonical encoding, so whatever it accepts must encode back to exactly the input.
#include "fuzz_check.h"

#include "error.h"
#include "transaction.h"

using namespace weft::refchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ByteView in(data, size);
  try {
    Transaction tx = Transaction::decode(in);
    FUZZ_CHECK(tx.encode() == Bytes(in.begin(), in.end()), "encode(decode(bytes)) differs from the bytes");
  } catch (const DecodeError &) {
  }
  return 0;
}
