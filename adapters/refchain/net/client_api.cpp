#include "client_api.h"

#include "chain_queries.h"
#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain::net {

namespace json = boost::json;

namespace {
constexpr const char *kOps = "chain_info, call, submit, block_height, get_block, get_receipt, get_proof, health";

json::object chain_info(const ClientBackend &b) {
  json::array validators;
  for (const auto &a : b.validators)
    validators.emplace_back(address_text(a));
  // What this node's contracts offer beyond the first release: "xa-startexec", WeCrossProxy.startexec (an XA
  // branch started by its first step). A router asks before it relies on one.
  return {{"chainId", b.ledger->chain_id()},
          {"height", b.ledger->height()},
          {"validators", std::move(validators)},
          {"self", b.self},
          {"features", json::array{"xa-startexec"}}};
}
} // namespace

ClientApi::ClientApi(ClientBackend backend, uint64_t default_wait_ms, uint64_t max_wait_ms)
    : backend_(std::move(backend)), default_wait_ms_(default_wait_ms), max_wait_ms_(max_wait_ms) {}

std::string ClientApi::answer(const json::value &id, int32_t status, const std::string &message,
                              const json::object *result) {
  json::object o{{"id", id}, {"status", status}, {"message", message}};
  if (result)
    o["result"] = *result;
  else
    o["result"] = nullptr;
  return json::serialize(o);
}

namespace {
// The request's id: null when absent; a number or a string, else Error.
json::value request_id(const json::object &req) {
  auto it = req.find("id");
  if (it == req.end()) return nullptr;
  if (!it->value().is_number() && !it->value().is_string())
    throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"id\" must be a number or a string");
  return it->value();
}

std::string_view text_of(ByteView frame) { return {reinterpret_cast<const char *>(frame.data()), frame.size()}; }
} // namespace

std::string ClientApi::refuse(ByteView frame, int32_t status, const std::string &message) {
  json::value id = nullptr;
  try {
    id = request_id(queries::parse_request(text_of(frame)));
  } catch (const std::exception &) {
    // unreadable: the refusal goes out with a null id
  }
  return answer(id, status, message, nullptr);
}

void ClientApi::handle(ByteView frame, Reply reply) {
  json::value id = nullptr;
  try {
    json::object req = queries::parse_request(text_of(frame));
    id = request_id(req);
    std::string op = queries::string_field(req, "op");
    auto result = run(op, req, id, reply);
    if (result) reply(answer(id, WEFT_OK, "Success", &*result));
  } catch (const Error &e) {
    reply(answer(id, e.status, e.what(), nullptr));
  } catch (const std::exception &e) {
    reply(answer(id, WEFT_E_INTERNAL, e.what(), nullptr));
  }
}

std::optional<json::object> ClientApi::run(const std::string &op, const json::object &req, const json::value &id,
                                           Reply &reply) {
  Ledger &ledger = *backend_.ledger;
  if (op == "chain_info") return chain_info(backend_);
  if (op == "call") return queries::call(ledger, req);
  if (op == "submit") return submit(req, id, reply);
  if (op == "block_height") return queries::block_height(ledger);
  if (op == "get_block") return queries::get_block(ledger, req);
  if (op == "get_receipt") return queries::get_receipt(ledger, req);
  if (op == "get_proof") return queries::get_proof(ledger, req);
  if (op == "health") {
    json::object o{{"status", "ok"},
                   {"height", ledger.height()},
                   {"validators", backend_.validators.size()},
                   {"self", backend_.self},
                   {"poolSize", ledger.pool_size()}};
    if (backend_.health) backend_.health(o);
    return o;
  }
  throw Error(WEFT_E_UNSUPPORTED, "unknown op '" + op + "'; ops: " + kOps);
}

