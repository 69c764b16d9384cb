// XA and HTLC on an EVM chain through the Solidity stubs (stubs/evm/), compiled at build time and embedded here:
// - deploy_stubs deploys WeftXAProxy (listed as the resource WeCrossProxy) and WeftHTLC escrows of ERC-20 tokens, and
//   keeps them with the registered resources;
// - xa_start, xa_commit and xa_rollback are the proxy's start, commit and rollback, signed by the coordinator account;
//   xa_status reads the proxy's branch and its XAStep events;
// - a write to an XA-capable contract (one that declares xaCompensation) goes through the proxy: a step of a
//   transaction through step(), any other write through forward(), which refuses it while the contract is locked;
// - the HTLC verbs are the escrow's lock (after approving it the amount), claim, refund and status.
// A stub's custom error becomes a status and the reference chain's receipt code (docs/adapters.md).
#include "evm_chain.h"
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

// A stub's custom error, decoded: its name and arguments.
struct StubError {
  std::string name;
  std::vector<std::string> args;
};

std::optional<StubError> stub_error(const abi::ContractAbi &abi, const Bytes &data) {
  if (data.size() < 4) return std::nullopt;
  const auto *e = abi.error_by_selector(std::span<const uint8_t, 4>(data.data(), 4));
  if (e == nullptr) return std::nullopt;
  auto v = abi::decode_values(e->inputs, std::span<const uint8_t>(data).subspan(4));
  if (!v.ok()) return std::nullopt;
  return StubError{e->name, std::move(*v)};
}

struct Refusal {
  int32_t status;
  int code; // the reference chain's receipt status for the same refusal
};

Refusal refusal_of(const std::optional<StubError> &e) {
  static const std::map<std::string, Refusal> table = {
      {"NotCoordinator", {WEFT_E_ACCOUNT, 11}},        {"Locked", {WEFT_E_BUSY, 7}},
      {"Finished", {WEFT_E_REJECTED, 9}},              {"OtherTargets", {WEFT_E_REJECTED, 10}},
      {"UnknownTransaction", {WEFT_E_NOT_FOUND, 8}},   {"NotProcessing", {WEFT_E_REJECTED, 9}},
      {"NotInTransaction", {WEFT_E_REJECTED, 10}},     {"SeqReused", {WEFT_E_REJECTED, 10}},
      {"NoContract", {WEFT_E_NOT_FOUND, 1}},           {"BadTransactionId", {WEFT_E_INVALID_ARGUMENT, 3}},
      {"BadTargets", {WEFT_E_INVALID_ARGUMENT, 3}},    {"TooManySteps", {WEFT_E_REJECTED, 3}},
      {"NotXACapable", {WEFT_E_INVALID_ARGUMENT, 2}},  {"NoCompensation", {WEFT_E_INVALID_ARGUMENT, 2}},
      {"CompensationFailed", {WEFT_E_REJECTED, 10}},   {"BadArguments", {WEFT_E_INVALID_ARGUMENT, 3}},
      {"InsufficientBalance", {WEFT_E_REJECTED, 4}},   {"TransferFailed", {WEFT_E_REJECTED, 4}},
      {"Duplicate", {WEFT_E_REJECTED, 12}},            {"WrongSecret", {WEFT_E_REJECTED, 13}},
      {"Expired", {WEFT_E_REJECTED, 14}},              {"NotExpired", {WEFT_E_REJECTED, 15}},
      {"NotLocked", {WEFT_E_REJECTED, 16}}};
  if (!e) return {WEFT_E_REJECTED, 1};
  auto it = table.find(e->name);
  return it == table.end() ? Refusal{WEFT_E_REJECTED, 1} : it->second;
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

std::string hash_key(const std::string &xid) {
  return util::hex_of(keccak256(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(xid.data()), xid.size())));
}

