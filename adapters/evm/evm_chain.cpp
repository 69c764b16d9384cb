#include "evm_chain.h"
#include "evm_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <fstream>
#include <future>
#include <sstream>

namespace weft::evm {

namespace json = boost::json;
using plugin::Failure;
using Clock = std::chrono::steady_clock;

struct EvmChain::Sender {
  std::string account;
  Address from{};
  NonceBook book;
  bool fetching = false;
  std::vector<std::function<void(bool ok, const std::string &error)>> waiting;
  std::optional<uint64_t> gap_seen; // the gap seen at the previous head, filled if it is still there at this one
  // Signed transactions go to the node one at a time, lowest nonce first: an account's transactions racing each
  // other over several connections reach the node out of order, and a node may then hold a later one back for good
  // (anvil did, with a valid transaction in its pool that no block ever took).
  bool broadcasting = false;
  std::multimap<uint64_t, std::function<void()>> to_broadcast;
};

struct EvmChain::Sent {
  std::shared_ptr<Op> op; // reset once the caller has its answer or stopped waiting
  std::string account;
  Address from{};
  uint64_t nonce = 0;
  std::variant<LegacyTx, Eip1559Tx> tx;
  const ResourceConfig *res = nullptr; // null for a gap filler or a deployment
  const abi::Function *fn = nullptr;
  std::shared_ptr<const abi::ContractAbi> abi;
  Then then; // what to answer once final, instead of the sent shape (deployments)
  Refused refused; // where a revert goes, when the write was composed by the adapter
  std::vector<std::string> hashes; // every signed version, oldest first
  std::string raw;                 // the latest signed version, 0x hex
  bool accepted = false;           // the node took (or may have taken) the latest version
  bool rebroadcast = false;        // send `raw` again at the next head: the node was unreachable, or a reorg
  uint64_t accepted_at = 0;        // head when the latest version was sent
  Clock::time_point sent_at{};     // when the latest bytes went to the node
  int nonce_retries = 0;
  int drops = 0;           // times the node forgot it without mining it
  bool lost_nonce = false; // the node says another transaction took its nonce
  std::optional<json::object> receipt; // the latest receipt seen
  bool final_ = false;
};


using namespace util;

namespace {

// Times a node may forget an accepted transaction before the adapter gives up on it and frees its nonce.
constexpr int kMaxDrops = 3;

std::string lower(std::string s) {
  for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains(const std::string &haystack, std::string_view needle) {
  return lower(haystack).find(needle) != std::string::npos;
}

// x + x/8 + 1: the least raise geth and its kin accept for a replacement (10 %), with room.
U256 raised(const U256 &x) {
  U256 eighth;
  for (int i = 31; i >= 0; --i) {
    const unsigned hi = i > 0 ? x.be[i - 1] : 0;
    eighth.be[i] = static_cast<uint8_t>((x.be[i] >> 3) | ((hi & 7u) << 5));
  }
  auto sum = checked_add(x, eighth);
  if (!sum) return x;
  auto plus = checked_add(*sum, U256::from_u64(1));
  return plus ? *plus : *sum;
}

U256 max_of(const U256 &a, const U256 &b) { return a < b ? b : a; }

// Revert data from a JSON-RPC error: "data" as hex, or nested as {"data": hex} by some nodes.
std::optional<Bytes> revert_data(const RpcAnswer &a) {
  const json::value *d = &a.rpc_data;
  if (d->is_object()) {
    const auto *inner = d->as_object().if_contains("data");
    if (inner == nullptr) return std::nullopt;
    d = inner;
  }
  if (!d->is_string()) return std::nullopt;
  auto b = from_hex(std::string_view(d->as_string()));
  if (!b.ok()) return std::nullopt;
  return *b;
}

bool is_revert(const RpcAnswer &a) {
  return a.rpc_error() && (a.rpc_code == 3 || contains(a.message, "revert") || revert_data(a).has_value());
}

std::string revert_message(const RpcAnswer &a, const abi::ContractAbi *abi) {
  if (auto data = revert_data(a); data && !data->empty()) {
    if (auto m = abi::decode_revert(*data, abi)) return "execution reverted: " + *m;
    return "execution reverted with data " + to_hex(*data);
  }
  return a.message.empty() ? "execution reverted" : a.message;
}

} // namespace

// ---- Lifecycle ----

EvmChain::EvmChain(EvmConfig config, plugin::Host host, std::string data_dir)
    : cfg_(std::move(config)), host_(std::move(host)), data_dir_(std::move(data_dir)), rpc_(loop_, cfg_.rpc),
      book_(loop_, {"the EVM node at " + cfg_.rpc.endpoint.text() + " did not answer in time",
                    "was sent but is not final yet"}) {
  for (auto &r : cfg_.resources) resources_.push_back(r);
  load_registered();
  std::string why;
  host_calls_ = HostCalls::open(host_, loop_, cfg_.rpc, cfg_.rpc_io_thread, why);
  host_.info(host_calls_ ? "calls wait for the node on the router's I/O threads (rpc_io host)"
                         : "calls wait for the node on the chain's own thread: " + why);
  loop_.post([this] { poll_head(); });
}

EvmChain::~EvmChain() {
  std::promise<void> closed;
  loop_.post([this, &closed] {
    closing_ = true;
    if (poll_timer_ != 0) loop_.cancel_timer(poll_timer_);
    if (follow_timer_ != 0) loop_.cancel_timer(follow_timer_);
    follow_ups_.clear();
    book_.close("the chain was closed");
    for (auto &[addr, s] : senders_) {
      auto waiting = std::move(s->waiting);
      for (auto &w : waiting) w(false, "the chain was closed");
    }
    auto dropped = std::move(waiting_ready_); // their ops were failed above
    end_subscriptions("the chain was closed");
    closed.set_value();
  });
  closed.get_future().wait();
  if (host_calls_) host_calls_->shutdown(); // its calls end as cancelled
  rpc_.shutdown();
  loop_.stop();
}

uint64_t EvmChain::start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Verb verb) {
  if (verb == &EvmChain::call && host_calls_)
    if (auto id = call_on_host(done, deadline_ms, request)) return *id;
  return book_.start(std::move(done), deadline_ms, request,
                     [this, verb](const std::shared_ptr<Op> &op, json::object req) { (this->*verb)(op, std::move(req)); });
}

void EvmChain::cancel(uint64_t op_id) {
  if (HostCalls::owns(op_id) && host_calls_) return host_calls_->cancel(op_id);
  book_.cancel(op_id);
}

bool EvmChain::live(const std::shared_ptr<Op> &op) const { return !closing_ && book_.live(op); }

void EvmChain::succeed(const std::shared_ptr<Op> &op, const json::value &answer) { book_.succeed(op, answer); }

void EvmChain::fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                    const std::string &details) {
  book_.fail(op, status, message, details);
}

std::chrono::milliseconds EvmChain::rpc_timeout(const std::shared_ptr<Op> &op) const {
  return book_.left(op, std::chrono::milliseconds(cfg_.request_timeout_ms));
}

// ---- Resources and accounts ----

const ResourceConfig &EvmChain::resource(const json::object &req) const {
  const std::string name = str_of(req, "resource");
  if (name.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "resource is missing");
  for (auto it = resources_.rbegin(); it != resources_.rend(); ++it)
    if (it->name == name) return *it; // a re-registered name: the latest
  std::string known;
  for (const auto &r : resources_) known += (known.empty() ? "" : ", ") + r.name;
  throw Failure(WEFT_E_NOT_FOUND,
                "no resource '" + name + "' on this chain" + (known.empty() ? "" : " (it has: " + known + ")"));
}

const ResourceConfig *EvmChain::resource_at(const std::string &address_hex) const {
  auto a = parse_address(address_hex);
  if (!a.ok()) return nullptr;
  for (auto it = resources_.rbegin(); it != resources_.rend(); ++it)
    if (it->address == *a) return &*it;
  return nullptr;
}

Address EvmChain::address_of_account(const std::string &account) {
  {
    std::lock_guard lock(accounts_mu_);
    if (auto it = account_addresses_.find(account); it != account_addresses_.end()) return it->second;
  }
  auto pub = host_.public_key(account, "secp256k1");
  if (pub.size() != 64) throw Failure(WEFT_E_ACCOUNT, "the host gave a public key of " + std::to_string(pub.size()) +
                                                          " bytes for account '" + account + "'; 64 expected");
  Address a = address_of(std::span<const uint8_t, 64>(pub.data(), 64));
  std::lock_guard lock(accounts_mu_);
  account_addresses_[account] = a;
  return a;
}

