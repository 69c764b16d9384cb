// Hex text and addresses as EVM JSON-RPC and WeCross arguments carry them: "0x"-prefixed lowercase hex out, any case
// in, and EIP-55 mixed-case checksums checked whenever a caller bothered to write one.
#pragma once

#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::evm {

using Bytes = std::vector<std::uint8_t>;
using Address = std::array<std::uint8_t, 20>;

// "0x" followed by two lowercase hex digits per byte; "0x" for no bytes.
std::string to_hex(std::span<const std::uint8_t> data);
// "0x" is optional; the digits must be of even count, in either case. Errors say what was wrong and where.
Result<Bytes> from_hex(std::string_view text);

// 40 hex digits, "0x" optional. All-lowercase and all-uppercase are taken as they are; mixed case must be a valid
// EIP-55 checksum, else it is refused (a mistyped address is far likelier than a deliberate odd casing).
Result<Address> parse_address(std::string_view text);
// EIP-55: "0x" + hex digits, each letter uppercased when the matching nibble of keccak256(lowercase hex) is >= 8.
std::string checksum_address(const Address &a);
std::string lower_address(const Address &a);

} // namespace weft::evm