// "0x" and 64 hex digits, either case in, lowercase out.
std::string word_field(const json::object &req, const char *key) {
  auto b = from_hex(str_of(req, key));
  if (!b.ok() || b->size() != 32) throw Failure(WEFT_E_INVALID_ARGUMENT, std::string(key) + " must be 0x and 64 hex digits");
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

// ---- Stub state ----

const ResourceConfig *EvmChain::xa_proxy() const {
  for (auto it = resources_.rbegin(); it != resources_.rend(); ++it)
    if (it->kind == "xa-proxy") return &*it;
  return nullptr;
}

bool EvmChain::xa_capable(const ResourceConfig &r) const {
  return r.kind == "evm" && r.abi->find("xaCompensation", 1).ok();
}

std::shared_ptr<const abi::ContractAbi> EvmChain::through_proxy_abi(const ResourceConfig &business) {
  auto &cached = proxy_abis_[&business];
  if (cached) return cached;
  auto merged = std::make_shared<abi::ContractAbi>(*business.abi);
  for (const auto &e : artifact("WeftXAProxy").abi->errors) merged->errors.push_back(e);
  cached = merged;
  return cached;
}

EvmChain::Refused EvmChain::refuse_as(std::shared_ptr<const abi::ContractAbi> abi, std::string what) {
  return [this, abi, what](const std::shared_ptr<Op> &op, const Bytes &data, const std::string &message,
                           const std::string &hash) {
    auto e = stub_error(*abi, data);
    Refusal r = refusal_of(e);
    fail(op, r.status, what + ": " + message + (hash.empty() ? " (nothing was sent)" : ""),
         details(hash, r.code, holder_of(e)));
  };
}

// ---- Writes through the proxy ----

void EvmChain::send_through_proxy(const std::shared_ptr<Prepared> &p, const json::object &opts) {
  const ResourceConfig *proxy = xa_proxy();
  const bool step = opts.contains("XA_TRANSACTION_ID");
  const ResourceConfig &business = *p->res;
  if (proxy == nullptr) {
    if (step) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
    return ready(p->op, [this, p] { send_prepared(p); }); // no proxy to lock anything: written directly
  }
  if (!xa_capable(business))
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + business.name +
                                               "' cannot take part in XA transactions: its contract declares no "
                                               "xaCompensation (docs/xa.md)");
  if (!p->value.is_zero()) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.value cannot be sent through the XA proxy");
  const std::string target = lower_address(business.address), data = to_hex(p->calldata);
  const auto proxy_abi = proxy->abi;
  p->abi = through_proxy_abi(business);
  p->to = proxy->address;
  p->res = proxy;
  const std::string name = business.name;
  if (!step) {
    p->calldata = encode(*proxy_abi, "forward", {target, data});
    p->then = [this, name](const std::shared_ptr<Op> &op, json::object answer) {
      answer["resource"] = name;
      succeed(op, answer);
    };
    p->refused = [this, proxy_abi, name](const std::shared_ptr<Op> &op, const Bytes &rd, const std::string &message,
                                         const std::string &hash) {
      auto e = stub_error(*proxy_abi, rd);
      if (e && e->name == "Locked" && hash.empty())
        return fail(op, WEFT_E_BUSY,
                    "resource '" + name + "' is locked by XA transaction " + holder_of(e) + "; nothing was sent",
                    json::serialize(json::object{{"holder", holder_of(e)}}));
      succeed(op, json::object{{"errorCode", refusal_of(e).code == 1 || !e ? 1 : refusal_of(e).code},
                               {"message", message + (hash.empty() ? " (found while estimating gas; nothing was sent)" : "")},
                               {"hash", hash},
                               {"blockNumber", head_.number},
                               {"result", json::array{}}});
    };
    return ready(p->op, [this, p] { send_prepared(p); });
  }
  const std::string xid = xid_of(opts.if_contains("XA_TRANSACTION_ID"), "options.XA_TRANSACTION_ID");
  const auto *sv = opts.if_contains("XA_TRANSACTION_SEQ");
  if (sv == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.XA_TRANSACTION_SEQ is missing");
  json::object seq_holder{{"seq", *sv}};
  const uint64_t seq = u64_field(seq_holder, "seq");
  p->calldata = encode(*proxy_abi, "step", {xid, std::to_string(seq), target, data});
  const abi::Function *bfn = p->fn;
  auto answer_step = [this, bfn, name](const std::shared_ptr<Op> &op, json::object answer, const std::string &result_hex) {
    auto bytes = from_hex(result_hex);
    json::array result;
    if (bytes.ok() && !bytes->empty()) {
      auto values = abi::decode_values(bfn->outputs, *bytes);
      if (!values.ok())
        return fail(op, WEFT_E_INTERNAL, "cannot decode what " + bfn->signature() + " returned: " + values.error().message);
      for (auto &v : *values) result.push_back(json::string(v));
    }
    answer["result"] = std::move(result);
    answer["resource"] = name;
    succeed(op, answer);
  };
  p->then = [this, xid, seq, answer_step, proxy_abi](const std::shared_ptr<Op> &op, json::object answer) {
    if (const auto *events = answer.if_contains("events"); events != nullptr && events->is_array())
      for (const auto &ev : events->as_array()) {
        const auto *o = ev.if_object();
        if (o == nullptr || str_of(*o, "name") != "XAStep") continue;
        const auto *d = o->if_contains("data");
        if (d != nullptr && d->is_object() && str_of(d->as_object(), "seq") == std::to_string(seq))
          return answer_step(op, std::move(answer), str_of(d->as_object(), "result"));
      }
    // A repeat of a step that ran before: the proxy did nothing; answer what the step answered then.
    read_call(op, xa_proxy()->address, fn_of(*proxy_abi, "branch", 1), {xid}, "latest",
              [this, op, xid, seq, answer, answer_step](std::vector<std::string> b) mutable {
                xa_step_logs(op, xid, std::stoull(b.at(3)),
                             [op, seq, answer, answer_step](std::map<uint64_t, json::object> logs) mutable {
                               auto it = logs.find(seq);
                               if (it == logs.end()) return answer_step(op, std::move(answer), "0x");
                               answer["hash"] = it->second["txHash"];
                               answer["txHash"] = it->second["txHash"];
                               answer["blockNumber"] = it->second["blockNumber"];
                               answer_step(op, std::move(answer), str_of(it->second, "result"));
                             });
              });
  };
  p->refused = [this, proxy_abi](const std::shared_ptr<Op> &op, const Bytes &rd, const std::string &message,
                                 const std::string &hash) {
    auto e = stub_error(*proxy_abi, rd);
    succeed(op, json::object{{"errorCode", e ? refusal_of(e).code : 1},
                             {"message", message + (hash.empty() ? " (found while estimating gas; nothing was sent)" : "")},
                             {"hash", hash},
                             {"blockNumber", head_.number},
                             {"result", json::array{}}});
  };
  ready(p->op, [this, p] { send_prepared(p); });
}

void EvmChain::call_in_xa(const std::shared_ptr<Op> &op, const ResourceConfig &res, const std::string &xid_text,
                          std::function<void()> next) {
  json::value idv(xid_text);
  const std::string xid = xid_of(&idv, "options.XA_TRANSACTION_ID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "this chain has no XA proxy, so no XA transaction " + xid);
  const std::string target = lower_address(res.address), name = res.name;
  ready(op, [this, op, proxy, xid, target, name, next] {
    read_call(op, proxy->address, fn_of(*proxy->abi, "branch", 1), {xid}, "latest",
              [this, op, xid, target, name, next](std::vector<std::string> b) {
                if (b.at(0) != "1")
                  return fail(op, WEFT_E_INVALID_ARGUMENT, "XA transaction " + xid + " is not processing on this chain");
                auto targets = json::parse(b.at(1));
                for (const auto &t : targets.as_array())
                  if (t.is_string() && same_address(std::string(t.as_string()), target)) return next();
                fail(op, WEFT_E_INVALID_ARGUMENT, "XA transaction " + xid + " does not hold resource " + name);
              });
  });
}

// ---- XA verbs ----

void EvmChain::xa_start(const std::shared_ptr<Op> &op, json::object req) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const auto *rv = req.if_contains("resources");
  if (rv == nullptr || !rv->is_array() || rv->as_array().empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resources must be a non-empty array of resource names");
  std::vector<Address> targets;
  for (const auto &v : rv->as_array()) {
    if (!v.is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "resources must be resource names");
    json::object one{{"resource", v}};
    const auto &r = resource(one);
    if (!xa_capable(r))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + r.name + "' cannot take part in XA transactions: its "
                                                                     "contract declares no xaCompensation");
    targets.push_back(r.address);
  }
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  json::array list;
  for (const auto &t : targets) list.push_back(json::string(lower_address(t)));
  Bytes data = encode(*proxy->abi, "start", {xid, json::serialize(list)});
  send_call(op, proxy->address, std::move(data), str_of(req, "account"), proxy->abi,
            [this, xid](const std::shared_ptr<Op> &op, json::object) {
              succeed(op, json::object{{"xaTransactionID", xid}, {"status", "processing"}});
            },
            refuse_as(proxy->abi, "xa_start of " + xid));
}

void EvmChain::xa_commit(const std::shared_ptr<Op> &op, json::object req) { xa_decide(op, req, true); }
void EvmChain::xa_rollback(const std::shared_ptr<Op> &op, json::object req) { xa_decide(op, req, false); }

void EvmChain::xa_decide(const std::shared_ptr<Op> &op, const json::object &req, bool commit) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr) throw Failure(WEFT_E_UNSUPPORTED, "this chain has no XA proxy yet: deploy one with deployStubs");
  Bytes data = encode(*proxy->abi, commit ? "commit" : "rollback", {xid});
  const char *status = commit ? "committed" : "rolledback";
  send_call(op, proxy->address, std::move(data), str_of(req, "account"), proxy->abi,
            [this, xid, status](const std::shared_ptr<Op> &op, json::object) {
              succeed(op, json::object{{"xaTransactionID", xid}, {"status", status}});
            },
            refuse_as(proxy->abi, std::string(commit ? "xa_commit" : "xa_rollback") + " of " + xid));
}

