// The XA and HTLC verbs of a Fabric chain, over Weft's chaincode stubs (stubs/fabric/: weft-xa-proxy.js,
// weft-htlc.js), which the channel's admins install: the router does not deploy chaincode, so deploy_stubs stays NULL
// on Fabric. options.xa_proxy names the proxy's chaincode; resources marked `xa` are XA-capable business chaincode
// (their writes go through the proxy), resources marked `htlc` are HTLC chaincodes. A stub refuses with "Name: text";
// the name maps to a status and the reference chain's receipt code exactly as for the EVM stubs (docs/adapters.md).
#include "fabric_chain.h"
#include "stub_verbs.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>

namespace weft::fabric {

namespace json = boost::json;
using plugin::Failure;

namespace {

using Refusal = evm::StubRefusal;

// "Name: text" -> Name, or "" when the message is not a stub's refusal.
std::string refusal_name(const std::string &message) {
  const auto colon = message.find(':');
  if (colon == std::string::npos || colon == 0) return "";
  const std::string name = message.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
    return "";
  return name;
}

Refusal refusal_of(const std::string &name) {
  return evm::stub_refusal(name);
}

// The holder in a Locked refusal: "... locked by XA transaction 'ID'".
std::string holder_in(const std::string &message) {
  const std::string mark = "locked by XA transaction '";
  const auto at = message.find(mark);
  if (at == std::string::npos) return "";
  const auto from = at + mark.size();
  const auto to = message.find('\'', from);
  return to == std::string::npos ? "" : message.substr(from, to - from);
}

std::string text_of(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_int64() && v->as_int64() >= 0) return std::to_string(v->as_int64());
  return "";
}

std::string need(const json::object &o, const char *key) {
  std::string v = text_of(o, key);
  if (v.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(key) + " is missing");
  return v;
}

std::string xid_of(const json::object &req) {
  const std::string id = str_of(req, "xaTransactionID");
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
      }))
    throw Failure(WEFT_E_INVALID_ARGUMENT, "xaTransactionID must be 1-128 characters of [A-Za-z0-9_.:-]");
  return id;
}

json::object parse_object(const std::string &text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    throw Failure(WEFT_E_UNAVAILABLE, "a Weft stub answered something that is not a JSON object");
  return v.as_object();
}

int64_t int_of(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return 0;
}

} // namespace

// ---- Plumbing ----

void FabricChain::submit(const std::shared_ptr<Op> &op, const std::string &chaincode,
                         const std::vector<std::string> &args, const Signing &who, Sent then) {
  std::vector<size_t> peers;
  for (size_t i = 0; i < cfg_.peers.size(); ++i)
    peers.push_back(i);
  endorse(op, peers, chaincode, args, who, [this, op, who, then](std::shared_ptr<Proposal> p, Endorsements answers) {
    const auto e = check_endorsements(answers);
    if (e.status >= 400)
      return then(json::object{{"errorCode", e.status},
                               {"message", as_text(e.message)},
                               {"hash", p->tx_id},
                               {"blockNumber", 0},
                               {"result", json::array{}},
                               {"timestamp", 0}});
    if (e.differ)
      return book_.fail(op, WEFT_E_REJECTED,
                        "the endorsing peers computed different results for transaction " + p->tx_id +
                            " (non-deterministic chaincode, peers at different states, or stubs run with different "
                            "settings); nothing was ordered");
    auto env = std::make_shared<common::Envelope>(make_transaction(*p, answers, signer(who.account)));
    order(op, env, p->tx_id, e.result, then);
  });
}

void FabricChain::query(const std::shared_ptr<Op> &op, const std::string &chaincode,
                        const std::vector<std::string> &args, std::function<void(std::string)> then) {
  const Signing who = service_signing();
  endorse(op, {0}, chaincode, args, who, [this, op, chaincode, then](std::shared_ptr<Proposal>, Endorsements answers) {
    const auto e = check_endorsements(answers);
    if (e.status >= 400) {
      const std::string message = as_text(e.message);
      const auto r = refusal_of(refusal_name(message));
      return book_.fail(op, r.status, "chaincode " + chaincode + ": " + message,
                        json::serialize(json::object{{"hash", ""}, {"code", r.code}}));
    }
    then(as_text(e.result));
  });
}

