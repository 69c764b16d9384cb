// Encoding WeCross's string arguments into the Solidity ABI and decoding return data, logs and revert data back into
// strings (https://docs.soliditylang.org/en/latest/abi-spec.html, "Formal Specification of the Encoding").
#include "abi.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace weft::evm::abi {

namespace {

namespace json = boost::json;
using Kind = Type::Kind;
using Word = std::array<std::uint8_t, 32>;

std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 100;
  if (text.size() <= kShown) return std::string(text);
  return std::string(text.substr(0, kShown)) + "... (" + std::to_string(text.size()) + " characters)";
}

Error arg_error(std::string message) {
  return Error{code::kChainInvalidArgument, std::move(message)};
}

void append_word(Bytes &out, const Word &w) {
  out.insert(out.end(), w.begin(), w.end());
}

Word size_word(std::size_t n) {
  return U256::from_u64(n).be;
}

// Data padded with zeros to a multiple of 32 bytes, after its length word.
void append_padded(Bytes &out, std::span<const std::uint8_t> data) {
  append_word(out, size_word(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + (32 - data.size() % 32) % 32, 0);
}

// ---- encoding -------------------------------------------------------------------------------------------------------

Result<Word> encode_integer(const Type &t, std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative && t.kind == Kind::Uint) return arg_error(shown(text) + " is negative");
  auto magnitude = U256::parse(negative ? text.substr(1) : text);
  if (!magnitude.ok()) return arg_error(shown(text) + " is not an integer (decimal, or hex with 0x)");
  unsigned bits = magnitude->bit_length();
  if (t.kind == Kind::Uint) {
    if (bits > t.size) return arg_error(shown(text) + " does not fit");
    return magnitude->be;
  }
  if (!negative) {
    if (bits > t.size - 1) return arg_error(shown(text) + " does not fit");
    return magnitude->be;
  }
  // -2^(N-1) is the smallest intN: the magnitude less one must fit in N-1 bits.
  if (!magnitude->is_zero() && wrapping_sub(*magnitude, U256::from_u64(1)).bit_length() > t.size - 1)
    return arg_error(shown(text) + " does not fit");
  return wrapping_neg(*magnitude).be;
}

// A scalar (not array, tuple, bytes or string) from its text.
Result<Word> encode_static_scalar(const Type &t, std::string_view text) {
  Word w{};
  switch (t.kind) {
  case Kind::Uint:
  case Kind::Int:
    return encode_integer(t, text);
  case Kind::Address: {
    auto a = parse_address(text);
    if (!a.ok()) return arg_error(a.error().message);
    std::copy(a->begin(), a->end(), w.begin() + 12);
    return w;
  }
  case Kind::Bool:
    if (text == "true")
      w[31] = 1;
    else if (text != "false")
      return arg_error(shown(text) + " is not true or false");
    return w;
  case Kind::FixedBytes: {
    auto b = from_hex(text);
    if (!b.ok()) return arg_error(b.error().message);
    if (b->size() != t.size)
      return arg_error(shown(text) + " has " + std::to_string(b->size()) + " bytes; " + t.canonical() + " needs " +
                       std::to_string(t.size));
    std::copy(b->begin(), b->end(), w.begin());
    return w;
  }
  default:
    return arg_error("internal: not a scalar type");
  }
}

// Encodes a sequence (tuple members or array elements) with heads and tails.
template <class EncodeOne>
Result<Bytes> encode_sequence(std::size_t count, const std::vector<const Type *> &types, EncodeOne &&encode_one) {
  std::size_t head = 0;
  for (std::size_t i = 0; i < count; ++i)
    head += types[i]->head_size();
  Bytes heads, tails;
  heads.reserve(head);
  for (std::size_t i = 0; i < count; ++i) {
    auto enc = encode_one(i);
    if (!enc.ok()) return enc.error();
    if (types[i]->is_dynamic()) {
      append_word(heads, size_word(head + tails.size()));
      tails.insert(tails.end(), enc->begin(), enc->end());
    } else {
      heads.insert(heads.end(), enc->begin(), enc->end());
    }
  }
  heads.insert(heads.end(), tails.begin(), tails.end());
  return heads;
}

Result<Bytes> encode_text(const Type &t, std::string_view text);