void EvmChain::xa_step_logs(const std::shared_ptr<Op> &op, const std::string &xid, uint64_t from_block,
                            std::function<void(std::map<uint64_t, json::object>)> next) {
  const ResourceConfig *proxy = xa_proxy();
  const auto &abi = *proxy->abi;
  const abi::Event *step_event = nullptr;
  for (const auto &e : abi.events)
    if (e.name == "XAStep") step_event = &e;
  if (step_event == nullptr) throw Failure(WEFT_E_INTERNAL, "the XA proxy's ABI has no XAStep event");
  json::object filter{{"address", lower_address(proxy->address)},
                      {"fromBlock", qty(from_block)},
                      {"toBlock", "latest"},
                      {"topics", json::array{json::string(hex_of(step_event->topic0)), json::string(hash_key(xid))}}};
  auto abi_ptr = proxy->abi;
  rpc_.call("eth_getLogs", json::array{std::move(filter)}, rpc_timeout(op), [this, op, abi_ptr, next](RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok() || !a.result.is_array())
      return fail(op, a.ok() ? WEFT_E_UNAVAILABLE : a.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : a.status,
                  "cannot read the XA proxy's step events: " + (a.ok() ? json::serialize(a.result) : a.message));
    std::map<uint64_t, json::object> steps;
    for (const auto &lv : a.result.as_array()) {
      const auto *l = lv.if_object();
      if (l == nullptr) continue;
      std::vector<Hash256> topics;
      if (const auto *t = l->if_contains("topics"); t != nullptr && t->is_array())
        for (const auto &tv : t->as_array()) {
          auto b = tv.is_string() ? from_hex(std::string_view(tv.as_string())) : Result<Bytes>(Error{0, ""});
          if (!b.ok() || b->size() != 32) continue;
          Hash256 h;
          std::copy(b->begin(), b->end(), h.begin());
          topics.push_back(h);
        }
      auto data = from_hex(str_of(*l, "data"));
      if (!data.ok()) continue;
      auto decoded = abi::decode_log(*abi_ptr, topics, *data);
      if (!decoded.ok() || decoded->event != "XAStep") continue;
      json::object fields;
      for (auto &[k, v] : decoded->fields) fields[k] = v;
      fields["txHash"] = str_of(*l, "transactionHash");
      fields["blockNumber"] = parse_qty(l->if_contains("blockNumber")).value_or(0);
      const std::string seq = str_of(fields, "seq");
      steps[std::stoull(seq.empty() ? "0" : seq)] = std::move(fields);
    }
    next(std::move(steps));
  });
}

