// Small helpers the EVM chain's source files share: JSON-RPC quantities, request fields and WeCross's string args.
#pragma once

#include "hex.h"
#include "u256.h"

#include <weft/adapter.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace weft::evm::util {

inline std::string hex_of(const Hash256 &h) { return to_hex(std::span<const uint8_t>(h.data(), h.size())); }

// A JSON-RPC quantity: "0x" and hex digits without leading zeros.
inline std::string qty(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// A quantity as a node may write it (hex string) or a non-negative JSON integer; nullopt if absent or not a u64.
inline std::optional<uint64_t> parse_qty(const boost::json::value *v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  if (!v->is_string()) return std::nullopt;
  auto u = U256::parse(std::string_view(v->as_string()));
  if (!u.ok() || !u->fits_u64()) return std::nullopt;
  return u->low_u64();
}

inline std::string str_of(const boost::json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

inline const boost::json::object &options_of(const boost::json::object &req) {
  static const boost::json::object empty;
  const auto *o = req.if_contains("options");
  return o != nullptr && o->is_object() ? o->as_object() : empty;
}

// The request's "args": an array of strings (absent or null: none).
inline std::vector<std::string> string_args(const boost::json::object &req) {
  std::vector<std::string> out;
  const auto *a = req.if_contains("args");
  if (a == nullptr || a->is_null()) return out;
  if (!a->is_array()) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
  size_t i = 0;
  for (const auto &v : a->as_array()) {
    if (!v.is_string())
      throw plugin::Failure(WEFT_E_INVALID_ARGUMENT,
                            "argument " + std::to_string(i) + " must be a string, got " + boost::json::serialize(v));
    out.emplace_back(v.as_string());
    ++i;
  }
  return out;
}

} // namespace weft::evm::util