// A struct written as a JSON object keyed by its members' names (from the ABI JSON), put in member order.
Result<json::value> tuple_from_object(const Type &t, const json::object &o) {
  json::array members;
  std::string names;
  for (std::size_t i = 0; i < t.components.size(); ++i) {
    std::string_view name = i < t.names.size() ? std::string_view(t.names[i]) : std::string_view();
    if (name.empty()) return arg_error("its members have no names in the ABI; write it as a JSON array");
    names += (names.empty() ? "" : ", ") + std::string(name);
    auto it = o.find(name);
    if (it == o.end()) return arg_error("member \"" + std::string(name) + "\" is missing");
    members.push_back(it->value());
  }
  for (const auto &kv : o)
    if (std::find(t.names.begin(), t.names.end(), std::string_view(kv.key())) == t.names.end())
      return arg_error("\"" + shown(kv.key()) + "\" is not a member (members: " + names + ")");
  return json::value(std::move(members));
}

// A value inside JSON text: arrays and tuples as JSON arrays, scalars as JSON strings (or numbers and bools).
Result<Bytes> encode_json(const Type &t, const json::value &v, const std::string &where) {
  auto fail = [&](const std::string &why) {
    return arg_error((where.empty() ? "" : "at " + where + " (" + t.canonical() + "): ") + why);
  };
  if (t.kind == Kind::Tuple && v.is_object()) {
    auto members = tuple_from_object(t, v.get_object());
    if (!members.ok()) return fail(members.error().message);
    return encode_json(t, *members, where);
  }
  if (t.kind == Kind::Array || t.kind == Kind::FixedArray || t.kind == Kind::Tuple) {
    if (!v.is_array()) return fail(shown(json::serialize(v)) + " is not a JSON array");
    const auto &items = v.get_array();
    std::size_t n = items.size();
    if (t.kind == Kind::FixedArray && n != t.size)
      return fail("has " + std::to_string(n) + " elements; " + t.canonical() + " needs " + std::to_string(t.size));
    if (t.kind == Kind::Tuple && n != t.components.size())
      return fail("has " + std::to_string(n) + " members; " + t.canonical() + " needs " +
                  std::to_string(t.components.size()));
    std::vector<const Type *> types(n);
    for (std::size_t i = 0; i < n; ++i)
      types[i] = t.kind == Kind::Tuple ? &t.components[i] : &t.components[0];
    auto body = encode_sequence(n, types, [&](std::size_t i) {
      return encode_json(*types[i], items[i], where + "[" + std::to_string(i) + "]");
    });
    if (!body.ok()) return body.error();
    if (t.kind != Kind::Array) return body;
    Bytes out;
    append_word(out, size_word(n));
    out.insert(out.end(), body->begin(), body->end());
    return out;
  }
  std::string text;
  if (v.is_string()) {
    text = std::string(v.get_string());
  } else if (v.is_int64() && (t.kind == Kind::Uint || t.kind == Kind::Int)) {
    text = std::to_string(v.get_int64());
  } else if (v.is_uint64() && (t.kind == Kind::Uint || t.kind == Kind::Int)) {
    text = std::to_string(v.get_uint64());
  } else if (v.is_double() && (t.kind == Kind::Uint || t.kind == Kind::Int)) {
    return fail(json::serialize(v) + " is not an exact integer in JSON; write large integers as strings");
  } else if (v.is_bool() && t.kind == Kind::Bool) {
    text = v.get_bool() ? "true" : "false";
  } else {
    return fail(shown(json::serialize(v)) + " is not a JSON string");
  }
  auto enc = encode_text(t, text);
  if (!enc.ok()) return fail(enc.error().message);
  return enc;
}

