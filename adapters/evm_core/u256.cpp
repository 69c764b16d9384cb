#include "u256.h"

#include <algorithm>

namespace weft::evm {

namespace {

Error bad(std::string message) {
  return Error{code::kChainInvalidArgument, std::move(message)};
}

std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 80;
  if (text.size() <= kShown) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, kShown)) + "...\"";
}

// v = v * m + add; false when the result does not fit in 256 bits.
bool mul_add_small(U256 &v, unsigned m, unsigned add) {
  unsigned carry = add;
  for (int i = 31; i >= 0; --i) {
    unsigned x = v.be[i] * m + carry;
    v.be[i] = static_cast<std::uint8_t>(x & 0xff);
    carry = x >> 8;
  }
  return carry == 0;
}

// v = v / d, returns the remainder.
unsigned div_small(U256 &v, unsigned d) {
  unsigned rem = 0;
  for (auto &b : v.be) {
    unsigned x = rem << 8 | b;
    b = static_cast<std::uint8_t>(x / d);
    rem = x % d;
  }
  return rem;
}

} // namespace

Result<U256> U256::from_decimal(std::string_view text) {
  if (text.empty()) return bad("an empty string is not a number");
  U256 v;
  for (char c : text) {
    if (c < '0' || c > '9') return bad(shown(text) + " is not a decimal number");
    if (!mul_add_small(v, 10, static_cast<unsigned>(c - '0'))) return bad(shown(text) + " is above 2^256-1");
  }
  return v;
}

Result<U256> U256::from_hex(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
  if (digits.empty()) return bad(shown(text) + " has no hex digits");
  U256 v;
  for (char c : digits) {
    unsigned n;
    if (c >= '0' && c <= '9')
      n = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      n = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      n = static_cast<unsigned>(c - 'A' + 10);
    else
      return bad(shown(text) + " is not a hex number");
    if (!mul_add_small(v, 16, n)) return bad(shown(text) + " is above 2^256-1");
  }
  return v;
}

Result<U256> U256::parse(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) return from_hex(text);
  return from_decimal(text);
}

U256 U256::from_u64(std::uint64_t v) {
  U256 out;
  for (int i = 31; i >= 24; --i, v >>= 8)
    out.be[i] = static_cast<std::uint8_t>(v & 0xff);
  return out;
}

Result<U256> U256::from_be_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > 32) return bad("an integer of " + std::to_string(bytes.size()) + " bytes is wider than 256 bits");
  U256 out;
  std::copy(bytes.begin(), bytes.end(), out.be.begin() + static_cast<std::ptrdiff_t>(32 - bytes.size()));
  return out;
}

std::string U256::to_decimal() const {
  if (is_zero()) return "0";
  U256 v = *this;
  std::string out;
  while (!v.is_zero())
    out += static_cast<char>('0' + div_small(v, 10));
  std::reverse(out.begin(), out.end());
  return out;
}

std::string U256::to_hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (auto b : be) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  std::size_t first = out.find_first_not_of('0', 2);
  if (first == std::string::npos) return "0x0";
  return "0x" + out.substr(first);
}

std::vector<std::uint8_t> U256::to_be_minimal() const {
  auto first = std::find_if(be.begin(), be.end(), [](std::uint8_t b) { return b != 0; });
  return std::vector<std::uint8_t>(first, be.end());
}

bool U256::is_zero() const {
  return std::all_of(be.begin(), be.end(), [](std::uint8_t b) { return b == 0; });
}

bool U256::fits_u64() const {
  return std::all_of(be.begin(), be.begin() + 24, [](std::uint8_t b) { return b == 0; });
}

std::uint64_t U256::low_u64() const {
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i)
    v = v << 8 | be[i];
  return v;
}

unsigned U256::bit_length() const {
  for (unsigned i = 0; i < 32; ++i) {
    if (be[i] == 0) continue;
    unsigned bits = 0;
    for (unsigned b = be[i]; b != 0; b >>= 1)
      ++bits;
    return (31 - i) * 8 + bits;
  }
  return 0;
}

U256 wrapping_add(const U256 &a, const U256 &b) {
  U256 out;
  unsigned carry = 0;
  for (int i = 31; i >= 0; --i) {
    unsigned x = a.be[i] + b.be[i] + carry;
    out.be[i] = static_cast<std::uint8_t>(x & 0xff);
    carry = x >> 8;
  }
  return out;
}

U256 wrapping_sub(const U256 &a, const U256 &b) {
  U256 out;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int x = a.be[i] - b.be[i] - borrow;
    borrow = x < 0;
    out.be[i] = static_cast<std::uint8_t>(x & 0xff);
  }
  return out;
}

U256 wrapping_neg(const U256 &a) {
  return wrapping_sub(U256{}, a);
}

std::optional<U256> checked_add(const U256 &a, const U256 &b) {
  U256 out = wrapping_add(a, b);
  if (out < a) return std::nullopt;
  return out;
}

std::optional<U256> checked_sub(const U256 &a, const U256 &b) {
  if (a < b) return std::nullopt;
  return wrapping_sub(a, b);
}

std::optional<U256> checked_mul(const U256 &a, const U256 &b) {
  // Schoolbook on bytes, little-endian index k = 31 - i; any product byte at or above 32 is an overflow.
  std::array<unsigned, 64> acc{};
  for (int i = 0; i < 32; ++i) {
    if (a.be[31 - i] == 0) continue;
    for (int j = 0; j < 32; ++j)
      acc[i + j] += static_cast<unsigned>(a.be[31 - i]) * b.be[31 - j];
    // Normalise as we go so no slot can overflow 32 bits.
    unsigned carry = 0;
    for (auto &x : acc) {
      x += carry;
      carry = x >> 8;
      x &= 0xff;
    }
  }
  U256 out;
  for (int k = 0; k < 64; ++k) {
    if (k >= 32) {
      if (acc[k] != 0) return std::nullopt;
    } else {
      out.be[31 - k] = static_cast<std::uint8_t>(acc[k]);
    }
  }
  return out;
}

} // namespace weft::evm
