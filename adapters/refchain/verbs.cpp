#include "verbs.h"

#include "chain_json.h"
#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain::verbs {

namespace json = boost::json;

namespace {

[[noreturn]] void bad_request(const std::string &m) { throw Error(WEFT_E_INVALID_ARGUMENT, "request: " + m); }

json::object parse_request(const std::string &text) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) bad_request("not valid JSON: " + ec.message());
  if (v.is_null()) return {};
  if (!v.is_object()) bad_request("must be a JSON object");
  return std::move(v.as_object());
}

std::string string_field(const json::object &o, const char *key, bool required = true) {
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

Result answer(const json::object &o) { return json::serialize(o); }

} // namespace

Result list_resources(Runtime &rt, uint64_t, const std::string &) {
  json::array list;
  for (const auto &r : rt.config().ledger.resources) {
    const Contract *c = rt.ledger().contract(r.name);
    json::array methods, writes;
    for (const auto &m : c->methods()) {
      methods.emplace_back(m.name);
      if (m.writes) writes.emplace_back(m.name);
    }
    list.push_back(json::object{
        {"name", r.name},
        {"properties", json::object{{"contract", r.contract}, {"methods", methods}, {"writeMethods", writes}}}});
  }
  return answer({{"resources", list}});
}

Result call(Runtime &rt, uint64_t, const std::string &request) {
  json::object req = parse_request(request);
  std::string resource = string_field(req, "resource"), method = string_field(req, "method");
  uint64_t height = rt.ledger().height();
  auto result = rt.ledger().call(resource, method, args_field(req));
  json::array out;
  for (auto &s : result)
    out.emplace_back(s);
  return answer({{"errorCode", 0},
                 {"message", "Success"},
                 {"hash", ""},
                 {"blockNumber", height},
                 {"result", out},
                 {"timestamp", 0}});
}

Result send_transaction(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  Transaction tx;
  tx.resource = string_field(req, "resource");
  tx.method = string_field(req, "method");
  tx.args = args_field(req);
  std::string account = string_field(req, "account");
  if (account.empty()) bad_request("\"account\" must name the account to sign with");
  Ledger &ledger = rt.ledger();
  ledger.check_invocation(tx.resource, tx.method, tx.args.size());
  tx.chain_id = ledger.chain_id();
  tx.nonce = random_nonce();
  tx.block_limit = ledger.height() + kSendBlockLimitAhead;
  Hash digest = tx.signing_digest();
  plugin::Signature signed_by = rt.host().sign(account, "secp256k1", digest.data(), digest.size());
  if (signed_by.signature.size() != tx.signature.size())
    throw Error(WEFT_E_ACCOUNT, "the host returned a " + std::to_string(signed_by.signature.size()) +
                                    "-byte signature; secp256k1 needs 65 (r || s || recovery id)");
  std::copy(signed_by.signature.begin(), signed_by.signature.end(), tx.signature.begin());
  if (signed_by.public_key.size() == 64) {
    PublicKey pub{};
    std::copy(signed_by.public_key.begin(), signed_by.public_key.end(), pub.begin());
    if (recover_signer(digest, tx.signature) != pub)
      throw Error(WEFT_E_ACCOUNT, "the host's signature for account " + account + " does not match its public key");
  }
  Hash hash = tx.hash();
  rt.await_tx(op, hash); // before the pool: the block may commit before submit returns
  try {
    ledger.submit(std::move(tx));
  } catch (...) {
    rt.forget_tx(op);
    throw;
  }
  rt.wake_producer();
  return std::nullopt;
}

Result block_height(Runtime &rt, uint64_t, const std::string &) { return answer({{"height", rt.ledger().height()}}); }

Result get_block(Runtime &rt, uint64_t, const std::string &request) {
  json::object req = parse_request(request);
  uint64_t number = uint_field(req, "number");
  auto header = rt.ledger().header(number);
  if (!header)
    throw Error(WEFT_E_NOT_FOUND, "block " + std::to_string(number) + " does not exist yet (height " +
                                      std::to_string(rt.ledger().height()) + ")");
  return answer(block_json(*header, rt.ledger().block_tx_hashes(number)));
}

Result get_receipt(Runtime &rt, uint64_t, const std::string &request) {
  json::object req = parse_request(request);
  Hash hash = hash_field(req);
  auto rec = rt.ledger().find_tx(hash);
  if (!rec) throw Error(WEFT_E_NOT_FOUND, "no committed transaction " + to_hex(hash) + " (it may still be pending)");
  auto header = rt.ledger().header(rec->receipt.block_number);
  return answer(receipt_json(rec->receipt, header ? header->timestamp_ms : 0));
}

Result get_proof(Runtime &rt, uint64_t, const std::string &request) {
  json::object req = parse_request(request);
  Hash hash = hash_field(req);
  auto proof = rt.ledger().proof(hash);
  if (!proof) throw Error(WEFT_E_NOT_FOUND, "no committed transaction " + to_hex(hash) + " (it may still be pending)");
  return answer(proof_json(*proof));
}

Result health(Runtime &rt, uint64_t, const std::string &) {
  return answer({{"status", "ok"},
                 {"height", rt.ledger().height()},
                 {"validators", rt.config().validators},
                 {"poolSize", rt.ledger().pool_size()}});
}

Result account_info(Runtime &rt, uint64_t, const std::string &request) {
  json::object req = parse_request(request);
  std::string account = string_field(req, "account");
  auto pub = rt.host().public_key(account, "secp256k1");
  if (pub.size() != 64)
    throw Error(WEFT_E_ACCOUNT, "the host returned a " + std::to_string(pub.size()) + "-byte public key for " +
                                    account + "; expected 64 (uncompressed, no prefix)");
  PublicKey key{};
  std::copy(pub.begin(), pub.end(), key.begin());
  return answer({{"address", address_text(address_of(key))}});
}

} // namespace weft::refchain::verbs
