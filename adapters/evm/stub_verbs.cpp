// XA and HTLC through the Solidity stubs (stubs/evm/), compiled at build time and embedded here:
// - deploy_stubs deploys WeftXAProxy (listed as the resource WeCrossProxy) and WeftHTLC escrows of ERC-20 tokens, and
//   keeps them with the registered resources;
// - xa_start, xa_commit and xa_rollback are the proxy's start, commit and rollback, signed by the coordinator account;
//   xa_status reads the proxy's branch and steps (with their transaction hashes from XAStep logs where the chain can
//   query logs);
// - a write to an XA-capable contract (one that declares xaCompensation) goes through the proxy: a step of a
//   transaction through step(), any other write through forward(), which refuses it while the contract is locked;
// - the HTLC verbs are the escrow's lock (after approving it the amount), claim, refund and status.
// A stub's custom error becomes a status and the reference chain's receipt code (docs/adapters.md).
#include "stub_verbs.h"
#include "evm_util.h"
#include "stub_artifacts.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace weft::evm {

namespace json = boost::json;
using plugin::Failure;
using namespace util;

namespace {

constexpr const char *kProxyName = "WeCrossProxy";
// The allowance an account gives an escrow once: the escrow takes tokens only from the signer of a lock, so an
// unlimited allowance lets nobody else take anything, and it saves every later lock an approval (a block).
constexpr const char *kUnlimited = "115792089237316195423570985008687907853269984665640564039457584007913129639935";

struct Artifact {
  std::string abi_text;
  std::shared_ptr<const abi::ContractAbi> abi;
  Bytes bytecode;
};

const Artifact &artifact(const std::string &name) {
  static const std::map<std::string, Artifact> all = [] {
    std::map<std::string, Artifact> m;
    auto v = json::parse(stub_artifacts_json());
    for (const auto &[key, c] : v.as_object()) {
      Artifact a;
      a.abi_text = json::serialize(c.at("abi"));
      a.abi = load_abi(a.abi_text, "the built-in stub " + std::string(key));
      auto code = from_hex(std::string_view(c.at("bytecode").as_string()));
      if (code.ok()) a.bytecode = std::move(*code);
      m.emplace(std::string(key), std::move(a));
    }
    return m;
  }();
  auto it = all.find(name);
  if (it == all.end()) throw Failure(WEFT_E_INTERNAL, "the adapter was built without the stub " + name);
  return it->second;
}

const abi::Function &fn_of(const abi::ContractAbi &abi, const char *name, size_t argc) {
  auto f = abi.find(name, argc);
  if (!f.ok()) throw Failure(WEFT_E_INTERNAL, std::string("the stub has no ") + name + ": " + f.error().message);
  return **f;
}

Bytes encode(const abi::ContractAbi &abi, const char *name, const std::vector<std::string> &args) {
  auto data = abi::encode_call(fn_of(abi, name, args.size()), args);
  if (!data.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(name) + ": " + data.error().message);
  return std::move(*data);
}

std::optional<StubError> stub_error(const abi::ContractAbi &abi, const Bytes &data) {
  if (data.size() < 4) return std::nullopt;
  const auto *e = abi.error_by_selector(std::span<const uint8_t, 4>(data.data(), 4));
  if (e == nullptr) return std::nullopt;
  auto v = abi::decode_values(e->inputs, std::span<const uint8_t>(data).subspan(4));
  if (!v.ok()) return std::nullopt;
  return StubError{e->name, std::move(*v)};
}

using Refusal = StubRefusal;

Refusal refusal_of(const std::optional<StubError> &e) {
  return stub_refusal(e ? e->name : "");
}

// The node's message with the revert's reason decoded by abi, unless the message already carries it (the EVM adapter
// decodes while estimating; a FISCO BCOS receipt names only its status).
std::string with_reason(const std::string &message, const Bytes &data, const abi::ContractAbi *abi) {
  if (data.empty()) return message;
  auto reason = abi::decode_revert(data, abi);
  if (!reason || message.find(*reason) != std::string::npos) return message;
  return message + ": " + *reason;
}

std::string holder_of(const std::optional<StubError> &e) {
  return e && e->name == "Locked" && e->args.size() == 2 ? e->args[1] : "";
}

std::string details(const std::string &hash, int code, const std::string &holder) {
  json::object d{{"hash", hash}, {"code", code}};
  if (!holder.empty()) d["holder"] = holder;
  return json::serialize(d);
}

std::string xid_of(const json::value *v, const char *where) {
  if (v == nullptr || !v->is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(where) + " must be a string");
  std::string id(v->as_string());
  const bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
  if (!ok) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(where) + " must be 1-128 of letters, digits, _ . : -");
  return id;
}

// The proxy's key of a transaction id: keccak256(bytes(id)), which a guomi chain computes with SM3.
std::string hash_key(const std::string &xid, abi::Hasher h) {
  return util::hex_of(h(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(xid.data()), xid.size())));
}

// "0x" and 64 hex digits, either case in, lowercase out.
std::string word_field(const json::object &req, const char *key) {
  auto b = from_hex(str_of(req, key));
  if (!b.ok() || b->size() != 32)
    throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(key) + " must be 0x and 64 hex digits");
  return to_hex(*b);
}

