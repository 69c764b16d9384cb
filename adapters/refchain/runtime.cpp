#include "runtime.h"

#include "chain_queries.h"
#include "error.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace weft::refchain {

Runtime::Runtime(const ChainConfig &config, plugin::Host host, const std::string &data_dir)
    : config_(config), host_(std::move(host)),
      contracts_(make_contracts(config_.ledger.resources, config_.ledger.xa_coordinator)),
      subscriptions_(std::make_unique<Subscriptions>(*this)) {
  size_t workers = 1;
  if (config_.nodes.empty()) {
    Validator::Listeners listeners;
    listeners.committed = [this](const ExecutedBlock &b) { on_committed(b); };
    listeners.expired = [this](const std::vector<Hash> &h) { on_expired(h); };
    auto log = [h = &host_](int level, const std::string &m) {
      h->log(level >= 3 ? WEFT_LOG_ERROR : level == 2 ? WEFT_LOG_WARN : level == 1 ? WEFT_LOG_INFO : WEFT_LOG_DEBUG, m);
    };
    network_ = std::make_unique<EmbeddedNetwork>(config_, data_dir, listeners, log, config_.round_timeout_ms);
    network_->start();
    host_.info("reference chain " + std::to_string(config_.ledger.chain_id) + " open at height " +
               std::to_string(ledger().height()) + " with " + std::to_string(network_->size()) +
               " embedded validators");
  } else {
    net::NodeClientOptions o;
    if (host_.has_io() && !config_.remote_io_thread) {
      host_loop_ = std::make_unique<plugin::HostIoLoop>(host_);
      o.loop = host_loop_.get();
    }
    for (uint32_t i = 0; i < config_.remote_connections; ++i) {
      // Each connection starts at a different node, spreading the load over the network.
      auto nodes = config_.nodes;
      std::rotate(nodes.begin(), nodes.begin() + (i % nodes.size()), nodes.end());
      o.nodes = nodes;
      links_.push_back(std::make_unique<net::NodeClient>(o));
    }
    workers = kRemoteWorkers;
    check_remote_chain();
  }
  for (size_t i = 0; i < workers; ++i)
    workers_.emplace_back([this] { run_worker(); });
}

void Runtime::check_remote_chain() {
  // The network may be down now and come up later: then verbs fail with WEFT_E_UNAVAILABLE until it does. A
  // network of another chain id is a configuration error, refused at open.
  try {
    auto info = links_.front()->call("chain_info", {}, std::chrono::milliseconds(3000));
    uint64_t id = info.at("chainId").to_number<uint64_t>();
    if (id != config_.ledger.chain_id)
      throw Error(WEFT_E_INVALID_ARGUMENT, "the weft-node network at " + links_.front()->current_node() +
                                               " runs chain id " + std::to_string(id) + ", the config says " +
                                               std::to_string(config_.ledger.chain_id));
    host_.info("reference chain " + std::to_string(id) + " reached at " + links_.front()->current_node() +
               ", height " + std::to_string(info.at("height").to_number<uint64_t>()) + ", " +
               std::to_string(info.at("validators").as_array().size()) + " validators");
  } catch (const Error &e) {
    if (e.status == WEFT_E_INVALID_ARGUMENT) throw;
    host_.warn(std::string("weft-node network not reachable yet: ") + e.what());
  } catch (const std::exception &e) {
    host_.warn(std::string("weft-node network answered chain_info unexpectedly: ") + e.what());
  }
}

net::NodeClient &Runtime::node() {
  if (links_.empty()) throw Error(WEFT_E_INTERNAL, "a remote call on an embedded chain");
  return *links_[next_link_.fetch_add(1, std::memory_order_relaxed) % links_.size()];
}

