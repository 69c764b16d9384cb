#include "bcos_chain.h"

#include "bcos_answers.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>


namespace weft::bcos {

namespace json = boost::json;
using plugin::Failure;
using Clock = std::chrono::steady_clock;

struct BcosChain::Pending {
  std::shared_ptr<Op> op;
  std::optional<Address> to; // nullopt: a deployment
  Bytes data;
  std::string account;
  Address from{};
  std::string raw;  // 0x hex of the signed transaction
  std::string hash; // its hash as computed here
  uint64_t block_limit = 0;
  // What to answer once its receipt is there; unset: the receipt itself.
  std::function<void(const std::shared_ptr<Op> &, json::object answer)> then;
  // Where a failed receipt goes, for writes the adapter composed (stub calls): its output is the revert data.
  evm::StubChain::Refused refused;
};

namespace {

// The gas price and limit FISCO BCOS's SDKs sign into 2.x transactions (gas is not charged unless the chain says so).
constexpr uint64_t kGas = 30000000;

std::string hex_of(const Hash256 &h) {
  return evm::to_hex(std::span<const uint8_t>(h.data(), h.size()));
}

std::string str_of(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::vector<std::string> string_args(const json::object &req) {
  std::vector<std::string> out;
  const auto *a = req.if_contains("args");
  if (a == nullptr || a->is_null()) return out;
  if (!a->is_array()) throw Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
  size_t i = 0;
  for (const auto &v : a->as_array()) {
    if (!v.is_string())
      throw Failure(WEFT_E_INVALID_ARGUMENT,
                    "argument " + std::to_string(i) + " must be a string, got " + json::serialize(v));
    out.emplace_back(v.as_string());
    ++i;
  }
  return out;
}

// 256 random bits as FISCO BCOS's SDKs make their nonces (2.x randomid; 3.x as decimal text).
U256 random_u256() {
  U256 r;
  if (RAND_bytes(r.be.data(), static_cast<int>(r.be.size())) != 1)
    throw Failure(WEFT_E_INTERNAL, "the system random number generator failed");
  r.be[0] &= 0x0f; // below 2^252, as the SDKs' random nonces are
  return r;
}

} // namespace

// ---- Lifecycle ----

BcosChain::BcosChain(BcosConfig config, plugin::Host host, std::string data_dir)
    : cfg_(std::move(config)), host_(std::move(host)), data_dir_(std::move(data_dir)),
      configured_(cfg_.resources.size()), rpc_(loop_, cfg_.rpc),
      book_(loop_, {"the FISCO BCOS node at " + cfg_.rpc.endpoint.text() + " did not answer in time",
                    "was sent but has no receipt yet"}) {
  load_registered();
  std::string why;
  host_calls_ = evm::HostCalls::open(host_, loop_, cfg_.rpc, cfg_.rpc_io_thread, why);
  host_.info(host_calls_ ? "calls wait for the node on the router's I/O threads (rpc_io host)"
                         : "calls wait for the node on the chain's own thread: " + why);
}

BcosChain::~BcosChain() {
  std::promise<void> closed;
  loop_.post([this, &closed] {
    closing_ = true;
    book_.close("the chain was closed");
    closed.set_value();
  });
  closed.get_future().wait();
  if (host_calls_) host_calls_->shutdown(); // its calls end as cancelled
  rpc_.shutdown();
  loop_.stop();
}

uint64_t BcosChain::start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Verb verb) {
  if (verb == &BcosChain::call && host_calls_)
    if (auto id = call_on_host(done, deadline_ms, request)) return *id;
  return book_.start(std::move(done), deadline_ms, request,
                     [this, verb](const std::shared_ptr<Op> &op, json::object req) { (this->*verb)(op, std::move(req)); });
}

void BcosChain::cancel(uint64_t op_id) {
  if (evm::HostCalls::owns(op_id) && host_calls_) return host_calls_->cancel(op_id);
  book_.cancel(op_id);
}

bool BcosChain::live(const std::shared_ptr<Op> &op) const { return !closing_ && book_.live(op); }

void BcosChain::succeed(const std::shared_ptr<Op> &op, const json::value &answer) { book_.succeed(op, answer); }

void BcosChain::fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                     const std::string &details) {
  book_.fail(op, status, message, details);
}

std::chrono::milliseconds BcosChain::rpc_timeout(const std::shared_ptr<Op> &op) const {
  return book_.left(op, std::chrono::milliseconds(cfg_.request_timeout_ms));
}

json::array BcosChain::params(json::array rest) const {
  json::array p;
  if (cfg_.version == Version::V2) {
    p.push_back(cfg_.group2);
  } else {
    p.push_back(json::string(cfg_.group3));
    p.push_back(""); // any node of the group
  }
  for (auto &v : rest)
    p.push_back(std::move(v));
  return p;
}