Address address_field(const json::object &req, const char *key) {
  auto a = parse_address(str_of(req, key));
  if (!a.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(key) + ": " + a.error().message);
  return *a;
}

// A u64 as a decimal string or a non-negative JSON integer, in decimal.
uint64_t u64_field(const json::object &req, const char *key) {
  const auto *v = req.if_contains(key);
  std::optional<uint64_t> n;
  if (v != nullptr && v->is_string()) {
    const std::string s(v->as_string());
    if (!s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), ::isdigit) && (s == "0" || s[0] != '0')) {
      auto u = U256::parse(s);
      if (u.ok() && u->fits_u64()) n = u->low_u64();
    }
  } else if (v != nullptr && (v->is_uint64() || (v->is_int64() && v->as_int64() >= 0))) {
    n = parse_qty(v);
  }
  if (!n) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(key) + " must be an unsigned 64-bit decimal");
  return *n;
}

bool same_address(const std::string &a, const std::string &b) {
  auto x = parse_address(a), y = parse_address(b);
  return x.ok() && y.ok() && *x == *y;
}

} // namespace

StubRefusal stub_refusal(const std::string &name) {
  static const std::map<std::string, StubRefusal> table = {{"NotCoordinator", {WEFT_E_ACCOUNT, 11}},
                                                           {"Locked", {WEFT_E_BUSY, 7}},
                                                           {"Finished", {WEFT_E_REJECTED, 9}},
                                                           {"OtherTargets", {WEFT_E_REJECTED, 10}},
                                                           {"UnknownTransaction", {WEFT_E_NOT_FOUND, 8}},
                                                           {"NotProcessing", {WEFT_E_REJECTED, 9}},
                                                           {"NotInTransaction", {WEFT_E_REJECTED, 10}},
                                                           {"SeqReused", {WEFT_E_REJECTED, 10}},
                                                           {"NoContract", {WEFT_E_NOT_FOUND, 1}},
                                                           {"BadTransactionId", {WEFT_E_INVALID_ARGUMENT, 3}},
                                                           {"BadTargets", {WEFT_E_INVALID_ARGUMENT, 3}},
                                                           {"TooManySteps", {WEFT_E_REJECTED, 3}},
                                                           {"NotXACapable", {WEFT_E_INVALID_ARGUMENT, 2}},
                                                           {"NoCompensation", {WEFT_E_INVALID_ARGUMENT, 2}},
                                                           {"CompensationFailed", {WEFT_E_REJECTED, 10}},
                                                           {"BadArguments", {WEFT_E_INVALID_ARGUMENT, 3}},
                                                           {"BadTimestamp", {WEFT_E_REJECTED, 3}},
                                                           {"InsufficientBalance", {WEFT_E_REJECTED, 4}},
                                                           {"TransferFailed", {WEFT_E_REJECTED, 4}},
                                                           {"Duplicate", {WEFT_E_REJECTED, 12}},
                                                           {"WrongSecret", {WEFT_E_REJECTED, 13}},
                                                           {"Expired", {WEFT_E_REJECTED, 14}},
                                                           {"NotExpired", {WEFT_E_REJECTED, 15}},
                                                           {"NotLocked", {WEFT_E_REJECTED, 16}}};
  auto it = table.find(name);
  return it == table.end() ? StubRefusal{WEFT_E_REJECTED, 1} : it->second;
}

Bytes StubChain::stub_sign(const std::string &, const Hash256 &) {
  throw Failure(WEFT_E_UNSUPPORTED, "this chain takes no XA start tickets");
}

void StubChain::stub_guarded(const std::shared_ptr<Op> &op, const std::function<void()> &body) {
  try {
    body();
  } catch (const Failure &f) {
    stub_fail(op, f.status, f.message, "");
  } catch (const std::exception &e) {
    stub_fail(op, WEFT_E_INTERNAL, e.what(), "");
  }
}

StubChain::Done StubChain::guarded(Done done) {
  return [this, done = std::move(done)](const std::shared_ptr<Op> &o, json::object a) {
    stub_guarded(o, [&] { done(o, std::move(a)); });
  };
}

StubChain::Refused StubChain::guarded(Refused refused) {
  return [this, refused = std::move(refused)](const std::shared_ptr<Op> &o, const Bytes &d, const std::string &m,
                                              const std::string &h) { stub_guarded(o, [&] { refused(o, d, m, h); }); };
}

// ---- Stub state ----

const ResourceConfig &StubVerbs::named(const std::string &name) const {
  if (name.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "resource is missing");
  const auto &all = chain_.stub_resources();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->name == name) return *it;
  throw Failure(WEFT_E_NOT_FOUND, "no resource '" + name + "' on this chain");
}

const ResourceConfig *StubVerbs::at_address(const std::string &address) const {
  const ResourceConfig *r = nullptr;
  for (const auto &x : chain_.stub_resources())
    if (same_address(lower_address(x.address), address)) r = &x; // the latest registration wins
  return r;
}

const ResourceConfig *StubVerbs::xa_proxy() const {
  const auto &all = chain_.stub_resources();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->kind == "xa-proxy") return &*it;
  return nullptr;
}