void Runtime::submit_remote(uint64_t op_id, const Transaction &tx, Transform transform) {
  // The signed bytes are encoded once: hashed here, written as hex into the request, kept only there.
  Bytes signed_bytes = tx.encode();
  std::chrono::milliseconds wait{0};
  {
    std::lock_guard lock(mu_);
    auto it = ops_.find(op_id);
    if (it == ops_.end()) throw Error(WEFT_E_CANCELLED, "the operation was cancelled before its transaction was sent");
    it->second.tx = sha256(signed_bytes); // a deadline that passes first names the hash
    it->second.transform = std::move(transform);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.deadline - Clock::now());
    wait = std::max(left, std::chrono::milliseconds(0));
  }
  // The node answers at commit, or names the hash when wait_ms runs out; the op's own deadline passes first, so
  // the extra second only bounds a node that stopped answering.
  boost::json::object req{{"tx", to_hex(signed_bytes)}, {"wait_ms", static_cast<uint64_t>(wait.count())}};
  auto done = [this, op_id](net::NodeAnswer a) {
    if (a.status == WEFT_OK) {
      if (auto op = take(op_id)) complete_sent(*op, a.result);
    } else if (a.status == WEFT_E_CANCELLED) // only close() cancels a connection's calls
      finish(op_id, a.status, "the chain was closed before the operation finished");
    else
      finish(op_id, a.status, a.message);
  };
  node().call_async("submit", std::move(req), wait + std::chrono::milliseconds(1000), std::move(done));
}

uint64_t Runtime::remote_height(uint64_t op_id) {
  {
    std::lock_guard lock(height_mu_);
    if (Clock::now() - height_at_ < kHeightMaxAge) return height_;
  }
  uint64_t h = node().call("block_height", {}, remaining(op_id)).at("height").to_number<uint64_t>();
  std::lock_guard lock(height_mu_);
  height_ = std::max(height_, h);
  height_at_ = Clock::now();
  return height_;
}

boost::json::object Runtime::remote_locks(uint64_t op_id, bool fresh) {
  if (!fresh) {
    std::lock_guard lock(locks_mu_);
    if (Clock::now() - locks_at_ < kHeightMaxAge) return locks_;
  }
  auto answer = node().call(
      "call", {{"resource", kXaProxyResource}, {"method", "locks"}, {"args", boost::json::array{}}}, remaining(op_id));
  auto parsed = boost::json::parse(answer.at("result").as_array().at(0).as_string());
  std::lock_guard lock(locks_mu_);
  locks_ = parsed.as_object();
  locks_at_ = Clock::now();
  return locks_;
}

bool Runtime::remote_starts_in_step(uint64_t op_id) {
  if (int known = starts_in_step_.load(); known >= 0) return known == 1;
  boost::json::object info = node().call("chain_info", {}, remaining(op_id));
  bool yes = false;
  if (const boost::json::value *f = info.if_contains("features"); f != nullptr && f->is_array())
    for (const auto &x : f->as_array()) yes = yes || (x.is_string() && x.as_string() == "xa-startexec");
  starts_in_step_.store(yes ? 1 : 0);
  return yes;
}

std::chrono::milliseconds Runtime::remaining(uint64_t op_id) {
  std::lock_guard lock(mu_);
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return std::chrono::milliseconds(0);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

const Contract *Runtime::contract(const std::string &resource) const {
  auto it = contracts_.find(resource);
  return it == contracts_.end() ? nullptr : it->second.get();
}

Runtime::~Runtime() { close(); }

void Runtime::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  if (network_) network_->stop(); // no commit event after this
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Completes the calls in flight (their operations fail as cancelled) and any blocking read of a worker; no
  // connection calls back after this.
  for (auto &l : links_)
    l->close();
  subscriptions_->close(); // each stream's "end" record; after the last commit event, so none is lost
  for (auto &w : workers_)
    if (w.joinable()) w.join();
  std::map<uint64_t, Op> left;
  {
    std::lock_guard lock(mu_);
    left.swap(ops_);
    deadlines_.clear();
    tasks_.clear();
    waiting_.clear();
  }
  for (auto &[id, op] : left)
    op.done.fail(WEFT_E_CANCELLED, "the chain was closed before the operation finished");
}

