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
  return answer(queries::call(rt.ledger(), parse_request(request)));
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
    rt.submit(tx);
  } catch (...) {
    rt.forget_tx(op);
    throw;
  }
  return std::nullopt;
}

Result block_height(Runtime &rt, uint64_t, const std::string &) { return answer(queries::block_height(rt.ledger())); }

Result get_block(Runtime &rt, uint64_t, const std::string &request) {
  return answer(queries::get_block(rt.ledger(), parse_request(request)));
}

Result get_receipt(Runtime &rt, uint64_t, const std::string &request) {
  return answer(queries::get_receipt(rt.ledger(), parse_request(request)));
}

Result get_proof(Runtime &rt, uint64_t, const std::string &request) {
  return answer(queries::get_proof(rt.ledger(), parse_request(request)));
}

Result health(Runtime &rt, uint64_t, const std::string &) {
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

} // namespace weft::refchain::verbs