bool StubVerbs::starts_in_step() const {
  const ResourceConfig *proxy = xa_proxy();
  // A proxy deployed before startStep existed keeps its old ABI in the chain's registry, and says no here.
  return proxy != nullptr && !chain_.stub_guomi() && chain_.stub_ticket_chain_id().has_value() &&
         proxy->abi->find("startStep", 6).ok();
}

bool StubVerbs::xa_capable(const ResourceConfig &r) const {
  return r.kind == "evm" && r.abi->find("xaCompensation", 1).ok();
}

std::shared_ptr<const abi::ContractAbi> StubVerbs::through_proxy_abi(const ResourceConfig &business) {
  auto &cached = proxy_abis_[&business];
  if (cached) return cached;
  auto merged = std::make_shared<abi::ContractAbi>(*business.abi);
  if (const auto *proxy = xa_proxy())
    for (const auto &e : proxy->abi->errors)
      merged->errors.push_back(e);
  cached = merged;
  return cached;
}

StubChain::Refused StubVerbs::refuse_as(std::shared_ptr<const abi::ContractAbi> abi, std::string what) {
  return [this, abi, what](const std::shared_ptr<Op> &op, const Bytes &data, const std::string &message,
                           const std::string &hash) {
    auto e = stub_error(*abi, data);
    Refusal r = refusal_of(e);
    chain_.stub_fail(op, r.status,
                     what + ": " + with_reason(message, data, abi.get()) + (hash.empty() ? " (nothing was sent)" : ""),
                     details(hash, r.code, holder_of(e)));
  };
}

// ---- Writes through the proxy ----

bool StubVerbs::through_proxy(const ResourceConfig &business, const json::object &opts) const {
  const bool step = opts.contains("XA_TRANSACTION_ID");
  if (xa_proxy() == nullptr) {
    if (step) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
    return false; // no proxy to lock anything: written directly
  }
  if (!xa_capable(business)) {
    if (step)
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + business.name +
                                                 "' cannot take part in XA transactions: its contract declares no "
                                                 "xaCompensation (docs/xa.md)");
    return false;
  }
  return true;
}

json::object StubVerbs::failed_send(const std::optional<StubError> &e, const std::string &message,
                                    const std::string &hash) const {
  return json::object{{"errorCode", e ? refusal_of(e).code : 1},
                      {"message", message + (hash.empty() ? " (found while estimating gas; nothing was sent)" : "")},
                      {"hash", hash},
                      {"blockNumber", chain_.stub_head()},
                      {"result", json::array{}}};
}

void StubVerbs::forward(const std::shared_ptr<Op> &op, const std::string &name,
                        std::shared_ptr<const abi::ContractAbi> proxy_abi, const std::string &target,
                        const std::string &data, const std::string &account,
                        std::shared_ptr<const abi::ContractAbi> abi) {
  const ResourceConfig *proxy = xa_proxy();
  chain_.stub_send(
      op, proxy->address, encode(*proxy_abi, "forward", {target, data}), account, abi,
      [this, name](const std::shared_ptr<Op> &op, json::object answer) {
        answer["resource"] = name;
        chain_.stub_succeed(op, answer);
      },
      [this, proxy_abi, name, abi](const std::shared_ptr<Op> &op, const Bytes &rd, const std::string &message,
                                   const std::string &hash) {
        auto e = stub_error(*proxy_abi, rd);
        if (e && e->name == "Locked" && hash.empty())
          return chain_.stub_fail(op, WEFT_E_BUSY,
                                  "resource '" + name + "' is locked by XA transaction " + holder_of(e) +
                                      "; nothing was sent",
                                  json::serialize(json::object{{"holder", holder_of(e)}}));
        chain_.stub_succeed(op, failed_send(e, with_reason(message, rd, abi.get()), hash));
      });
}