void EvmChain::xa_status(const std::shared_ptr<Op> &op, json::object req) {
  const std::string xid = xid_of(req.if_contains("xaTransactionID"), "xaTransactionID");
  const ResourceConfig *proxy = xa_proxy();
  if (proxy == nullptr)
    return succeed(op, json::object{{"xaTransactionID", xid}, {"status", "none"}, {"resources", json::array{}},
                                    {"steps", json::array{}}});
  ready(op, [this, op, xid, proxy] {
    read_call(op, proxy->address, fn_of(*proxy->abi, "branch", 1), {xid}, "latest", [this, op, xid](std::vector<std::string> b) {
      static const char *names[] = {"none", "processing", "committed", "rolledback"};
      const int st = b.at(0).size() == 1 && b[0][0] >= '0' && b[0][0] <= '3' ? b[0][0] - '0' : 0;
      json::array resources;
      const json::value targets = json::parse(b.at(1)), seqs = json::parse(b.at(2));
      for (const auto &t : targets.as_array()) {
        const std::string addr(t.as_string());
        const ResourceConfig *r = resource_at(addr);
        resources.push_back(json::string(r != nullptr ? r->name : addr));
      }
      json::object answer{{"xaTransactionID", xid}, {"status", names[st]}, {"resources", std::move(resources)},
                          {"steps", json::array{}}};
      if (st == 0) return succeed(op, answer);
      std::vector<uint64_t> order;
      for (const auto &s : seqs.as_array())
        order.push_back(s.is_string() ? std::stoull(std::string(s.as_string())) : s.to_number<uint64_t>());
      xa_step_logs(op, xid, std::stoull(b.at(3)),
                   [this, op, answer, order](std::map<uint64_t, json::object> logs) mutable {
                     json::array steps;
                     for (uint64_t seq : order) {
                       auto it = logs.find(seq);
                       json::object step{{"seq", seq}};
                       if (it != logs.end()) {
                         auto &f = it->second;
                         const ResourceConfig *r = resource_at(str_of(f, "target"));
                         step["resource"] = r != nullptr ? r->name : str_of(f, "target");
                         step["hash"] = f["txHash"];
                         step["signer"] = f["signer"];
                         auto input = from_hex(str_of(f, "data"));
                         if (r != nullptr && input.ok() && input->size() >= 4)
                           for (const auto &fn : r->abi->functions)
                             if (std::equal(fn.selector.begin(), fn.selector.end(), input->begin())) {
                               step["method"] = fn.name;
                               json::array args, result;
                               auto a = abi::decode_values(fn.inputs, std::span<const uint8_t>(*input).subspan(4));
                               if (a.ok())
                                 for (auto &v : *a) args.push_back(json::string(v));
                               auto out = from_hex(str_of(f, "result"));
                               if (out.ok() && !out->empty()) {
                                 auto rv = abi::decode_values(fn.outputs, *out);
                                 if (rv.ok())
                                   for (auto &v : *rv) result.push_back(json::string(v));
                               }
                               step["args"] = std::move(args);
                               step["result"] = std::move(result);
                               break;
                             }
                       }
                       steps.push_back(std::move(step));
                     }
                     answer["steps"] = std::move(steps);
                     succeed(op, answer);
                   });
    });
  });
}

