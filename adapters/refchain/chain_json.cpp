#include "chain_json.h"

#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain {

namespace json = boost::json;

namespace {
json::array strings(const std::vector<std::string> &list) {
  json::array a;
  for (const auto &s : list)
    a.emplace_back(s);
  return a;
}

json::array hashes(const std::vector<Hash> &list) {
  json::array a;
  for (const auto &h : list)
    a.emplace_back(to_hex(h));
  return a;
}

const json::value &field(const json::object &o, const char *key) {
  auto it = o.find(key);
  if (it == o.end()) throw DecodeError(std::string("proof is missing \"") + key + "\"");
  return it->value();
}

uint64_t uint_field(const json::object &o, const char *key) {
  const auto &v = field(o, key);
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<uint64_t>(v.as_int64());
  throw DecodeError(std::string("\"") + key + "\" must be a non-negative integer");
}

std::string_view str_field(const json::object &o, const char *key) {
  const auto &v = field(o, key);
  if (!v.is_string()) throw DecodeError(std::string("\"") + key + "\" must be a string");
  return {v.as_string().data(), v.as_string().size()};
}

Hash hash_field(const json::object &o, const char *key) { return hash_from_hex(str_field(o, key)); }

std::vector<Hash> path_field(const json::object &o, const char *key) {
  const auto &v = field(o, key);
  if (!v.is_array()) throw DecodeError(std::string("\"") + key + "\" must be an array of hashes");
  std::vector<Hash> out;
  for (const auto &e : v.as_array()) {
    if (!e.is_string()) throw DecodeError(std::string("\"") + key + "\" must be an array of hashes");
    out.push_back(hash_from_hex({e.as_string().data(), e.as_string().size()}));
  }
  return out;
}
} // namespace

json::object header_json(const BlockHeader &h) {
  return {{"version", h.version},
          {"chainId", h.chain_id},
          {"number", h.number},
          {"hash", to_hex(h.hash())},
          {"parentHash", to_hex(h.parent_hash)},
          {"timestamp", h.timestamp_ms},
          {"proposer", address_text(h.proposer)},
          {"txCount", h.tx_count},
          {"transactionsRoot", to_hex(h.tx_root)},
          {"receiptsRoot", to_hex(h.receipt_root)},
          {"stateHash", to_hex(h.state_hash)}};
}

json::object block_json(const BlockHeader &h, const std::vector<Hash> &tx_hashes) {
  json::object o = header_json(h);
  o["transactions"] = hashes(tx_hashes);
  return o;
}

json::object receipt_json(const Receipt &r, uint64_t block_timestamp_ms) {
  json::object o{{"txHash", to_hex(r.tx_hash)},  {"blockNumber", r.block_number},  {"index", r.index},
                 {"errorCode", r.status},        {"message", r.message},           {"result", strings(r.result)},
                 {"from", address_text(r.from)}, {"resource", r.resource},         {"method", r.method},
                 {"args", strings(r.args)},      {"timestamp", block_timestamp_ms}};
  if (!r.events.empty()) o["events"] = events_json(r.events);
  return o;
}

json::array events_json(const std::vector<Event> &events) {
  json::array out;
  for (const auto &e : events) {
    // The data is the contract's JSON object text; a receipt decoded from the store holds what the contract wrote.
    boost::system::error_code ec;
    json::value data = json::parse(e.data, ec);
    if (ec) data = json::object{};
    out.push_back(json::object{{"resource", e.resource}, {"name", e.name}, {"data", std::move(data)}});
  }
  return out;
}

json::object proof_json(const InclusionProof &p) {
  json::object o{{"blockNumber", p.block_number},
          {"index", p.index},
          {"txCount", p.tx_count},
          {"txHash", to_hex(p.tx_hash)},
          {"receiptHash", to_hex(p.receipt_hash)},
          {"txProof", hashes(p.tx_path)},
          {"receiptProof", hashes(p.receipt_path)},
          {"header", header_json(p.header)},
          {"blockHash", to_hex(p.block_hash)}};
  if (p.cert) {
    json::array seals;
    for (const auto &s : p.cert->seals)
      seals.push_back(json::object{{"validator", s.validator}, {"signature", to_hex(s.signature)}});
    o["commitCert"] = json::object{{"round", p.cert->round}, {"seals", std::move(seals)}};
  }
  return o;
}

InclusionProof proof_from_json(const json::value &v) {
  if (!v.is_object()) throw DecodeError("proof must be a JSON object");
  const auto &o = v.as_object();
  InclusionProof p;
  p.block_number = uint_field(o, "blockNumber");
  uint64_t index = uint_field(o, "index"), count = uint_field(o, "txCount");
  if (index > UINT32_MAX || count > UINT32_MAX) throw DecodeError("proof index or txCount out of range");
  p.index = static_cast<uint32_t>(index);
  p.tx_count = static_cast<uint32_t>(count);
  p.tx_hash = hash_field(o, "txHash");
  p.receipt_hash = hash_field(o, "receiptHash");
  p.tx_path = path_field(o, "txProof");
  p.receipt_path = path_field(o, "receiptProof");
  p.block_hash = hash_field(o, "blockHash");
  const auto &hv = field(o, "header");
  if (!hv.is_object()) throw DecodeError("proof \"header\" must be an object");
  const auto &h = hv.as_object();
  uint64_t version = uint_field(h, "version");
  if (version > 255) throw DecodeError("header version out of range");
  p.header.version = static_cast<uint8_t>(version);
  p.header.chain_id = uint_field(h, "chainId");
  p.header.number = uint_field(h, "number");
  p.header.parent_hash = hash_field(h, "parentHash");
  p.header.timestamp_ms = uint_field(h, "timestamp");
  p.header.proposer = parse_address(str_field(h, "proposer"));
  uint64_t header_count = uint_field(h, "txCount");
  if (header_count > UINT32_MAX) throw DecodeError("header txCount out of range");
  p.header.tx_count = static_cast<uint32_t>(header_count);
  p.header.tx_root = hash_field(h, "transactionsRoot");
  p.header.receipt_root = hash_field(h, "receiptsRoot");
  p.header.state_hash = hash_field(h, "stateHash");
  if (auto it = o.find("commitCert"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) throw DecodeError("proof \"commitCert\" must be an object");
    const auto &c = it->value().as_object();
    bft::CommitCert cert;
    uint64_t round = uint_field(c, "round");
    if (round > UINT32_MAX) throw DecodeError("commitCert round out of range");
    cert.round = static_cast<uint32_t>(round);
    const auto &sv = field(c, "seals");
    if (!sv.is_array()) throw DecodeError("commitCert \"seals\" must be an array");
    for (const auto &e : sv.as_array()) {
      if (!e.is_object()) throw DecodeError("a seal must be an object");
      bft::Seal seal;
      uint64_t v = uint_field(e.as_object(), "validator");
      if (v > UINT32_MAX) throw DecodeError("seal validator out of range");
      seal.validator = static_cast<uint32_t>(v);
      Bytes sig = from_hex(str_field(e.as_object(), "signature"));
      if (sig.size() != seal.signature.size()) throw DecodeError("a seal signature must be 65 bytes");
      std::copy(sig.begin(), sig.end(), seal.signature.begin());
      cert.seals.push_back(seal);
    }
    p.cert = std::move(cert);
  }
  return p;
}

} // namespace weft::refchain
