// Consensus messages between validators, read before any signature is checked: the first byte picks a message, a
// commit certificate, or a prepared certificate as the saved vote state holds it. Every decoder takes only canonical
// encodings, so whatever decodes must encode back to exactly the input.
#include "fuzz_check.h"

#include "bft/engine.h"
#include "bft/messages.h"
#include "error.h"

using namespace weft::refchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  Bytes input(in.begin(), in.end());
  try {
    switch (data[0] % 3) {
    case 0: {
      bft::Message m = bft::Message::decode(in, 1 << 20);
      FUZZ_CHECK(m.encode() == input, "message: encode(decode(bytes)) differs from the bytes");
      (void)m.digest();
      break;
    }
    case 1: {
      bft::CommitCert c = bft::decode_cert(in);
      FUZZ_CHECK(bft::encode_cert(c) == input, "certificate: encode(decode(bytes)) differs from the bytes");
      break;
    }
    default: {
      Reader r(in);
      auto prepared = bft::read_prepared(r);
      r.expect_end("prepared certificate");
      Writer w;
      bft::write_prepared(w, prepared);
      FUZZ_CHECK(w.bytes() == input, "prepared: encode(decode(bytes)) differs from the bytes");
      break;
    }
    }
  } catch (const DecodeError &) {
  }
  return 0;
}