void EvmChain::list_resources(const std::shared_ptr<Op> &op, json::object) {
  json::array list;
  std::set<std::string> listed;
  for (auto it = resources_.rbegin(); it != resources_.rend(); ++it) {
    const auto &r = *it;
    if (!listed.insert(r.name).second) continue; // superseded by a later registration
    json::array methods, writes, events;
    for (const auto &f : r.abi->functions) {
      methods.push_back(json::string(f.signature()));
      if (!f.is_read()) writes.push_back(json::string(f.name));
    }
    for (const auto &e : r.abi->events) events.push_back(json::string(e.signature()));
    json::object props{{"contract", r.kind},
                       {"address", checksum_address(r.address)},
                       {"methods", std::move(methods)},
                       {"writeMethods", std::move(writes)},
                       {"events", std::move(events)}};
    if (r.kind == "htlc") {
      props["asset"] = checksum_address(*r.asset);
      props["escrow"] = checksum_address(r.address);
    }
    if (r.kind == "evm") props["xa"] = stubs_.xa_capable(r) && stubs_.xa_proxy() != nullptr;
    list.push_back(json::object{{"name", r.name}, {"properties", std::move(props)}});
  }
  succeed(op, json::object{{"resources", std::move(list)}});
}

void EvmChain::account_info(const std::shared_ptr<Op> &op, json::object req) {
  const std::string account = str_of(req, "account");
  if (account.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "account is missing");
  succeed(op, json::object{{"address", lower_address(address_of_account(account))}});
}

// ---- The node: chain id and head ----

void EvmChain::ready(const std::shared_ptr<Op> &op, std::function<void()> next) {
  if (!node_error_.empty()) {
    fail(op, WEFT_E_UNAVAILABLE, node_error_);
    return;
  }
  if (chain_id_) {
    next();
    return;
  }
  waiting_ready_.push_back([this, op, next = std::move(next)] {
    if (!live(op)) return;
    if (!node_error_.empty())
      fail(op, WEFT_E_UNAVAILABLE, node_error_);
    else if (!chain_id_)
      fail(op, WEFT_E_UNAVAILABLE, "cannot reach the EVM node at " + rpc_.endpoint().text());
    else
      next();
  });
  if (asking_chain_id_) return;
  asking_chain_id_ = true;
  rpc_.call("eth_chainId", {}, std::chrono::milliseconds(cfg_.request_timeout_ms), [this](RpcAnswer a) {
    asking_chain_id_ = false;
    if (closing_) return;
    std::string failure;
    if (a.ok()) {
      auto id = parse_qty(&a.result);
      if (!id)
        failure = "the EVM node at " + rpc_.endpoint().text() + " answered eth_chainId with " +
                  json::serialize(a.result);
      else if (cfg_.chain_id && *cfg_.chain_id != *id)
        node_error_ = "the node at " + rpc_.endpoint().text() + " serves chain id " + std::to_string(*id) +
                      ", but the config says chain_id " + std::to_string(*cfg_.chain_id) +
                      "; fix options.chain_id or the url";
      else
        chain_id_ = id;
      if (!node_error_.empty()) host_.error(node_error_);
    }
    auto waiting = std::move(waiting_ready_);
    for (auto &w : waiting) w();
  });
}

void EvmChain::poll_head() {
  if (closing_) return;
  rpc_.call("eth_getBlockByNumber", json::array{"latest", false}, std::chrono::milliseconds(cfg_.request_timeout_ms),
            [this](RpcAnswer a) {
              if (closing_) return;
              if (a.ok() && a.result.is_object()) {
                on_head(a.result.as_object());
              } else {
                if (head_.seen != Clock::time_point{})
                  host_.warn("lost the EVM node: " + (a.ok() ? std::string("no latest block") : a.message));
                head_.seen = {};
              }
              poll_timer_ = loop_.after(std::chrono::milliseconds(cfg_.poll_ms), [this] { poll_head(); });
            });
}

void EvmChain::on_head(const json::object &block) {
  if (!update_head(block)) return;
  tick();
}

bool EvmChain::update_head(const json::object &block) {
  auto number = parse_qty(block.if_contains("number"));
  if (!number) return false;
  const bool was_down = head_.seen == Clock::time_point{};
  head_.number = *number;
  head_number_.store(*number, std::memory_order_relaxed);
  head_.timestamp_ms = parse_qty(block.if_contains("timestamp")).value_or(0) * 1000;
  head_.time_of = *number;
  if (const auto *fee = block.if_contains("baseFeePerGas"); fee != nullptr && fee->is_string()) {
    auto f = U256::parse(std::string_view(fee->as_string()));
    if (f.ok()) head_.base_fee = *f;
  }
  head_.seen = Clock::now();
  if (was_down) host_.info("EVM node at " + rpc_.endpoint().text() + " answers; head " + std::to_string(*number));
  if (!chain_id_ && !asking_chain_id_ && node_error_.empty()) {
    // Learn the chain id early, so the first send does not wait for it.
    auto op = std::make_shared<Op>();
    op->finished = true;
    ready(op, [] {});
  }
  return true;
}

void EvmChain::tick() {
  // Every poll, not only when the head moves: a node that mines on demand has no new blocks while a transaction
  // it dropped waits, and a gap in the nonces must be filled even when nothing else moves.
  std::vector<std::shared_ptr<Sent>> pending;
  for (const auto &s : tracked_) {
    if (s->rebroadcast && !s->raw.empty()) {
      s->rebroadcast = false;
      broadcast(s, s->hashes.back(), Why::Again);
    }
    pending.push_back(s);
  }
  if (!pending.empty() && !checking_all_) {
    checking_all_ = true;
    check_receipts(pending, true);
  }
  fill_gaps();
  pump_all();
}

void EvmChain::block_height(const std::shared_ptr<Op> &op, json::object) {
  if (head_.seen != Clock::time_point{} && Clock::now() - head_.seen < std::chrono::milliseconds(cfg_.poll_ms)) {
    succeed(op, json::object{{"height", head_.number}});
    return;
  }
  rpc_.call("eth_blockNumber", {}, rpc_timeout(op), [this, op](RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok()) return fail(op, a.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : a.status, a.message);
    auto n = parse_qty(&a.result);
    if (!n) return fail(op, WEFT_E_UNAVAILABLE, "the EVM node answered eth_blockNumber with " + json::serialize(a.result));
    succeed(op, json::object{{"height", *n}});
  });
}

void EvmChain::health(const std::shared_ptr<Op> &op, json::object) {
  ready(op, [this, op] {
    rpc_.call("eth_blockNumber", {}, rpc_timeout(op), [this, op](RpcAnswer a) {
      if (!live(op)) return;
      if (!a.ok()) return fail(op, WEFT_E_UNAVAILABLE, a.message);
      auto n = parse_qty(&a.result);
      if (!n) return fail(op, WEFT_E_UNAVAILABLE, "the EVM node answered eth_blockNumber with " + json::serialize(a.result));
      succeed(op, json::object{{"status", "ok"},
                               {"height", *n},
                               {"chainId", *chain_id_},
                               {"node", rpc_.endpoint().text()},
                               {"tracked", tracked_.size()}});
    });
  });
}

Bytes EvmChain::stub_sign(const std::string &account, const Hash256 &digest) {
  plugin::Signature sig = host_.sign(account, "secp256k1", digest.data(), digest.size());
  return Bytes(sig.signature.begin(), sig.signature.end());
}

void EvmChain::chain_info(const std::shared_ptr<Op> &op, json::object) {
  // After the chain id is known: xaStartInStep depends on it, and the router keeps the answer.
  ready(op, [this, op] {
    rpc_.call("eth_getBlockByNumber", json::array{"latest", false}, rpc_timeout(op), [this, op](RpcAnswer a) {
      if (!live(op)) return;
      if (!a.ok()) return fail(op, WEFT_E_UNAVAILABLE, a.message);
      if (!a.result.is_object()) return fail(op, WEFT_E_UNAVAILABLE, "the EVM node has no latest block");
      const auto &b = a.result.as_object();
      on_head(b);
      succeed(op, json::object{{"height", head_.number},
                               {"blockTime", head_.timestamp_ms},
                               {"finalityBlocks", cfg_.confirmations},
                               {"blockIntervalMs", cfg_.poll_ms},
                               {"xaStartInStep", stubs_.starts_in_step()}});
    });
  });
}

