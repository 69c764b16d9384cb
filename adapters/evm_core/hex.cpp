#include "hex.h"

#include "keccak.h"

#include <algorithm>

namespace weft::evm {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error bad(std::string message) {
  return Error{code::kChainInvalidArgument, std::move(message)};
}

std::string_view strip_0x(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  return text;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 80;
  if (text.size() <= kShown) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, kShown)) + "...\" (" + std::to_string(text.size()) + " characters)";
}

} // namespace

std::string to_hex(std::span<const std::uint8_t> data) {
  std::string out = "0x";
  out.reserve(2 + 2 * data.size());
  for (auto b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Result<Bytes> from_hex(std::string_view text) {
  std::string_view digits = strip_0x(text);
  if (digits.size() % 2 != 0)
    return bad("hex " + quoted(text) + " has an odd number of digits (" + std::to_string(digits.size()) +
               "); write two digits per byte");
  Bytes out;
  out.reserve(digits.size() / 2);
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    int hi = nibble(digits[i]), lo = nibble(digits[i + 1]);
    if (hi < 0 || lo < 0) {
      std::size_t at = (hi < 0 ? i : i + 1) + (text.size() - digits.size());
      return bad("hex " + quoted(text) + " has a non-hex character at position " + std::to_string(at));
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

Result<Address> parse_address(std::string_view text) {
  std::string_view digits = strip_0x(text);
  if (digits.size() != 40)
    return bad("address " + quoted(text) + " has " + std::to_string(digits.size()) + " hex digits; it needs 40");
  auto bytes = from_hex(digits);
  if (!bytes.ok()) return bad("address " + quoted(text) + " is not hex");
  Address a;
  std::copy(bytes->begin(), bytes->end(), a.begin());
  bool lower = false, upper = false;
  for (char c : digits) {
    lower |= (c >= 'a' && c <= 'f');
    upper |= (c >= 'A' && c <= 'F');
  }
  if (lower && upper && std::string_view(checksum_address(a)).substr(2) != digits)
    return bad("address " + quoted(text) + " has a wrong EIP-55 checksum (mixed case); the checksummed form is " +
               checksum_address(a) + ", or write it all in lowercase");
  return a;
}

std::string lower_address(const Address &a) {
  return to_hex(a);
}

std::string checksum_address(const Address &a) {
  std::string out = lower_address(a);
  Hash256 h = keccak256(std::string_view(out).substr(2));
  for (std::size_t i = 0; i < 40; ++i) {
    char &c = out[2 + i];
    int n = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 15);
    if (c >= 'a' && c <= 'f' && n >= 8) c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

} // namespace weft::evm
