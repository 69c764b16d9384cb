// Solidity ABI types, solc's ABI JSON and method lookup. The encoding and decoding of values is in abi_codec.cpp.
#include "abi.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace weft::evm::abi {

namespace {

namespace json = boost::json;

// Types come from ABI files and signatures; bounding them keeps every later walk and allocation bounded too.
constexpr int kMaxTypeDepth = 32;
constexpr std::size_t kMaxFixedLength = 65536;
constexpr std::size_t kMaxStaticBytes = std::size_t{1} << 24;

Error bad_type(std::string_view text, const std::string &why) {
  return Error{code::kChainInvalidArgument, "ABI type \"" + std::string(text) + "\": " + why};
}

Error bad_abi(const std::string &why) {
  return Error{code::kChainInvalidArgument, "ABI JSON: " + why};
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A width or length written in decimal, without leading zeros; nullopt if it is not.
std::optional<std::size_t> small_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::size_t v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

Result<Type> elementary(std::string_view name) {
  Type t;
  auto width = [&](std::string_view prefix) { return small_number(name.substr(prefix.size())); };
  if (name == "address") {
    t.kind = Type::Kind::Address;
  } else if (name == "bool") {
    t.kind = Type::Kind::Bool;
  } else if (name == "string") {
    t.kind = Type::Kind::String;
  } else if (name == "bytes") {
    t.kind = Type::Kind::Bytes;
  } else if (name.starts_with("bytes")) {
    auto n = width("bytes");
    if (!n || *n < 1 || *n > 32) return bad_type(name, "bytesN needs N from 1 to 32");
    t.kind = Type::Kind::FixedBytes;
    t.size = static_cast<unsigned>(*n);
  } else if (name.starts_with("uint") || name.starts_with("int")) {
    bool is_unsigned = name[0] == 'u';
    std::string_view prefix = is_unsigned ? "uint" : "int";
    t.kind = is_unsigned ? Type::Kind::Uint : Type::Kind::Int;
    t.size = 256;
    if (name.size() > prefix.size()) {
      auto n = width(prefix);
      if (!n || *n < 8 || *n > 256 || *n % 8 != 0)
        return bad_type(name, std::string(prefix) + "N needs N a multiple of 8 from 8 to 256");
      t.size = static_cast<unsigned>(*n);
    }
  } else if (name.starts_with("fixed") || name.starts_with("ufixed") || name == "function") {
    return bad_type(name, "not supported (no contract interface this router serves uses it)");
  } else {
    return bad_type(name, "unknown type");
  }
  return t;
}

// Whole static encoding size, or nullopt past kMaxStaticBytes.
std::optional<std::size_t> static_bytes(const Type &t) {
  switch (t.kind) {
  case Type::Kind::FixedArray: {
    auto e = static_bytes(t.components[0]);
    if (!e || (*e != 0 && t.size > kMaxStaticBytes / *e)) return std::nullopt;
    return *e * t.size;
  }
  case Type::Kind::Tuple: {
    std::size_t sum = 0;
    for (const auto &c : t.components) {
      auto e = static_bytes(c);
      if (!e || (sum += *e) > kMaxStaticBytes) return std::nullopt;
    }
    return sum;
  }
  default:
    return std::size_t{32};
  }
}

int depth_of(const Type &t) {
  int d = 0;
  for (const auto &c : t.components)
    d = std::max(d, depth_of(c));
  return d + 1;
}

Status check_size(const Type &t, std::string_view text) {
  if (!static_bytes(t)) return bad_type(text, "a fixed-size value of more than 16 MiB");
  if (depth_of(t) > kMaxTypeDepth) return bad_type(text, "nested deeper than " + std::to_string(kMaxTypeDepth));
  return Ok{};
}

// Applies array suffixes "[k]" and "[]" found at text[pos...] to `t`.
Result<Type> with_suffixes(Type t, std::string_view text, std::size_t &pos, std::string_view whole) {
  for (int dims = 0; pos < text.size() && text[pos] == '['; ++dims) {
    if (dims == kMaxTypeDepth)
      return bad_type(whole, "more than " + std::to_string(kMaxTypeDepth) + " array dimensions");
    std::size_t close = text.find(']', pos);
    if (close == std::string_view::npos) return bad_type(whole, "a '[' is not closed");
    std::string_view inside = text.substr(pos + 1, close - pos - 1);
    Type arr;
    arr.components.push_back(std::move(t));
    if (inside.empty()) {
      arr.kind = Type::Kind::Array;
      arr.size = 0;
    } else {
      auto k = small_number(inside);
      if (!k || *k == 0 || *k > kMaxFixedLength)
        return bad_type(whole, "array length [" + std::string(inside) + "] must be from 1 to " +
                                   std::to_string(kMaxFixedLength));
      arr.kind = Type::Kind::FixedArray;
      arr.size = static_cast<unsigned>(*k);
    }
    t = std::move(arr);
    pos = close + 1;
  }
  return t;
}

struct TypeParser {
  std::string_view text;
  std::size_t pos = 0;

  Result<Type> parse(int depth) {
    if (depth > kMaxTypeDepth) return bad_type(text, "nested deeper than " + std::to_string(kMaxTypeDepth));
    Type t;
    if (text.substr(pos).starts_with("tuple(")) pos += 5;
    if (pos < text.size() && text[pos] == '(') {
      ++pos;
      t.kind = Type::Kind::Tuple;
      t.size = 0;
      if (pos < text.size() && text[pos] == ')') {
        ++pos;
      } else {
        for (;;) {
          auto c = parse(depth + 1);
          if (!c.ok()) return c.error();
          t.components.push_back(std::move(*c));
          t.names.emplace_back();
          if (pos < text.size() && text[pos] == ',') {
            ++pos;
            continue;
          }
          if (pos < text.size() && text[pos] == ')') {
            ++pos;
            break;
          }
          return bad_type(text, "expected ',' or ')' at position " + std::to_string(pos));
        }
      }
    } else {
      std::size_t start = pos;
      while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_'))
        ++pos;
      if (pos == start) return bad_type(text, "expected a type at position " + std::to_string(pos));
      auto e = elementary(text.substr(start, pos - start));
      if (!e.ok()) return e.error();
      t = std::move(*e);
    }
    return with_suffixes(std::move(t), text, pos, text);
  }
};

std::string type_list(const std::vector<Param> &params) {
  std::string s = "(";
  for (std::size_t i = 0; i < params.size(); ++i)
    s += (i ? "," : "") + params[i].type.canonical();
  return s + ")";
}

std::string_view str_field(const json::object &o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return it->value().get_string();
}

Result<Type> param_type(const json::object &p, int depth);

Result<Param> param_of(const json::value &v, int depth) {
  if (!v.is_object()) return bad_abi("a parameter is not an object");
  const auto &o = v.get_object();
  auto t = param_type(o, depth);
  if (!t.ok()) return t.error();
  Param p{std::string(str_field(o, "name")), std::move(*t), false};
  if (auto it = o.find("indexed"); it != o.end() && it->value().is_bool()) p.indexed = it->value().get_bool();
  return p;
}

Result<Type> param_type(const json::object &p, int depth) {
  if (depth > kMaxTypeDepth) return bad_abi("components nested deeper than " + std::to_string(kMaxTypeDepth));
  std::string_view text = str_field(p, "type");
  if (text.empty()) return bad_abi("a parameter has no \"type\"");
  if (!text.starts_with("tuple")) return parse_type(text);
  // "tuple", "tuple[2][]": the members come from "components".
  Type t;
  t.kind = Type::Kind::Tuple;
  t.size = 0;
  auto it = p.find("components");
  if (it == p.end() || !it->value().is_array()) return bad_abi("tuple parameter without \"components\"");
  for (const auto &c : it->value().get_array()) {
    auto member = param_of(c, depth + 1);
    if (!member.ok()) return member.error();
    t.components.push_back(std::move(member->type));
    t.names.push_back(std::move(member->name));
  }
  std::size_t pos = 5;
  auto full = with_suffixes(std::move(t), text, pos, text);
  if (!full.ok()) return full.error();
  if (pos != text.size()) return bad_type(text, "unexpected text after the tuple");
  if (auto s = check_size(*full, text); !s.ok()) return s.error();
  return full;
}

Result<std::vector<Param>> params_of(const json::object &entry, std::string_view key) {
  std::vector<Param> out;
  auto it = entry.find(key);
  if (it == entry.end()) return out;
  if (!it->value().is_array()) return bad_abi(std::string("\"") + std::string(key) + "\" is not an array");
  for (const auto &v : it->value().get_array()) {
    auto p = param_of(v, 0);
    if (!p.ok()) return p.error();
    out.push_back(std::move(*p));
  }
  return out;
}

template <std::size_t N> std::array<std::uint8_t, N> prefix_of(const Hash256 &h) {
  std::array<std::uint8_t, N> out;
  std::copy(h.begin(), h.begin() + N, out.begin());
  return out;
}

Hash256 hash_text(Hasher h, const std::string &text) {
  return h(std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
}

std::string mutability_of(const json::object &entry) {
  if (auto m = str_field(entry, "stateMutability"); !m.empty()) return std::string(m);
  // solc before 0.4.16 wrote "constant" and "payable" instead.
  auto flag = [&](std::string_view key) {
    auto it = entry.find(key);
    return it != entry.end() && it->value().is_bool() && it->value().get_bool();
  };
  if (flag("constant")) return "view";
  if (flag("payable")) return "payable";
  return "nonpayable";
}

} // namespace

std::string Type::canonical() const {
  switch (kind) {
  case Kind::Uint:
    return "uint" + std::to_string(size);
  case Kind::Int:
    return "int" + std::to_string(size);
  case Kind::Address:
    return "address";
  case Kind::Bool:
    return "bool";
  case Kind::Bytes:
    return "bytes";
  case Kind::FixedBytes:
    return "bytes" + std::to_string(size);
  case Kind::String:
    return "string";
  case Kind::Array:
    return components[0].canonical() + "[]";
  case Kind::FixedArray:
    return components[0].canonical() + "[" + std::to_string(size) + "]";
  case Kind::Tuple: {
    std::string s = "(";
    for (std::size_t i = 0; i < components.size(); ++i)
      s += (i ? "," : "") + components[i].canonical();
    return s + ")";
  }
  }
  return {};
}

bool Type::is_dynamic() const {
  switch (kind) {
  case Kind::Bytes:
  case Kind::String:
  case Kind::Array:
    return true;
  case Kind::FixedArray:
    return components[0].is_dynamic();
  case Kind::Tuple:
    return std::any_of(components.begin(), components.end(), [](const Type &c) { return c.is_dynamic(); });
  default:
    return false;
  }
}

std::size_t Type::head_size() const {
  if (is_dynamic()) return 32;
  return static_bytes(*this).value_or(kMaxStaticBytes);
}

Result<Type> parse_type(std::string_view text) {
  TypeParser p{text};
  auto t = p.parse(0);
  if (!t.ok()) return t.error();
  if (p.pos != text.size()) return bad_type(text, "unexpected text at position " + std::to_string(p.pos));
  if (auto s = check_size(*t, text); !s.ok()) return s.error();
  return t;
}

std::string Function::signature() const {
  return name + type_list(inputs);
}
bool Function::is_read() const {
  return state_mutability == "view" || state_mutability == "pure";
}
std::string Event::signature() const {
  return name + type_list(inputs);
}
std::string CustomError::signature() const {
  return name + type_list(inputs);
}

Result<const Function *> ContractAbi::find(std::string_view method, std::size_t argc) const {
  auto listing = [](const std::vector<const Function *> &fs) {
    std::string s;
    for (const auto *f : fs)
      s += (s.empty() ? "" : ", ") + f->signature();
    return s;
  };
  if (auto paren = method.find('('); paren != std::string_view::npos) {
    auto types = parse_type(method.substr(paren));
    if (!types.ok())
      return Error{code::kChainInvalidArgument, "method \"" + std::string(method) + "\": " + types.error().message};
    std::string wanted = std::string(method.substr(0, paren)) + types->canonical();
    for (const auto &f : functions)
      if (f.signature() == wanted) return &f;
    std::vector<const Function *> same;
    for (const auto &f : functions)
      if (f.name == method.substr(0, paren)) same.push_back(&f);
    return Error{code::kChainNotFound,
                 "no method " + wanted + " in the contract's ABI" + (same.empty() ? "" : "; it has " + listing(same))};
  }
  std::vector<const Function *> named;
  for (const auto &f : functions)
    if (f.name == method) named.push_back(&f);
  if (named.empty()) {
    std::vector<const Function *> all;
    for (const auto &f : functions)
      all.push_back(&f);
    return Error{code::kChainNotFound, "no method \"" + std::string(method) + "\" in the contract's ABI" +
                                           (all.empty() ? "" : "; it has " + listing(all))};
  }
  if (named.size() == 1) return named[0];
  std::vector<const Function *> fit;
  for (const auto *f : named)
    if (f->inputs.size() == argc) fit.push_back(f);
  if (fit.size() == 1) return fit[0];
  if (fit.empty())
    return Error{code::kChainInvalidArgument, "method \"" + std::string(method) + "\" has no overload taking " +
                                                  std::to_string(argc) + " arguments; it has " + listing(named)};
  return Error{code::kChainInvalidArgument, "method \"" + std::string(method) + "\" is overloaded with " +
                                                std::to_string(argc) +
                                                " arguments; name one by its signature: " + listing(fit)};
}

const Event *ContractAbi::event_by_topic(const Hash256 &topic0) const {
  for (const auto &e : events)
    if (!e.anonymous && e.topic0 == topic0) return &e;
  return nullptr;
}

const CustomError *ContractAbi::error_by_selector(std::span<const std::uint8_t, 4> selector) const {
  for (const auto &e : errors)
    if (std::equal(selector.begin(), selector.end(), e.selector.begin())) return &e;
  return nullptr;
}

Result<ContractAbi> parse_abi_json(std::string_view text, Hasher h) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return bad_abi("not valid JSON (" + ec.message() + ")");
  // Truffle and Hardhat artifacts wrap the array as {"abi": [...]}.
  if (doc.is_object()) {
    if (auto it = doc.get_object().find("abi"); it != doc.get_object().end()) doc = it->value();
  }
  if (!doc.is_array()) return bad_abi("expected an array of entries");
  ContractAbi abi;
  abi.hasher = h;
  std::size_t index = 0;
  for (const auto &v : doc.get_array()) {
    auto where = [&](const Error &e) { return Error{e.code, "entry " + std::to_string(index) + ": " + e.message}; };
    if (!v.is_object()) return where(bad_abi("not an object"));
    const auto &entry = v.get_object();
    std::string kind(str_field(entry, "type"));
    if (kind.empty()) kind = "function";
    auto inputs = params_of(entry, "inputs");
    if (!inputs.ok()) return where(inputs.error());
    std::string name(str_field(entry, "name"));
    if (kind == "function") {
      auto outputs = params_of(entry, "outputs");
      if (!outputs.ok()) return where(outputs.error());
      Function f{name, std::move(*inputs), std::move(*outputs), mutability_of(entry), {}};
      f.selector = prefix_of<4>(hash_text(h, f.signature()));
      abi.functions.push_back(std::move(f));
    } else if (kind == "event") {
      Event e{name, std::move(*inputs), false, {}};
      if (auto it = entry.find("anonymous"); it != entry.end() && it->value().is_bool())
        e.anonymous = it->value().get_bool();
      e.topic0 = hash_text(h, e.signature());
      abi.events.push_back(std::move(e));
    } else if (kind == "error") {
      CustomError e{name, std::move(*inputs), {}};
      e.selector = prefix_of<4>(hash_text(h, e.signature()));
      abi.errors.push_back(std::move(e));
    } else if (kind == "constructor") {
      abi.constructor = Constructor{std::move(*inputs), mutability_of(entry)};
    } else if (kind != "fallback" && kind != "receive") {
      return where(bad_abi("unknown entry type \"" + kind + "\""));
    }
    ++index;
  }
  return abi;
}

Result<Function> parse_function_signature(std::string_view signature, Hasher h) {
  auto paren = signature.find('(');
  if (paren == std::string_view::npos || paren == 0)
    return Error{code::kChainInvalidArgument, "signature \"" + std::string(signature) + "\" is not name(types)"};
  auto types = parse_type(signature.substr(paren));
  if (!types.ok()) return types.error();
  if (types->kind != Type::Kind::Tuple)
    return Error{code::kChainInvalidArgument, "signature \"" + std::string(signature) + "\" is not name(types)"};
  Function f;
  f.name = std::string(signature.substr(0, paren));
  for (auto &t : types->components)
    f.inputs.push_back(Param{"", std::move(t), false});
  f.state_mutability = "nonpayable";
  f.selector = prefix_of<4>(hash_text(h, f.signature()));
  return f;
}

} // namespace weft::evm::abi