void StubVerbs::send_through_proxy(const std::shared_ptr<Op> &op, const ResourceConfig &business,
                                   const abi::Function &fn, const Bytes &calldata, const std::string &account,
                                   const json::object &opts) {
  const ResourceConfig *proxy = xa_proxy();
  const bool step = opts.contains("XA_TRANSACTION_ID");
  const std::string target = lower_address(business.address), data = to_hex(calldata), name = business.name;
  const auto proxy_abi = proxy->abi;
  auto abi = through_proxy_abi(business);
  if (!step) {
    if (!chain_.stub_simulates()) {
      // Without a gas estimate to find the lock before signing, the adapter reads it.
      chain_.stub_read(op, proxy->address, fn_of(*proxy_abi, "holderOf", 1), {target}, false,
                       [this, op, name, proxy_abi, target, data, account, abi](std::vector<std::string> h) {
                         if (!h.at(0).empty())
                           return chain_.stub_fail(op, WEFT_E_BUSY,
                                                   "resource '" + name + "' is locked by XA transaction " + h[0] +
                                                       "; nothing was sent",
                                                   json::serialize(json::object{{"holder", h[0]}}));
                         forward(op, name, proxy_abi, target, data, account, abi);
                       });
      return;
    }
    return forward(op, name, proxy_abi, target, data, account, abi);
  }
  const std::string xid = xid_of(opts.if_contains("XA_TRANSACTION_ID"), "options.XA_TRANSACTION_ID");
  const auto *sv = opts.if_contains("XA_TRANSACTION_SEQ");
  if (sv == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.XA_TRANSACTION_SEQ is missing");
  json::object seq_holder{{"seq", *sv}};
  const uint64_t seq = u64_field(seq_holder, "seq");
  const abi::Function *bfn = &fn;
  // The business method's result: from the step's XAStep event when it ran, else (a repeat, which runs nothing)
  // from the proxy's record of the first run.
  auto answer_with = [this, bfn, name](const std::shared_ptr<Op> &op, json::object answer, const std::string &hex) {
    auto bytes = from_hex(hex);
    json::array result;
    if (bytes.ok() && !bytes->empty()) {
      auto values = abi::decode_values(bfn->outputs, *bytes);
      if (!values.ok())
        return chain_.stub_fail(op, WEFT_E_INTERNAL,
                                "cannot decode what " + bfn->signature() + " returned: " + values.error().message, "");
      for (auto &v : *values)
        result.push_back(json::string(v));
    }
    answer["result"] = std::move(result);
    answer["resource"] = name;
    chain_.stub_succeed(op, answer);
  };
  const auto *start = opts.if_contains("XA_START");
  Bytes sent = start != nullptr ? start_step(*start, xid, seq, target, data)
                                : encode(*proxy_abi, "step", {xid, std::to_string(seq), target, data});
  chain_.stub_send(
      op, proxy->address, std::move(sent), account, abi,
      [this, xid, seq, answer_with, proxy_abi](const std::shared_ptr<Op> &op, json::object answer) {
        if (const auto *events = answer.if_contains("events"); events != nullptr && events->is_array())
          for (const auto &ev : events->as_array()) {
            const auto *o = ev.if_object();
            if (o == nullptr || str_of(*o, "name") != "XAStep") continue;
            const auto *d = o->if_contains("data");
            if (d != nullptr && d->is_object() && str_of(d->as_object(), "seq") == std::to_string(seq))
              return answer_with(op, std::move(answer), str_of(d->as_object(), "result"));
          }
        chain_.stub_read(op, xa_proxy()->address, fn_of(*proxy_abi, "stepOf", 2), {xid, std::to_string(seq)}, false,
                         [op, answer, answer_with](std::vector<std::string> s) mutable {
                           answer_with(op, std::move(answer), s.at(4));
                         });
      },
      [this, proxy_abi, abi](const std::shared_ptr<Op> &op, const Bytes &rd, const std::string &message,
                             const std::string &hash) {
        auto e = stub_error(*proxy_abi, rd);
        chain_.stub_succeed(op, failed_send(e, with_reason(message, rd, abi.get()), hash));
      });
}

// The XA-capable resources named, as the proxy's targets: their addresses ascending, without repeats, as JSON text.
std::string StubVerbs::targets_of(const json::array &names, const std::string &what) const {
  std::vector<Address> targets;
  for (const auto &v : names) {
    if (!v.is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, what + " must be resource names");
    const auto &r = named(std::string(v.as_string()));
    if (!xa_capable(r))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + r.name +
                                                 "' cannot take part in XA transactions: its contract declares no "
                                                 "xaCompensation");
    targets.push_back(r.address);
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  json::array list;
  for (const auto &t : targets) list.push_back(json::string(lower_address(t)));
  return json::serialize(list);
}

// The branch's start rides on this step (options.XA_START {"resources","account"}): the coordinator's account signs
// the start ticket that WeftXAProxy.startStep checks, keccak256(abi.encode("weft-xa-start", chainid, proxy, id,
// targets)) with the targets ascending as xa_start sends them.
Bytes StubVerbs::start_step(const json::value &start, const std::string &xid, uint64_t seq, const std::string &target,
                            const std::string &data) {
  const json::object *o = start.if_object();
  const json::value *rv = o ? o->if_contains("resources") : nullptr;
  const std::string account = o ? str_of(*o, "account") : "";
  if (rv == nullptr || !rv->is_array() || rv->as_array().empty() || account.empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "options.XA_START must be {\"resources\":[names...],\"account\":...}");
  if (!starts_in_step())
    throw Failure(WEFT_E_UNSUPPORTED, "this chain's XA proxy takes no start in a step; start the branch with xa_start");
  const std::string targets_json = targets_of(rv->as_array(), "options.XA_START resources");
  const ResourceConfig *proxy = xa_proxy();
  static const std::vector<abi::Param> ticket_params = [] {
    std::vector<abi::Param> p;
    for (const char *t : {"string", "uint256", "address", "string", "address[]"})
      p.push_back({"", *abi::parse_type(t)});
    return p;
  }();
  auto encoded = abi::encode_args(ticket_params, {"weft-xa-start", std::to_string(*chain_.stub_ticket_chain_id()),
                                                  lower_address(proxy->address), xid, targets_json});
  if (!encoded.ok()) throw Failure(WEFT_E_INTERNAL, "the XA start ticket: " + encoded.error().message);
  Bytes sig = chain_.stub_sign(account, keccak256(std::span<const uint8_t>(encoded->data(), encoded->size())));
  if (sig.size() != 65)
    throw Failure(WEFT_E_ACCOUNT, "the host returned a " + std::to_string(sig.size()) +
                                      "-byte start ticket signature; secp256k1 needs 65");
  sig[64] = static_cast<uint8_t>(sig[64] + 27); // ecrecover's v
  return encode(*proxy->abi, "startStep", {xid, targets_json, to_hex(sig), std::to_string(seq), target, data});
}

void StubVerbs::call_in_xa(const std::shared_ptr<Op> &op, const ResourceConfig &res, const std::string &xid_text,
                           std::function<void()> next) {
  json::value idv(xid_text);
  const std::string xid = xid_of(&idv, "options.XA_TRANSACTION_ID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr)
    throw Failure(WEFT_E_INVALID_ARGUMENT, "this chain has no XA proxy, so no XA transaction " + xid);
  const std::string target = lower_address(res.address), name = res.name;
  chain_.stub_ready(op, [this, op, proxy, xid, target, name, next] {
    chain_.stub_read(op, proxy->address, fn_of(*proxy->abi, "branch", 1), {xid}, false,
                     [this, op, xid, target, name, next](std::vector<std::string> b) {
                       if (b.at(0) != "1")
                         return chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT,
                                                 "XA transaction " + xid + " is not processing on this chain", "");
                       const json::value targets = json::parse(b.at(1));
                       for (const auto &t : targets.as_array())
                         if (t.is_string() && same_address(std::string(t.as_string()), target)) return next();
                       chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT,
                                        "XA transaction " + xid + " does not hold resource " + name, "");
                     });
  });
}