void EvmChain::get_block(const std::shared_ptr<Op> &op, json::object req) {
  auto n = parse_qty(req.if_contains("number"));
  if (!n) throw Failure(WEFT_E_INVALID_ARGUMENT, "number must be a non-negative block number");
  rpc_.call("eth_getBlockByNumber", json::array{qty(*n), false}, rpc_timeout(op), [this, op, n](RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok()) return fail(op, a.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : a.status, a.message);
    if (a.result.is_null()) return fail(op, WEFT_E_NOT_FOUND, "no block " + std::to_string(*n) + " on this chain yet");
    if (!a.result.is_object()) return fail(op, WEFT_E_UNAVAILABLE, "the EVM node answered a block that is not an object");
    const auto &b = a.result.as_object();
    json::array txs;
    if (const auto *t = b.if_contains("transactions"); t != nullptr && t->is_array())
      for (const auto &h : t->as_array())
        if (h.is_string()) txs.push_back(h);
    json::object out{{"number", parse_qty(b.if_contains("number")).value_or(*n)},
                     {"hash", str_of(b, "hash")},
                     {"parentHash", str_of(b, "parentHash")},
                     {"timestamp", parse_qty(b.if_contains("timestamp")).value_or(0) * 1000},
                     {"transactionsRoot", str_of(b, "transactionsRoot")},
                     {"receiptsRoot", str_of(b, "receiptsRoot")},
                     {"stateRoot", str_of(b, "stateRoot")},
                     {"miner", str_of(b, "miner")},
                     {"gasUsed", parse_qty(b.if_contains("gasUsed")).value_or(0)},
                     {"gasLimit", parse_qty(b.if_contains("gasLimit")).value_or(0)},
                     {"txCount", txs.size()},
                     {"transactions", std::move(txs)}};
    if (const auto *fee = b.if_contains("baseFeePerGas"); fee != nullptr && fee->is_string())
      out["baseFeePerGas"] = *fee;
    succeed(op, out);
  });
}

json::object EvmChain::receipt_json(const json::object &r, const json::object *tx) const {
  const bool ok = str_of(r, "status") == "0x1";
  const std::string to = str_of(r, "to");
  const ResourceConfig *res = to.empty() ? nullptr : resource_at(to);
  json::object out{{"txHash", str_of(r, "transactionHash")},
                   {"blockNumber", parse_qty(r.if_contains("blockNumber")).value_or(0)},
                   {"blockHash", str_of(r, "blockHash")},
                   {"index", parse_qty(r.if_contains("transactionIndex")).value_or(0)},
                   {"errorCode", ok ? 0 : 1},
                   {"message", ok ? "Success" : "execution reverted"},
                   {"from", str_of(r, "from")},
                   {"to", to},
                   {"gasUsed", parse_qty(r.if_contains("gasUsed")).value_or(0)},
                   {"result", json::array{}}};
  if (const auto *ca = r.if_contains("contractAddress"); ca != nullptr && ca->is_string())
    out["contractAddress"] = *ca;
  if (res != nullptr) {
    out["resource"] = res->name;
    if (tx != nullptr) {
      auto input = from_hex(str_of(*tx, "input"));
      if (input.ok() && input->size() >= 4) {
        for (const auto &f : res->abi->functions)
          if (std::equal(f.selector.begin(), f.selector.end(), input->begin())) {
            out["method"] = f.name;
            auto args = abi::decode_values(f.inputs, std::span<const uint8_t>(*input).subspan(4));
            json::array a;
            if (args.ok())
              for (auto &s : *args) a.push_back(json::string(s));
            out["args"] = std::move(a);
            break;
          }
      }
    }
  }
  if (tx != nullptr) {
    if (const auto *n = tx->if_contains("nonce")) out["nonce"] = parse_qty(n).value_or(0);
    if (const auto *v = tx->if_contains("value"); v != nullptr && v->is_string()) {
      auto u = U256::parse(std::string_view(v->as_string()));
      if (u.ok()) out["value"] = u->to_decimal();
    }
  }
  json::array events;
  if (const auto *logs = r.if_contains("logs"); logs != nullptr && logs->is_array()) {
    for (const auto &lv : logs->as_array()) {
      if (!lv.is_object()) continue;
      const auto &l = lv.as_object();
      json::object e{{"address", str_of(l, "address")}};
      const ResourceConfig *emitter = resource_at(str_of(l, "address"));
      std::vector<Hash256> topics;
      json::array raw_topics;
      if (const auto *t = l.if_contains("topics"); t != nullptr && t->is_array())
        for (const auto &tv : t->as_array()) {
          if (!tv.is_string()) continue;
          raw_topics.push_back(tv);
          auto b = from_hex(std::string_view(tv.as_string()));
          if (b.ok() && b->size() == 32) {
            Hash256 h;
            std::copy(b->begin(), b->end(), h.begin());
            topics.push_back(h);
          }
        }
      auto data = from_hex(str_of(l, "data"));
      if (emitter != nullptr && data.ok()) {
        e["resource"] = emitter->name;
        auto decoded = abi::decode_log(*emitter->abi, topics, *data);
        if (decoded.ok()) {
          e["name"] = decoded->event;
          json::object fields;
          for (auto &[k, v] : decoded->fields) fields[k] = v;
          e["data"] = std::move(fields);
        }
      }
      if (!e.contains("name")) {
        e["topics"] = std::move(raw_topics);
        e["data"] = str_of(l, "data");
      }
      events.push_back(std::move(e));
    }
  }
  out["events"] = std::move(events);
  return out;
}

void EvmChain::get_receipt(const std::shared_ptr<Op> &op, json::object req) {
  const std::string hash = str_of(req, "hash");
  auto bytes = from_hex(hash);
  if (!bytes.ok() || bytes->size() != 32) throw Failure(WEFT_E_INVALID_ARGUMENT, "hash must be 0x and 64 hex digits");
  const std::string h = to_hex(*bytes);
  std::vector<std::pair<std::string, json::array>> reqs{{"eth_getTransactionReceipt", json::array{h}},
                                                       {"eth_getTransactionByHash", json::array{h}}};
  rpc_.batch(std::move(reqs), rpc_timeout(op), [this, op, h](std::vector<RpcAnswer> a) {
    if (!live(op)) return;
    for (auto &x : a)
      if (!x.ok()) return fail(op, x.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : x.status, x.message);
    if (a[0].result.is_null())
      return fail(op, WEFT_E_NOT_FOUND, "no mined transaction " + h + " on this chain" +
                                            (a[1].result.is_object() ? " (it is pending)" : ""));
    if (!a[0].result.is_object()) return fail(op, WEFT_E_UNAVAILABLE, "the EVM node answered a receipt that is not an object");
    const json::object *tx = a[1].result.is_object() ? &a[1].result.as_object() : nullptr;
    succeed(op, receipt_json(a[0].result.as_object(), tx));
  });
}

// ---- Calls ----

EvmChain::CallPlan EvmChain::plan_call(const json::object &req) {
  CallPlan plan;
  plan.res = &resource(req);
  const std::string method = str_of(req, "method");
  auto args = string_args(req);
  auto fn = plan.res->abi->find(method, args.size());
  if (!fn.ok()) throw Failure(WEFT_E_NOT_FOUND, "resource '" + plan.res->name + "': " + fn.error().message);
  plan.fn = *fn;
  auto data = abi::encode_call(**fn, args);
  if (!data.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, data.error().message);
  plan.data = std::move(*data);
  if (const std::string account = str_of(req, "account"); !account.empty()) {
    // A call names its account so that msg.sender is what the contract will see in a send; an account the host
    // does not know is simply not named.
    try {
      plan.from = address_of_account(account);
    } catch (const Failure &) {
    }
  }
  return plan;
}

