// The adapter's HTLC verbs over a chain's htlc resources: lock, claim (htlc_unlock) and refund are transactions the
// named account signs, status is a read. Requests are checked before signing (WEFT_E_INVALID_ARGUMENT,
// WEFT_E_NOT_FOUND); a committed receipt that failed becomes the verb's failure with {"hash","code"}, so the router
// tells a wrong secret from an expired lock without parsing messages. Shapes: docs/adapters.md, "HTLC verbs".
#include "verbs.h"

#include "chain_queries.h"
#include "error.h"

#include <boost/json.hpp>

#include <cctype>

namespace weft::refchain::verbs {

namespace json = boost::json;

using queries::parse_request;
using queries::string_field;

namespace {

[[noreturn]] void bad(const std::string &m) {
  throw Error(WEFT_E_INVALID_ARGUMENT, "request: " + m);
}

// The htlc resource a request names; WEFT_E_NOT_FOUND if absent, WEFT_E_INVALID_ARGUMENT if of another kind.
std::string htlc_resource(Runtime &rt, const json::object &req) {
  std::string name = string_field(req, "resource");
  const Contract *c = rt.contract(name);
  if (c == nullptr) throw Error(WEFT_E_NOT_FOUND, "no resource named \"" + name + "\" on this chain");
  if (c->kind() != "htlc")
    throw Error(WEFT_E_INVALID_ARGUMENT, "resource " + name + " is a " + std::string(c->kind()) + ", not an htlc");
  return name;
}

std::string lower(std::string s) {
  for (auto &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "0x" + 64 hex digits, lowercased.
std::string hex32_field(const json::object &req, const char *key) {
  std::string v = string_field(req, key);
  bool ok = v.size() == 66 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') &&
            std::all_of(v.begin() + 2, v.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!ok) bad(std::string("\"") + key + "\" must be 0x followed by 64 hex digits");
  return lower(v);
}

std::string address_field(const json::object &req, const char *key) {
  std::string v = string_field(req, key);
  try {
    return address_text(parse_address(v));
  } catch (const std::exception &) {
    bad(std::string("\"") + key + "\" must be an address, 0x followed by 40 hex digits");
  }
}

// A u64 given as a decimal string or a non-negative JSON integer; returned as canonical decimal text.
std::string u64_field(const json::object &req, const char *key) {
  auto it = req.find(key);
  if (it == req.end() || it->value().is_null()) bad(std::string("\"") + key + "\" is required");
  const json::value &v = it->value();
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_int64() && v.as_int64() >= 0) return std::to_string(v.as_int64());
  if (v.is_string()) {
    try {
      return std::to_string(parse_amount(std::string(v.as_string())));
    } catch (const ContractError &e) {
      bad(std::string("\"") + key + "\": " + e.what());
    }
  }
  bad(std::string("\"") + key + "\" must be a decimal string or a non-negative integer");
}


} // namespace


namespace {

// Success: {"sender","id","txHash","blockNumber","blockTime","state"}; a failed receipt: receipt_failure.
Runtime::Transform htlc_outcome(std::string sender, std::string id, std::string state) {
  return [sender = std::move(sender), id = std::move(id),
          state = std::move(state)](const json::object &sent) -> Runtime::Answer {
    auto code = sent.at("errorCode").to_number<uint32_t>();
    std::string hash(sent.at("hash").as_string());
    if (code != kStatusOk) return receipt_failure(code, std::string(sent.at("message").as_string()), hash);
    return {WEFT_OK,
            json::serialize(json::object{{"sender", sender},
                                         {"id", id},
                                         {"txHash", hash},
                                         {"blockNumber", sent.at("blockNumber")},
                                         {"blockTime", sent.at("timestamp")},
                                         {"state", state}}),
            ""};
  };
}

Result send_htlc(Runtime &rt, uint64_t op, const std::string &account, Transaction tx, std::string sender,
                 std::string id, std::string state) {
  sign(rt, op, tx, account);
  return dispatch(rt, op, tx, htlc_outcome(std::move(sender), std::move(id), std::move(state)));
}

} // namespace

Result htlc_lock(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  Transaction tx;
  tx.resource = htlc_resource(rt, req);
  std::string id = hex32_field(req, "id"), receiver = address_field(req, "receiver");
  std::string amount = u64_field(req, "amount"), hash = hex32_field(req, "hash");
  std::string timelock = u64_field(req, "timelock");
  if (amount == "0") bad("\"amount\" must be greater than zero");
  std::string account = string_field(req, "account");
  if (account.empty()) bad("\"account\" must name the account to sign with");
  tx.method = "lock";
  tx.args = {id, receiver, amount, hash, timelock};
  sign(rt, op, tx, account);
  // The lock's sender is whoever signed: the chain reads it from the signature, and so does the answer.
  std::string sender = address_text(address_of(recover_signer(tx.signing_digest(), tx.signature)));
  return dispatch(rt, op, tx, htlc_outcome(sender, id, "locked"));
}

Result htlc_unlock(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  Transaction tx;
  tx.resource = htlc_resource(rt, req);
  std::string sender = address_field(req, "sender"), id = hex32_field(req, "id");
  std::string secret = hex32_field(req, "secret");
  std::string account = string_field(req, "account");
  if (account.empty()) bad("\"account\" must name the account to sign with");
  tx.method = "claim";
  tx.args = {sender, id, secret};
  return send_htlc(rt, op, account, std::move(tx), sender, id, "claimed");
}

Result htlc_refund(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  Transaction tx;
  tx.resource = htlc_resource(rt, req);
  std::string sender = address_field(req, "sender"), id = hex32_field(req, "id");
  std::string account = string_field(req, "account");
  if (account.empty()) bad("\"account\" must name the account to sign with");
  tx.method = "refund";
  tx.args = {sender, id};
  return send_htlc(rt, op, account, std::move(tx), sender, id, "refunded");
}

Result htlc_status(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  std::string resource = htlc_resource(rt, req);
  std::string sender = address_field(req, "sender"), id = hex32_field(req, "id");
  std::string text;
  if (!rt.remote()) {
    text = rt.ledger().call(resource, "status", {sender, id}).at(0);
  } else {
    auto answer = rt.node().call(
        "call", {{"resource", resource}, {"method", "status"}, {"args", json::array{sender, id}}}, rt.remaining(op));
    text = std::string(answer.at("result").as_array().at(0).as_string());
  }
  return json::serialize(json::parse(text));
}

} // namespace weft::refchain::verbs