// ---- XA verbs ----

void StubVerbs::xa_start(const std::shared_ptr<Op> &op, const json::object &req) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const auto *rv = req.if_contains("resources");
  if (rv == nullptr || !rv->is_array() || rv->as_array().empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resources must be a non-empty array of resource names");
  const std::string targets_json = targets_of(rv->as_array(), "resources");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr)
    throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
  chain_.stub_send(
      op, proxy->address, encode(*proxy->abi, "start", {xid, targets_json}), str_of(req, "account"),
      proxy->abi,
      [this, xid](const std::shared_ptr<Op> &op, json::object) {
        chain_.stub_succeed(op, json::object{{"xaTransactionID", xid}, {"status", "processing"}});
      },
      refuse_as(proxy->abi, "xa_start of " + xid));
}

void StubVerbs::decide(const std::shared_ptr<Op> &op, const json::object &req, bool commit) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr)
    throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
  const char *status = commit ? "committed" : "rolledback";
  chain_.stub_send(
      op, proxy->address, encode(*proxy->abi, commit ? "commit" : "rollback", {xid}), str_of(req, "account"),
      proxy->abi,
      [this, xid, status](const std::shared_ptr<Op> &op, json::object) {
        chain_.stub_succeed(op, json::object{{"xaTransactionID", xid}, {"status", status}});
      },
      refuse_as(proxy->abi, std::string(commit ? "xa_commit" : "xa_rollback") + " of " + xid));
}

void StubVerbs::step_hashes(const std::shared_ptr<Op> &op, const std::string &xid, uint64_t from_block,
                            std::function<void(std::map<uint64_t, std::string>)> next) {
  const ResourceConfig *proxy = xa_proxy();
  const abi::Event *step_event = nullptr;
  for (const auto &e : proxy->abi->events)
    if (e.name == "XAStep") step_event = &e;
  if (step_event == nullptr) throw Failure(WEFT_E_INTERNAL, "the XA proxy's ABI has no XAStep event");
  const abi::Event ev = *step_event;
  chain_.stub_logs(op, proxy->address, step_event->topic0, hash_key(xid, chain_.stub_hasher()), from_block,
                   [ev, next](std::vector<json::object> logs) {
                     std::map<uint64_t, std::string> hashes;
                     for (const auto &l : logs) {
                       // seq is the event's first data word.
                       auto data = from_hex(str_of(l, "data"));
                       if (!data.ok() || data->size() < 32) continue;
                       auto seq = abi::decode_values({ev.inputs.at(1)}, std::span<const uint8_t>(*data).first(32));
                       if (seq.ok()) hashes[std::stoull(seq->at(0))] = str_of(l, "txHash");
                     }
                     next(std::move(hashes));
                   });
}