// A value from its text: scalars as they are written, arrays and tuples as JSON text.
Result<Bytes> encode_text(const Type &t, std::string_view text) {
  switch (t.kind) {
  case Kind::String: {
    Bytes out;
    append_padded(out, std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
    return out;
  }
  case Kind::Bytes: {
    auto b = from_hex(text);
    if (!b.ok()) return arg_error(b.error().message);
    Bytes out;
    append_padded(out, *b);
    return out;
  }
  case Kind::Array:
  case Kind::FixedArray:
  case Kind::Tuple: {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return arg_error(shown(text) + " is not JSON text (" + ec.message() + ")");
    return encode_json(t, v, "");
  }
  default: {
    auto w = encode_static_scalar(t, text);
    if (!w.ok()) return w.error();
    return Bytes(w->begin(), w->end());
  }
  }
}

// ---- decoding -------------------------------------------------------------------------------------------------------

Error malformed(const std::string &why) {
  return Error{code::kChainInternal, "malformed ABI data: " + why};
}

// Reads hostile data: every offset and length is checked before use, and a budget proportional to the input bounds the
// work and output, so overlapping offsets cannot make a small input decode into a huge value.
class Decoder {
public:
  explicit Decoder(std::size_t input_size) : budget_(2 * input_size + 4096) {}

  // The value of type t whose head is at region[pos..pos+head_size); offsets are relative to region's start.
  Result<json::value> value(const Type &t, std::span<const std::uint8_t> region, std::size_t pos, int depth) {
    if (depth > 64) return malformed("nested too deep");
    if (pos > region.size() || region.size() - pos < t.head_size())
      return malformed("a " + t.canonical() + " at offset " + std::to_string(pos) + " runs past the end of " +
                       std::to_string(region.size()) + " bytes");
    if (!t.is_dynamic()) {
      if (t.kind == Kind::FixedArray || t.kind == Kind::Tuple) return sequence(t, region.subspan(pos), depth);
      auto w = word(region, pos);
      if (!w.ok()) return w.error();
      return scalar(t, *w);
    }
    auto off = size_at(region, pos, "an offset");
    if (!off.ok()) return off.error();
    if (*off > region.size())
      return malformed("an offset of " + std::to_string(*off) + " points past the " + std::to_string(region.size()) +
                       " bytes it is relative to");
    auto tail = region.subspan(*off);
    switch (t.kind) {
    case Kind::Bytes:
    case Kind::String: {
      auto len = size_at(tail, 0, "a length");
      if (!len.ok()) return len.error();
      std::size_t room = tail.size() - 32;
      if (*len > room)
        return malformed("a " + t.canonical() + " of " + std::to_string(*len) + " bytes runs past the end");
      std::size_t padded = (*len + 31) / 32 * 32;
      if (padded > room) return malformed("the padding of a " + t.canonical() + " runs past the end");
      auto body = tail.subspan(32, *len);
      auto pad = tail.subspan(32 + *len, padded - *len);
      if (std::any_of(pad.begin(), pad.end(), [](std::uint8_t b) { return b != 0; }))
        return malformed("non-zero padding after a " + t.canonical());
      if (!charge(*len)) return over_budget();
      if (t.kind == Kind::Bytes) return json::value(to_hex(body));
      return json::value(json::string_view(reinterpret_cast<const char *>(body.data()), body.size()));
    }
    case Kind::Array: {
      auto n = size_at(tail, 0, "an array length");
      if (!n.ok()) return n.error();
      std::size_t each = std::max<std::size_t>(t.components[0].head_size(), 1);
      if (*n > (tail.size() - 32) / each && t.components[0].head_size() != 0)
        return malformed("an array of " + std::to_string(*n) + " elements of " + t.components[0].canonical() +
                         " runs past the end");
      return elements(t.components[0], *n, tail.subspan(32), depth);
    }
    default:
      return sequence(t, tail, depth);
    }
  }

private:
  std::size_t budget_;

  bool charge(std::size_t n) {
    if (n > budget_) return false;
    budget_ -= n;
    return true;
  }
  static Error over_budget() {
    return malformed("offsets overlap so much that the value would be far larger than the data");
  }

  Result<Word> word(std::span<const std::uint8_t> region, std::size_t pos) {
    if (pos > region.size() || region.size() - pos < 32)
      return malformed("a word at offset " + std::to_string(pos) + " runs past the end");
    if (!charge(32)) return over_budget();
    Word w;
    std::copy_n(region.begin() + static_cast<std::ptrdiff_t>(pos), 32, w.begin());
    return w;
  }

  Result<std::size_t> size_at(std::span<const std::uint8_t> region, std::size_t pos, const char *what) {
    auto w = word(region, pos);
    if (!w.ok()) return w.error();
    U256 v{*w};
    if (!v.fits_u64() || v.low_u64() > (std::uint64_t{1} << 40))
      return malformed(std::string(what) + " of " + v.to_decimal() + " is far beyond the data");
    return static_cast<std::size_t>(v.low_u64());
  }

  Result<json::value> sequence(const Type &t, std::span<const std::uint8_t> region, int depth) {
    if (t.kind == Kind::FixedArray) return elements(t.components[0], t.size, region, depth);
    json::array out;
    std::size_t pos = 0;
    for (const auto &c : t.components) {
      auto v = value(c, region, pos, depth + 1);
      if (!v.ok()) return v.error();
      out.push_back(std::move(*v));
      pos += c.head_size();
    }
    return json::value(std::move(out));
  }

  Result<json::value> elements(const Type &elem, std::size_t n, std::span<const std::uint8_t> region, int depth) {
    if (!charge(n)) return over_budget();
    json::array out;
    std::size_t pos = 0, each = elem.head_size();
    for (std::size_t i = 0; i < n; ++i) {
      auto v = value(elem, region, pos, depth + 1);
      if (!v.ok()) return v.error();
      out.push_back(std::move(*v));
      pos += each;
    }
    return json::value(std::move(out));
  }

  static Result<json::value> scalar(const Type &t, const Word &w) {
    auto zeros = [&](std::size_t from, std::size_t to) {
      return std::all_of(w.begin() + static_cast<std::ptrdiff_t>(from), w.begin() + static_cast<std::ptrdiff_t>(to),
                         [](std::uint8_t b) { return b == 0; });
    };
    std::size_t high = 32 - t.size / 8; // bytes above an N-bit integer
    switch (t.kind) {
    case Kind::Uint:
      if (!zeros(0, high)) return malformed("a " + t.canonical() + " has bits set above its width");
      return json::value(U256{w}.to_decimal());
    case Kind::Int: {
      bool negative = w[high] & 0x80;
      std::uint8_t fill = negative ? 0xff : 0x00;
      if (!std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(high),
                       [&](std::uint8_t b) { return b == fill; }))
        return malformed("an " + t.canonical() + " is not sign-extended to 256 bits");
      if (!negative) return json::value(U256{w}.to_decimal());
      return json::value("-" + wrapping_neg(U256{w}).to_decimal());
    }
    case Kind::Address: {
      if (!zeros(0, 12)) return malformed("an address has bits set above its 20 bytes");
      Address a;
      std::copy(w.begin() + 12, w.end(), a.begin());
      return json::value(lower_address(a));
    }
    case Kind::Bool:
      if (!zeros(0, 31) || w[31] > 1) return malformed("a bool is neither 0 nor 1");
      return json::value(w[31] == 1);
    case Kind::FixedBytes:
      if (!zeros(t.size, 32)) return malformed("a " + t.canonical() + " has non-zero padding");
      return json::value(to_hex(std::span(w).first(t.size)));
    default:
      return malformed("internal: not a scalar type");
    }
  }
};