std::optional<json::object> ClientApi::submit(const json::object &req, const json::value &id, Reply &reply) {
  Transaction tx;
  try {
    tx = Transaction::decode(from_hex(queries::string_field(req, "tx")));
  } catch (const DecodeError &e) {
    throw Error(WEFT_E_INVALID_ARGUMENT, std::string("request: \"tx\" is not a canonical transaction: ") + e.what());
  }
  uint64_t wait_ms = req.contains("wait_ms") ? queries::uint_field(req, "wait_ms") : default_wait_ms_;
  wait_ms = std::min(wait_ms, max_wait_ms_);
  Hash hash = tx.hash();
  if (wait_ms == 0) {
    backend_.submit(tx);
    return json::object{{"hash", to_hex(hash)}};
  }
  // Wait before admitting: the block may commit before submit returns.
  uint64_t number;
  {
    std::lock_guard lock(mu_);
    number = next_waiter_++;
    auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    waiters_.emplace(number, Waiter{id, hash, std::move(reply), deadline});
    by_hash_.emplace(hash, number);
    deadlines_.emplace(deadline, number);
  }
  try {
    backend_.submit(tx);
  } catch (...) {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(number);
    if (it == waiters_.end()) return std::nullopt; // answered meanwhile (it was already committed)
    reply = std::move(it->second.reply);           // hand the reply back so handle() answers the error
    for (auto [b, e] = by_hash_.equal_range(hash); b != e; ++b)
      if (b->second == number) {
        by_hash_.erase(b);
        break;
      }
    for (auto [b, e] = deadlines_.equal_range(it->second.deadline); b != e; ++b)
      if (b->second == number) {
        deadlines_.erase(b);
        break;
      }
    waiters_.erase(it);
    throw;
  }
  return std::nullopt;
}

std::vector<ClientApi::Waiter> ClientApi::take(const Hash &hash) {
  std::vector<Waiter> out;
  auto [b, e] = by_hash_.equal_range(hash);
  for (auto it = b; it != e; ++it) {
    auto w = waiters_.find(it->second);
    if (w == waiters_.end()) continue;
    for (auto [db, de] = deadlines_.equal_range(w->second.deadline); db != de; ++db)
      if (db->second == w->first) {
        deadlines_.erase(db);
        break;
      }
    out.push_back(std::move(w->second));
    waiters_.erase(w);
  }
  by_hash_.erase(b, e);
  return out;
}

void ClientApi::on_committed(const ExecutedBlock &block) {
  std::vector<std::pair<Waiter, std::string>> ready;
  {
    std::lock_guard lock(mu_);
    if (waiters_.empty()) return;
    for (size_t i = 0; i < block.txs.size(); ++i)
      for (auto &w : take(block.txs[i].hash)) {
        json::object r = queries::sent_json(block.receipts[i], block.header.timestamp_ms);
        std::string a = answer(w.id, WEFT_OK, "Success", &r);
        ready.emplace_back(std::move(w), std::move(a));
      }
  }
  for (auto &[w, a] : ready)
    w.reply(std::move(a));
}

void ClientApi::on_expired(const std::vector<Hash> &hashes) {
  std::vector<Waiter> ready;
  {
    std::lock_guard lock(mu_);
    for (const auto &h : hashes)
      for (auto &w : take(h))
        ready.push_back(std::move(w));
  }
  for (auto &w : ready)
    w.reply(answer(w.id, WEFT_E_REJECTED,
                   "transaction " + to_hex(w.hash) + " expired in the pool (block limit passed); send it again",
                   nullptr));
}

void ClientApi::expire(Clock::time_point now) {
  std::vector<Waiter> ready;
  {
    std::lock_guard lock(mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      uint64_t number = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto w = waiters_.find(number);
      if (w == waiters_.end()) continue;
      for (auto [b, e] = by_hash_.equal_range(w->second.hash); b != e; ++b)
        if (b->second == number) {
          by_hash_.erase(b);
          break;
        }
      ready.push_back(std::move(w->second));
      waiters_.erase(w);
    }
  }
  for (auto &w : ready)
    w.reply(answer(w.id, WEFT_E_TIMEOUT,
                   "wait passed before transaction " + to_hex(w.hash) +
                       " was committed; it stays in the pool, look it up later with get_receipt",
                   nullptr));
}

size_t ClientApi::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

} // namespace weft::refchain::net
