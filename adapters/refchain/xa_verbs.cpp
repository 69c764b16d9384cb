// The adapter's XA verbs over the chain's WeCrossProxy contract: start, commit and rollback are transactions the
// coordinator's account signs, status is a read; a step is send_transaction with the XA options (verbs.cpp), which
// becomes WeCrossProxy.exec signed by the user's account. A committed receipt that failed becomes the verb's
// failure status, so the router tells "busy" from "already finished" from "not found" without parsing messages.
#include "verbs.h"

#include "chain_queries.h"
#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain::verbs {

namespace json = boost::json;

using queries::parse_request;
using queries::string_field;

namespace {

std::string xid_field(const json::object &req) {
  std::string xid = string_field(req, "xaTransactionID");
  if (!is_xa_id(xid))
    throw Error(WEFT_E_INVALID_ARGUMENT,
                "request: \"xaTransactionID\" must be 1-128 characters of A-Z a-z 0-9 _ . : -");
  return xid;
}



// Success: {"xaTransactionID","status":word}; a failed receipt: its failure.
Runtime::Transform xa_outcome(std::string xid, std::string word) {
  return [xid = std::move(xid), word = std::move(word)](const json::object &sent) -> Runtime::Answer {
    auto code = sent.at("errorCode").to_number<uint32_t>();
    if (code != kStatusOk)
      return receipt_failure(code, std::string(sent.at("message").as_string()), std::string(sent.at("hash").as_string()));
    return {WEFT_OK, json::serialize(json::object{{"xaTransactionID", xid}, {"status", word}}), ""};
  };
}

Result send_proxy(Runtime &rt, uint64_t op, const json::object &req, std::string method, std::vector<std::string> args,
                  std::string word) {
  Transaction tx;
  tx.resource = kXaProxyResource;
  tx.method = std::move(method);
  tx.args = std::move(args);
  std::string xid = tx.args.front();
  sign(rt, op, tx, string_field(req, "account"));
  return dispatch(rt, op, tx, xa_outcome(std::move(xid), std::move(word)));
}

// A read of the proxy on the committed state: its one result string.
std::string read_proxy(Runtime &rt, uint64_t op, const std::string &method, std::vector<std::string> args) {
  if (!rt.remote()) return rt.ledger().call(kXaProxyResource, method, args).at(0);
  auto answer = rt.node().call(
      "call", {{"resource", kXaProxyResource}, {"method", method}, {"args", json::array(args.begin(), args.end())}},
      rt.remaining(op));
  return std::string(answer.at("result").as_array().at(0).as_string());
}

json::object status_of(Runtime &rt, uint64_t op, const std::string &xid) {
  return json::parse(read_proxy(rt, op, "status", {xid})).as_object();
}

const json::object *xa_options(const json::object &req) {
  auto it = req.find("options");
  if (it == req.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_object()) throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"options\" must be an object");
  const auto &o = it->value().as_object();
  return o.contains("XA_TRANSACTION_ID") ? &o : nullptr;
}

std::string option_xid(const json::object &options) {
  const auto &v = options.at("XA_TRANSACTION_ID");
  if (!v.is_string() || !is_xa_id(v.as_string()))
    throw Error(WEFT_E_INVALID_ARGUMENT, "options.XA_TRANSACTION_ID must be 1-128 characters of A-Z a-z 0-9 _ . : -");
  return std::string(v.as_string());
}

} // namespace

Result xa_start(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  std::string xid = xid_field(req);
  std::vector<std::string> args{xid};
  const json::value *list = req.if_contains("resources");
  if (list == nullptr || !list->is_array() || list->as_array().empty())
    throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"resources\" must be a non-empty array of resource names");
  for (const auto &r : list->as_array()) {
    if (!r.is_string()) throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"resources\" must hold strings");
    std::string name(r.as_string());
    if (name == kXaProxyResource || rt.contract(name) == nullptr)
      throw Error(WEFT_E_NOT_FOUND, "no resource named \"" + name + "\" on this chain to lock");
    args.push_back(std::move(name));
  }
  return send_proxy(rt, op, req, "start", std::move(args), "processing");
}

Result xa_commit(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  std::string xid = xid_field(req);
  return send_proxy(rt, op, req, "commit", {xid}, "committed");
}

Result xa_rollback(Runtime &rt, uint64_t op, const std::string &request) {
  json::object req = parse_request(request);
  std::string xid = xid_field(req);
  return send_proxy(rt, op, req, "rollback", {xid}, "rolledback");
}

Result xa_status(Runtime &rt, uint64_t op, const std::string &request) {
  std::string xid = xid_field(parse_request(request));
  return json::serialize(status_of(rt, op, xid));
}