// ---- HTLC verbs ----

const ResourceConfig &EvmChain::htlc_resource(const json::object &req) const {
  const auto &r = resource(req);
  if (r.kind != "htlc")
    throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + r.name + "' is not an HTLC (deploy one with deployStubs)");
  return r;
}

void EvmChain::htlc_lock(const std::shared_ptr<Op> &op, json::object req) {
  const ResourceConfig *h = &htlc_resource(req);
  const std::string id = word_field(req, "id"), hash = word_field(req, "hash");
  const Address receiver = address_field(req, "receiver");
  const uint64_t amount = u64_field(req, "amount"), timelock = u64_field(req, "timelock");
  if (amount == 0) throw Failure(WEFT_E_INVALID_ARGUMENT, "amount must be greater than zero");
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to lock with");
  const Address from = address_of_account(account);
  const std::string sender = lower_address(from);
  const std::vector<std::string> args{id, lower_address(receiver), std::to_string(amount), hash, std::to_string(timelock)};
  // The lock itself; a duplicate of a lock with exactly these terms is the same lock sent again (after a restart,
  // say), answered as locked.
  auto lock = [this, op, h, args, account, sender, id, receiver, amount, hash, timelock] {
    send_call(op, h->address, encode(*h->abi, "lock", args), account, h->abi,
              [this, sender, id](const std::shared_ptr<Op> &op, json::object a) {
                succeed(op, json::object{{"sender", sender}, {"id", id}, {"txHash", a["hash"]},
                                         {"blockNumber", a["blockNumber"]}, {"blockTime", a["timestamp"]},
                                         {"state", "locked"}});
              },
              [this, h, sender, id, receiver, amount, hash, timelock](const std::shared_ptr<Op> &op, const Bytes &data,
                                                                      const std::string &message, const std::string &tx) {
                auto e = stub_error(*h->abi, data);
                if (!e || e->name != "Duplicate")
                  return refuse_as(h->abi, "htlc_lock")(op, data, message, tx);
                read_call(op, h->address, fn_of(*h->abi, "status", 2), {sender, id}, "latest",
                          [this, op, h, sender, id, receiver, amount, hash, timelock, data, message,
                           tx](std::vector<std::string> s) {
                            const bool same = same_address(s.at(0), lower_address(receiver)) &&
                                              s.at(1) == std::to_string(amount) && s.at(2) == hash &&
                                              s.at(3) == std::to_string(timelock) && s.at(4) != "0";
                            if (!same) return refuse_as(h->abi, "htlc_lock")(op, data, message, tx);
                            succeed(op, json::object{{"sender", sender}, {"id", id}, {"txHash", tx},
                                                     {"blockNumber", std::stoull(s.at(6))}, {"blockTime", 0},
                                                     {"state", "locked"}, {"repeated", true}});
                          });
              });
  };
  const ResourceConfig *erc_owner = h;
  ready(op, [this, op, erc_owner, from, amount, account, lock] {
    const auto &erc = *artifact("IERC20").abi;
    read_call(op, *erc_owner->asset, fn_of(erc, "allowance", 2),
              {lower_address(from), lower_address(erc_owner->address)}, "latest",
              [this, op, erc_owner, amount, account, lock](std::vector<std::string> v) {
                auto allowed = U256::parse(v.at(0));
                if (allowed.ok() && !(*allowed < U256::from_u64(amount))) return lock();
                const auto &art = artifact("IERC20");
                send_call(op, *erc_owner->asset,
                          encode(*art.abi, "approve", {lower_address(erc_owner->address), std::to_string(amount)}),
                          account, art.abi, [lock](const std::shared_ptr<Op> &, json::object) { lock(); },
                          refuse_as(art.abi, "approving the HTLC to take the amount"));
              });
  });
}

