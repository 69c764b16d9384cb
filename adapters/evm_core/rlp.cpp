#include "rlp.h"

namespace weft::evm::rlp {

namespace {

constexpr int kMaxDepth = 64;

Bytes length_prefix(std::size_t len, std::uint8_t short_base, std::uint8_t long_base) {
  if (len <= 55) return Bytes{static_cast<std::uint8_t>(short_base + len)};
  Bytes be;
  for (std::size_t v = len; v > 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v & 0xff));
  Bytes out{static_cast<std::uint8_t>(long_base + be.size())};
  out.insert(out.end(), be.begin(), be.end());
  return out;
}

Error bad(const std::string &why) { return Error{code::kChainInternal, "malformed RLP: " + why}; }

// Decodes one item at data[pos..end) and advances pos past it.
Result<Item> decode_at(std::span<const std::uint8_t> data, std::size_t &pos, std::size_t end, int depth) {
  if (depth > kMaxDepth) return bad("nested deeper than " + std::to_string(kMaxDepth) + " lists");
  if (pos >= end) return bad("an item is missing at offset " + std::to_string(pos));
  std::uint8_t b = data[pos];
  Item item;
  std::size_t len = 0, header = 1;
  if (b < 0x80) {
    item.bytes.push_back(b);
    pos += 1;
    return item;
  }
  auto long_length = [&](std::size_t n) -> Result<std::size_t> {
    if (pos + 1 + n > end) return bad("a length runs past the end");
    if (data[pos + 1] == 0) return bad("a length has a leading zero");
    std::size_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data[pos + 1 + i];
    if (v <= 55) return bad("a long length encodes " + std::to_string(v) + ", which has a short form");
    return v;
  };
  if (b <= 0xb7) {
    len = b - 0x80;
  } else if (b <= 0xbf) {
    std::size_t n = b - 0xb7;
    if (n > 8) return bad("a length of more than 8 bytes");
    auto l = long_length(n);
    if (!l.ok()) return l.error();
    len = *l;
    header = 1 + n;
  } else if (b <= 0xf7) {
    item.is_list = true;
    len = b - 0xc0;
  } else {
    item.is_list = true;
    std::size_t n = b - 0xf7;
    if (n > 8) return bad("a length of more than 8 bytes");
    auto l = long_length(n);
    if (!l.ok()) return l.error();
    len = *l;
    header = 1 + n;
  }
  if (len > end - pos - header) return bad("an item of " + std::to_string(len) + " bytes runs past the end");
  std::size_t start = pos + header, stop = start + len;
  if (!item.is_list) {
    if (len == 1 && data[start] < 0x80) return bad("a single byte below 0x80 must encode itself");
    item.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(start), data.begin() + static_cast<std::ptrdiff_t>(stop));
    pos = stop;
    return item;
  }
  std::size_t p = start;
  while (p < stop) {
    auto child = decode_at(data, p, stop, depth + 1);
    if (!child.ok()) return child.error();
    item.items.push_back(std::move(*child));
  }
  pos = stop;
  return item;
}

} // namespace

Bytes encode_bytes(std::span<const std::uint8_t> data) {
  if (data.size() == 1 && data[0] < 0x80) return Bytes{data[0]};
  Bytes out = length_prefix(data.size(), 0x80, 0xb7);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes encode_uint(std::uint64_t v) {
  Bytes be;
  for (; v > 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v & 0xff));
  return encode_bytes(be);
}

Bytes encode_uint(const U256 &v) { return encode_bytes(v.to_be_minimal()); }

Bytes encode_list(const std::vector<Bytes> &items) {
  std::size_t total = 0;
  for (const auto &i : items) total += i.size();
  Bytes out = length_prefix(total, 0xc0, 0xf7);
  for (const auto &i : items) out.insert(out.end(), i.begin(), i.end());
  return out;
}

Result<Item> decode(std::span<const std::uint8_t> data) {
  std::size_t pos = 0;
  auto item = decode_at(data, pos, data.size(), 0);
  if (!item.ok()) return item.error();
  if (pos != data.size()) return bad(std::to_string(data.size() - pos) + " bytes follow the item");
  return item;
}

} // namespace weft::evm::rlp
