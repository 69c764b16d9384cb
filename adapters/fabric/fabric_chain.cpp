#include "fabric_chain.h"

#include "common/ledger.pb.h"
#include "peer/transaction.pb.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <future>
#include <utility>

namespace weft::fabric {

namespace json = boost::json;
using plugin::Failure;
using namespace std::chrono_literals;

// A send waiting for its transaction's validation code.
struct FabricChain::Waiter {
  std::shared_ptr<Op> op;
  std::string tx_id;
  std::string result;
  std::uint64_t timestamp_ms = 0;
  std::function<void(json::object)> then; // a stub's write: gets the answer instead of the op
};

std::string str_of(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<uint64_t> number_of(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

namespace {

std::optional<uint64_t> uint_of(const json::value *v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  if (v->is_string()) return number_of(std::string_view(v->as_string()));
  return std::nullopt;
}

bool has(const std::string &text, std::string_view needle) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.find(needle) != std::string::npos;
}

json::array strings(const std::vector<std::string> &v) {
  json::array a;
  for (const auto &s : v)
    a.emplace_back(as_text(s));
  return a;
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

} // namespace

// ---- Lifecycle ----

FabricChain::FabricChain(FabricConfig config, plugin::Host host, std::string stub_type)
    : cfg_(std::move(config)), host_(std::move(host)), stub_type_(std::move(stub_type)), link_(cfg_),
      book_(loop_, {"the Fabric peers of channel " + cfg_.channel + " did not answer in time",
                    "was sent to the orderer but its commit was not seen yet"}) {
  for (size_t i = 0; i < cfg_.peers.size(); ++i)
    peer_index_[cfg_.peers[i].name] = i;
  std::promise<void> started;
  loop_.post([this, &started] {
    commit_watch_ = open_watch(std::nullopt, [this](const protos::FilteredBlock &b) { on_commit_block(b); });
    started.set_value();
  });
  started.get_future().wait();
}

FabricChain::~FabricChain() {
  std::promise<void> closed;
  loop_.post([this, &closed] {
    closing_ = true;
    book_.close("the chain is closing");
    end_streams();
    closed.set_value();
  });
  closed.get_future().wait();
  // Cancels every gRPC call and waits for its completion; those post onto the loop, which still runs them.
  link_.shutdown();
  loop_.stop();
}

uint64_t FabricChain::start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Verb verb) {
  return book_.start(
      std::move(done), deadline_ms, request,
      [this, verb](const std::shared_ptr<Op> &op, json::object req) { (this->*verb)(op, std::move(req)); });
}

void FabricChain::cancel(uint64_t op_id) {
  book_.cancel(op_id);
}

void FabricChain::guarded(const std::shared_ptr<Op> &op, const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Failure &f) {
    book_.fail(op, f.status, f.message);
  } catch (const std::exception &e) {
    book_.fail(op, WEFT_E_INTERNAL, e.what());
  }
}

std::chrono::milliseconds FabricChain::timeout(const std::shared_ptr<Op> &op) const {
  return book_.left(op, std::chrono::milliseconds(cfg_.request_timeout_ms));
}

// ---- Identities ----

FabricChain::Signing FabricChain::signing(const std::string &account) const {
  if (account.empty()) throw Failure(WEFT_E_ACCOUNT, "no account to sign with");
  try {
    auto [cert, msp] = host_.identity(account);
    return Signing{account, serialized_identity(msp, cert), msp};
  } catch (const Failure &f) {
    throw Failure(WEFT_E_ACCOUNT, "account '" + account + "' has no Fabric identity: " + f.message);
  }
}

FabricChain::Signing FabricChain::service_signing() const {
  try {
    return signing(cfg_.service_account);
  } catch (const Failure &f) {
    throw Failure(WEFT_E_ACCOUNT, "the chain's service account (options.service_account) cannot sign: " + f.message +
                                      "; add it as a chain account of type " + stub_type_ +
                                      " (key, certificate and MSP id)");
  }
}

Signer FabricChain::signer(const std::string &account) const {
  return [this, account](const std::string &bytes) {
    const std::string digest = sha256(bytes);
    auto sig = host_.sign(account, "p256", reinterpret_cast<const uint8_t *>(digest.data()), digest.size());
    return der_signature(sig.signature);
  };
}

const ChaincodeResource &FabricChain::resource(const json::object &req) const {
  const std::string name = str_of(req, "resource");
  for (const auto &r : cfg_.resources)
    if (r.name == name) return r;
  std::string known;
  for (const auto &r : cfg_.resources)
    known += (known.empty() ? "" : ", ") + r.name;
  throw Failure(WEFT_E_NOT_FOUND,
                "no resource '" + name + "' on this chain (resources: " + (known.empty() ? "none" : known) + ")");
}

// ---- Endorsement and ordering ----

void FabricChain::fail_grpc(const std::shared_ptr<Op> &op, const grpc::Status &s, const std::string &who) {
  const std::string msg = s.error_message();
  switch (s.error_code()) {
  case grpc::StatusCode::UNAVAILABLE:
    return book_.fail(op, WEFT_E_UNAVAILABLE, who + " is unreachable: " + msg);
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    return book_.fail(op, WEFT_E_TIMEOUT, who + " did not answer in time");
  case grpc::StatusCode::CANCELLED:
    return book_.fail(op, WEFT_E_CANCELLED, who + ": " + msg);
  default:
    break;
  }
  if (has(msg, "access denied") || has(msg, "creator"))
    return book_.fail(op, WEFT_E_ACCOUNT,
                      who + " refused the signer: " + msg +
                          " (an MSP the channel does not know, or a certificate its CA did not issue; the peer's log "
                          "says which)");
  book_.fail(op, WEFT_E_UNAVAILABLE, who + " failed: " + msg);
}

void FabricChain::endorse(const std::shared_ptr<Op> &op, const std::vector<size_t> &peers, const std::string &chaincode,
                          const std::vector<std::string> &args, const Signing &who,
                          std::function<void(std::shared_ptr<Proposal>, Endorsements)> next) {
  auto proposal = std::make_shared<Proposal>(
      make_proposal(cfg_.channel, chaincode, args, who.creator, random_nonce(), signer(who.account)));
  struct Round {
    Endorsements answers;
    size_t left = 0;
    bool failed = false;
  };
  auto round = std::make_shared<Round>();
  round->answers.resize(peers.size());
  round->left = peers.size();
  for (size_t i = 0; i < peers.size(); ++i) {
    const size_t peer = peers[i];
    link_.endorse(peer, proposal->signed_proposal, timeout(op),
                  [this, op, round, proposal, next, i, peer](const grpc::Status &s, const protos::ProposalResponse &r) {
                    loop_.post([this, op, round, proposal, next, i, peer, s, r] {
                      if (round->failed) return;
                      if (!s.ok()) {
                        round->failed = true;
                        if (book_.live(op))
                          fail_grpc(op, s, "peer " + cfg_.peers[peer].name + " (" + cfg_.peers[peer].address + ")");
                        return;
                      }
                      round->answers[i] = r;
                      if (--round->left == 0 && book_.live(op))
                        guarded(op, [&] { next(proposal, std::move(round->answers)); });
                    });
                  });
  }
}

void FabricChain::qscc(const std::shared_ptr<Op> &op, std::vector<std::string> args,
                       std::function<void(std::string)> next) {
  const Signing who = service_signing();
  const std::string fn = args.front();
  endorse(op, {0}, "qscc", args, who, [this, op, fn, next](std::shared_ptr<Proposal>, Endorsements answers) {
    const auto &r = answers.front().response();
    if (r.status() >= 400) {
      // "Entry not found in index" (blocks), "no such transaction ID [...] in index" (transactions).
      const int32_t status =
          has(r.message(), "not found") || has(r.message(), "no such") ? WEFT_E_NOT_FOUND : WEFT_E_UNAVAILABLE;
      return book_.fail(op, status, "qscc " + fn + " on channel " + cfg_.channel + ": " + r.message());
    }
    next(r.payload());
  });
}

void FabricChain::broadcast(const std::shared_ptr<Op> &op, std::shared_ptr<common::Envelope> env, size_t orderer,
                            std::string errors) {
  if (orderer >= cfg_.orderers.size()) {
    waiters_.erase(op->hash);
    return book_.fail(op, WEFT_E_UNAVAILABLE, "no orderer took transaction " + op->hash + ": " + errors,
                      json::serialize(json::object{{"hash", op->hash}}));
  }
  link_.broadcast(
      orderer, *env, timeout(op),
      [this, op, env, orderer, errors](const grpc::Status &s, bool answered, const orderer::BroadcastResponse &r) {
        loop_.post([this, op, env, orderer, errors, s, answered, r] {
          if (!book_.live(op)) return;
          const auto &o = cfg_.orderers[orderer];
          if (answered && r.status() == common::SUCCESS) return; // now the commit is awaited
          if (answered) {
            waiters_.erase(op->hash);
            return book_.fail(op, WEFT_E_REJECTED,
                              "orderer " + o.address + " refused transaction " + op->hash + ": " +
                                  common::Status_Name(r.status()) + (r.info().empty() ? "" : " (" + r.info() + ")"),
                              json::serialize(json::object{{"hash", op->hash}}));
          }
          // Unreachable or silent: the next orderer may take it. The same envelope twice is harmless,
          // Fabric commits a transaction id once.
          std::string why = "orderer " + o.address + ": " +
                            (s.ok() ? std::string("the stream ended without an answer") : s.error_message());
          broadcast(op, env, orderer + 1, errors.empty() ? why : errors + "; " + why);
        });
      });
}

// ---- Verbs ----

void FabricChain::list_resources(const std::shared_ptr<Op> &op, json::object) {
  json::array list;
  for (const auto &r : cfg_.resources) {
    json::array peers;
    for (const auto &p : r.peers)
      peers.emplace_back(p);
    json::object props{{"contract", r.htlc ? "htlc" : "fabric"},
                       {"channel", cfg_.channel},
                       {"chaincode", r.chaincode},
                       {"peers", peers}};
    if (r.xa) props["xa"] = true;
    if (r.htlc) {
      props["asset"] = r.name; // the HTLC chaincode keeps its own balances
      props["escrow"] = r.chaincode;
    }
    list.push_back(json::object{{"name", r.name}, {"properties", std::move(props)}});
  }
  if (!cfg_.xa_proxy.empty()) // routed to, never shown to clients
    list.push_back(json::object{
        {"name", "WeCrossProxy"},
        {"properties", json::object{{"contract", "xa-proxy"}, {"channel", cfg_.channel}, {"chaincode", cfg_.xa_proxy}}}});
  book_.succeed(op, json::object{{"resources", std::move(list)}});
}

namespace {
std::vector<std::string> invocation(const json::object &req) {
  std::vector<std::string> args;
  const std::string method = str_of(req, "method");
  if (method.empty()) throw Failure(WEFT_E_INVALID_ARGUMENT, "method is missing: the chaincode function to invoke");
  args.push_back(method);
  if (const auto *a = req.if_contains("args")) {
    if (!a->is_array()) throw Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
    for (const auto &v : a->as_array()) {
      if (!v.is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "args must be an array of strings");
      args.emplace_back(v.as_string());
    }
  }
  return args;
}
} // namespace

void FabricChain::call(const std::shared_ptr<Op> &op, json::object req) {
  const auto &res = resource(req);
  auto args = invocation(req);
  if (call_in_xa(op, res, req)) return; // a read inside an XA transaction (fabric_stubs.cpp)
  // A call signs its proposal too: with the caller's Fabric identity, or the service account's when the caller has
  // none (a router account of another chain type).
  Signing who;
  try {
    who = signing(str_of(req, "account"));
  } catch (const Failure &) {
    who = service_signing();
  }
  std::vector<size_t> peers{peer_index_.at(res.peers.front())};
  endorse(op, peers, res.chaincode, args, who, [this, op](std::shared_ptr<Proposal> p, Endorsements answers) {
    const auto e = check_endorsements(answers);
    const bool ok = e.status < 400;
    book_.succeed(op, json::object{{"errorCode", ok ? 0 : e.status},
                                   {"message", ok ? "Success" : as_text(e.message)},
                                   {"hash", ""},
                                   {"blockNumber", 0},
                                   {"result", ok ? json::array{json::string(as_text(e.result))} : json::array{}},
                                   {"timestamp", 0}});
  });
}

void FabricChain::send_transaction(const std::shared_ptr<Op> &op, json::object req) {
  const auto &res = resource(req);
  if (send_through_proxy(op, res, req)) return; // an XA-capable chaincode (fabric_stubs.cpp)
  auto args = invocation(req);
  const Signing who = signing(str_of(req, "account"));
  std::vector<size_t> peers;
  for (const auto &p : res.peers)
    peers.push_back(peer_index_.at(p));
  endorse(op, peers, res.chaincode, args, who, [this, op, who](std::shared_ptr<Proposal> p, Endorsements answers) {
    const auto e = check_endorsements(answers);
    if (e.status >= 400) // the chaincode refused: nothing is ordered
      return book_.succeed(op, json::object{{"errorCode", e.status},
                                            {"message", as_text(e.message)},
                                            {"hash", p->tx_id},
                                            {"blockNumber", 0},
                                            {"result", json::array{}},
                                            {"timestamp", 0}});
    if (e.differ)
      return book_.fail(op, WEFT_E_REJECTED,
                        "the endorsing peers computed different results for transaction " + p->tx_id +
                            " (non-deterministic chaincode, or peers at different states); nothing was ordered");
    auto env = std::make_shared<common::Envelope>(make_transaction(*p, answers, signer(who.account)));
    auto w = std::make_shared<Waiter>();
    w->op = op;
    w->tx_id = p->tx_id;
    w->result = e.result;
    w->timestamp_ms = now_ms();
    waiters_[p->tx_id] = w;
    // The commit watch must know where it stands before the transaction can commit: until its first block it
    // would start at whatever is newest when it connects, which may be past this transaction's block.
    auto go = [this, op, env, tx_id = p->tx_id] {
      if (!book_.live(op)) return;
      op->hash = tx_id; // from here a late failure names it: it may commit
      broadcast(op, env, 0, "");
    };
    if (commit_watch_placed())
      go();
    else
      until_watching_.push_back(go);
  });
}

void FabricChain::order(const std::shared_ptr<Op> &op, std::shared_ptr<common::Envelope> env,
                        const std::string &tx_id, const std::string &result, Sent then) {
  auto w = std::make_shared<Waiter>();
  w->op = op;
  w->tx_id = tx_id;
  w->result = result;
  w->timestamp_ms = now_ms();
  w->then = std::move(then);
  waiters_[tx_id] = w;
  auto go = [this, op, env, tx_id] {
    if (!book_.live(op)) return;
    op->hash = tx_id;
    broadcast(op, env, 0, "");
  };
  if (commit_watch_placed())
    go();
  else
    until_watching_.push_back(go);
}

void FabricChain::on_commit_block(const protos::FilteredBlock &block) {
  for (auto &go : std::exchange(until_watching_, {}))
    go();
  for (const auto &tx : block.filtered_transactions()) {
    auto it = waiters_.find(tx.txid());
    if (it == waiters_.end()) continue;
    auto w = it->second;
    waiters_.erase(it);
    if (!book_.live(w->op)) continue;
    const int code = tx.tx_validation_code();
    if (w->then) {
      guarded(w->op, [&] {
        w->then(json::object{{"errorCode", code},
                             {"message", code == 0 ? std::string("Success") : validation_code_name(code)},
                             {"hash", w->tx_id},
                             {"blockNumber", block.number()},
                             {"result", code == 0 ? json::array{json::string(as_text(w->result))} : json::array{}},
                             {"timestamp", w->timestamp_ms}});
      });
      continue;
    }
    book_.succeed(w->op,
                  json::object{{"errorCode", code},
                               {"message", code == 0 ? std::string("Success") : validation_code_name(code)},
                               {"hash", w->tx_id},
                               {"blockNumber", block.number()},
                               {"result", code == 0 ? json::array{json::string(as_text(w->result))} : json::array{}},
                               {"timestamp", w->timestamp_ms},
                               {"validationCode", validation_code_name(code)}});
  }
  // Sends whose caller stopped waiting (deadline, cancel) leave no waiter behind.
  std::erase_if(waiters_, [this](const auto &kv) { return !book_.live(kv.second->op); });
}

void FabricChain::block_height(const std::shared_ptr<Op> &op, json::object) {
  qscc(op, {"GetChainInfo", cfg_.channel}, [this, op](std::string payload) {
    common::BlockchainInfo info;
    if (!info.ParseFromString(payload) || info.height() == 0)
      return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetChainInfo with bytes that are not chain info");
    book_.succeed(op, json::object{{"height", info.height() - 1}});
  });
}

void FabricChain::get_block(const std::shared_ptr<Op> &op, json::object req) {
  auto n = uint_of(req.if_contains("number"));
  if (!n) throw Failure(WEFT_E_INVALID_ARGUMENT, "number must be a non-negative block number");
  qscc(op, {"GetBlockByNumber", cfg_.channel, std::to_string(*n)}, [this, op](std::string payload) {
    common::Block block;
    if (!block.ParseFromString(payload))
      return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetBlockByNumber with bytes that are not a block");
    book_.succeed(op, block_json(block));
  });
}

void FabricChain::get_receipt(const std::shared_ptr<Op> &op, json::object req) {
  std::string hash = str_of(req, "hash");
  if (hash.starts_with("0x")) hash.erase(0, 2);
  if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Failure(WEFT_E_INVALID_ARGUMENT, "hash must be a Fabric transaction id (64 lower-case hex digits)");
  qscc(op, {"GetTransactionByID", cfg_.channel, hash}, [this, op, hash](std::string payload) {
    protos::ProcessedTransaction pt;
    if (!pt.ParseFromString(payload))
      return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetTransactionByID with bytes that do not decode");
    auto s = std::make_shared<TxSummary>(summarize(pt.transactionenvelope()));
    const int code = pt.validationcode();
    qscc(op, {"GetBlockByTxID", cfg_.channel, hash}, [this, op, s, code](std::string block_bytes) {
      common::Block block;
      if (!block.ParseFromString(block_bytes))
        return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetBlockByTxID with bytes that are not a block");
      std::string resource = s->chaincode;
      for (const auto &r : cfg_.resources)
        if (r.chaincode == s->chaincode) resource = r.name;
      book_.succeed(op, json::object{{"txHash", s->tx_id},
                                     {"blockNumber", block.header().number()},
                                     {"errorCode", code},
                                     {"message", code == 0 ? std::string("Success") : validation_code_name(code)},
                                     {"validationCode", validation_code_name(code)},
                                     {"result", json::array{json::string(as_text(s->result))}},
                                     {"resource", resource},
                                     {"chaincode", s->chaincode},
                                     {"method", as_text(s->method)},
                                     {"args", strings(s->args)},
                                     {"status", s->status},
                                     {"timestamp", s->timestamp_ms}});
    });
  });
}

void FabricChain::health(const std::shared_ptr<Op> &op, json::object) {
  qscc(op, {"GetChainInfo", cfg_.channel}, [this, op](std::string payload) {
    common::BlockchainInfo info;
    if (!info.ParseFromString(payload) || info.height() == 0)
      return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetChainInfo with bytes that are not chain info");
    book_.succeed(op, json::object{{"status", "ok"},
                                   {"height", info.height() - 1},
                                   {"channel", cfg_.channel},
                                   {"peer", cfg_.peers.front().address},
                                   {"deliver", deliver_state()},
                                   {"pending", waiters_.size()}});
  });
}

void FabricChain::account_info(const std::shared_ptr<Op> &op, json::object req) {
  const auto who = signing(str_of(req, "account"));
  auto [cert, msp] = host_.identity(who.account);
  // Fabric has no addresses: an identity is its MSP id and certificate; the hash of both names it compactly.
  book_.succeed(op, json::object{{"address", to_hex(sha256(who.creator))}, {"mspId", msp}, {"certificate", cert}});
}

void FabricChain::chain_info(const std::shared_ptr<Op> &op, json::object) {
  qscc(op, {"GetChainInfo", cfg_.channel}, [this, op](std::string payload) {
    common::BlockchainInfo info;
    if (!info.ParseFromString(payload) || info.height() == 0)
      return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetChainInfo with bytes that are not chain info");
    const uint64_t head = info.height() - 1;
    qscc(op, {"GetBlockByNumber", cfg_.channel, std::to_string(head)}, [this, op, head](std::string bytes) {
      common::Block block;
      if (!block.ParseFromString(bytes))
        return book_.fail(op, WEFT_E_UNAVAILABLE, "the peer answered GetBlockByNumber with bytes that are not a block");
      auto b = block_json(block);
      // Fabric's blocks are final once committed (no forks); blocks are cut by the orderer's BatchTimeout or size.
      // Chain time, the time chaincode compares (an HTLC's timelock), is a transaction's timestamp, which this adapter
      // writes from its own clock: that is blockTime. A block is only made when there are transactions, so the last
      // block's time (lastBlockTime) may be long past and would make the chain's clock look behind.
      book_.succeed(op, json::object{{"height", head},
                                     {"blockTime", now_ms()},
                                     {"lastBlockTime", b["timestamp"]},
                                     // A client chooses its transaction's timestamp: Weft's chaincode stubs take one
                                     // up to 30 s from the endorser's clock, so the swap margin includes that.
                                     {"timestampLeadMs", 30000},
                                     {"finalityBlocks", 0},
                                     {"blockIntervalMs", cfg_.block_interval_ms}});
    });
  });
}

} // namespace weft::fabric