std::string BcosChain::node_text() const {
  return rpc_.endpoint().text();
}

void BcosChain::fail_rpc(const std::shared_ptr<Op> &op, const evm::RpcAnswer &a, const std::string &what) {
  auto f = rpc_failure(a, what);
  fail(op, f.status, f.message);
}

evm::HostCalls::Outcome BcosChain::rpc_failure(const evm::RpcAnswer &a, const std::string &what) const {
  if (a.rpc_error())
    return {WEFT_E_UNAVAILABLE,
            "the FISCO BCOS node at " + node_text() + " refused " + what + ": " + a.message + " (code " +
                std::to_string(*a.rpc_code) + ")",
            {}};
  // The shared client names the node as an EVM node; here it is a FISCO BCOS one.
  std::string m = a.message;
  if (auto at = m.find("the EVM node"); at != std::string::npos) m.replace(at, 12, "the FISCO BCOS node");
  return {a.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : a.status, std::move(m), {}};
}

// ---- Resources and accounts ----

const BcosResource &BcosChain::resource(const json::object &req) const {
  const std::string name = str_of(req, "resource");
  if (name.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "resource is missing");
  for (auto it = cfg_.resources.rbegin(); it != cfg_.resources.rend(); ++it) // the latest registration wins
    if (it->name == name) return *it;
  std::string known;
  for (const auto &r : cfg_.resources)
    known += (known.empty() ? "" : ", ") + r.name;
  throw Failure(WEFT_E_NOT_FOUND,
                "no resource '" + name + "' on this chain" + (known.empty() ? "" : " (it has: " + known + ")"));
}

Address BcosChain::address_of_account(const std::string &account) {
  {
    std::lock_guard lock(accounts_mu_);
    if (auto it = account_addresses_.find(account); it != account_addresses_.end()) return it->second;
  }
  auto pub = host_.public_key(account, algorithm());
  if (pub.size() != 64)
    throw Failure(WEFT_E_ACCOUNT, "the host gave a public key of " + std::to_string(pub.size()) +
                                      " bytes for account '" + account + "'; 64 expected");
  Address a = address_of(cfg_.crypto, std::span<const uint8_t, 64>(pub.data(), 64));
  std::lock_guard lock(accounts_mu_);
  account_addresses_[account] = a;
  return a;
}

void BcosChain::list_resources(const std::shared_ptr<Op> &op, json::object) {
  json::array list;
  for (auto at = cfg_.resources.begin(); at != cfg_.resources.end(); ++at) {
    const auto &r = *at;
    // A name registered again is offered once, as its latest registration.
    if (std::any_of(std::next(at), cfg_.resources.end(),
                    [&](const BcosResource &later) { return later.name == r.name; }))
      continue;
    json::array methods, writes, events;
    for (const auto &f : r.abi->functions) {
      methods.push_back(json::string(f.signature()));
      if (!f.is_read()) writes.push_back(json::string(f.name));
    }
    for (const auto &e : r.abi->events)
      events.push_back(json::string(e.signature()));
    json::object props{{"contract", r.kind == "evm" ? "bcos" : r.kind},
                       {"address", evm::lower_address(r.address)},
                       {"methods", std::move(methods)},
                       {"writeMethods", std::move(writes)},
                       {"events", std::move(events)}};
    if (r.kind == "htlc") {
      props["asset"] = evm::lower_address(*r.asset);
      props["escrow"] = evm::lower_address(r.address);
    }
    if (r.kind == "evm") props["xa"] = stubs_.xa_capable(r) && stubs_.xa_proxy() != nullptr;
    list.push_back(json::object{{"name", r.name}, {"properties", std::move(props)}});
  }
  succeed(op, json::object{{"resources", std::move(list)}});
}

void BcosChain::account_info(const std::shared_ptr<Op> &op, json::object req) {
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "account is missing");
  succeed(op, json::object{{"address", evm::lower_address(address_of_account(account))}, {"algorithm", algorithm()}});
}

// ---- Blocks ----

void BcosChain::with_height(const std::shared_ptr<Op> &op, std::function<void(uint64_t)> next) {
  rpc_.call("getBlockNumber", params({}), rpc_timeout(op), [this, op, next = std::move(next)](evm::RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok()) return fail_rpc(op, a, "getBlockNumber");
    auto n = number_of(&a.result);
    if (!n)
      return fail(op, WEFT_E_UNAVAILABLE,
                  "the FISCO BCOS node at " + node_text() + " answered getBlockNumber with " +
                      json::serialize(a.result));
    height_ = std::max(height_, *n);
    next(*n);
  });
}