void EvmChain::call(const std::shared_ptr<Op> &op, json::object req) {
  auto plan = plan_call(req);
  const auto &opts = options_of(req);
  if (const auto *x = opts.if_contains("XA_TRANSACTION_ID")) {
    if (!x->is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.XA_TRANSACTION_ID must be a string");
    const ResourceConfig &res = *plan.res;
    return stubs_.call_in_xa(op, res, std::string(x->as_string()), [this, op, plan = std::move(plan)]() mutable {
      run_call(op, *plan.res, plan.fn, std::move(plan.data), plan.from);
    });
  }
  run_call(op, *plan.res, plan.fn, std::move(plan.data), plan.from);
}

namespace {

json::object eth_call_params(const ResourceConfig &res, const Bytes &data, const std::optional<Address> &from) {
  json::object callobj{{"to", lower_address(res.address)}, {"data", to_hex(data)}};
  if (from) callobj["from"] = lower_address(*from);
  return callobj;
}

// What a `call` verb answers for the node's answer to its eth_call: a revert is an answer with errorCode 1 and the
// reason; status is not WEFT_OK for a failure (message set).
using CallOutcome = HostCalls::Outcome;

CallOutcome call_outcome(const RpcAnswer &a, const ResourceConfig &res, const abi::Function &f, uint64_t height) {
  auto answer = [&](int code, std::string message, json::array result) {
    return CallOutcome{WEFT_OK, {}, json::object{{"errorCode", code},
                                                 {"message", std::move(message)},
                                                 {"hash", ""},
                                                 {"blockNumber", height},
                                                 {"result", std::move(result)}}};
  };
  auto failure = [](int32_t status, std::string message) { return CallOutcome{status, std::move(message), {}}; };
  if (!a.ok()) {
    if (is_revert(a)) return answer(1, revert_message(a, res.abi.get()), {});
    if (a.rpc_error()) return failure(WEFT_E_INTERNAL, "the EVM node refused the call: " + a.message);
    return failure(a.status, a.message);
  }
  auto bytes = a.result.is_string() ? from_hex(std::string_view(a.result.as_string()))
                                    : Result<Bytes>(Error{0, "not a hex string"});
  if (!bytes.ok()) return failure(WEFT_E_UNAVAILABLE, "the EVM node answered eth_call with " + json::serialize(a.result));
  if (bytes->empty() && !f.outputs.empty())
    return failure(WEFT_E_NOT_FOUND, "resource '" + res.name + "' returned nothing for " + f.signature() +
                                         ": is there a contract at " + checksum_address(res.address) + "?");
  auto values = abi::decode_values(f.outputs, *bytes);
  if (!values.ok())
    return failure(WEFT_E_INTERNAL, "cannot decode what " + f.signature() + " returned: " + values.error().message);
  json::array result;
  for (auto &v : *values) result.push_back(json::string(v));
  return answer(0, "Success", std::move(result));
}

} // namespace

void EvmChain::run_call(const std::shared_ptr<Op> &op, const ResourceConfig &res, const abi::Function *f, Bytes data,
                        std::optional<Address> from) {
  rpc_.call("eth_call", json::array{eth_call_params(res, data, from), "latest"}, rpc_timeout(op),
            [this, op, f, &res](RpcAnswer a) {
              if (!live(op)) return;
              auto out = call_outcome(a, res, *f, head_.number);
              if (out.status == WEFT_OK)
                succeed(op, out.answer);
              else
                fail(op, out.status, out.message);
            });
}

std::optional<uint64_t> EvmChain::call_on_host(plugin::Completion &done, uint32_t deadline_ms,
                                               const std::string &request) {
  auto req = HostCalls::plain_request(request);
  if (!req) return std::nullopt;
  auto plan = HostCalls::try_plan(resources_mu_, [&] { return plan_call(*req); });
  if (!plan) return std::nullopt;
  return host_calls_->call(std::move(done), HostCalls::budget(deadline_ms, cfg_.request_timeout_ms), "eth_call",
                           json::array{eth_call_params(*plan->res, plan->data, plan->from), "latest"},
                           [this, res = plan->res, f = plan->fn](const RpcAnswer &a) {
                             return call_outcome(a, *res, *f, head_number_.load(std::memory_order_relaxed));
                           });
}

void EvmChain::read_call(const std::shared_ptr<Op> &op, const Address &at, const abi::Function &fn,
                         const std::vector<std::string> &args, const std::string &block,
                         std::function<void(std::vector<std::string>)> next) {
  auto data = abi::encode_call(fn, args);
  if (!data.ok()) return fail(op, WEFT_E_INVALID_ARGUMENT, fn.signature() + ": " + data.error().message);
  json::object callobj{{"to", lower_address(at)}, {"data", to_hex(*data)}};
  const abi::Function *f = &fn;
  rpc_.call("eth_call", json::array{std::move(callobj), block}, rpc_timeout(op), [this, op, f, at, next](RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok()) {
      if (is_revert(a)) return fail(op, WEFT_E_INTERNAL, f->signature() + " reverted: " + revert_message(a, nullptr));
      return fail(op, a.status == WEFT_E_INTERNAL ? WEFT_E_UNAVAILABLE : a.status, a.message);
    }
    auto bytes = a.result.is_string() ? from_hex(std::string_view(a.result.as_string()))
                                      : Result<Bytes>(Error{0, "not a hex string"});
    if (!bytes.ok() || bytes->empty())
      return fail(op, WEFT_E_UNAVAILABLE, "no answer from " + f->signature() + " at " + checksum_address(at) +
                                              ": is the contract deployed there?");
    auto values = abi::decode_values(f->outputs, *bytes);
    if (!values.ok())
      return fail(op, WEFT_E_UNAVAILABLE, "cannot decode what " + f->signature() + " returned: " + values.error().message);
    stub_guarded(op, [&] { next(std::move(*values)); });
  });
}

void EvmChain::stub_logs(const std::shared_ptr<Op> &op, const Address &address, const Hash256 &topic0,
                         const std::string &topic1, uint64_t from_block,
                         std::function<void(std::vector<json::object>)> next) {
  json::object filter{{"address", lower_address(address)},
                      {"fromBlock", qty(from_block)},
                      {"toBlock", "latest"},
                      {"topics", json::array{json::string(hex_of(topic0)), json::string(topic1)}}};
  rpc_.call("eth_getLogs", json::array{std::move(filter)}, rpc_timeout(op), [this, op, next](RpcAnswer a) {
    if (!live(op)) return;
    if (!a.ok() || !a.result.is_array())
      return fail(op, !a.ok() && a.status != WEFT_E_INTERNAL ? a.status : WEFT_E_UNAVAILABLE,
                  "cannot read the logs: " + (a.ok() ? json::serialize(a.result) : a.message));
    std::vector<json::object> logs;
    for (const auto &lv : a.result.as_array())
      if (const auto *l = lv.if_object())
        logs.push_back(json::object{{"txHash", str_of(*l, "transactionHash")},
                                    {"blockNumber", parse_qty(l->if_contains("blockNumber")).value_or(0)},
                                    {"data", str_of(*l, "data")}});
    stub_guarded(op, [&] { next(std::move(logs)); });
  });
}

void EvmChain::send_call(const std::shared_ptr<Op> &op, std::optional<Address> to, Bytes calldata,
                         const std::string &account, std::shared_ptr<const abi::ContractAbi> abi, Then done,
                         Refused refused) {
  auto p = std::make_shared<Prepared>();
  p->op = op;
  p->to = to;
  p->res = to ? resource_at(lower_address(*to)) : nullptr;
  p->abi = std::move(abi);
  p->calldata = std::move(calldata);
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to sign with");
  p->account = account;
  p->from = address_of_account(account);
  p->then = guarded(std::move(done));
  p->refused = guarded(std::move(refused));
  ready(op, [this, p] { send_prepared(p); });
}

// ---- Sends ----