uint64_t Runtime::post(plugin::Completion done, uint32_t deadline_ms, Work work) {
  auto deadline = Clock::now() + (deadline_ms == 0 ? kDefaultDeadline : std::chrono::milliseconds(deadline_ms));
  uint64_t id = 0;
  {
    std::unique_lock lock(mu_);
    if (stopping_ || closed_) {
      lock.unlock(); // never call back into the host under our lock
      done.fail(WEFT_E_UNAVAILABLE, "the chain is closing");
      return 0;
    }
    id = next_id_++;
    ops_.emplace(id, Op{std::move(done), deadline, std::nullopt});
    deadlines_.emplace(deadline, id);
    tasks_.push_back({id, std::move(work)});
  }
  // One task wakes one worker. Waking them all (eight in remote mode) cost a context switch each per verb, and
  // the one that takes the task computes the next deadline again when it is done, as every worker does.
  cv_.notify_one();
  return id;
}

uint64_t Runtime::ask_remote(plugin::Completion done, uint32_t deadline_ms, const std::string &node_op,
                             boost::json::object fields) {
  auto timeout = deadline_ms == 0 ? kDefaultDeadline : std::chrono::milliseconds(deadline_ms);
  uint64_t id = 0;
  {
    std::unique_lock lock(mu_);
    if (stopping_ || closed_) {
      lock.unlock();
      done.fail(WEFT_E_UNAVAILABLE, "the chain is closing");
      return 0;
    }
    id = next_id_++;
    // In the book for cancel() and close(), but not in deadlines_: the connection's timeout is the same deadline,
    // so no worker needs waking to watch it.
    ops_.emplace(id, Op{std::move(done), Clock::now() + timeout, std::nullopt});
  }
  node().call_async(node_op, std::move(fields), timeout, [this, id](net::NodeAnswer a) {
    if (a.status == WEFT_OK) {
      if (auto op = take(id)) op->done.succeed(boost::json::serialize(a.result));
    } else if (a.status == WEFT_E_CANCELLED) { // only close() cancels a connection's calls
      finish(id, a.status, "the chain was closed before the operation finished");
    } else {
      finish(id, a.status, a.message);
    }
  });
  return id;
}

void Runtime::cancel(uint64_t op_id) {
  auto op = take(op_id);
  if (!op) return;
  // A transaction already signed and sent may still commit: the host learns its hash, never "not sent".
  if (op->tx)
    op->done.fail(WEFT_E_CANCELLED,
                  "cancelled by the host after transaction " + to_hex(*op->tx) + " was sent; it may still commit",
                  boost::json::serialize(boost::json::object{{"hash", to_hex(*op->tx)}}));
  else
    op->done.fail(WEFT_E_CANCELLED, "cancelled by the host");
}

void Runtime::await_tx(uint64_t op_id, const Hash &tx_hash, Transform transform) {
  std::lock_guard lock(mu_);
  auto it = ops_.find(op_id);
  if (it == ops_.end()) throw Error(WEFT_E_CANCELLED, "the operation was cancelled before its transaction was sent");
  it->second.tx = tx_hash;
  it->second.transform = std::move(transform);
  waiting_[tx_hash] = op_id;
}

void Runtime::forget_tx(uint64_t op_id) {
  std::lock_guard lock(mu_);
  auto it = ops_.find(op_id);
  if (it == ops_.end() || !it->second.tx) return;
  waiting_.erase(*it->second.tx);
  it->second.tx.reset();
}

std::optional<Runtime::Op> Runtime::take_locked(uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return std::nullopt;
  Op op = std::move(it->second);
  ops_.erase(it);
  deadlines_.erase({op.deadline, op_id});
  if (op.tx) waiting_.erase(*op.tx);
  return op;
}

std::optional<Runtime::Op> Runtime::take(uint64_t op_id) {
  std::lock_guard lock(mu_);
  return take_locked(op_id);
}

