#include "chain_queries.h"

#include "chain_json.h"
#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain::queries {

namespace {
[[noreturn]] void bad_request(const std::string &m) {
  throw Error(WEFT_E_INVALID_ARGUMENT, "request: " + m);
}
} // namespace

json::object parse_request(std::string_view text) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) bad_request("not valid JSON: " + ec.message());
  if (v.is_null()) return {};
  if (!v.is_object()) bad_request("must be a JSON object");
  return std::move(v.as_object());
}

std::string string_field(const json::object &o, const char *key, bool required) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) bad_request(std::string("\"") + key + "\" is required");
    return {};
  }
  if (!it->value().is_string()) bad_request(std::string("\"") + key + "\" must be a string");
  return std::string(it->value().as_string());
}

std::vector<std::string> args_field(const json::object &o) {
  std::vector<std::string> out;
  auto it = o.find("args");
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array()) bad_request("\"args\" must be an array of strings");
  for (const auto &a : it->value().as_array()) {
    if (!a.is_string()) bad_request("\"args\" must be an array of strings");
    out.emplace_back(a.as_string());
  }
  return out;
}

uint64_t uint_field(const json::object &o, const char *key) {
  auto it = o.find(key);
  if (it == o.end()) bad_request(std::string("\"") + key + "\" is required");
  const auto &v = it->value();
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<uint64_t>(v.as_int64());
  bad_request(std::string("\"") + key + "\" must be a non-negative integer");
}

Hash hash_field(const json::object &o) {
  try {
    return hash_from_hex(string_field(o, "hash"));
  } catch (const DecodeError &e) {
    bad_request(std::string("\"hash\": ") + e.what());
  }
}

json::object call(Ledger &ledger, const json::object &request) {
  std::string resource = string_field(request, "resource"), method = string_field(request, "method");
  uint64_t height = ledger.height();
  auto result = ledger.call(resource, method, args_field(request));
  return {{"errorCode", 0},
          {"message", "Success"},
          {"hash", ""},
          {"blockNumber", height},
          {"result", json::array(result.begin(), result.end())},
          {"timestamp", 0}};
}

json::object block_height(Ledger &ledger) {
  return {{"height", ledger.height()}};
}

json::object get_block(Ledger &ledger, const json::object &request) {
  uint64_t number = uint_field(request, "number");
  auto header = ledger.header(number);
  if (!header)
    throw Error(WEFT_E_NOT_FOUND, "block " + std::to_string(number) + " does not exist yet (height " +
                                      std::to_string(ledger.height()) + ")");
  return block_json(*header, ledger.block_tx_hashes(number));
}

json::object get_receipt(Ledger &ledger, const json::object &request) {
  Hash hash = hash_field(request);
  auto rec = ledger.find_tx(hash);
  if (!rec) throw Error(WEFT_E_NOT_FOUND, "no committed transaction " + to_hex(hash) + " (it may still be pending)");
  auto header = ledger.header(rec->receipt.block_number);
  return receipt_json(rec->receipt, header ? header->timestamp_ms : 0);
}

json::object get_proof(Ledger &ledger, const json::object &request) {
  Hash hash = hash_field(request);
  auto proof = ledger.proof(hash);
  if (!proof) throw Error(WEFT_E_NOT_FOUND, "no committed transaction " + to_hex(hash) + " (it may still be pending)");
  return proof_json(*proof);
}

json::object sent_json(const Receipt &r, uint64_t block_timestamp_ms) {
  json::object o{{"errorCode", r.status},
                 {"message", r.message},
                 {"hash", to_hex(r.tx_hash)},
                 {"blockNumber", r.block_number},
                 {"result", json::array(r.result.begin(), r.result.end())},
                 {"timestamp", block_timestamp_ms}};
  if (!r.events.empty()) o["events"] = events_json(r.events);
  return o;
}

} // namespace weft::refchain::queries
