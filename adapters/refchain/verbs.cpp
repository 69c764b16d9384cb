#include "verbs.h"

#include "chain_queries.h"
#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain::verbs {

namespace json = boost::json;

using queries::args_field;
using queries::parse_request;
using queries::string_field;

namespace {

Result answer(const json::object &o) { return json::serialize(o); }

// Remote mode: the same question, asked of the weft-node network within the operation's deadline, blocking the
// worker (a plain read goes through network_read instead and holds no worker).
Result ask_network(Runtime &rt, uint64_t op, const std::string &name, json::object request) {
  return answer(rt.node().call(name, std::move(request), rt.remaining(op)));
}

} // namespace

std::optional<NetworkRead> network_read(std::string_view verb, std::string_view request) {
  if (verb == "block_height") return NetworkRead{"block_height", {}};
  if (verb != "call" && verb != "get_block" && verb != "get_receipt" && verb != "get_proof") return std::nullopt;
  json::object fields = parse_request(request);
  if (verb == "call" && has_xa_options(fields)) return std::nullopt;
  return NetworkRead{std::string(verb), std::move(fields)};
}

void check_invocation(Runtime &rt, const Transaction &tx) {
  const Contract *c = rt.contract(tx.resource);
  if (c == nullptr) throw Error(WEFT_E_NOT_FOUND, "no resource named \"" + tx.resource + "\" on this chain");
  const MethodSpec *m = c->find(tx.method);
  if (m == nullptr)
    throw Error(WEFT_E_NOT_FOUND,
                "resource " + tx.resource + " (" + std::string(c->kind()) + ") has no method \"" + tx.method + "\"");
  if (!m->accepts(tx.args.size()))
    throw Error(WEFT_E_INVALID_ARGUMENT, tx.method + " " + m->arity_text() + ", got " + std::to_string(tx.args.size()));
}

void sign(Runtime &rt, uint64_t op, Transaction &tx, const std::string &account) {
  if (account.empty())
    throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"account\" must name the account to sign with");
  tx.chain_id = rt.config().ledger.chain_id;
  tx.nonce = random_nonce();
  uint64_t height = rt.remote() ? rt.remote_height(op) : rt.ledger().height();
  tx.block_limit = height + kSendBlockLimitAhead;
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
}

Result dispatch(Runtime &rt, uint64_t op, const Transaction &tx, Runtime::Transform transform) {
  if (rt.remote()) {
    // The worker goes back at once; the node's answer at commit completes the operation.
    rt.submit_remote(op, tx, std::move(transform));
    return std::nullopt;
  }
  rt.await_tx(op, tx.hash(), std::move(transform)); // before the pool: the block may commit before submit returns
  try {
    rt.submit(tx);
  } catch (...) {
    rt.forget_tx(op);
    throw;
  }
  return std::nullopt;
}

Result list_resources(Runtime &rt, uint64_t, const std::string &) {
  json::array list;
  for (const auto &r : rt.config().ledger.resources) {
    const Contract *c = rt.contract(r.name);
    json::array methods, writes;
    for (const auto &m : c->methods()) {
      methods.emplace_back(m.name);
      if (m.writes) writes.emplace_back(m.name);
    }
    json::object properties{{"contract", r.contract}, {"methods", methods}, {"writeMethods", writes}};
    if (r.contract == "htlc") {
      properties["asset"] = r.asset;
      properties["escrow"] = address_text(htlc_escrow_address(r.name));
    }
    list.push_back(json::object{{"name", r.name}, {"properties", std::move(properties)}});
  }
  list.push_back(xa_proxy_resource_json(rt));
  return answer({{"resources", list}});
}

Result call(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  if (check_xa_read(rt, op, req)) req.erase("options");
  if (rt.remote()) return ask_network(rt, op, "call", std::move(req));
  return answer(queries::call(rt.ledger(), req));
}

Result send_transaction(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  Transaction tx;
  tx.resource = string_field(req, "resource");
  tx.method = string_field(req, "method");
  tx.args = args_field(req);
  std::string account = string_field(req, "account");
  if (account.empty())
    throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"account\" must name the account to sign with");
  check_invocation(rt, tx);
  if (!xa_wrap_step(rt, req, tx)) check_not_locked(rt, op, tx);
  sign(rt, op, tx, account);
  return dispatch(rt, op, tx);
}