void StubVerbs::xa_status(const std::shared_ptr<Op> &op, const json::object &req) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr)
    return chain_.stub_succeed(
        op, json::object{
                {"xaTransactionID", xid}, {"status", "none"}, {"resources", json::array{}}, {"steps", json::array{}}});
  chain_.stub_ready(op, [this, op, xid, proxy] {
    chain_.stub_read(
        op, proxy->address, fn_of(*proxy->abi, "branch", 1), {xid}, false,
        [this, op, xid, proxy](std::vector<std::string> b) {
          static const char *names[] = {"none", "processing", "committed", "rolledback"};
          const int st = b.at(0).size() == 1 && b[0][0] >= '0' && b[0][0] <= '3' ? b[0][0] - '0' : 0;
          const json::value targets = json::parse(b.at(1)), seqs = json::parse(b.at(2));
          json::array resources;
          for (const auto &t : targets.as_array()) {
            const std::string addr(t.as_string());
            const ResourceConfig *r = at_address(addr);
            resources.push_back(json::string(r != nullptr ? r->name : addr));
          }
          auto answer = std::make_shared<json::object>(json::object{{"xaTransactionID", xid},
                                                                    {"status", names[st]},
                                                                    {"resources", std::move(resources)},
                                                                    {"steps", json::array{}}});
          if (st == 0) return chain_.stub_succeed(op, *answer);
          // Each step from the proxy's record, one read each, in the order they ran; then their hashes from the logs.
          auto order = std::make_shared<std::vector<uint64_t>>();
          for (const auto &s : seqs.as_array())
            order->push_back(s.is_string() ? std::stoull(std::string(s.as_string())) : s.to_number<uint64_t>());
          auto steps = std::make_shared<std::vector<json::object>>(order->size());
          auto left = std::make_shared<size_t>(order->size());
          const uint64_t start_block = std::stoull(b.at(3));
          auto finish = [this, op, xid, answer, steps, order, start_block] {
            step_hashes(op, xid, start_block, [this, op, answer, steps](std::map<uint64_t, std::string> hashes) {
              json::array list;
              for (auto &s : *steps) {
                auto it = hashes.find(s["seq"].as_uint64());
                s["hash"] = it != hashes.end() ? it->second : "";
                list.push_back(std::move(s));
              }
              (*answer)["steps"] = std::move(list);
              chain_.stub_succeed(op, *answer);
            });
          };
          if (order->empty()) return finish();
          for (size_t i = 0; i < order->size(); ++i) {
            const uint64_t seq = (*order)[i];
            chain_.stub_read(op, proxy->address, fn_of(*proxy->abi, "stepOf", 2), {xid, std::to_string(seq)}, false,
                             [this, i, seq, steps, left, finish](std::vector<std::string> s) {
                               json::object step{{"seq", seq}, {"signer", s.at(2)}};
                               const ResourceConfig *r = at_address(s.at(1));
                               step["resource"] = r != nullptr ? r->name : s.at(1);
                               auto input = from_hex(s.at(3));
                               if (r != nullptr && input.ok() && input->size() >= 4)
                                 for (const auto &fn : r->abi->functions)
                                   if (std::equal(fn.selector.begin(), fn.selector.end(), input->begin())) {
                                     step["method"] = fn.name;
                                     json::array args, result;
                                     auto a =
                                         abi::decode_values(fn.inputs, std::span<const uint8_t>(*input).subspan(4));
                                     if (a.ok())
                                       for (auto &v : *a)
                                         args.push_back(json::string(v));
                                     auto out = from_hex(s.at(4));
                                     if (out.ok() && !out->empty()) {
                                       auto rv = abi::decode_values(fn.outputs, *out);
                                       if (rv.ok())
                                         for (auto &v : *rv)
                                           result.push_back(json::string(v));
                                     }
                                     step["args"] = std::move(args);
                                     step["result"] = std::move(result);
                                     break;
                                   }
                               (*steps)[i] = std::move(step);
                               if (--*left == 0) finish();
                             });
          }
        });
  });
}

// ---- HTLC verbs ----

const ResourceConfig &StubVerbs::htlc_of(const json::object &req) const {
  const auto &r = named(str_of(req, "resource"));
  if (r.kind != "htlc")
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + r.name + "' is not an HTLC (deploy one with deployStubs)");
  return r;
}

void StubVerbs::htlc_lock(const std::shared_ptr<Op> &op, const json::object &req) {
  const ResourceConfig *h = &htlc_of(req);
  const std::string id = word_field(req, "id"), hash = word_field(req, "hash");
  const Address receiver = address_field(req, "receiver");
  const uint64_t amount = u64_field(req, "amount"), timelock = u64_field(req, "timelock");
  if (amount == 0) throw Failure(WEFT_E_INVALID_ARGUMENT, "amount must be greater than zero");
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to lock with");
  const Address from = chain_.stub_address(account);
  const std::string sender = lower_address(from);
  const std::vector<std::string> args{id, lower_address(receiver), std::to_string(amount), hash,
                                      std::to_string(timelock)};
  // The lock itself. A duplicate of a lock with exactly these terms is this lock sent again (after a restart, say):
  // answered as locked, so the engine does not fail a swap over its own repeat.
  auto lock = [this, op, h, args, account, sender, id, receiver, amount, hash, timelock] {
    chain_.stub_send(
        op, h->address, encode(*h->abi, "lock", args), account, h->abi,
        [this, sender, id](const std::shared_ptr<Op> &op, json::object a) {
          chain_.stub_succeed(op, json::object{{"sender", sender},
                                               {"id", id},
                                               {"txHash", a["hash"]},
                                               {"blockNumber", a["blockNumber"]},
                                               {"blockTime", a["timestamp"]},
                                               {"state", "locked"}});
        },
        [this, h, sender, id, receiver, amount, hash, timelock](const std::shared_ptr<Op> &op, const Bytes &data,
                                                                const std::string &message, const std::string &tx) {
          auto e = stub_error(*h->abi, data);
          if (!e || e->name != "Duplicate") return refuse_as(h->abi, "htlc_lock")(op, data, message, tx);
          chain_.stub_read(op, h->address, fn_of(*h->abi, "status", 2), {sender, id}, false,
                           [this, op, h, sender, id, receiver, amount, hash, timelock, data, message,
                            tx](std::vector<std::string> s) {
                             const bool same = same_address(s.at(0), lower_address(receiver)) &&
                                               s.at(1) == std::to_string(amount) && s.at(2) == hash &&
                                               s.at(3) == std::to_string(timelock) && s.at(4) != "0";
                             if (!same) return refuse_as(h->abi, "htlc_lock")(op, data, message, tx);
                             chain_.stub_succeed(op, json::object{{"sender", sender},
                                                                  {"id", id},
                                                                  {"txHash", tx},
                                                                  {"blockNumber", std::stoull(s.at(6))},
                                                                  {"blockTime", 0},
                                                                  {"state", "locked"},
                                                                  {"repeated", true}});
                           });
        });
  };
  chain_.stub_ready(op, [this, op, h, from, amount, account, lock] {
    const auto &erc = artifact("IERC20");
    chain_.stub_read(op, *h->asset, fn_of(*erc.abi, "allowance", 2), {lower_address(from), lower_address(h->address)},
                     false, [this, op, h, amount, account, lock](std::vector<std::string> v) {
                       auto allowed = U256::parse(v.at(0));
                       if (allowed.ok() && !(*allowed < U256::from_u64(amount))) return lock();
                       const auto &art = artifact("IERC20");
                       chain_.stub_send(
                           op, *h->asset, encode(*art.abi, "approve", {lower_address(h->address), kUnlimited}), account,
                           art.abi, [lock](const std::shared_ptr<Op> &, json::object) { lock(); },
                           refuse_as(art.abi, "approving the HTLC to take the amount"));
                     });
  });
}

