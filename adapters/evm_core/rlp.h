// RLP, Ethereum's recursive length prefix encoding, as transactions and receipts of EVM chains and FISCO BCOS 2.x use
// it. Encoding builds items; decoding refuses anything non-canonical or out of bounds with a clear error, since the
// bytes come from chains the router does not control.
#pragma once

#include "u256.h"

#include <weft/error.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace weft::evm::rlp {

using Bytes = std::vector<std::uint8_t>;

// A decoded item: a byte string, or a list of items.
struct Item {
  bool is_list = false;
  Bytes bytes;             // when !is_list
  std::vector<Item> items; // when is_list
};

Bytes encode_bytes(std::span<const std::uint8_t> data);
inline Bytes encode_string(std::string_view s) {
  return encode_bytes(std::span(reinterpret_cast<const std::uint8_t *>(s.data()), s.size()));
}
// An unsigned integer: big-endian without leading zeros; 0 is the empty string.
Bytes encode_uint(std::uint64_t v);
Bytes encode_uint(const U256 &v);
// A list of already-encoded items.
Bytes encode_list(const std::vector<Bytes> &encoded_items);

// Decodes exactly one item that fills the whole input. Depth is bounded so hostile nesting cannot exhaust the stack.
Result<Item> decode(std::span<const std::uint8_t> data);

} // namespace weft::evm::rlp