namespace {
// A stub's write that did not succeed: the status of its refusal, or of its validation code.
void fail_sent(evm::OpBook &book, const std::shared_ptr<Op> &op, const json::object &sent, const std::string &what) {
  const std::string message = std::string(sent.at("message").as_string());
  const std::string hash = std::string(sent.at("hash").as_string());
  const std::string name = refusal_name(message);
  if (name.empty() || int_of(sent, "blockNumber") != 0 || int_of(sent, "errorCode") < 400) {
    // Endorsed, ordered, but invalidated (MVCC_READ_CONFLICT when a concurrent write to the same keys won).
    return book.fail(op, WEFT_E_REJECTED, what + ": transaction " + hash + " is " + message,
                     json::serialize(json::object{{"hash", hash}, {"code", int_of(sent, "errorCode")}}));
  }
  const auto r = refusal_of(name);
  json::object details{{"hash", hash}, {"code", r.code}};
  if (name == "Locked") details["holder"] = holder_in(message);
  book.fail(op, r.status, what + ": " + message, json::serialize(details));
}
} // namespace

// ---- XA ----

// The coordinator's identity: the request's account when it can sign for Fabric, else the chain's service account
// (router config accounts hold no P-256 keys yet, so the chain's default_account, which the coordinator names, has
// none; the proxy's WEFT_XA_COORDINATOR must then name the service account's identity).
FabricChain::Signing FabricChain::coordinator(const std::string &account) const {
  try {
    auto s = signing(account);
    const uint8_t probe[32] = {1};
    host_.sign(account, "p256", probe, sizeof probe); // throws when the account holds no P-256 key
    return s;
  } catch (const Failure &) {
    return service_signing();
  }
}

bool FabricChain::send_through_proxy(const std::shared_ptr<Op> &op, const ChaincodeResource &res,
                                     const json::object &req) {
  std::string xid;
  std::string seq;
  if (const auto *o = req.if_contains("options"); o != nullptr && o->is_object()) {
    xid = str_of(o->as_object(), "XA_TRANSACTION_ID");
    if (xid == "0") xid.clear();
    seq = text_of(o->as_object(), "XA_TRANSACTION_SEQ");
  }
  if (!res.xa) {
    if (!xid.empty())
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + res.name + "' is not XA-capable (options.resources[].xa)");
    return false;
  }
  const std::string method = str_of(req, "method");
  if (method.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "method is missing: the chaincode function to invoke");
  json::array args;
  if (const auto *a = req.if_contains("args")) {
    if (!a->is_array()) throw Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
    for (const auto &v : a->as_array()) {
      if (!v.is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
      args.push_back(v);
    }
  }
  std::vector<std::string> call;
  if (xid.empty()) {
    call = {"forward", res.chaincode, method, json::serialize(args)};
  } else {
    if (seq.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "a step needs options.XA_TRANSACTION_SEQ");
    call = {"step", xid, seq, res.chaincode, method, json::serialize(args)};
  }
  const Signing who = signing(str_of(req, "account"));
  submit(op, cfg_.xa_proxy, call, who, [this, op, name = res.name](json::object sent) {
    // The sent shape with the business chaincode's answer; a stub's refusal carries the reference chain's code.
    const std::string message = std::string(sent.at("message").as_string());
    const std::string refusal = refusal_name(message);
    if (int_of(sent, "errorCode") >= 400 && !refusal.empty()) sent["errorCode"] = refusal_of(refusal).code;
    if (refusal == "Locked") sent["holder"] = holder_in(message);
    sent["resource"] = name;
    book_.succeed(op, sent);
  });
  return true;
}

bool FabricChain::call_in_xa(const std::shared_ptr<Op> &op, const ChaincodeResource &res, const json::object &req) {
  const auto *o = req.if_contains("options");
  if (o == nullptr || !o->is_object()) return false;
  std::string xid = str_of(o->as_object(), "XA_TRANSACTION_ID");
  if (xid.empty() || xid == "0") return false;
  if (!res.xa || cfg_.xa_proxy.empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT,
                  "resource '" + res.name + "' is not XA-capable, so not in transaction " + xid);
  query(op, cfg_.xa_proxy, {"holderOf", res.chaincode}, [this, op, res, req, xid](std::string holder) {
    if (holder != xid)
      return book_.fail(
          op, WEFT_E_INVALID_ARGUMENT,
          "transaction " + xid + " does not hold resource '" + res.name + "'" +
              (holder.empty() ? std::string(" (it is not locked)") : " (transaction " + holder + " does)"));
    json::object plain = req;
    plain.erase("options");
    call(op, std::move(plain));
  });
  return true;
}