void EvmChain::htlc_write(const std::shared_ptr<Op> &op, const ResourceConfig &h, const char *method,
                          std::vector<std::string> args, const std::string &account, const std::string &sender,
                          const std::string &id, const char *state) {
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to send with");
  send_call(op, h.address, encode(*h.abi, method, args), account, h.abi,
            [this, sender, id, state](const std::shared_ptr<Op> &op, json::object a) {
              succeed(op, json::object{{"sender", sender}, {"id", id}, {"txHash", a["hash"]},
                                       {"blockNumber", a["blockNumber"]}, {"blockTime", a["timestamp"]},
                                       {"state", state}});
            },
            refuse_as(h.abi, std::string("htlc ") + method));
}

void EvmChain::htlc_unlock(const std::shared_ptr<Op> &op, json::object req) {
  const auto &h = htlc_resource(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  const std::string secret = word_field(req, "secret");
  htlc_write(op, h, "claim", {sender, id, secret}, str_of(req, "account"), sender, id, "claimed");
}

void EvmChain::htlc_refund(const std::shared_ptr<Op> &op, json::object req) {
  const auto &h = htlc_resource(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  htlc_write(op, h, "refund", {sender, id}, str_of(req, "account"), sender, id, "refunded");
}

void EvmChain::htlc_status(const std::shared_ptr<Op> &op, json::object req) {
  const ResourceConfig *h = &htlc_resource(req);
  const std::string sender = lower_address(address_field(req, "sender")), id = word_field(req, "id");
  ready(op, [this, op, h, sender, id] {
    // Final state only: read at the confirmation depth, so a lock that a reorg may still undo is not reported.
    read_call(op, h->address, fn_of(*h->abi, "status", 2), {sender, id}, head_minus_confirmations(),
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
                succeed(op, o);
              });
  });
}

// ---- deploy_stubs ----

void EvmChain::deploy_stubs(const std::shared_ptr<Op> &op, json::object req) {
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to deploy with");
  const auto *sv = req.if_contains("stubs");
  if (sv == nullptr || !sv->is_array() || sv->as_array().empty())
    throw Failure(WEFT_E_INVALID_ARGUMENT, "stubs must name what to deploy: \"xa\", \"htlc\" or both");
  auto plan = std::make_shared<json::object>();
  (*plan)["account"] = account;
  for (const auto &s : sv->as_array()) {
    const std::string what = s.is_string() ? std::string(s.as_string()) : "";
    if (what == "xa") {
      if (const auto *p = xa_proxy())
        throw Failure(WEFT_E_REJECTED, "this chain's XA proxy is deployed already, at " + checksum_address(p->address));
      std::string coordinator = str_of(req, "coordinator");
      (*plan)["xa"] = lower_address(address_of_account(coordinator.empty() ? account : coordinator));
    } else if (what == "htlc") {
      const auto *hv = req.if_contains("htlc");
      const json::object empty;
      const json::object &ho = hv != nullptr && hv->is_object() ? hv->as_object() : empty;
      std::string name = str_of(ho, "name");
      if (name.empty()) name = "htlc";
      if (!options::name_ok(name))
        throw Failure(WEFT_E_INVALID_ARGUMENT, "htlc.name '" + name + "' must be 1-64 of letters, digits, _ and -");
      for (const auto &r : resources_)
        if (r.name == name) throw Failure(WEFT_E_INVALID_ARGUMENT, "this chain has a resource '" + name + "' already");
      const std::string asset = str_of(ho, "asset");
      if (asset.empty())
        throw Failure(WEFT_E_INVALID_ARGUMENT, "htlc.asset must name the ERC-20 token to escrow: a resource or an address");
      std::string asset_address;
      if (auto a = parse_address(asset); a.ok()) {
        asset_address = lower_address(*a);
      } else {
        json::object one{{"resource", asset}};
        asset_address = lower_address(resource(one).address);
      }
      (*plan)["htlc"] = json::object{{"name", name}, {"asset", asset_address}};
    } else {
      throw Failure(WEFT_E_INVALID_ARGUMENT, "stubs may name \"xa\" and \"htlc\", not " + json::serialize(s));
    }
  }
  ready(op, [this, op, plan] { deploy_next(op, plan, json::array{}); });
}

void EvmChain::deploy_next(const std::shared_ptr<Op> &op, std::shared_ptr<json::object> plan, json::array done) {
  const std::string account = str_of(*plan, "account");
  const bool xa = plan->contains("xa");
  if (!xa && !plan->contains("htlc")) return succeed(op, json::object{{"resources", std::move(done)}});
  const Artifact &art = artifact(xa ? "WeftXAProxy" : "WeftHTLC");
  ResourceConfig rc;
  rc.abi = art.abi;
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
  auto encoded = abi::encode_args(art.abi->constructor->inputs, {ctor_arg});
  if (!encoded.ok()) return fail(op, WEFT_E_INTERNAL, "constructor " + encoded.error().message);
  Bytes code = art.bytecode;
  code.insert(code.end(), encoded->begin(), encoded->end());
  auto pending = std::make_shared<ResourceConfig>(std::move(rc));
  const std::string abi_text = art.abi_text;
  send_call(op, std::nullopt, std::move(code), account, art.abi,
            [this, plan, done, pending, abi_text, xa](const std::shared_ptr<Op> &op, json::object answer) mutable {
              auto addr = parse_address(str_of(answer, "contractAddress"));
              if (!addr.ok()) return fail(op, WEFT_E_INTERNAL, "the deployment's receipt has no contract address");
              pending->address = *addr;
              json::object entry{{"name", pending->name}, {"address", checksum_address(*addr)},
                                 {"contract", pending->kind}, {"hash", answer["hash"]}};
              if (pending->asset) entry["asset"] = checksum_address(*pending->asset);
              try {
                add_registered(*pending, abi_text);
              } catch (const Failure &f) {
                return fail(op, f.status, "deployed at " + checksum_address(*addr) + " but not kept: " + f.message);
              }
              done.push_back(std::move(entry));
              plan->erase(xa ? "xa" : "htlc");
              deploy_next(op, plan, std::move(done));
            },
            refuse_as(art.abi, std::string("deploying the ") + (xa ? "XA proxy" : "HTLC")));
}

} // namespace weft::evm