std::string as_text(const json::value &v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::serialize(v);
}

Result<std::vector<json::value>> decode_json(const std::vector<const Type *> &types,
                                             std::span<const std::uint8_t> data) {
  Decoder d(data.size());
  std::vector<json::value> out;
  std::size_t pos = 0;
  for (const auto *t : types) {
    auto v = d.value(*t, data, pos, 0);
    if (!v.ok()) return v.error();
    out.push_back(std::move(*v));
    pos += t->head_size();
  }
  return out;
}

bool selector_is(std::span<const std::uint8_t> data, Hasher h, std::string_view signature) {
  Hash256 sel = h(std::span(reinterpret_cast<const std::uint8_t *>(signature.data()), signature.size()));
  return data.size() >= 4 && std::equal(sel.begin(), sel.begin() + 4, data.begin());
}

std::string panic_reason(const U256 &code) {
  static const std::pair<std::uint64_t, const char *> kReasons[] = {
      {0x00, "generic compiler-inserted panic"},
      {0x01, "assertion failed"},
      {0x11, "arithmetic overflow or underflow"},
      {0x12, "division or modulo by zero"},
      {0x21, "conversion to an invalid enum value"},
      {0x22, "incorrectly encoded storage byte array"},
      {0x31, "pop() on an empty array"},
      {0x32, "array index out of bounds"},
      {0x41, "out of memory (too much memory allocated or an array too large)"},
      {0x51, "call to a zero-initialized internal function variable"},
  };
  std::string hex = code.to_hex();
  if (hex.size() == 3) hex.insert(2, "0");
  for (const auto &[c, reason] : kReasons)
    if (code.fits_u64() && code.low_u64() == c) return "panic " + hex + ": " + reason;
  return "panic " + hex;
}

} // namespace

Result<Bytes> encode_args(const std::vector<Param> &params, const std::vector<std::string> &args) {
  if (params.size() != args.size())
    return arg_error("expected " + std::to_string(params.size()) + " arguments, got " + std::to_string(args.size()));
  std::vector<const Type *> types;
  for (const auto &p : params)
    types.push_back(&p.type);
  return encode_sequence(params.size(), types, [&](std::size_t i) -> Result<Bytes> {
    auto enc = encode_text(params[i].type, args[i]);
    if (!enc.ok())
      return arg_error("argument " + std::to_string(i) + " (" + params[i].type.canonical() +
                       "): " + enc.error().message);
    return enc;
  });
}

