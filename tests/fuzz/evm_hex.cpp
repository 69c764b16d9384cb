// Hex text and addresses as EVM nodes and RPC clients write them: from_hex and to_hex invert each other, and an
// address that parses gives back its own lowercase and checksummed forms.
#include "fuzz_check.h"

#include "hex.h"

#include <cctype>
#include <string>
#include <string_view>

using namespace weft::evm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);

  auto bytes = from_hex(text);
  if (bytes.ok()) {
    std::string hex = to_hex(*bytes);
    std::string_view digits = text.starts_with("0x") || text.starts_with("0X") ? text.substr(2) : text;
    std::string lower;
    for (char c : digits)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(hex == "0x" + lower, "to_hex(from_hex(text)) is not the text in lowercase");
    auto again = from_hex(hex);
    FUZZ_CHECK(again.ok() && *again == *bytes, "from_hex(to_hex(bytes)) differs");
  }

  auto address = parse_address(text);
  if (address.ok()) {
    auto lower = parse_address(lower_address(*address));
    FUZZ_CHECK(lower.ok() && *lower == *address, "the lowercase form of an address does not parse back");
    auto checksummed = parse_address(checksum_address(*address));
    FUZZ_CHECK(checksummed.ok() && *checksummed == *address, "the checksummed form of an address does not parse back");
  }
  return 0;
}
