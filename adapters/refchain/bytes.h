// Byte strings, hex text and the bounds-checked reader/writer behind every canonical encoding of the chain.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::refchain {

using Bytes = std::vector<uint8_t>;
using Hash = std::array<uint8_t, 32>;
using ByteView = std::span<const uint8_t>;

inline ByteView view(std::string_view s) { return {reinterpret_cast<const uint8_t *>(s.data()), s.size()}; }

// "0x"-prefixed lowercase hex.
std::string to_hex(ByteView bytes);
// Accepts "0x"-prefixed or bare hex of either case; throws DecodeError on anything else.
Bytes from_hex(std::string_view text);
// Exactly 32 bytes of hex, for hashes named in requests.
Hash hash_from_hex(std::string_view text);

// Appends big-endian integers and length-prefixed fields; the encoding is the canonical one (one byte string per
// value).
class Writer {
public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void raw(ByteView bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  void str(std::string_view s); // u32 length + bytes
  void blob(ByteView b);        // u32 length + bytes
  const Bytes &bytes() const { return out_; }
  Bytes take() { return std::move(out_); }

private:
  Bytes out_;
};

// Reads what Writer wrote. Every read checks the remaining length first, so hostile input can neither overrun the
// buffer nor make us allocate more than it holds; `what` names the field in the error message.
class Reader {
public:
  explicit Reader(ByteView in) : in_(in) {}
  uint8_t u8(const char *what);
  uint32_t u32(const char *what);
  uint64_t u64(const char *what);
  ByteView raw(size_t n, const char *what);
  template <size_t N> std::array<uint8_t, N> fixed(const char *what) {
    auto v = raw(N, what);
    std::array<uint8_t, N> a{};
    std::copy(v.begin(), v.end(), a.begin());
    return a;
  }
  std::string str(size_t max, const char *what);
  Bytes blob(size_t max, const char *what);
  size_t remaining() const { return in_.size() - pos_; }
  // Rejects trailing bytes: a canonical encoding has exactly one byte string per value.
  void expect_end(const char *what) const;

private:
  ByteView in_;
  size_t pos_ = 0;
};

} // namespace weft::refchain