void EvmChain::send_transaction(const std::shared_ptr<Op> &op, json::object req) {
  const auto &opts = options_of(req);
  auto p = std::make_shared<Prepared>();
  p->op = op;
  p->res = &resource(req);
  const std::string method = str_of(req, "method");
  auto args = string_args(req);
  auto fn = p->res->abi->find(method, args.size());
  if (!fn.ok()) throw Failure(WEFT_E_NOT_FOUND, "resource '" + p->res->name + "': " + fn.error().message);
  p->fn = *fn;
  p->to = p->res->address;
  p->abi = p->res->abi;
  auto data = abi::encode_call(*p->fn, args);
  if (!data.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, data.error().message);
  p->calldata = std::move(*data);
  p->account = str_of(req, "account");
  if (p->account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to sign with: name one or set the chain's default");
  p->from = address_of_account(p->account);
  if (const auto *g = opts.if_contains("gasLimit")) {
    auto gas = parse_qty(g);
    if (!gas || *gas < 21000) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.gasLimit must be an integer of at least 21000");
    p->gas = *gas;
  } else if (p->res->gas_limit) {
    p->gas = *p->res->gas_limit;
  }
  if (const auto *v = opts.if_contains("value")) {
    auto value = v->is_string() ? U256::parse(std::string_view(v->as_string()))
                                : (parse_qty(v) ? Result<U256>(U256::from_u64(*parse_qty(v)))
                                                : Result<U256>(Error{0, "not an amount"}));
    if (!value.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.value must be an amount in wei");
    p->value = *value;
  }
  if (stubs_.through_proxy(*p->res, opts)) {
    if (!p->value.is_zero()) throw Failure(WEFT_E_INVALID_ARGUMENT, "options.value cannot be sent through the XA proxy");
    return stubs_.send_through_proxy(op, *p->res, *p->fn, p->calldata, p->account, opts);
  }
  ready(op, [this, p] { send_prepared(p); });
}

void EvmChain::send_prepared(std::shared_ptr<Prepared> p) {
  if (!live(p->op)) return;
  if (!p->gas) {
    json::object est{{"from", lower_address(p->from)}, {"data", to_hex(p->calldata)}, {"value", p->value.to_hex()}};
    if (p->to) est["to"] = lower_address(*p->to);
    rpc_.call("eth_estimateGas", json::array{std::move(est)}, rpc_timeout(p->op), [this, p](RpcAnswer a) {
      if (!live(p->op)) return;
      if (!a.ok()) {
        // The node predicts a revert: nothing is sent, and the caller learns why, as a failed transaction.
        if (is_revert(a) && p->refused)
          return p->refused(p->op, revert_data(a).value_or(Bytes{}), revert_message(a, p->abi.get()), "");
        if (is_revert(a))
          return succeed(p->op, json::object{{"errorCode", 1},
                                             {"message", revert_message(a, p->abi.get()) +
                                                             " (found while estimating gas; nothing was sent)"},
                                             {"hash", ""},
                                             {"blockNumber", head_.number},
                                             {"result", json::array{}}});
        if (a.rpc_error()) return fail(p->op, WEFT_E_REJECTED, "the EVM node cannot estimate gas: " + a.message);
        return fail(p->op, a.status, a.message);
      }
      auto gas = parse_qty(&a.result);
      if (!gas) return fail(p->op, WEFT_E_UNAVAILABLE, "the EVM node answered eth_estimateGas with " + json::serialize(a.result));
      p->gas = *gas + *gas * cfg_.gas_margin_percent / 100;
      send_prepared(p);
    });
    return;
  }
  fees(p->op, [this, p](U256 a, U256 b) {
    Sender &s = sender(p->account, p->from);
    with_nonce(s, p->op, [this, p, a, b](uint64_t nonce) {
      auto sent = std::make_shared<Sent>();
      sent->op = p->op;
      sent->account = p->account;
      sent->from = p->from;
      sent->nonce = nonce;
      sent->res = p->res;
      sent->fn = p->fn;
      sent->abi = p->abi;
      sent->then = p->then;
      sent->refused = p->refused;
      if (cfg_.tx_type == TxType::Legacy)
        sent->tx = LegacyTx{.nonce = nonce, .gas_price = a, .gas = *p->gas, .to = p->to, .value = p->value,
                            .data = p->calldata, .chain_id = *chain_id_};
      else
        sent->tx = Eip1559Tx{.chain_id = *chain_id_, .nonce = nonce, .max_priority_fee = b, .max_fee = a,
                             .gas = *p->gas, .to = p->to, .value = p->value, .data = p->calldata};
      tracked_.insert(sent);
      sign_and_broadcast(sent, false);
    });
  });
}

// Legacy: next(gas price, 0). EIP-1559: next(max fee, tip), the max fee twice the head's base fee plus the tip.
void EvmChain::fees(const std::shared_ptr<Op> &op, std::function<void(U256, U256)> next) {
  // The gas price and the tip move slowly: one reading serves every send for a poll interval (a node that mines
  // on demand makes a new head per transaction, which would otherwise cost a round trip per send). An older reading
  // still serves while a new one is read beside the send; only a chain with no reading, or one that lost its node,
  // makes a send wait for it.
  if (head_.seen == Clock::time_point{}) {
    gas_price_cache_.reset();
    tip_cache_.reset();
  } else if (Clock::now() - fee_cache_at_ > std::chrono::milliseconds(cfg_.poll_ms) &&
             (gas_price_cache_ || tip_cache_)) {
    read_fee(rpc_timeout(op), {});
  }
  if (cfg_.tx_type == TxType::Legacy) {
    if (cfg_.gas_price) return next(*cfg_.gas_price, U256{});
    if (gas_price_cache_) return next(*gas_price_cache_, U256{});
    return read_fee(rpc_timeout(op), [this, op, next](const RpcAnswer *failed) {
      if (!live(op)) return;
      if (failed) return fail(op, failed->status, failed->message);
      next(*gas_price_cache_, U256{});
    });
  }
  auto with_base = [this, op, next](U256 tip) {
    auto go = [this, op, next, tip] {
      if (!head_.base_fee)
        return fail(op, WEFT_E_UNSUPPORTED,
                    "the node's blocks carry no baseFeePerGas (no EIP-1559): set options.tx_type to legacy");
      auto doubled = checked_add(*head_.base_fee, *head_.base_fee);
      auto max_fee = doubled ? checked_add(*doubled, tip) : std::nullopt;
      if (!max_fee) return fail(op, WEFT_E_INTERNAL, "the node's base fee is out of range");
      next(*max_fee, tip);
    };
    if (head_.seen != Clock::time_point{}) return go();
    rpc_.call("eth_getBlockByNumber", json::array{"latest", false}, rpc_timeout(op), [this, op, go](RpcAnswer a) {
      if (!live(op)) return;
      if (!a.ok() || !a.result.is_object()) return fail(op, WEFT_E_UNAVAILABLE, a.ok() ? "no latest block" : a.message);
      on_head(a.result.as_object());
      go();
    });
  };
  if (cfg_.max_priority_fee) return with_base(*cfg_.max_priority_fee);
  if (tip_cache_) return with_base(*tip_cache_);
  read_fee(rpc_timeout(op), [this, op, with_base](const RpcAnswer *failed) {
    if (!live(op)) return;
    if (failed) return fail(op, failed->status, failed->message);
    with_base(*tip_cache_);
  });
}

// Reads the gas price (legacy) or the tip (EIP-1559) into its cache. Every caller that arrives while a reading is on
// its way waits for that one; then(nullptr) once the cache holds a value, then(&answer) with the failure.
void EvmChain::read_fee(std::chrono::milliseconds timeout, std::function<void(const RpcAnswer *)> then) {
  if (then) fee_waiting_.push_back(std::move(then));
  if (fee_reading_) return;
  fee_reading_ = true;
  const bool legacy = cfg_.tx_type == TxType::Legacy;
  rpc_.call(legacy ? "eth_gasPrice" : "eth_maxPriorityFeePerGas", {}, timeout, [this, legacy](RpcAnswer a) {
    fee_reading_ = false;
    if (closing_) return;
    std::optional<RpcAnswer> failed;
    if (legacy) {
      if (!a.ok()) {
        failed = a;
        if (a.status == WEFT_E_INTERNAL) failed->status = WEFT_E_UNAVAILABLE;
      } else if (auto g = a.result.is_string() ? U256::parse(std::string_view(a.result.as_string()))
                                               : Result<U256>(Error{0, "not a quantity"});
                 !g.ok()) {
        failed = RpcAnswer{};
        failed->status = WEFT_E_UNAVAILABLE;
        failed->message = "the EVM node answered eth_gasPrice with " + json::serialize(a.result);
      } else {
        gas_price_cache_ = *g;
        fee_cache_at_ = Clock::now();
      }
    } else {
      U256 tip = U256::from_u64(1'000'000'000); // 1 gwei where the node has no opinion
      if (a.ok() && a.result.is_string()) {
        auto t = U256::parse(std::string_view(a.result.as_string()));
        if (t.ok()) tip = *t;
      }
      if (!a.ok() && !a.rpc_error()) {
        failed = a;
      } else {
        tip_cache_ = tip;
        fee_cache_at_ = Clock::now();
      }
    }
    // A background reading that failed leaves the older value in place; the next send past the interval tries again.
    auto waiting = std::move(fee_waiting_);
    for (auto &w : waiting) w(failed ? &*failed : nullptr);
  });
}

EvmChain::Sender &EvmChain::sender(const std::string &account, const Address &from) {
  auto &slot = senders_[lower_address(from)];
  if (!slot) {
    slot = std::make_unique<Sender>();
    slot->account = account;
    slot->from = from;
  }
  return *slot;
}

void EvmChain::with_nonce(Sender &s, const std::shared_ptr<Op> &op, std::function<void(uint64_t)> next) {
  if (s.book.known()) {
    if (live(op)) next(s.book.take());
    return;
  }
  s.waiting.push_back([this, &s, op, next](bool ok, const std::string &error) {
    if (!live(op)) return;
    if (!ok) return fail(op, WEFT_E_UNAVAILABLE, error);
    next(s.book.take());
  });
  if (s.fetching) return;
  s.fetching = true;
  rpc_.call("eth_getTransactionCount", json::array{lower_address(s.from), "pending"},
            std::chrono::milliseconds(cfg_.request_timeout_ms), [this, &s](RpcAnswer a) {
              s.fetching = false;
              if (closing_) return;
              auto n = a.ok() ? parse_qty(&a.result) : std::nullopt;
              if (n) s.book.start_at(*n);
              auto waiting = std::move(s.waiting);
              const std::string error = a.ok() ? "the EVM node answered eth_getTransactionCount with " +
                                                     json::serialize(a.result)
                                               : a.message;
              for (auto &w : waiting) w(n.has_value(), error);
            });
}

void EvmChain::release_nonce(Sender &s, uint64_t nonce) { s.book.give_back(nonce); }

void EvmChain::sign_and_broadcast(const std::shared_ptr<Sent> &sent, bool replacement) {
  const Why why = replacement ? Why::Replace : Why::First;
  Hash256 digest = std::visit([](const auto &tx) { return signing_hash(tx); }, sent->tx);
  plugin::Signature sig;
  try {
    sig = host_.sign(sent->account, "secp256k1", digest.data(), digest.size());
  } catch (const Failure &f) {
    if (replacement) {
      host_.warn("cannot sign the replacement of " + sent->hashes.back() + ": " + f.message);
      return;
    }
    release_nonce(sender(sent->account, sent->from), sent->nonce);
    auto op = sent->op;
    drop(sent);
    return fail(op, f.status, f.message);
  }
  if (sig.signature.size() != 65 || sig.public_key.size() != 64 ||
      address_of(std::span<const uint8_t, 64>(sig.public_key.data(), 64)) != sent->from) {
    const std::string why = "the host's signature for account '" + sent->account + "' does not match its address " +
                            checksum_address(sent->from);
    if (!replacement) {
      release_nonce(sender(sent->account, sent->from), sent->nonce);
      auto op = sent->op;
      drop(sent);
      fail(op, WEFT_E_ACCOUNT, why);
    } else {
      host_.error(why);
    }
    return;
  }
  std::span<const uint8_t, 65> sig65(sig.signature.data(), 65);
  Bytes raw = std::visit([&](const auto &tx) { return encode_signed(tx, sig65); }, sent->tx);
  const std::string hash = hex_of(tx_hash(raw));
  sent->raw = to_hex(raw);
  sent->hashes.push_back(hash);
  if (sent->op && !sent->op->finished) sent->op->hash = hash;
  broadcast(sent, hash, why);
}

void EvmChain::broadcast(const std::shared_ptr<Sent> &sent, const std::string &hash, Why why) {
  Sender &s = sender(sent->account, sent->from);
  s.to_broadcast.emplace(sent->nonce, [this, sent, hash, why] { send_raw(sent, hash, why); });
  next_broadcast(s);
}

void EvmChain::next_broadcast(Sender &s) {
  if (s.broadcasting || s.to_broadcast.empty() || closing_) return;
  auto first = s.to_broadcast.begin();
  auto send = std::move(first->second);
  s.to_broadcast.erase(first);
  s.broadcasting = true;
  send();
}

void EvmChain::send_raw(const std::shared_ptr<Sent> &sent, const std::string &hash, Why why) {
  sent->sent_at = Clock::now();
  rpc_.call("eth_sendRawTransaction", json::array{sent->raw}, std::chrono::milliseconds(cfg_.request_timeout_ms),
            [this, sent, hash, why](RpcAnswer a) {
              if (closing_) return;
              Sender &account = sender(sent->account, sent->from);
              account.broadcasting = false;
              next_broadcast(account);
              if (sent->final_ || !tracked_.contains(sent)) return;
              const bool known = a.rpc_error() && (contains(a.message, "already known") ||
                                                   contains(a.message, "known transaction") ||
                                                   contains(a.message, "already imported") ||
                                                   contains(a.message, "already exists"));
              if (a.ok() || known) {
                const bool first = !sent->accepted;
                sent->accepted = true;
                if (why != Why::Again) sent->accepted_at = head_.number;
                if (first) follow_up(sent); // a node that mines at once has the receipt already, or soon
                return;
              }
              if (!a.rpc_error()) {
                // Unreachable or no answer: the node may have taken it. Keep it, and send it again at the next poll.
                sent->accepted = true;
                if (why != Why::Again) sent->accepted_at = head_.number;
                sent->rebroadcast = true;
                return;
              }
              const bool nonce_low = contains(a.message, "nonce too low") || contains(a.message, "nonce is too low") ||
                                     contains(a.message, "oldnonce") || contains(a.message, "nonce has already been used");
              if (nonce_low && why == Why::First && !sent->accepted && sent->nonce_retries < 3) {
                // The account sent from elsewhere: start the book again from the node's count and take a fresh nonce.
                ++sent->nonce_retries;
                sent->hashes.pop_back();
                rpc_.call("eth_getTransactionCount", json::array{lower_address(sent->from), "pending"},
                          std::chrono::milliseconds(cfg_.request_timeout_ms), [this, sent](RpcAnswer c) {
                            if (closing_) return;
                            Sender &s = sender(sent->account, sent->from);
                            if (auto n = c.ok() ? parse_qty(&c.result) : std::nullopt) s.book.resync(*n);
                            if (!s.book.known() || !c.ok()) {
                              auto op = sent->op;
                              drop(sent);
                              return fail(op, WEFT_E_UNAVAILABLE, c.ok() ? "cannot read the account's nonce" : c.message);
                            }
                            sent->nonce = s.book.take();
                            std::visit([&](auto &tx) { tx.nonce = sent->nonce; }, sent->tx);
                            sign_and_broadcast(sent, false);
                          });
                return;
              }
              if (why == Why::Replace) {
                // A replacement refused (a version is mined already, or underpriced): the versions already sent
                // stand, and the receipts will tell.
                host_.debug("replacement of nonce " + std::to_string(sent->nonce) + " refused: " + a.message);
                return;
              }
              if (why == Why::Again && nonce_low) {
                // Another transaction took the nonce: if it is one of ours, the receipts will say so; if not, this
                // one can never be mined.
                sent->lost_nonce = true;
                return;
              }
              if (why == Why::Again && sent->drops <= kMaxDrops) {
                // The node forgot it and will not take the same bytes back (most often its fees fell below the
                // base fee): sign it again at the same nonce with fees for now. Bounded by the drop count.
                host_.info("the node refuses transaction " + hash + " again (" + a.message +
                           "); signing it again with current fees");
                replace(sent);
                return;
              }
              // Refused: nothing of it is on the chain (the first time), or the node forgot it and will not take it
              // back. Its nonce is free again.
              release_nonce(sender(sent->account, sent->from), sent->nonce);
              auto op = sent->op;
              if (op) op->hash.clear();
              drop(sent);
              fail(op, WEFT_E_REJECTED,
                   std::string(why == Why::First ? "the EVM node refused the transaction: "
                                                 : "the EVM node dropped the transaction and refuses it again: ") +
                       a.message);
            });
}

void EvmChain::follow_up(const std::shared_ptr<Sent> &sent) {
  follow_ups_.push_back(FollowUp{.sent = sent, .done = 0, .due = Clock::now()});
  pump_follow_ups();
}

void EvmChain::pump_follow_ups() {
  if (closing_ || following_ || follow_ups_.empty()) return;
  const auto now = Clock::now();
  auto due = follow_ups_.front().due;
  for (const auto &f : follow_ups_) due = std::min(due, f.due);
  if (due > now) {
    if (follow_timer_ != 0 && follow_timer_due_ <= due) return;
    if (follow_timer_ != 0) loop_.cancel_timer(follow_timer_);
    follow_timer_due_ = due;
    // The loop's timers count whole milliseconds: round up, so the batch finds its sends due.
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - now);
    follow_timer_ = loop_.after(wait, [this] {
      follow_timer_ = 0;
      pump_follow_ups();
    });
    return;
  }
  // Every send due within the next half millisecond goes in this batch.
  std::vector<std::shared_ptr<Sent>> which;
  for (const auto &f : follow_ups_)
    if (f.due <= now + std::chrono::microseconds(500)) which.push_back(f.sent);
  following_ = true;
  check_receipts(which, false, [this, which] {
    following_ = false;
    const auto at = Clock::now();
    std::erase_if(follow_ups_, [&](FollowUp &f) {
      if (f.sent->final_ || !tracked_.contains(f.sent)) return true;
      if (std::find(which.begin(), which.end(), f.sent) == which.end()) return false;
      if (++f.done > static_cast<int>(kFollowUpMs.size())) return true; // left to the head polls
      f.due = at + std::chrono::milliseconds(kFollowUpMs[f.done - 1]);
      return false;
    });
    pump_follow_ups();
  });
}

void EvmChain::check_receipts(const std::vector<std::shared_ptr<Sent>> &which, bool all, std::function<void()> done) {
  // The latest block first (the head, and the time of a block just mined, at no extra round trip); then per
  // transaction the receipt of every version, and (at the polls) whether the node still knows the latest version.
  std::vector<std::pair<std::string, json::array>> reqs{{"eth_getBlockByNumber", json::array{"latest", false}}};
  std::vector<std::pair<std::shared_ptr<Sent>, std::string>> keys{{nullptr, "latest"}}; // "" marks the presence check
  for (const auto &s : which) {
    if (s->final_ || s->hashes.empty()) continue;
    for (const auto &h : s->hashes) {
      reqs.emplace_back("eth_getTransactionReceipt", json::array{h});
      keys.emplace_back(s, h);
    }
    if (!all) continue; // a send just accepted cannot count as forgotten yet (that takes a poll interval)
    reqs.emplace_back("eth_getTransactionByHash", json::array{s->hashes.back()});
    keys.emplace_back(s, "");
  }
  if (reqs.size() == 1) {
    if (all) checking_all_ = false;
    if (done) done();
    return;
  }
  rpc_.batch(std::move(reqs), std::chrono::milliseconds(cfg_.request_timeout_ms),
             [this, keys, all, done = std::move(done)](std::vector<RpcAnswer> answers) {
               if (all) checking_all_ = false;
               if (closing_) return;
               struct AtEnd {
                 const std::function<void()> &f;
                 ~AtEnd() {
                   if (f) f();
                 }
               } at_end{done};
               std::set<std::shared_ptr<Sent>> mined, unknown, forgotten;
               if (!answers.empty() && answers[0].ok() && answers[0].result.is_object())
                 update_head(answers[0].result.as_object());
               for (size_t i = 1; i < answers.size() && i < keys.size(); ++i) {
                 const auto &[sent, hash] = keys[i];
                 if (!answers[i].ok()) {
                   unknown.insert(sent);
                 } else if (hash.empty()) {
                   if (answers[i].result.is_null()) forgotten.insert(sent);
                 } else if (answers[i].result.is_object()) {
                   mined.insert(sent);
                   on_receipt(sent, hash, answers[i].result);
                 }
               }
               std::set<std::shared_ptr<Sent>> seen;
               for (const auto &[sent, hash] : keys) {
                 if (!sent || !seen.insert(sent).second) continue;
                 if (sent->final_ || mined.contains(sent) || unknown.contains(sent) || !tracked_.contains(sent)) continue;
                 if (sent->receipt) {
                   // It was mined and its receipt is gone: its block left the chain. Send the same bytes again.
                   host_.warn("transaction " + sent->hashes.back() + " left the chain in a reorg; sending it again");
                   sent->receipt.reset();
                   broadcast(sent, sent->hashes.back(), Why::Again);
                 } else if (sent->lost_nonce) {
                   auto op = sent->op;
                   drop(sent);
                   fail(op, WEFT_E_REJECTED, "nonce " + std::to_string(sent->nonce) + " of " +
                                                 checksum_address(sent->from) +
                                                 " was used by another transaction; this one was not mined");
                 } else if (forgotten.contains(sent) && sent->accepted &&
                            Clock::now() - sent->sent_at >= std::chrono::milliseconds(cfg_.poll_ms)) {
                   // The node took it and then forgot it without mining it (evicted, or invalid once executed).
                   if (++sent->drops > kMaxDrops) {
                            release_nonce(sender(sent->account, sent->from), sent->nonce);
                     auto op = sent->op;
                     if (op) op->hash.clear();
                     drop(sent);
                     fail(op, WEFT_E_REJECTED, "the EVM node accepted the transaction but dropped it " +
                                                   std::to_string(kMaxDrops + 1) + " times without mining it");
                   } else {
                     host_.info("the node forgot transaction " + sent->hashes.back() + "; sending it again");
                     broadcast(sent, sent->hashes.back(), Why::Again);
                   }
                 } else {
                   maybe_replace(sent);
                 }
               }
             });
}

void EvmChain::on_receipt(const std::shared_ptr<Sent> &sent, const std::string &hash, const json::value &receipt) {
  if (sent->final_) return;
  const auto &r = receipt.as_object();
  sent->receipt = r;
  const uint64_t block = parse_qty(r.if_contains("blockNumber")).value_or(0);
  if (head_.number < block) { // the head poll may lag a node that mines at once
    head_.number = block;
    head_number_.store(block, std::memory_order_relaxed);
    // Only the number is known: timestamp_ms stays the time of block time_of, and an answer reads its block's.
  }
  if (head_.number < block + cfg_.confirmations) return;
  sent->final_ = true;
  answer_mined(sent, r);
  drop(sent);
  (void)hash;
}

void EvmChain::answer_mined(const std::shared_ptr<Sent> &sent, const json::object &r) {
  auto op = sent->op;
  if (!live(op)) return;
  json::object answer = receipt_json(r, nullptr);
  answer["hash"] = answer["txHash"];
  answer["nonce"] = sent->nonce;
  const uint64_t block = answer["blockNumber"].as_uint64();
  // The answer carries its block's time: the head's when it is the head, else read from the block.
  auto with_time = [this, op, block](std::function<void(uint64_t)> next) {
    if (head_.time_of == block && head_.timestamp_ms != 0) return next(head_.timestamp_ms);
    rpc_.call("eth_getBlockByNumber", json::array{qty(block), false}, rpc_timeout(op), [this, op, next](RpcAnswer a) {
      if (!live(op)) return;
      const json::object *b = a.ok() && a.result.is_object() ? &a.result.as_object() : nullptr;
      next(b ? parse_qty(b->if_contains("timestamp")).value_or(0) * 1000 : 0);
    });
  };
  std::optional<json::object> again;
  if (answer["errorCode"].as_int64() != 0) {
    // Failed on chain: the receipt has no reason, so the node runs it again on the state before its block.
    again = json::object{{"from", lower_address(sent->from)}};
    std::visit(
        [&](const auto &tx) {
          if (tx.to) (*again)["to"] = lower_address(*tx.to);
          (*again)["data"] = to_hex(tx.data);
          (*again)["gas"] = qty(tx.gas);
          (*again)["value"] = tx.value.to_hex();
        },
        sent->tx);
  }
  with_time([this, op, answer, again, block, abi = sent->abi, then = sent->then,
             refused = sent->refused](uint64_t ts) mutable {
    answer["timestamp"] = ts;
    if (!again) return then ? then(op, std::move(answer)) : succeed(op, answer);
    rpc_.call("eth_call", json::array{std::move(*again), qty(block > 0 ? block - 1 : 0)}, rpc_timeout(op),
              [this, op, answer, abi, then, refused](RpcAnswer a) mutable {
                if (!live(op)) return;
                Bytes data;
                if (!a.ok() && is_revert(a)) {
                  answer["message"] = revert_message(a, abi.get());
                  data = revert_data(a).value_or(Bytes{});
                }
                if (refused)
                  return refused(op, data, std::string(answer["message"].as_string()),
                                 std::string(answer["hash"].as_string()));
                if (then) return then(op, std::move(answer));
                succeed(op, answer);
              });
  });
}

void EvmChain::maybe_replace(const std::shared_ptr<Sent> &sent) {
  if (!sent->accepted || sent->receipt || head_.number < sent->accepted_at + cfg_.replace_after_blocks) return;
  host_.info("nonce " + std::to_string(sent->nonce) + " of " + checksum_address(sent->from) + " not mined after " +
             std::to_string(cfg_.replace_after_blocks) + " blocks; sending it again with higher fees");
  replace(sent);
}

void EvmChain::replace(const std::shared_ptr<Sent> &sent) {
  sent->accepted_at = head_.number; // the next replacement waits as long again
  fees(std::make_shared<Op>(Op{.deadline = Clock::now() + std::chrono::milliseconds(cfg_.request_timeout_ms)}),
       [this, sent](U256 a, U256 b) {
         if (sent->final_ || sent->receipt || !tracked_.contains(sent)) return;
         std::visit(
             [&](auto &tx) {
               using T = std::decay_t<decltype(tx)>;
               if constexpr (std::is_same_v<T, LegacyTx>) {
                 tx.gas_price = max_of(raised(tx.gas_price), a);
               } else {
                 tx.max_priority_fee = max_of(raised(tx.max_priority_fee), b);
                 tx.max_fee = max_of(max_of(raised(tx.max_fee), a), tx.max_priority_fee);
               }
             },
             sent->tx);
         sign_and_broadcast(sent, true);
       });
}

void EvmChain::fill_gaps() {
  for (auto &[addr, sp] : senders_) {
    Sender &s = *sp;
    auto gap = s.book.gap();
    if (!gap) {
      s.gap_seen.reset();
      continue;
    }
    if (s.gap_seen != gap) {
      s.gap_seen = gap; // give a send one head's time to take it
      continue;
    }
    s.gap_seen.reset();
    auto op = std::make_shared<Op>(Op{.deadline = Clock::now() + std::chrono::milliseconds(cfg_.request_timeout_ms)});
    fees(op, [this, &s, gap](U256 a, U256 b) {
      if (closing_ || s.book.gap() != gap) return; // a send took it meanwhile
      const uint64_t nonce = s.book.take();
      host_.info("filling the nonce gap at " + std::to_string(nonce) + " of " + checksum_address(s.from) +
                 " with a zero transfer to itself");
      auto sent = std::make_shared<Sent>();
      sent->account = s.account;
      sent->from = s.from;
      sent->nonce = nonce;
      if (cfg_.tx_type == TxType::Legacy)
        sent->tx = LegacyTx{.nonce = nonce, .gas_price = a, .gas = 21000, .to = sent->from, .chain_id = *chain_id_};
      else
        sent->tx = Eip1559Tx{.chain_id = *chain_id_, .nonce = nonce, .max_priority_fee = b, .max_fee = a,
                             .gas = 21000, .to = sent->from};
      tracked_.insert(sent);
      sign_and_broadcast(sent, false);
    });
  }
}

void EvmChain::drop(const std::shared_ptr<Sent> &sent) {
  tracked_.erase(sent);
  sent->op.reset();
}

} // namespace weft::evm

namespace weft::evm {

// ---- Registered resources: kept in <data_dir>/resources.json, one entry per registration, latest last ----

std::string EvmChain::head_minus_confirmations() const {
  if (cfg_.confirmations == 0 || head_.number == 0) return "latest";
  return qty(head_.number > cfg_.confirmations ? head_.number - cfg_.confirmations : 0);
}

std::string EvmChain::registry_file() const { return data_dir_.empty() ? "" : data_dir_ + "/resources.json"; }

void EvmChain::load_registered() {
  const std::string path = registry_file();
  if (path.empty()) return;
  std::ifstream in(path, std::ios::binary);
  if (!in) return; // nothing registered yet
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (ec || !v.is_array())
    throw Failure(WEFT_E_INTERNAL, path + " is damaged (" + (ec ? ec.message() : "not a list") +
                                       "); restore it or remove it to forget the registered resources");
  for (const auto &e : v.as_array()) {
    const auto *o = e.if_object();
    if (o == nullptr) continue;
    resources_.push_back(registered_entry(*o, path, abi::keccak));
    registered_.push_back(*o);
  }
}

void EvmChain::save_registered() {
  const std::string path = registry_file();
  if (path.empty()) throw Failure(WEFT_E_INTERNAL, "the host gave no data directory to keep registered resources in");
  replace_file_durably(path, json::serialize(registered_));
}

void EvmChain::add_registered(ResourceConfig rc, const std::string &abi_text) {
  registered_.push_back(registered_json(rc, abi_text));
  try {
    save_registered();
  } catch (...) {
    registered_.pop_back();
    throw;
  }
  std::unique_lock lock(resources_mu_); // the host path reads resources_ off the loop
  resources_.push_back(std::move(rc));
}

void EvmChain::register_resource(const std::shared_ptr<Op> &op, json::object req) {
  ResourceConfig rc;
  rc.name = str_of(req, "name");
  if (!options::name_ok(rc.name))
    throw Failure(WEFT_E_INVALID_ARGUMENT, "name '" + rc.name + "' must be 1-64 characters of letters, digits, _ and -");
  if (rc.name == "WeCrossProxy")
    throw Failure(WEFT_E_INVALID_ARGUMENT, "WeCrossProxy names the chain's XA proxy; deploy it with deployStubs");
  for (const auto &c : cfg_.resources)
    if (c.name == rc.name)
      throw Failure(WEFT_E_INVALID_ARGUMENT, "resource '" + rc.name + "' is configured in the router's config; change it there");
  const std::string abi_text = str_of(req, "abi");
  rc.abi = load_abi(abi_text, "the ABI of '" + rc.name + "'");
  const std::string bytecode = str_of(req, "bytecode");
  if (bytecode.empty()) {
    auto addr = parse_address(str_of(req, "address"));
    if (!addr.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, "address: " + addr.error().message);
    rc.address = *addr;
    json::object answer{{"name", rc.name}, {"address", checksum_address(rc.address)}};
    add_registered(std::move(rc), abi_text);
    return succeed(op, answer);
  }
  // Deploy: the creation code with the constructor's arguments, sent like any transaction; registered once final.
  auto code = from_hex(bytecode);
  if (!code.ok() || code->empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "bytecode must be 0x and hex digits");
  auto args = string_args(req);
  std::vector<abi::Param> ctor = rc.abi->constructor ? rc.abi->constructor->inputs : std::vector<abi::Param>{};
  auto encoded = abi::encode_args(ctor, args);
  if (!encoded.ok()) throw Failure(WEFT_E_INVALID_ARGUMENT, "constructor " + encoded.error().message);
  auto p = std::make_shared<Prepared>();
  p->op = op;
  p->calldata = std::move(*code);
  p->calldata.insert(p->calldata.end(), encoded->begin(), encoded->end());
  p->account = str_of(req, "account");
  if (p->account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to deploy with");
  p->from = address_of_account(p->account);
  p->abi = rc.abi;
  auto pending = std::make_shared<ResourceConfig>(std::move(rc));
  p->then = [this, pending, abi_text](const std::shared_ptr<Op> &op, json::object answer) {
    const auto *ca = answer.if_contains("contractAddress");
    auto addr = ca != nullptr && ca->is_string() ? parse_address(std::string_view(ca->as_string()))
                                                 : Result<Address>(Error{0, "none"});
    if (answer["errorCode"].as_int64() != 0 || !addr.ok())
      return fail(op, WEFT_E_REJECTED,
                  "the deployment of '" + pending->name + "' failed on chain: " + std::string(answer["message"].as_string()),
                  json::serialize(json::object{{"hash", answer["hash"]}}));
    pending->address = *addr;
    try {
      add_registered(*pending, abi_text);
    } catch (const Failure &f) {
      return fail(op, f.status, "deployed at " + checksum_address(*addr) + " but not registered: " + f.message);
    }
    succeed(op, json::object{{"name", pending->name},
                             {"address", checksum_address(*addr)},
                             {"hash", answer["hash"]},
                             {"blockNumber", answer["blockNumber"]}});
  };
  ready(op, [this, p] { send_prepared(p); });
}

} // namespace weft::evm