Result<Bytes> encode_call(const Function &f, const std::vector<std::string> &args) {
  auto body = encode_args(f.inputs, args);
  if (!body.ok()) return Error{body.error().code, f.signature() + ": " + body.error().message};
  Bytes out(f.selector.begin(), f.selector.end());
  out.insert(out.end(), body->begin(), body->end());
  return out;
}

Result<std::vector<std::string>> decode_values(const std::vector<Param> &params, std::span<const std::uint8_t> data) {
  std::vector<const Type *> types;
  for (const auto &p : params)
    types.push_back(&p.type);
  auto values = decode_json(types, data);
  if (!values.ok()) return values.error();
  std::vector<std::string> out;
  for (const auto &v : *values)
    out.push_back(as_text(v));
  return out;
}

std::optional<std::string> decode_revert(std::span<const std::uint8_t> data) {
  return decode_revert(data, nullptr);
}

std::optional<std::string> decode_revert(std::span<const std::uint8_t> data, const ContractAbi *abi) {
  if (data.size() < 4) return std::nullopt;
  Hasher h = abi ? abi->hasher : keccak;
  auto body = data.subspan(4);
  static const Type kString{Kind::String, 0, {}, {}};
  static const Type kUint256{Kind::Uint, 256, {}, {}};
  if (selector_is(data, h, "Error(string)")) {
    auto v = decode_json({&kString}, body);
    if (!v.ok()) return std::nullopt;
    return std::string((*v)[0].get_string());
  }
  if (selector_is(data, h, "Panic(uint256)")) {
    auto v = decode_json({&kUint256}, body);
    if (!v.ok()) return std::nullopt;
    auto code = U256::from_decimal((*v)[0].get_string());
    if (!code.ok()) return std::nullopt;
    return panic_reason(*code);
  }
  if (!abi) return std::nullopt;
  const CustomError *e = abi->error_by_selector(data.first<4>());
  if (!e) return std::nullopt;
  auto values = decode_values(e->inputs, body);
  if (!values.ok()) return std::nullopt;
  std::string out = e->name + "(";
  for (std::size_t i = 0; i < values->size(); ++i)
    out += (i ? "," : "") + (*values)[i];
  return out + ")";
}

Result<DecodedLog> decode_log(const ContractAbi &abi, const std::vector<Hash256> &topics,
                              std::span<const std::uint8_t> data) {
  if (topics.empty())
    return Error{code::kChainNotFound,
                 "a log without topics comes from an anonymous event, which cannot be identified"};
  const Event *e = abi.event_by_topic(topics[0]);
  if (!e) return Error{code::kChainNotFound, "no event in the contract's ABI has topic " + to_hex(topics[0])};
  std::size_t indexed = static_cast<std::size_t>(
      std::count_if(e->inputs.begin(), e->inputs.end(), [](const Param &p) { return p.indexed; }));
  if (topics.size() != indexed + 1)
    return malformed(e->signature() + " has " + std::to_string(indexed) + " indexed inputs, but the log has " +
                     std::to_string(topics.size() - 1) + " topics after the first");
  std::vector<const Type *> plain;
  for (const auto &p : e->inputs)
    if (!p.indexed) plain.push_back(&p.type);
  auto values = decode_json(plain, data);
  if (!values.ok()) return Error{values.error().code, e->signature() + ": " + values.error().message};
  DecodedLog log{e->name, {}};
  std::size_t next_topic = 1, next_value = 0;
  for (const auto &p : e->inputs) {
    if (!p.indexed) {
      log.fields.emplace_back(p.name, as_text((*values)[next_value++]));
      continue;
    }
    const Hash256 &topic = topics[next_topic++];
    // Strings, bytes, arrays and structs are indexed by the hash of their encoding ("Events" in the spec).
    bool hashed = p.type.kind == Kind::String || p.type.kind == Kind::Bytes || p.type.kind == Kind::Array ||
                  p.type.kind == Kind::FixedArray || p.type.kind == Kind::Tuple;
    if (hashed) {
      log.fields.emplace_back(p.name, to_hex(topic));
      continue;
    }
    auto v = decode_json({&p.type}, topic);
    if (!v.ok()) return Error{v.error().code, e->signature() + ": indexed " + p.name + ": " + v.error().message};
    log.fields.emplace_back(p.name, as_text((*v)[0]));
  }
  return log;
}

} // namespace weft::evm::abi
