// A 256-bit unsigned integer, the EVM's word: big-endian bytes as the ABI and RLP lay it out, with the parsing,
// printing and checked arithmetic that amounts, gas prices and ABI integers need. No general big-number library.
#pragma once

#include <weft/error.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::evm {

struct U256 {
  std::array<std::uint8_t, 32> be{}; // big-endian

  // Decimal digits only (no sign, no spaces); refused when empty or above 2^256-1.
  static Result<U256> from_decimal(std::string_view text);
  // Hex digits, "0x" optional, at most 64 significant digits; any case.
  static Result<U256> from_hex(std::string_view text);
  // "0x..." as hex, otherwise decimal.
  static Result<U256> parse(std::string_view text);
  static U256 from_u64(std::uint64_t v);
  // At most 32 big-endian bytes, right-aligned (leading zeros allowed); more than 32 is refused.
  static Result<U256> from_be_bytes(std::span<const std::uint8_t> bytes);

  std::string to_decimal() const;
  // "0x" + lowercase hex without leading zeros; "0x0" for zero (the JSON-RPC QUANTITY form).
  std::string to_hex() const;
  // Big-endian bytes without leading zeros; empty for zero (RLP's integer form).
  std::vector<std::uint8_t> to_be_minimal() const;

  bool is_zero() const;
  bool fits_u64() const;
  std::uint64_t low_u64() const; // the low 64 bits
  // Bits needed to write the value (0 for zero).
  unsigned bit_length() const;

  friend auto operator<=>(const U256 &, const U256 &) = default;
  friend bool operator==(const U256 &, const U256 &) = default;
};

// Arithmetic modulo 2^256 (what the EVM does) and checked forms that refuse to wrap.
U256 wrapping_add(const U256 &a, const U256 &b);
U256 wrapping_sub(const U256 &a, const U256 &b);
U256 wrapping_neg(const U256 &a); // two's complement: 2^256 - a
std::optional<U256> checked_add(const U256 &a, const U256 &b);
std::optional<U256> checked_sub(const U256 &a, const U256 &b);
std::optional<U256> checked_mul(const U256 &a, const U256 &b);

} // namespace weft::evm
