// Return data and revert data from EVM and FISCO BCOS nodes, decoded by the types of the contract's ABI. The input is
// a type list written as Solidity does, "(uint8,string[])", a newline, then the data. Whatever decodes must encode
// back to data that decodes to the same values (offsets may differ: a node need not write them canonically).
#include "fuzz_check.h"

#include "abi.h"

#include <string_view>

using namespace weft::evm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> in(data, size);
  (void)abi::decode_revert(in);

  std::string_view text(reinterpret_cast<const char *>(data), size);
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return 0;
  auto type = abi::parse_type(text.substr(0, nl));
  if (!type.ok() || type->kind != abi::Type::Kind::Tuple) return 0;
  FUZZ_CHECK(abi::parse_type(type->canonical()).ok(), "a type's canonical name does not parse");
  FUZZ_CHECK(abi::parse_type(type->canonical())->canonical() == type->canonical(), "canonical names differ");

  std::vector<abi::Param> params;
  for (const auto &c : type->components)
    params.push_back(abi::Param{"", c, false});
  auto body = in.subspan(nl + 1);
  auto values = abi::decode_values(params, body);
  if (!values.ok()) return 0;
  auto encoded = abi::encode_args(params, *values);
  FUZZ_CHECK(encoded.ok(), "decoded values do not encode");
  auto again = abi::decode_values(params, *encoded);
  FUZZ_CHECK(again.ok(), "the encoding of decoded values does not decode");
  FUZZ_CHECK(*again == *values, "decode(encode(decode(data))) differs from decode(data)");
  return 0;
}