void BcosChain::block_height(const std::shared_ptr<Op> &op, json::object) {
  with_height(op, [this, op](uint64_t h) { succeed(op, json::object{{"height", h}}); });
}

void BcosChain::health(const std::shared_ptr<Op> &op, json::object) {
  with_height(op, [this, op](uint64_t h) {
    json::object out{{"status", "ok"},
                     {"height", h},
                     {"node", node_text()},
                     {"version", cfg_.version == Version::V2 ? "2.x" : "3.x"},
                     {"crypto", cfg_.crypto == Crypto::Sm ? "sm" : "ecdsa"}};
    if (cfg_.version == Version::V2)
      out["group"] = cfg_.group2;
    else
      out["group"] = cfg_.group3;
    succeed(op, out);
  });
}

void BcosChain::get_block(const std::shared_ptr<Op> &op, json::object req) {
  auto n = number_of(req.if_contains("number"));
  if (!n) throw Failure(WEFT_E_INVALID_ARGUMENT, "number must be a non-negative block number");
  json::array p = cfg_.version == Version::V2 ? params({json::string(U256::from_u64(*n).to_hex()), false})
                                              : params({*n, false, true});
  rpc_.call("getBlockByNumber", std::move(p), rpc_timeout(op), [this, op, n](evm::RpcAnswer a) {
    if (!live(op)) return;
    // A block past the head: 2.x says -40004 "BlockNumber does not exist", 3.x answers an error or null.
    if (a.rpc_error() || (a.ok() && a.result.is_null())) {
      std::string m = a.message;
      std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (a.rpc_error() && *a.rpc_code != -40004 && m.find("block") == std::string::npos)
        return fail_rpc(op, a, "getBlockByNumber");
      return fail(op, WEFT_E_NOT_FOUND, "no block " + std::to_string(*n) + " on this chain yet");
    }
    if (!a.ok()) return fail_rpc(op, a, "getBlockByNumber");
    if (!a.result.is_object())
      return fail(op, WEFT_E_UNAVAILABLE, "the FISCO BCOS node answered a block that is not an object");
    succeed(op, block_answer(a.result.as_object(), *n));
  });
}

void BcosChain::chain_info(const std::shared_ptr<Op> &op, json::object) {
  with_height(op, [this, op](uint64_t h) {
    json::array p = cfg_.version == Version::V2 ? params({json::string(U256::from_u64(h).to_hex()), false})
                                                : params({h, true, true});
    rpc_.call("getBlockByNumber", std::move(p), rpc_timeout(op), [this, op, h](evm::RpcAnswer a) {
      if (!live(op)) return;
      if (!a.ok()) return fail_rpc(op, a, "getBlockByNumber");
      if (!a.result.is_object())
        return fail(op, WEFT_E_UNAVAILABLE, "the FISCO BCOS node has no block " + std::to_string(h));
      // PBFT and rPBFT commit final blocks: nothing to wait for once a block is there.
      succeed(op, json::object{{"height", h},
                               {"blockTime", number_of(a.result.as_object().if_contains("timestamp")).value_or(0)},
                               {"finalityBlocks", 0},
                               {"blockIntervalMs", 1000}});
    });
  });
}

// ---- Receipts ----

void BcosChain::get_receipt(const std::shared_ptr<Op> &op, json::object req) {
  const std::string hash = str_of(req, "hash");
  auto bytes = evm::from_hex(hash);
  if (!bytes.ok() || bytes->size() != 32) throw Failure(WEFT_E_INVALID_ARGUMENT, "hash must be 0x and 64 hex digits");
  const std::string h = evm::to_hex(*bytes);
  const bool v2 = cfg_.version == Version::V2;
  json::array p = v2 ? params({json::string(h)}) : params({json::string(h), false});
  rpc_.call("getTransactionReceipt", std::move(p), rpc_timeout(op), [this, op, h, v2](evm::RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok() && !a.rpc_error()) return fail_rpc(op, a, "getTransactionReceipt");
    if (a.rpc_error() || a.result.is_null())
      return fail(op, WEFT_E_NOT_FOUND,
                  "no receipt of transaction " + h + " on this chain" +
                      (a.rpc_error() ? " (the node says: " + a.message + ")" : ""));
    if (!a.result.is_object())
      return fail(op, WEFT_E_UNAVAILABLE, "the FISCO BCOS node answered a receipt that is not an object");
    // Then the transaction itself, for what the receipt does not carry (its nonce and block limit, and its input
    // where a receipt has none); the receipt alone still answers if that fails.
    json::array tp = v2 ? params({json::string(h)}) : params({json::string(h), false});
    rpc_.call(v2 ? "getTransactionByHash" : "getTransaction", std::move(tp), rpc_timeout(op),
              [this, op, receipt = std::move(a.result.as_object())](evm::RpcAnswer t) mutable {
                if (!live(op)) return;
                json::object extra;
                if (t.ok() && t.result.is_object()) {
                  const auto &tx = t.result.as_object();
                  if (!receipt.contains("input") && tx.contains("input")) receipt["input"] = tx.at("input");
                  if (const auto *n = tx.if_contains("nonce"); n != nullptr && n->is_string()) extra["nonce"] = *n;
                  if (auto bl = number_of(tx.if_contains("blockLimit"))) extra["blockLimit"] = *bl;
                }
                json::object out = receipt_answer(receipt, cfg_.version, cfg_.resources);
                for (auto &kv : extra)
                  out[kv.key()] = kv.value();
                with_block_time(op, out["blockNumber"].as_uint64(), [this, op, out](uint64_t ts) mutable {
                  out["timestamp"] = ts;
                  succeed(op, out);
                });
              });
  });
}

