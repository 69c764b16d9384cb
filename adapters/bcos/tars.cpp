#include "tars.h"

namespace weft::bcos::tars {

namespace {

void put_be(Bytes &out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Error bad(std::size_t at, const std::string &what) {
  return Error{0, "malformed TARS at byte " + std::to_string(at) + ": " + what};
}

struct Reader {
  std::span<const std::uint8_t> d;
  std::size_t pos = 0;

  bool have(std::size_t n) const { return d.size() - pos >= n; }
  std::uint64_t be(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v = (v << 8) | d[pos++];
    return v;
  }
  // A head: tag and type.
  Result<std::pair<unsigned, Type>> head() {
    if (!have(1)) return bad(pos, "a field head is cut short");
    const std::uint8_t b = d[pos++];
    unsigned tag = b >> 4;
    const auto type = static_cast<Type>(b & 0x0f);
    if (tag == 15) {
      if (!have(1)) return bad(pos, "a long tag is cut short");
      tag = d[pos++];
    }
    return std::pair{tag, type};
  }
  Result<std::int64_t> integer(Type t) {
    static constexpr int kWidth[] = {1, 2, 4, 8};
    if (t == kZero) return std::int64_t{0};
    if (t > kInt64) return bad(pos, "expected an integer, found type " + std::to_string(t));
    const int n = kWidth[t];
    if (!have(n)) return bad(pos, "an integer is cut short");
    const std::uint64_t raw = be(n);
    // Sign-extend from n bytes.
    const int shift = 64 - 8 * n;
    return static_cast<std::int64_t>(raw << shift) >> shift;
  }
  // Reads one value of type t into f (for structs: the raw body, and skips past its end).
  Status value(Type t, Field &f, int depth) {
    if (depth > 16) return bad(pos, "nesting is too deep");
    f.type = t;
    switch (t) {
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64:
    case kZero: {
      auto v = integer(t);
      if (!v) return v.error();
      f.integer = *v;
      return Ok{};
    }
    case kFloat:
    case kDouble: {
      const std::size_t n = t == kFloat ? 4 : 8;
      if (!have(n)) return bad(pos, "a number is cut short");
      pos += n;
      return Ok{};
    }
    case kString1:
    case kString4: {
      const int n = t == kString1 ? 1 : 4;
      if (!have(n)) return bad(pos, "a string length is cut short");
      const std::uint64_t len = be(n);
      if (!have(len)) return bad(pos, "a string of " + std::to_string(len) + " bytes runs past the end");
      f.bytes.assign(d.begin() + pos, d.begin() + pos + len);
      pos += len;
      return Ok{};
    }
    case kSimpleList: {
      auto h = head();
      if (!h) return h.error();
      if (h->second != kInt8) return bad(pos, "a byte vector whose elements are not bytes");
      auto lh = head();
      if (!lh) return lh.error();
      auto len = integer(lh->second);
      if (!len) return len.error();
      if (*len < 0 || !have(static_cast<std::size_t>(*len))) return bad(pos, "a byte vector runs past the end");
      f.bytes.assign(d.begin() + pos, d.begin() + pos + *len);
      pos += static_cast<std::size_t>(*len);
      return Ok{};
    }
    case kList:
    case kMap: {
      auto lh = head();
      if (!lh) return lh.error();
      auto len = integer(lh->second);
      if (!len) return len.error();
      if (*len < 0 || *len > static_cast<std::int64_t>(d.size())) return bad(pos, "a list length is out of range");
      const std::int64_t items = t == kMap ? *len * 2 : *len;
      for (std::int64_t i = 0; i < items; ++i) {
        auto eh = head();
        if (!eh) return eh.error();
        Field skip;
        if (auto s = value(eh->second, skip, depth + 1); !s) return s;
      }
      return Ok{};
    }
    case kStructBegin: {
      const std::size_t start = pos;
      std::size_t end = pos; // where the end marker's head starts: one byte, or two for a tag of 15 or more
      for (;;) {
        end = pos;
        auto h = head();
        if (!h) return h.error();
        if (h->second == kStructEnd) break;
        Field skip;
        if (auto s = value(h->second, skip, depth + 1); !s) return s;
      }
      f.bytes.assign(d.begin() + start, d.begin() + end);
      return Ok{};
    }
    default:
      return bad(pos, "unknown type " + std::to_string(t));
    }
  }
};

} // namespace

void Writer::head(unsigned tag, Type type) {
  if (tag < 15) {
    out_.push_back(static_cast<std::uint8_t>((tag << 4) | type));
  } else {
    out_.push_back(static_cast<std::uint8_t>(0xf0 | type));
    out_.push_back(static_cast<std::uint8_t>(tag));
  }
}

void Writer::int_field(unsigned tag, std::int64_t v) {
  if (v == 0) {
    head(tag, kZero);
  } else if (v >= INT8_MIN && v <= INT8_MAX) {
    head(tag, kInt8);
    put_be(out_, static_cast<std::uint64_t>(v), 1);
  } else if (v >= INT16_MIN && v <= INT16_MAX) {
    head(tag, kInt16);
    put_be(out_, static_cast<std::uint64_t>(v), 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    head(tag, kInt32);
    put_be(out_, static_cast<std::uint64_t>(v), 4);
  } else {
    head(tag, kInt64);
    put_be(out_, static_cast<std::uint64_t>(v), 8);
  }
}

void Writer::string_field(unsigned tag, std::string_view s) {
  if (s.size() <= 255) {
    head(tag, kString1);
    put_be(out_, s.size(), 1);
  } else {
    head(tag, kString4);
    put_be(out_, s.size(), 4);
  }
  out_.insert(out_.end(), s.begin(), s.end());
}

void Writer::bytes_field(unsigned tag, std::span<const std::uint8_t> b) {
  head(tag, kSimpleList);
  head(0, kInt8);
  int_field(0, static_cast<std::int64_t>(b.size()));
  out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::struct_begin(unsigned tag) {
  head(tag, kStructBegin);
}
void Writer::struct_end() {
  head(0, kStructEnd);
}

Result<std::vector<Field>> read_struct(std::span<const std::uint8_t> data) {
  Reader r{data};
  std::vector<Field> fields;
  while (r.pos < data.size()) {
    auto h = r.head();
    if (!h) return h.error();
    if (h->second == kStructEnd) {
      if (r.pos != data.size()) return bad(r.pos, "bytes after the struct's end");
      break;
    }
    Field f;
    f.tag = h->first;
    if (auto s = r.value(h->second, f, 0); !s) return s.error();
    fields.push_back(std::move(f));
  }
  return fields;
}

} // namespace weft::bcos::tars