void StubVerbs::htlc_write(const std::shared_ptr<Op> &op, const ResourceConfig &h, const char *method,
                           std::vector<std::string> args, const std::string &account, const std::string &sender,
                           const std::string &id, const char *state) {
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to send with");
  chain_.stub_send(
      op, h.address, encode(*h.abi, method, args), account, h.abi,
      [this, sender, id, state](const std::shared_ptr<Op> &op, json::object a) {
        chain_.stub_succeed(op, json::object{{"sender", sender},
                                             {"id", id},
                                             {"txHash", a["hash"]},
                                             {"blockNumber", a["blockNumber"]},
                                             {"blockTime", a["timestamp"]},
                                             {"state", state}});
      },
      refuse_as(h.abi, std::string("htlc ") + method));
}

void StubVerbs::htlc_unlock(const std::shared_ptr<Op> &op, const json::object &req) {
  const auto &h = htlc_of(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  const std::string secret = word_field(req, "secret");
  htlc_write(op, h, "claim", {sender, id, secret}, str_of(req, "account"), sender, id, "claimed");
}

void StubVerbs::htlc_refund(const std::shared_ptr<Op> &op, const json::object &req) {
  const auto &h = htlc_of(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  htlc_write(op, h, "refund", {sender, id}, str_of(req, "account"), sender, id, "refunded");
}

void StubVerbs::htlc_status(const std::shared_ptr<Op> &op, const json::object &req) {
  const ResourceConfig *h = &htlc_of(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  chain_.stub_ready(op, [this, op, h, sender, id] {
    // Final state only: read at the confirmation depth, so a lock that a reorg may still undo is not reported.
    chain_.stub_read(op, h->address, fn_of(*h->abi, "status", 2), {sender, id}, true,
                     [this, op, sender, id](std::vector<std::string> s) {
                       static const char *names[] = {"none", "locked", "claimed", "refunded"};
                       const int st = s.at(4).size() == 1 && s[4][0] >= '0' && s[4][0] <= '3' ? s[4][0] - '0' : 0;
                       json::object o{{"sender", sender},
                                      {"id", id},
                                      {"receiver", st == 0 ? "" : s.at(0)},
                                      {"amount", s.at(1)},
                                      {"hash", st == 0 ? "" : s.at(2)},
                                      {"timelock", std::stoull(s.at(3))},
                                      {"state", names[st]},
                                      {"lockBlock", std::stoull(s.at(6))},
                                      {"endBlock", std::stoull(s.at(7))}};
                       if (st == 2) o["secret"] = s.at(5);
                       chain_.stub_succeed(op, o);
                     });
  });
}

// ---- deploy_stubs ----

void StubVerbs::deploy_stubs(const std::shared_ptr<Op> &op, const json::object &req) {
  if (chain_.stub_guomi() && !req.contains("artifacts"))
    throw Failure(WEFT_E_UNSUPPORTED,
                  "a guomi (SM) chain needs the stubs compiled with SM3 selectors, which the built-in ones (compiled "
                  "by solc for Keccak-256) are not: give them as \"artifacts\": {\"WeftXAProxy\": {\"abi\", "
                  "\"bytecode\"}, \"WeftHTLC\": {...}}, compiled from stubs/evm/ by a guomi Solidity compiler");
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to deploy with");
  const auto *sv = req.if_contains("stubs");
  if (sv == nullptr || !sv->is_array() || sv->as_array().empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "stubs must name what to deploy: \"xa\", \"htlc\" or both");
  auto plan = std::make_shared<json::object>();
  (*plan)["account"] = account;
  if (const auto *a = req.if_contains("artifacts")) (*plan)["artifacts"] = *a;
  for (const auto &s : sv->as_array()) {
    const std::string what = s.is_string() ? std::string(s.as_string()) : "";
    if (what == "xa") {
      if (const auto *p = xa_proxy())
        throw Failure(WEFT_E_REJECTED, "this chain's XA proxy is deployed already, at " + checksum_address(p->address));
      std::string coordinator = str_of(req, "coordinator");
      (*plan)["xa"] = lower_address(chain_.stub_address(coordinator.empty() ? account : coordinator));
    } else if (what == "htlc") {
      const auto *hv = req.if_contains("htlc");
      const json::object empty;
      const json::object &ho = hv != nullptr && hv->is_object() ? hv->as_object() : empty;
      std::string name = str_of(ho, "name");
      if (name.empty()) name = "htlc";
      if (!options::name_ok(name))
        throw Failure(WEFT_E_INVALID_ARGUMENT, "htlc.name '" + name + "' must be 1-64 of letters, digits, _ and -");
      for (const auto &r : chain_.stub_resources())
        if (r.name == name) throw Failure(WEFT_E_INVALID_ARGUMENT, "this chain has a resource '" + name + "' already");
      const std::string asset = str_of(ho, "asset");
      if (asset.empty())
        throw Failure(WEFT_E_INVALID_ARGUMENT,
                      "htlc.asset must name the ERC-20 token to escrow: a resource or an address");
      auto a = parse_address(asset);
      const std::string asset_address = a.ok() ? lower_address(*a) : lower_address(named(asset).address);
      (*plan)["htlc"] = json::object{{"name", name}, {"asset", asset_address}};
    } else {
      throw Failure(WEFT_E_INVALID_ARGUMENT, "stubs may name \"xa\" and \"htlc\", not " + json::serialize(s));
    }
  }
  chain_.stub_ready(op, [this, op, plan] { deploy_next(op, plan, json::array{}); });
}

void StubVerbs::deploy_next(const std::shared_ptr<Op> &op, std::shared_ptr<json::object> plan, json::array done) {
  const std::string account = str_of(*plan, "account");
  const bool xa = plan->contains("xa");
  if (!xa && !plan->contains("htlc")) return chain_.stub_succeed(op, json::object{{"resources", std::move(done)}});
  const char *contract = xa ? "WeftXAProxy" : "WeftHTLC";
  // The built-in artifact, or the one the request gives (guomi chains).
  std::string abi_text;
  std::shared_ptr<const abi::ContractAbi> abi;
  Bytes code;
  if (const auto *given = plan->if_contains("artifacts")) {
    const auto *c = given->is_object() ? given->as_object().if_contains(contract) : nullptr;
    if (c == nullptr || !c->is_object())
      return chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT, std::string("artifacts has no ") + contract, "");
    const auto &co = c->as_object();
    const auto *av = co.if_contains("abi");
    abi_text = av == nullptr ? "" : av->is_string() ? std::string(av->as_string()) : json::serialize(*av);
    abi = load_abi(abi_text, std::string("artifacts.") + contract, chain_.stub_hasher());
    auto b = from_hex(str_of(co, "bytecode"));
    if (!b.ok() || b->empty())
      return chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT,
                              std::string("artifacts.") + contract + ".bytecode must be 0x hex", "");
    code = std::move(*b);
  } else {
    const Artifact &art = artifact(contract);
    abi_text = art.abi_text;
    abi = art.abi;
    code = art.bytecode;
  }
  ResourceConfig rc;
  rc.abi = abi;
  std::string ctor_arg;
  if (xa) {
    rc.name = kProxyName;
    rc.kind = "xa-proxy";
    ctor_arg = str_of(*plan, "xa");
  } else {
    const auto &ho = plan->at("htlc").as_object();
    rc.name = str_of(ho, "name");
    rc.kind = "htlc";
    rc.asset = *parse_address(str_of(ho, "asset"));
    ctor_arg = str_of(ho, "asset");
  }
  if (!abi->constructor)
    return chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT, std::string("the ABI of ") + contract + " has no constructor",
                            "");
  auto encoded = abi::encode_args(abi->constructor->inputs, {ctor_arg});
  if (!encoded.ok()) return chain_.stub_fail(op, WEFT_E_INVALID_ARGUMENT, "constructor " + encoded.error().message, "");
  code.insert(code.end(), encoded->begin(), encoded->end());
  auto pending = std::make_shared<ResourceConfig>(std::move(rc));
  chain_.stub_send(
      op, std::nullopt, std::move(code), account, abi,
      [this, plan, done, pending, abi_text, xa](const std::shared_ptr<Op> &op, json::object answer) mutable {
        auto addr = parse_address(str_of(answer, "contractAddress"));
        if (!addr.ok())
          return chain_.stub_fail(op, WEFT_E_INTERNAL, "the deployment's receipt has no contract address", "");
        pending->address = *addr;
        json::object entry{{"name", pending->name},
                           {"address", checksum_address(*addr)},
                           {"contract", pending->kind},
                           {"hash", answer["hash"]}};
        if (pending->asset) entry["asset"] = checksum_address(*pending->asset);
        try {
          chain_.stub_keep(*pending, abi_text);
        } catch (const Failure &f) {
          return chain_.stub_fail(op, f.status,
                                  "deployed at " + checksum_address(*addr) + " but not kept: " + f.message, "");
        }
        done.push_back(std::move(entry));
        plan->erase(xa ? "xa" : "htlc");
        deploy_next(op, plan, std::move(done));
      },
      refuse_as(abi, std::string("deploying the ") + (xa ? "XA proxy" : "HTLC")));
}

} // namespace weft::evm