Result block_height(Runtime &rt, uint64_t op, const std::string &) {
  if (rt.remote()) return ask_network(rt, op, "block_height", {});
  return answer(queries::block_height(rt.ledger()));
}

Result get_block(Runtime &rt, uint64_t op, const std::string &request) {
  if (rt.remote()) return ask_network(rt, op, "get_block", parse_request(request));
  return answer(queries::get_block(rt.ledger(), parse_request(request)));
}

// BFT: a block is final once committed. The interval is the configured pace under load; an idle chain still makes
// an empty block every empty_block_interval_ms, so chain time never stands still longer than that.
Result chain_info(Runtime &rt, uint64_t op, const std::string &) {
  json::object head;
  uint64_t height = 0;
  bool start_in_step = true; // embedded: this build's contracts
  if (rt.remote()) {
    auto &node = rt.node();
    // A network of nodes from before startexec lists no such feature: its branches start on their own.
    start_in_step = rt.remote_starts_in_step(op);
    height = node.call("block_height", {}, rt.remaining(op)).at("height").to_number<uint64_t>();
    head = node.call("get_block", {{"number", height}}, rt.remaining(op));
  } else {
    height = rt.ledger().height();
    head = queries::get_block(rt.ledger(), {{"number", height}});
  }
  const json::value *ts = head.if_contains("timestamp");
  return answer({{"height", height},
                 {"blockTime", ts != nullptr ? ts->to_number<int64_t>() : 0},
                 {"finalityBlocks", 0},
                 {"blockIntervalMs", rt.config().block_interval_ms},
                 {"emptyBlockIntervalMs", rt.config().empty_block_interval_ms},
                 {"xaStartInStep", start_in_step}});
}

Result get_receipt(Runtime &rt, uint64_t op, const std::string &request) {
  if (rt.remote()) return ask_network(rt, op, "get_receipt", parse_request(request));
  return answer(queries::get_receipt(rt.ledger(), parse_request(request)));
}

Result get_proof(Runtime &rt, uint64_t op, const std::string &request) {
  if (rt.remote()) return ask_network(rt, op, "get_proof", parse_request(request));
  return answer(queries::get_proof(rt.ledger(), parse_request(request)));
}

Result health(Runtime &rt, uint64_t op, const std::string &) {
  if (rt.remote()) {
    auto &node = rt.node();
    auto h = node.call("health", {}, rt.remaining(op));
    h["node"] = node.current_node();
    return answer(h);
  }
  json::array validators;
  auto &net = rt.network();
  for (size_t i = 0; i < net.size(); ++i) {
    auto st = net.at(i).status();
    validators.push_back(json::object{{"address", address_text(net.validator_set()[i])},
                                      {"height", st.height},
                                      {"round", st.round},
                                      {"roundChanges", st.round_changes},
                                      {"droppedMessages", st.dropped_messages}});
  }
  return answer({{"status", "ok"},
                 {"height", rt.ledger().height()},
                 {"validators", rt.config().validators},
                 {"poolSize", rt.ledger().pool_size()},
                 {"consensus", validators}});
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

Runtime::Answer receipt_failure(uint32_t code, const std::string &message, const std::string &hash) {
  json::object details{{"hash", hash}, {"code", code}};
  int32_t status = WEFT_E_REJECTED;
  switch (code) {
  case kStatusBusy: {
    status = WEFT_E_BUSY;
    auto at = message.find(kBusyMessageMarker);
    details["holder"] = at == std::string::npos ? "" : message.substr(at + kBusyMessageMarker.size());
    break;
  }
  case kStatusXaUnknown:
  case kStatusUnknownResource:
  case kStatusUnknownMethod:
    status = WEFT_E_NOT_FOUND;
    break;
  case kStatusNotCoordinator:
    status = WEFT_E_ACCOUNT;
    break;
  case kStatusBadArguments:
    status = WEFT_E_INVALID_ARGUMENT;
    break;
  default:
    break;
  }
  return {status, message, json::serialize(details)};
}

} // namespace weft::refchain::verbs