// ---- Calls ----

BcosChain::CallPlan BcosChain::plan_call(const json::object &req) {
  CallPlan plan;
  plan.res = &resource(req);
  const std::string method = str_of(req, "method");
  auto args = string_args(req);
  auto fn = plan.res->abi->find(method, args.size());
  if (!fn.ok()) throw Failure(WEFT_E_NOT_FOUND, "resource '" + plan.res->name + "': " + fn.error().message);
  plan.fn = *fn;
  auto data = evm::abi::encode_call(**fn, args);
  if (!data.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, data.error().message);
  plan.data = std::move(*data);
  // 2.x wants a "from" (error -40006 without it); the named account's address when the host has it.
  if (const std::string account = str_of(req, "account"); !account.empty()) {
    try {
      plan.from = address_of_account(account);
    } catch (const Failure &) {
    }
  }
  return plan;
}

evm::HostCalls::Outcome BcosChain::call_outcome(const BcosResource &res, const evm::abi::Function &f, Version version,
                                                uint64_t status, uint64_t height, const Bytes &output) {
  auto answer = [&](uint64_t code, std::string message, json::array result) {
    return evm::HostCalls::Outcome{WEFT_OK, {}, json::object{{"errorCode", code},
                                                             {"message", std::move(message)},
                                                             {"hash", ""},
                                                             {"blockNumber", height},
                                                             {"result", std::move(result)}}};
  };
  if (status != 0) {
    std::string message = status_name(version, status);
    if (auto reason = output.empty() ? std::nullopt : evm::abi::decode_revert(output, res.abi.get()))
      message += ": " + *reason;
    return answer(status, std::move(message), {});
  }
  if (output.empty() && !f.outputs.empty())
    return {WEFT_E_NOT_FOUND,
            "resource '" + res.name + "' returned nothing for " + f.signature() + ": is there a contract at " +
                evm::lower_address(res.address) + "?",
            {}};
  auto values = evm::abi::decode_values(f.outputs, output);
  if (!values.ok())
    return {WEFT_E_INTERNAL, "cannot decode what " + f.signature() + " returned: " + values.error().message, {}};
  json::array result;
  for (auto &v : *values)
    result.push_back(json::string(v));
  return answer(0, "Success", std::move(result));
}