bool xa_wrap_step(Runtime &rt, const json::object &request, Transaction &tx) {
  const json::object *options = xa_options(request);
  if (options == nullptr) return false;
  std::string xid = option_xid(*options);
  std::string seq;
  const json::value *s = options->if_contains("XA_TRANSACTION_SEQ");
  if (s != nullptr && s->is_uint64())
    seq = std::to_string(s->as_uint64());
  else if (s != nullptr && s->is_int64() && s->as_int64() >= 0)
    seq = std::to_string(s->as_int64());
  else if (s != nullptr && s->is_string() && !s->as_string().empty() && s->as_string().size() <= 20 &&
           std::all_of(s->as_string().begin(), s->as_string().end(), [](char c) { return c >= '0' && c <= '9'; }))
    seq = std::string(s->as_string());
  else
    throw Error(WEFT_E_INVALID_ARGUMENT,
                "options.XA_TRANSACTION_SEQ must be a non-negative integer or its decimal string");
  if (tx.resource == kXaProxyResource)
    throw Error(WEFT_E_INVALID_ARGUMENT, "an XA step runs on a business resource, not on the XA proxy");
  if (!rt.contract(tx.resource)->find(tx.method)->writes)
    throw Error(WEFT_E_INVALID_ARGUMENT,
                "method " + tx.method + " only reads; an XA step is a write (use call with the XA options)");
  std::vector<std::string> args{xid, seq, tx.resource, tx.method};
  tx.method = "exec";
  // The branch's start rides on this step: the coordinator's account signs the start ticket here, through the host.
  if (const json::value *start = options->if_contains("XA_START"); start != nullptr) {
    const json::value *list = start->is_object() ? start->as_object().if_contains("resources") : nullptr;
    const json::value *account = start->is_object() ? start->as_object().if_contains("account") : nullptr;
    if (list == nullptr || !list->is_array() || list->as_array().empty() || account == nullptr ||
        !account->is_string() || account->as_string().empty())
      throw Error(WEFT_E_INVALID_ARGUMENT,
                  "options.XA_START must be {\"resources\":[names...],\"account\":coordinator account}");
    std::vector<std::string> names;
    std::string joined;
    for (const auto &r : list->as_array()) {
      if (!r.is_string() || rt.contract(std::string(r.as_string())) == nullptr || r.as_string() == kXaProxyResource)
        throw Error(WEFT_E_NOT_FOUND, "options.XA_START names " +
                                          (r.is_string() ? "\"" + std::string(r.as_string()) + "\"" : "a non-string") +
                                          ", not a resource of this chain to lock");
      names.emplace_back(r.as_string());
      joined += (joined.empty() ? "" : ",") + names.back();
    }
    Hash digest = xa_start_ticket_digest(rt.config().ledger.chain_id, xid, names);
    plugin::Signature ticket =
        rt.host().sign(std::string(account->as_string()), "secp256k1", digest.data(), digest.size());
    if (ticket.signature.size() != 65)
      throw Error(WEFT_E_ACCOUNT, "the host returned a " + std::to_string(ticket.signature.size()) +
                                      "-byte start ticket signature; secp256k1 needs 65");
    args.push_back(std::move(joined));
    args.push_back(to_hex(ByteView(ticket.signature.data(), ticket.signature.size())));
    tx.method = "startexec";
  }
  args.insert(args.end(), tx.args.begin(), tx.args.end());
  tx.resource = kXaProxyResource;
  tx.args = std::move(args);
  return true;
}

void check_not_locked(Runtime &rt, uint64_t op, const Transaction &tx) {
  if (tx.resource == kXaProxyResource || !rt.contract(tx.resource)->find(tx.method)->writes) return;
  std::optional<std::string> holder;
  if (rt.remote()) {
    try {
      for (bool fresh : {false, true}) {
        json::object locks = rt.remote_locks(op, fresh);
        const json::value *h = locks.if_contains(tx.resource);
        if (h == nullptr) return;
        holder = std::string(h->as_string());
      }
    } catch (const Error &e) {
      if (e.status != WEFT_E_NOT_FOUND) throw;
      return; // a network of nodes without the XA proxy has no locks
    }
  } else {
    holder = rt.ledger().xa_lock_holder(tx.resource);
  }
  if (holder)
    throw Error(WEFT_E_BUSY, busy_message(tx.resource, *holder), json::serialize(json::object{{"holder", *holder}}));
}

bool has_xa_options(const json::object &request) {
  return xa_options(request) != nullptr;
}

bool check_xa_read(Runtime &rt, uint64_t op, const json::object &request) {
  const json::object *options = xa_options(request);
  if (options == nullptr) return false;
  std::string xid = option_xid(*options), resource = string_field(request, "resource");
  json::object st = status_of(rt, op, xid);
  std::string status(st.at("status").as_string());
  if (status != "processing")
    throw Error(WEFT_E_INVALID_ARGUMENT, "XA transaction " + xid + " is " + status + ", not processing");
  for (const auto &r : st.at("resources").as_array())
    if (r.as_string() == resource) return true;
  throw Error(WEFT_E_INVALID_ARGUMENT, "XA transaction " + xid + " does not hold resource " + resource);
}

json::object xa_proxy_resource_json(Runtime &rt) {
  const Contract *c = rt.contract(kXaProxyResource);
  json::array methods, writes;
  for (const auto &m : c->methods()) {
    methods.emplace_back(m.name);
    if (m.writes) writes.emplace_back(m.name);
  }
  return {{"name", kXaProxyResource},
          {"properties", json::object{{"contract", "xa-proxy"}, {"methods", methods}, {"writeMethods", writes}}}};
}

} // namespace weft::refchain::verbs