void Runtime::finish(uint64_t op_id, int32_t status, const std::string &message_or_json, const std::string &details) {
  auto op = take(op_id);
  if (!op) return;
  if (status == WEFT_OK)
    op->done.succeed(message_or_json);
  else
    op->done.fail(status, message_or_json, details);
}

void Runtime::complete_sent(Op &op, const boost::json::object &sent) {
  if (!op.transform) {
    op.done.succeed(boost::json::serialize(sent));
    return;
  }
  Answer a;
  try {
    a = op.transform(sent);
  } catch (const std::exception &e) {
    a = {WEFT_E_INTERNAL, std::string("reading the transaction's outcome: ") + e.what(), ""};
  }
  if (a.status == WEFT_OK)
    op.done.succeed(a.json_or_message);
  else
    op.done.fail(a.status, a.json_or_message, a.details);
}

void Runtime::run_worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    // Fail what is past its deadline; callbacks run outside the lock.
    std::vector<Op> expired;
    auto now = Clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      uint64_t id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      if (auto op = take_locked(id)) expired.push_back(std::move(*op));
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto &op : expired) {
        if (op.tx)
          op.done.fail(WEFT_E_TIMEOUT,
                       "deadline passed before transaction " + to_hex(*op.tx) +
                           " was committed; it stays in the pool, look it up later with get_receipt",
                       boost::json::serialize(boost::json::object{{"hash", to_hex(*op.tx)}}));
        else
          op.done.fail(WEFT_E_TIMEOUT, "deadline passed before the chain answered");
      }
      lock.lock();
      continue;
    }
    if (stopping_) return;
    if (tasks_.empty()) {
      if (deadlines_.empty())
        cv_.wait(lock);
      else {
        auto next = deadlines_.begin()->first; // a copy: the set node may be erased while we wait
        cv_.wait_until(lock, next);
      }
      continue;
    }
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    if (ops_.count(task.op_id) == 0) continue; // cancelled or expired while queued
    lock.unlock();
    int32_t status = WEFT_OK;
    std::string out, details;
    try {
      auto result = task.work(task.op_id);
      if (!result)
        status = -1; // handed over to await_tx or submit_remote
      else
        out = std::move(*result);
    } catch (const Error &e) {
      status = e.status;
      out = e.what();
      details = e.details;
    } catch (const plugin::Failure &f) {
      status = f.status;
      out = f.message;
    } catch (const std::exception &e) {
      status = WEFT_E_INTERNAL;
      out = e.what();
    }
    if (status != -1) finish(task.op_id, status, out, details);
    lock.lock();
  }
}

void Runtime::on_committed(const ExecutedBlock &block) {
  subscriptions_->on_committed(block);
  std::vector<std::pair<Op, boost::json::object>> ready;
  {
    std::lock_guard lock(mu_);
    if (waiting_.empty()) return;
    for (size_t i = 0; i < block.txs.size(); ++i) {
      auto it = waiting_.find(block.txs[i].hash);
      if (it == waiting_.end()) continue;
      auto op = take_locked(it->second);
      if (!op) continue;
      ready.emplace_back(std::move(*op), queries::sent_json(block.receipts[i], block.header.timestamp_ms));
    }
  }
  for (auto &[op, sent] : ready)
    complete_sent(op, sent);
}

void Runtime::on_expired(const std::vector<Hash> &hashes) {
  std::vector<std::pair<Op, Hash>> ready;
  {
    std::lock_guard lock(mu_);
    for (const auto &h : hashes) {
      auto it = waiting_.find(h);
      if (it == waiting_.end()) continue;
      if (auto op = take_locked(it->second)) ready.emplace_back(std::move(*op), h);
    }
  }
  for (auto &[op, h] : ready)
    op.done.fail(WEFT_E_REJECTED,
                 "transaction " + to_hex(h) + " expired in the pool (block limit passed); send it again");
}

} // namespace weft::refchain