void FabricChain::xa_start(const std::shared_ptr<Op> &op, json::object req) {
  if (cfg_.xa_proxy.empty()) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy (options.xa_proxy)");
  const std::string xid = xid_of(req);
  const auto *list = req.if_contains("resources");
  if (list == nullptr || !list->is_array() || list->as_array().empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resources must be a non-empty list of resource names");
  std::vector<std::string> chaincodes;
  for (const auto &v : list->as_array()) {
    if (!v.is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "resources must be a list of resource names");
    json::object named{{"resource", v.as_string()}};
    const auto &r = resource(named);
    if (!r.xa)
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + r.name + "' is not XA-capable (options.resources[].xa)");
    chaincodes.push_back(r.chaincode);
  }
  std::sort(chaincodes.begin(), chaincodes.end());
  chaincodes.erase(std::unique(chaincodes.begin(), chaincodes.end()), chaincodes.end());
  json::array targets;
  for (const auto &c : chaincodes)
    targets.emplace_back(c);
  const Signing who = coordinator(str_of(req, "account"));
  submit(op, cfg_.xa_proxy, {"start", xid, json::serialize(targets)}, who, [this, op, xid](json::object sent) {
    if (int_of(sent, "errorCode") != 0) return fail_sent(book_, op, sent, "XA start of " + xid);
    book_.succeed(op, json::object{{"xaTransactionID", xid}, {"status", "processing"}, {"hash", sent.at("hash")}});
  });
}

void FabricChain::xa_commit(const std::shared_ptr<Op> &op, json::object req) {
  stub_decide(op, req, "commit");
}

void FabricChain::xa_rollback(const std::shared_ptr<Op> &op, json::object req) {
  stub_decide(op, req, "rollback");
}

// commit, or rollback repeated until the proxy says rolledback (one compensation per transaction: Fabric has no
// read-your-writes inside a transaction).
void FabricChain::stub_decide(const std::shared_ptr<Op> &op, const json::object &req, const std::string &verb) {
  if (cfg_.xa_proxy.empty()) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy (options.xa_proxy)");
  const std::string xid = xid_of(req);
  const Signing who = coordinator(str_of(req, "account"));
  auto again = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = again;
  *again = [this, op, xid, who, verb, weak] {
    auto self = weak.lock();
    submit(op, cfg_.xa_proxy, {verb, xid}, who, [this, op, xid, verb, self](json::object sent) {
      if (int_of(sent, "errorCode") != 0) return fail_sent(book_, op, sent, "XA " + verb + " of " + xid);
      const auto answer = parse_object(std::string(sent.at("result").as_array().at(0).as_string()));
      const std::string status = str_of(answer, "status");
      if (verb == "rollback" && status == "processing" && self) return (*self)();
      book_.succeed(op, json::object{{"xaTransactionID", xid}, {"status", status}, {"hash", sent.at("hash")}});
    });
  };
  // The chain of submits keeps the function alive through its own captures until the last answer.
  auto keep = again;
  (*keep)();
  loop_.post([keep] {}); // released once this turn of the loop ends; the pending callback holds `self`
}

void FabricChain::xa_status(const std::shared_ptr<Op> &op, json::object req) {
  if (cfg_.xa_proxy.empty()) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy (options.xa_proxy)");
  const std::string xid = xid_of(req);
  query(op, cfg_.xa_proxy, {"branch", xid}, [this, op, xid](std::string text) {
    auto branch = std::make_shared<json::object>(parse_object(text));
    auto out = std::make_shared<json::object>();
    (*out)["xaTransactionID"] = xid;
    (*out)["status"] = str_of(*branch, "status");
    json::array names;
    if (const auto *t = branch->if_contains("targets"); t && t->is_array())
      for (const auto &c : t->as_array()) {
        std::string name(c.as_string());
        for (const auto &r : cfg_.resources)
          if (r.chaincode == name && r.xa) name = r.name;
        names.emplace_back(name);
      }
    (*out)["resources"] = std::move(names);
    (*out)["steps"] = json::array{};
    auto seqs = std::make_shared<std::vector<int64_t>>();
    if (const auto *s = branch->if_contains("seqs"); s && s->is_array())
      for (const auto &q : s->as_array())
        seqs->push_back(q.is_int64() ? q.as_int64() : static_cast<int64_t>(q.as_uint64()));
    auto next = std::make_shared<std::function<void(size_t)>>();
    std::weak_ptr<std::function<void(size_t)>> weak = next;
    *next = [this, op, xid, out, seqs, weak](size_t i) {
      if (i == seqs->size()) return book_.succeed(op, *out);
      auto self = weak.lock();
      query(op, cfg_.xa_proxy, {"stepOf", xid, std::to_string((*seqs)[i])},
            [this, out, seqs, i, self](std::string text) {
              auto s = parse_object(text);
              std::string name = str_of(s, "target");
              for (const auto &r : cfg_.resources)
                if (r.chaincode == name && r.xa) name = r.name;
              out->at("steps").as_array().push_back(json::object{{"seq", (*seqs)[i]},
                                                                 {"resource", name},
                                                                 {"method", str_of(s, "fn")},
                                                                 {"args", s["args"]},
                                                                 {"hash", str_of(s, "txId")},
                                                                 {"signer", str_of(s, "signer")},
                                                                 {"result", json::array{s["result"]}}});
              if (self) (*self)(i + 1);
            });
    };
    auto keep = next;
    (*keep)(0);
    loop_.post([keep] {});
  });
}

