#include "bytes.h"

#include "error.h"

#include <weft/text.hpp>

namespace weft::refchain {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
using text::hex_value;
} // namespace

std::string to_hex(ByteView bytes) {
  std::string s = "0x";
  s.reserve(2 + bytes.size() * 2);
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Bytes from_hex(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() % 2 != 0) throw DecodeError("hex text has an odd number of digits");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) throw DecodeError("hex text has a character that is not a hex digit");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Hash hash_from_hex(std::string_view text) {
  Bytes b = from_hex(text);
  if (b.size() != 32) throw DecodeError("a hash is 32 bytes (64 hex digits), got " + std::to_string(b.size()));
  Hash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

void Writer::u32(uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out_.push_back(static_cast<uint8_t>(v >> s));
}

void Writer::u64(uint64_t v) {
  for (int s = 56; s >= 0; s -= 8)
    out_.push_back(static_cast<uint8_t>(v >> s));
}

void Writer::str(std::string_view s) { blob(view(s)); }

void Writer::blob(ByteView b) {
  if (b.size() > UINT32_MAX) throw Error(WEFT_E_INVALID_ARGUMENT, "field longer than 4 GiB cannot be encoded");
  u32(static_cast<uint32_t>(b.size()));
  raw(b);
}

ByteView Reader::raw(size_t n, const char *what) {
  if (n > remaining())
    throw DecodeError(std::string("truncated input: ") + what + " needs " + std::to_string(n) + " bytes, " +
                      std::to_string(remaining()) + " left");
  ByteView v = in_.subspan(pos_, n);
  pos_ += n;
  return v;
}

uint8_t Reader::u8(const char *what) { return raw(1, what)[0]; }

uint32_t Reader::u32(const char *what) {
  auto b = raw(4, what);
  uint32_t v = 0;
  for (uint8_t x : b)
    v = v << 8 | x;
  return v;
}

uint64_t Reader::u64(const char *what) {
  auto b = raw(8, what);
  uint64_t v = 0;
  for (uint8_t x : b)
    v = v << 8 | x;
  return v;
}

std::string Reader::str(size_t max, const char *what) {
  auto b = blob(max, what);
  return std::string(b.begin(), b.end());
}

Bytes Reader::blob(size_t max, const char *what) {
  uint32_t n = u32(what);
  if (n > max)
    throw DecodeError(std::string("oversized field: ") + what + " is " + std::to_string(n) + " bytes, limit " +
                      std::to_string(max));
  auto b = raw(n, what);
  return Bytes(b.begin(), b.end());
}

void Reader::expect_end(const char *what) const {
  if (remaining() != 0)
    throw DecodeError(std::string("trailing garbage: ") + std::to_string(remaining()) + " bytes after the " + what);
}

} // namespace weft::refchain
