// Base64 as login requests carry it (public keys, ciphertexts): the strict decoder accepts exactly one text per byte
// string, so whatever it accepts must encode back to the input.
#include "fuzz_check.h"

#include "encoding.h"

#include <string_view>

using namespace weft::auth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  auto bytes = base64_decode(text);
  if (bytes) FUZZ_CHECK(base64_encode(*bytes) == text, "base64_encode(base64_decode(text)) differs from the text");
  auto again = base64_decode(base64_encode(std::span(data, size)));
  FUZZ_CHECK(again && *again == std::vector<uint8_t>(data, data + size), "base64_decode(base64_encode(bytes)) differs");
  return 0;
}