// ---- HTLC ----

namespace {
const ChaincodeResource &htlc_resource(const std::vector<ChaincodeResource> &all, const std::string &name) {
  for (const auto &r : all)
    if (r.name == name) {
      if (!r.htlc)
        throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + name + "' is not an HTLC (options.resources[].htlc)");
      return r;
    }
  throw Failure(WEFT_E_NOT_FOUND, "no resource '" + name + "' on this chain");
}
} // namespace

void FabricChain::htlc_write(const std::shared_ptr<Op> &op, const json::object &req, const std::string &fn,
                             std::vector<std::string> args) {
  const auto &h = htlc_resource(cfg_.resources, str_of(req, "resource"));
  // A lock is the signer's (the sender pays); a claim or refund pays the receiver or the sender whoever signs it, so
  // an account that cannot sign for Fabric sends it with the service account.
  const Signing who = fn == "lock" ? signing(str_of(req, "account")) : coordinator(str_of(req, "account"));
  args.insert(args.begin(), fn);
  submit(op, h.chaincode, args, who, [this, op, fn, req, chaincode = h.chaincode](json::object sent) {
    if (int_of(sent, "errorCode") != 0) {
      // A lock refused as Duplicate whose existing lock has exactly the request's terms is the same lock sent again.
      if (fn == "lock" && refusal_name(std::string(sent.at("message").as_string())) == "Duplicate") {
        const std::string sender = to_hex(sha256(signing(str_of(req, "account")).creator));
        return query(op, chaincode, {"status", sender, text_of(req, "id")}, [this, op, sent, req](std::string text) {
          auto s = parse_object(text);
          auto lower = [](std::string v) {
            std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
            return v;
          };
          const bool same =
              lower(str_of(s, "receiver")) ==
                  lower(text_of(req, "receiver")).substr(lower(text_of(req, "receiver")).starts_with("0x") ? 2 : 0) &&
              str_of(s, "amount") == text_of(req, "amount") && str_of(s, "hash") == lower(text_of(req, "hash")) &&
              std::to_string(int_of(s, "timelock")) == text_of(req, "timelock");
          if (!same) return fail_sent(book_, op, sent, "HTLC lock");
          book_.succeed(op, json::object{{"sender", s["sender"]},
                                         {"id", s["id"]},
                                         {"txHash", s["lockTx"]},
                                         {"blockNumber", 0},
                                         {"blockTime", s["lockTime"]},
                                         {"state", s["state"]},
                                         {"repeated", true}});
        });
      }
      return fail_sent(book_, op, sent, "HTLC " + fn);
    }
    auto r = parse_object(std::string(sent.at("result").as_array().at(0).as_string()));
    book_.succeed(op, json::object{{"sender", r["sender"]},
                                   {"id", r["id"]},
                                   {"txHash", sent.at("hash")},
                                   {"blockNumber", sent.at("blockNumber")},
                                   {"blockTime", r["blockTime"]},
                                   {"state", r["state"]}});
  });
}

void FabricChain::htlc_lock(const std::shared_ptr<Op> &op, json::object req) {
  htlc_write(op, req, "lock",
             {need(req, "id"), need(req, "receiver"), need(req, "amount"), need(req, "hash"), need(req, "timelock")});
}

void FabricChain::htlc_unlock(const std::shared_ptr<Op> &op, json::object req) {
  htlc_write(op, req, "claim", {need(req, "sender"), need(req, "id"), need(req, "secret")});
}

void FabricChain::htlc_refund(const std::shared_ptr<Op> &op, json::object req) {
  htlc_write(op, req, "refund", {need(req, "sender"), need(req, "id")});
}

void FabricChain::htlc_status(const std::shared_ptr<Op> &op, json::object req) {
  const auto &h = htlc_resource(cfg_.resources, str_of(req, "resource"));
  query(op, h.chaincode, {"status", need(req, "sender"), need(req, "id")}, [this, op](std::string text) {
    auto s = parse_object(text);
    // Fabric has no block numbers a chaincode can see: lockBlock and endBlock are 0, lockTx and endTx name the
    // transactions, lockTime and endTime their chain times.
    s["lockBlock"] = 0;
    s["endBlock"] = 0;
    book_.succeed(op, s);
  });
}

} // namespace weft::fabric
