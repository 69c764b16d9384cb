// The part of TARS (Tencent's tag-length-value encoding) that FISCO BCOS 3.x transactions use: integers, strings,
// byte vectors (TARS's "simple list") and nested structs. A field is a head — tag and type in one byte, or two for
// tags of 15 and more — then its value, big-endian. Writers omit fields that hold their default value; the reader
// accepts fields in any presence and skips tags it does not know, lists and maps included.
#pragma once

#include <weft/error.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::bcos::tars {

using Bytes = std::vector<std::uint8_t>;

enum Type : std::uint8_t {
  kInt8 = 0,
  kInt16 = 1,
  kInt32 = 2,
  kInt64 = 3,
  kFloat = 4,
  kDouble = 5,
  kString1 = 6,
  kString4 = 7,
  kMap = 8,
  kList = 9,
  kStructBegin = 10,
  kStructEnd = 11,
  kZero = 12,
  kSimpleList = 13,
};

class Writer {
public:
  // Integers in the smallest type that holds them (0 as kZero), as TARS writers do.
  void int_field(unsigned tag, std::int64_t v);
  void string_field(unsigned tag, std::string_view s);
  void bytes_field(unsigned tag, std::span<const std::uint8_t> b);
  void struct_begin(unsigned tag);
  void struct_end();
  const Bytes &bytes() const { return out_; }

private:
  void head(unsigned tag, Type type);
  Bytes out_;
};

// One field read from a struct: its tag and its value (integers widened, strings and byte vectors as bytes, a nested
// struct as the bytes between its begin and end).
struct Field {
  unsigned tag = 0;
  Type type = kZero;
  std::int64_t integer = 0;
  Bytes bytes;
};

// Reads the fields of one struct body until its end marker (nested) or the end of the input (top level). Anything
// malformed — a length past the end, an unknown type, nesting deeper than 16 — is an error naming the offset.
Result<std::vector<Field>> read_struct(std::span<const std::uint8_t> data);

} // namespace weft::bcos::tars