void BcosChain::call(const std::shared_ptr<Op> &op, json::object req) {
  auto plan = plan_call(req);
  auto run = [this, op, plan] {
    node_call(op, plan.res->address, plan.data, plan.from,
              [this, op, res = plan.res, f = plan.fn](uint64_t status, uint64_t height, Bytes output) {
                auto out = call_outcome(*res, *f, cfg_.version, status, height, output);
                if (out.status == WEFT_OK)
                  succeed(op, out.answer);
                else
                  fail(op, out.status, out.message);
              });
  };
  if (const auto *o = req.if_contains("options"); o != nullptr && o->is_object())
    if (const auto *x = o->as_object().if_contains("XA_TRANSACTION_ID")) {
      if (!x->is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.XA_TRANSACTION_ID must be a string");
      return stubs_.call_in_xa(op, *plan.res, std::string(x->as_string()), run);
    }
  run();
}

std::optional<uint64_t> BcosChain::call_on_host(plugin::Completion &done, uint32_t deadline_ms,
                                                const std::string &request) {
  auto req = evm::HostCalls::plain_request(request);
  if (!req) return std::nullopt;
  auto plan = evm::HostCalls::try_plan(resources_mu_, [&] { return plan_call(*req); });
  if (!plan) return std::nullopt;
  return host_calls_->call(std::move(done), evm::HostCalls::budget(deadline_ms, cfg_.request_timeout_ms), "call",
                           call_params(plan->res->address, plan->data, plan->from),
                           [this, res = plan->res, f = plan->fn](const evm::RpcAnswer &a) {
                             auto answer = node_call_answer(a);
                             if (auto *failed = std::get_if<evm::HostCalls::Outcome>(&answer)) return *failed;
                             const auto &r = std::get<NodeCallAnswer>(answer);
                             return call_outcome(*res, *f, cfg_.version, r.status, r.height, r.output);
                           });
}

json::array BcosChain::call_params(const Address &to, const Bytes &data, const Address &from) const {
  if (cfg_.version == Version::V2)
    return params({json::object{{"from", evm::lower_address(from)},
                                {"to", evm::lower_address(to)},
                                {"value", "0x0"},
                                {"data", evm::to_hex(data)}}});
  return params({json::string(evm::lower_address(to)), json::string(evm::to_hex(data))});
}

std::variant<BcosChain::NodeCallAnswer, evm::HostCalls::Outcome>
BcosChain::node_call_answer(const evm::RpcAnswer &a) const {
  if (!a.ok()) return rpc_failure(a, "the call");
  auto garbage = [&] {
    return evm::HostCalls::Outcome{WEFT_E_UNAVAILABLE,
                                   "the FISCO BCOS node answered call with " + json::serialize(a.result), {}};
  };
  if (!a.result.is_object()) return garbage();
  const auto &r = a.result.as_object();
  const auto status = number_of(r.if_contains("status"));
  const uint64_t height =
      number_of(r.if_contains(cfg_.version == Version::V2 ? "currentBlockNumber" : "blockNumber")).value_or(0);
  auto output = evm::from_hex(str_of(r, "output"));
  if (!status || !output.ok()) return garbage();
  return NodeCallAnswer{*status, height, std::move(*output)};
}

void BcosChain::node_call(const std::shared_ptr<Op> &op, const Address &to, const Bytes &data, const Address &from,
                          std::function<void(uint64_t, uint64_t, Bytes)> next) {
  rpc_.call("call", call_params(to, data, from), rpc_timeout(op), [this, op, next](evm::RpcAnswer a) {
    if (!live(op)) return;
    auto answer = node_call_answer(a);
    if (auto *failed = std::get_if<evm::HostCalls::Outcome>(&answer)) return fail(op, failed->status, failed->message);
    auto &r = std::get<NodeCallAnswer>(answer);
    height_ = std::max(height_, r.height);
    next(r.status, r.height, std::move(r.output));
  });
}

// ---- The stub verbs' chain ----

evm::abi::Hasher BcosChain::stub_hasher() const { return hasher_of(cfg_.crypto); }

void BcosChain::stub_ready(const std::shared_ptr<Op> &, std::function<void()> next) { next(); }

void BcosChain::stub_read(const std::shared_ptr<Op> &op, const Address &at, const evm::abi::Function &fn,
                          const std::vector<std::string> &args, bool, std::function<void(std::vector<std::string>)> next) {
  auto data = evm::abi::encode_call(fn, args);
  if (!data.ok()) return fail(op, WEFT_E_INVALID_ARGUMENT, fn.signature() + ": " + data.error().message);
  const evm::abi::Function *f = &fn;
  // PBFT blocks are final once committed: the latest state is final state.
  node_call(op, at, *data, Address{}, [this, op, f, at, next](uint64_t status, uint64_t, Bytes output) {
    if (status != 0)
      return fail(op, WEFT_E_INTERNAL, f->signature() + " failed: " + status_name(cfg_.version, status) +
                                           (output.empty() ? "" : " " + evm::to_hex(output)));
    if (output.empty())
      return fail(op, WEFT_E_UNAVAILABLE, "no answer from " + f->signature() + " at " + evm::lower_address(at) +
                                              ": is the contract deployed there?");
    auto values = evm::abi::decode_values(f->outputs, output);
    if (!values.ok())
      return fail(op, WEFT_E_UNAVAILABLE, "cannot decode what " + f->signature() + " returned: " + values.error().message);
    stub_guarded(op, [&] { next(std::move(*values)); });
  });
}

void BcosChain::stub_send(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata,
                          const std::string &account, std::shared_ptr<const evm::abi::ContractAbi>, Done done,
                          Refused refused) {
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to sign with");
  auto p = std::make_shared<Pending>();
  p->op = op;
  p->to = to;
  p->data = std::move(calldata);
  p->account = account;
  p->from = address_of_account(account);
  p->then = guarded(std::move(done));
  p->refused = guarded(std::move(refused));
  sign_and_send(p);
}

// ---- Sends ----

void BcosChain::send_transaction(const std::shared_ptr<Op> &op, json::object req) {
  const auto &res = resource(req);
  auto args = string_args(req);
  auto fn = res.abi->find(str_of(req, "method"), args.size());
  if (!fn.ok()) throw Failure(WEFT_E_NOT_FOUND, "resource '" + res.name + "': " + fn.error().message);
  auto data = evm::abi::encode_call(**fn, args);
  if (!data.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, data.error().message);
  auto p = std::make_shared<Pending>();
  p->op = op;
  p->to = res.address;
  p->data = std::move(*data);
  p->account = str_of(req, "account");
  if (p->account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to sign with: name one or set the chain's default");
  p->from = address_of_account(p->account);
  static const json::object no_options;
  const auto *o = req.if_contains("options");
  const json::object &opts = o != nullptr && o->is_object() ? o->as_object() : no_options;
  if (stubs_.through_proxy(res, opts)) return stubs_.send_through_proxy(op, res, **fn, p->data, p->account, opts);
  sign_and_send(p);
}

void BcosChain::sign_and_send(std::shared_ptr<Pending> p) {
  const auto op = p->op;
  with_height(op, [this, op, p](uint64_t height) {
    p->block_limit = height + cfg_.block_limit_margin;
    Hash256 digest{};
    Tx2 tx2;
    TxData3 tx3;
    if (cfg_.version == Version::V2) {
      tx2.random_id = random_u256();
      tx2.gas_price = U256::from_u64(kGas);
      tx2.gas_limit = U256::from_u64(kGas);
      tx2.block_limit = U256::from_u64(p->block_limit);
      tx2.to = p->to; // none: a deployment, written as an empty string
      tx2.data = p->data;
      tx2.chain_id = U256::from_u64(cfg_.chain_id2);
      tx2.group_id = U256::from_u64(cfg_.group2);
      digest = signing_hash(tx2, cfg_.crypto);
    } else {
      tx3.chain_id = cfg_.chain_id3;
      tx3.group_id = cfg_.group3;
      tx3.block_limit = static_cast<int64_t>(p->block_limit);
      tx3.nonce = random_u256().to_decimal();
      // As FISCO BCOS's SDKs write it: hex without 0x; "" to deploy.
      tx3.to = p->to ? evm::lower_address(*p->to).substr(2) : std::string();
      tx3.input = p->data;
      digest = data_hash(tx3, cfg_.crypto);
    }
    plugin::Signature sig;
    try {
      sig = host_.sign(p->account, algorithm(), digest.data(), digest.size());
    } catch (const Failure &f) {
      return fail(op, f.status, f.message);
    }
    const size_t want = cfg_.crypto == Crypto::Sm ? 64 : 65;
    if (sig.signature.size() != want || sig.public_key.size() != 64 ||
        address_of(cfg_.crypto, std::span<const uint8_t, 64>(sig.public_key.data(), 64)) != p->from)
      return fail(op, WEFT_E_ACCOUNT,
                  "the host's " + std::string(algorithm()) + " signature for account '" + p->account +
                      "' does not match its address " + evm::lower_address(p->from));
    std::span<const uint8_t, 64> pub(sig.public_key.data(), 64);
    if (cfg_.version == Version::V2) {
      const Bytes raw = encode_signed(tx2, sig.signature, pub, cfg_.crypto);
      p->raw = evm::to_hex(raw);
      p->hash = hex_of(hash_of(cfg_.crypto, raw));
      op->hash = p->hash;
      return send_signed2(p);
    }
    Tx3 tx;
    tx.data = std::move(tx3);
    tx.data_hash = digest;
    tx.signature = signature3(sig.signature, pub, cfg_.crypto);
    p->raw = evm::to_hex(encode(tx));
    p->hash = hex_of(digest); // a 3.x transaction's hash is its dataHash
    op->hash = p->hash;
    auto prm = params({json::string(p->raw), false});
    rpc_.call("sendTransaction", std::move(prm), rpc_timeout(op), [this, op, p](evm::RpcAnswer a) {
      if (!live(op)) return;
      if (a.rpc_error())
        return fail(op, WEFT_E_REJECTED,
                    "the FISCO BCOS node refused transaction " + p->hash + ": " + a.message + " (code " +
                        std::to_string(*a.rpc_code) + ")");
      if (!a.ok() || !a.result.is_object()) {
        // Unreachable or no receipt in the answer: the node may have taken it. Ask for the receipt until the
        // deadline, as for 2.x.
        host_.warn("sendTransaction of " + p->hash + " gave no receipt (" +
                   (a.ok() ? json::serialize(a.result) : a.message) + "); reading its receipt");
        return poll_receipt(p);
      }
      answer_receipt(p, a.result.as_object());
    });
  });
}

void BcosChain::send_signed2(std::shared_ptr<Pending> p) {
  const auto op = p->op;
  rpc_.call("sendRawTransaction", params({json::string(p->raw)}), rpc_timeout(op), [this, op, p](evm::RpcAnswer a) {
    if (!live(op)) return;
    if (a.rpc_error())
      return fail(op, WEFT_E_REJECTED,
                  "the FISCO BCOS node refused transaction " + p->hash + ": " + a.message + " (code " +
                      std::to_string(*a.rpc_code) + ")");
    if (!a.ok()) {
      // The node may have taken it before the link failed: look for its receipt until the deadline.
      host_.warn("sendRawTransaction of " + p->hash + " failed (" + a.message + "); reading its receipt");
      return poll_receipt(p);
    }
    if (!a.result.is_string() || std::string(a.result.as_string()) != p->hash)
      host_.warn("the FISCO BCOS node answered sendRawTransaction with " + json::serialize(a.result) +
                 ", not the hash computed here (" + p->hash + ")");
    poll_receipt(p);
  });
}

void BcosChain::poll_receipt(std::shared_ptr<Pending> p) {
  if (!live(p->op)) return;
  json::array prm =
      cfg_.version == Version::V2 ? params({json::string(p->hash)}) : params({json::string(p->hash), false});
  rpc_.call("getTransactionReceipt", std::move(prm), rpc_timeout(p->op), [this, p](evm::RpcAnswer a) {
    if (!live(p->op)) return;
    if (a.ok() && a.result.is_object()) return answer_receipt(p, a.result.as_object());
    auto again = [this, p] {
      // A timer that outlives its op finds it finished and stops; close drops the rest with the loop.
      loop_.after(std::chrono::milliseconds(cfg_.poll_ms), [this, p] { poll_receipt(p); });
    };
    // No receipt yet (null, or 3.x's "not found" error): once the chain is past the block limit, the node can never
    // take it. An unreachable node only delays the answer: the deadline ends the wait, with the hash.
    rpc_.call("getBlockNumber", params({}), rpc_timeout(p->op), [this, p, again](evm::RpcAnswer b) {
      if (!live(p->op)) return;
      const auto h = b.ok() ? number_of(&b.result) : std::nullopt;
      if (h && *h > p->block_limit)
        return fail(p->op, WEFT_E_REJECTED,
                    "transaction " + p->hash + " was not committed by its block limit " +
                        std::to_string(p->block_limit) + " (the chain is at " + std::to_string(*h) +
                        "); it never will be");
      again();
    });
  });
}

void BcosChain::answer_receipt(const std::shared_ptr<Pending> &p, const json::object &receipt) {
  json::object answer = receipt_answer(receipt, cfg_.version, cfg_.resources);
  answer["hash"] = answer["txHash"];
  with_block_time(p->op, answer["blockNumber"].as_uint64(), [this, p, answer](uint64_t ts) mutable {
    answer["timestamp"] = ts;
    if (p->refused && number_of(answer.if_contains("errorCode")).value_or(0) != 0) {
      auto output = evm::from_hex(str_of(answer, "output"));
      return p->refused(p->op, output.ok() ? *output : Bytes{}, str_of(answer, "message"), str_of(answer, "hash"));
    }
    if (p->then)
      p->then(p->op, std::move(answer));
    else
      succeed(p->op, answer);
  });
}

void BcosChain::with_block_time(const std::shared_ptr<Op> &op, uint64_t block, std::function<void(uint64_t)> next) {
  json::array p = cfg_.version == Version::V2 ? params({json::string(U256::from_u64(block).to_hex()), false})
                                              : params({block, true, true});
  // The block's time (ms on both versions), so answers carry chain time; 0 when the node cannot say.
  rpc_.call("getBlockByNumber", std::move(p), rpc_timeout(op), [this, op, next = std::move(next)](evm::RpcAnswer a) {
    if (!live(op)) return;
    next(a.ok() && a.result.is_object() ? number_of(a.result.as_object().if_contains("timestamp")).value_or(0) : 0);
  });
}

// ---- Resources registered at run time: <data_dir>/resources.json, one entry per registration, latest last ----

std::string BcosChain::registry_file() const {
  return data_dir_.empty() ? "" : data_dir_ + "/resources.json";
}

void BcosChain::load_registered() {
  const std::string path = registry_file();
  if (path.empty()) return;
  std::ifstream in(path, std::ios::binary);
  if (!in) return; // nothing registered yet
  std::ostringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(ss.str(), ec);
  if (ec || !v.is_array()) {
    host_.error("cannot read the registered resources in " + path + "; they are not offered until it is fixed");
    return;
  }
  for (const auto &e : v.as_array()) {
    try {
      if (!e.is_object()) throw Failure(WEFT_E_INVALID_ARGUMENT, "an entry is not an object");
      cfg_.resources.push_back(evm::registered_entry(e.as_object(), path, stub_hasher()));
      registered_.push_back(e.as_object());
    } catch (const Failure &f) {
      host_.error("skipping a registered resource in " + path + ": " + f.message);
    }
  }
}

void BcosChain::add_registered(BcosResource rc, const std::string &abi_text) {
  registered_.push_back(evm::registered_json(rc, abi_text));
  const std::string path = registry_file();
  if (!path.empty()) {
    try {
      evm::replace_file_durably(path, json::serialize(registered_));
    } catch (const Failure &f) {
      registered_.pop_back();
      throw Failure(WEFT_E_INTERNAL, f.message + " to keep resource '" + rc.name + "'");
    }
  }
  std::unique_lock lock(resources_mu_); // the host path reads the resources off the loop
  cfg_.resources.push_back(std::move(rc));
}

void BcosChain::register_resource(const std::shared_ptr<Op> &op, json::object req) {
  BcosResource rc;
  rc.name = str_of(req, "name");
  if (!name_ok(rc.name))
    throw Failure(WEFT_E_INVALID_ARGUMENT,
                  "name '" + rc.name + "' must be 1-64 characters of letters, digits, _ and -");
  for (size_t i = 0; i < configured_; ++i)
    if (cfg_.resources[i].name == rc.name)
      throw Failure(WEFT_E_INVALID_ARGUMENT,
                    "resource '" + rc.name + "' is configured in the router's config; change it there");
  if (rc.name == "WeCrossProxy")
    throw Failure(WEFT_E_INVALID_ARGUMENT, "WeCrossProxy names the chain's XA proxy; deploy it with deployStubs");
  const std::string abi_text = str_of(req, "abi");
  rc.abi = load_abi(abi_text, "the ABI of '" + rc.name + "'", cfg_.crypto);
  const std::string bytecode = str_of(req, "bytecode");
  if (bytecode.empty()) {
    auto addr = evm::parse_address(str_of(req, "address"));
    if (!addr.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, "address: " + addr.error().message);
    rc.address = *addr;
    json::object answer{{"name", rc.name}, {"address", evm::lower_address(rc.address)}};
    add_registered(std::move(rc), abi_text);
    return succeed(op, answer);
  }
  // Deploy: the creation code and the constructor's arguments, sent like any transaction (no `to`); registered once
  // its receipt names the new contract.
  auto code = evm::from_hex(bytecode);
  if (!code.ok() || code->empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "bytecode must be 0x and hex digits");
  auto args = string_args(req);
  const auto ctor = rc.abi->constructor ? rc.abi->constructor->inputs : std::vector<evm::abi::Param>{};
  auto encoded = evm::abi::encode_args(ctor, args);
  if (!encoded.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, "constructor " + encoded.error().message);
  auto p = std::make_shared<Pending>();
  p->op = op;
  p->data = std::move(*code);
  p->data.insert(p->data.end(), encoded->begin(), encoded->end());
  p->account = str_of(req, "account");
  if (p->account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to deploy with");
  p->from = address_of_account(p->account);
  auto pending = std::make_shared<BcosResource>(std::move(rc));
  p->then = [this, pending, abi_text](const std::shared_ptr<Op> &op, json::object answer) {
    const auto *ca = answer.if_contains("contractAddress");
    auto addr = ca != nullptr && ca->is_string() ? evm::parse_address(std::string_view(ca->as_string()))
                                                 : Result<Address>(Error{0, "none"});
    const auto status = number_of(answer.if_contains("errorCode"));
    if (status != 0u || !addr.ok() || *addr == Address{}) {
      const auto *m = answer.if_contains("message");
      return fail(op, WEFT_E_REJECTED,
                  "the deployment of '" + pending->name + "' failed on chain: " +
                      (m != nullptr && m->is_string() ? std::string(m->as_string()) : "no contract address"),
                  json::serialize(json::object{{"hash", answer["hash"]}}));
    }
    pending->address = *addr;
    try {
      add_registered(*pending, abi_text);
    } catch (const Failure &f) {
      return fail(op, f.status, "deployed at " + evm::lower_address(*addr) + " but not registered: " + f.message);
    }
    succeed(op, json::object{{"name", pending->name},
                             {"address", evm::lower_address(*addr)},
                             {"hash", answer["hash"]},
                             {"blockNumber", answer["blockNumber"]}});
  };
  sign_and_send(p);
}

} // namespace weft::bcos
