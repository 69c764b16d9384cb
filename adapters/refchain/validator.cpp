#include "validator.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "block_payload.h"
#include "error.h"

namespace weft::refchain {

namespace {

// A proposal's timestamp may run ahead of a validator's clock by at most this much (clocks of real hosts drift).
// With block_time_offset_ms the clock is the offset one (docs/refchain.md, "Block time").
constexpr uint64_t kMaxClockDriftMs = 5000;
// Consensus frames waiting for the validator's thread beyond this are dropped (round changes recover them).
constexpr size_t kInboxLimit = 20000;
// The validator's thread sleeps until the engine's next deadline, a message or a transaction into an empty pool;
// never longer than this, so a deadline the engine did not announce costs at most this much.
constexpr uint64_t kMaxSleepMs = 50;

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// The wall clock shifted by a chain's block_time_offset_ms.
uint64_t chain_clock_ms(int64_t offset_ms) {
  int64_t now = static_cast<int64_t>(wall_ms()) + offset_ms;
  return now > 0 ? static_cast<uint64_t>(now) : 0;
}

Bytes frame(FrameKind kind, ByteView body) {
  Bytes out;
  out.reserve(body.size() + 1);
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

} // namespace

// The ledger as the BFT engine's replicated application.
class Validator::LedgerApp : public bft::App {
 public:
  LedgerApp(Ledger &ledger, const ValidatorOptions &opts, Listeners &listeners, Log &log)
      : ledger_(ledger), opts_(opts), listeners_(listeners), log_(log) {}

  uint64_t height() override { return ledger_.height(); }
  Hash head_hash() override { return ledger_.head().hash(); }

  std::optional<bft::BlockCandidate> propose(uint64_t now_ms, bool allow_empty) override {
    Proposal p = ledger_.propose(opts_.key.address, now_ms, allow_empty);
    if (!p.expired.empty() && listeners_.expired) listeners_.expired(p.expired);
    if (!p.block) return std::nullopt;
    std::vector<Bytes> bodies;
    bodies.reserve(p.block->txs.size());
    for (const auto &tx : p.block->txs)
      bodies.push_back(tx.tx.encode());
    bft::BlockCandidate c{p.block->header.hash(), encode_block_payload(p.block->header, bodies)};
    executed_[c.hash] = std::move(*p.block);
    return c;
  }

  std::optional<Hash> validate(ByteView payload, uint64_t now_ms, std::string *why) override {
    try {
      BlockHeader claimed = payload_header(payload);
      Hash hash = claimed.hash();
      if (executed_.count(hash) && claimed.number == ledger_.height() + 1) return hash; // validated before
      BlockPayload block = decode_block_payload(payload);
      BlockHeader head = ledger_.head();
      if (claimed.chain_id != ledger_.chain_id()) return fail(why, "block for another chain id");
      if (claimed.number != head.number + 1)
        return fail(why, "block " + std::to_string(claimed.number) + " does not follow height " +
                             std::to_string(head.number));
      if (claimed.parent_hash != head.hash()) return fail(why, "block's parent is not the head");
      if (!is_member(claimed.proposer)) return fail(why, "block proposed by a non-validator");
      if (claimed.timestamp_ms <= head.timestamp_ms) return fail(why, "block timestamp is not after its parent's");
      if (claimed.timestamp_ms > now_ms + kMaxClockDriftMs)
        return fail(why, "block timestamp is " + std::to_string(claimed.timestamp_ms - now_ms) +
                             " ms ahead of this validator's clock");
      // Never skipped on followers: each signature is checked here or was checked when the same bytes entered
      // this validator's pool.
      std::vector<VerifiedTx> txs = ledger_.verify_block_txs(std::move(block.txs));
      ExecutedBlock executed = ledger_.execute(txs, claimed.proposer, claimed.timestamp_ms);
      if (executed.header.encode() != claimed.encode())
        return fail(why, "executing the block gives other roots or state than its header claims");
      executed_[hash] = std::move(executed);
      return hash;
    } catch (const std::exception &e) {
      return fail(why, e.what());
    }
  }

  void commit(ByteView payload, const Hash &hash, const bft::CommitCert &cert) override {
    auto it = executed_.find(hash);
    if (it == executed_.end()) {
      std::string why;
      // A certified block: a quorum accepted its time already, so only a gross lead is refused here.
      if (!validate(payload, chain_clock_ms(opts_.chain.block_time_offset_ms) + kMaxClockDriftMs, &why))
        throw Error(WEFT_E_INTERNAL, "cannot commit block " + to_hex(hash) + ": " + why);
      it = executed_.find(hash);
    }
    ExecutedBlock block = std::move(it->second);
    executed_.clear(); // other candidates for this height are moot now
    ledger_.commit(block, bft::encode_cert(cert));
    if (listeners_.committed) listeners_.committed(block);
  }

  std::optional<std::pair<Bytes, bft::CommitCert>> committed_block(uint64_t number) override {
    if (number == 0) return std::nullopt;
    auto header = ledger_.header(number);
    auto cert = ledger_.cert(number);
    if (!header || !cert) return std::nullopt;
    return std::make_pair(encode_block_payload(*header, ledger_.block_tx_bodies(number)), bft::decode_cert(*cert));
  }

  std::optional<bft::BlockOrigin> block_origin(uint64_t number) override {
    if (number == 0) return std::nullopt;
    auto header = ledger_.header(number);
    if (!header) return std::nullopt;
    return bft::BlockOrigin{header->proposer, header->timestamp_ms};
  }

  std::optional<Address> payload_proposer(ByteView payload) override {
    try {
      return payload_header(payload).proposer;
    } catch (const std::exception &) {
      return std::nullopt;
    }
  }

  void save_engine_state(ByteView state) override { ledger_.save_engine_state(state); }
  std::optional<Bytes> load_engine_state() override { return ledger_.load_engine_state(); }
  bool has_pending() override { return ledger_.pool_size() > 0; }

 private:
  std::optional<Hash> fail(std::string *why, const std::string &m) {
    if (why != nullptr) *why = m;
    return std::nullopt;
  }
  bool is_member(const Address &a) const {
    for (const auto &v : opts_.validators)
      if (v == a) return true;
    return false;
  }

  Ledger &ledger_;
  const ValidatorOptions &opts_;
  Listeners &listeners_;
  Log &log_;
  std::map<Hash, ExecutedBlock> executed_; // validated candidates for the next height
};

class Validator::KeySigner : public bft::Signer {
 public:
  explicit KeySigner(const ValidatorKey &key) : key_(key) {}
  const Address &address() const override { return key_.address; }
  Signature sign(const Hash &digest) override { return sign_digest(key_.secret, digest); }

 private:
  const ValidatorKey &key_;
};

class Validator::EngineNet : public bft::Network {
 public:
  explicit EngineNet(Outbox &out) : out_(out) {}
  void broadcast(ByteView message) override { out_.broadcast(frame(FrameKind::Consensus, message)); }
  void send(uint32_t validator, ByteView message) override {
    out_.send(validator, frame(FrameKind::Consensus, message));
  }

 private:
  Outbox &out_;
};

Validator::Validator(ValidatorOptions options, Outbox &outbox, Listeners listeners, Log log)
    : options_(std::move(options)), outbox_(outbox), listeners_(std::move(listeners)), log_(std::move(log)) {
  if (options_.validators.empty() || options_.self >= options_.validators.size())
    throw Error(WEFT_E_INVALID_ARGUMENT, "validator index " + std::to_string(options_.self) +
                                             " is outside the validator set of " +
                                             std::to_string(options_.validators.size()));
  if (options_.validators[options_.self] != options_.key.address)
    throw Error(WEFT_E_INVALID_ARGUMENT, "this validator's key is " + address_text(options_.key.address) +
                                             ", but the validator set names " +
                                             address_text(options_.validators[options_.self]) + " at index " +
                                             std::to_string(options_.self));
  ledger_ = std::make_unique<Ledger>(options_.chain.ledger, options_.db_path);
  app_ = std::make_unique<LedgerApp>(*ledger_, options_, listeners_, log_);
  signer_ = std::make_unique<KeySigner>(options_.key);
  net_ = std::make_unique<EngineNet>(outbox_);
  bft::EngineConfig ec;
  ec.chain_id = options_.chain.ledger.chain_id;
  ec.validators = options_.validators;
  ec.self = options_.self;
  ec.block_interval_ms = options_.chain.block_interval_ms;
  ec.empty_block_interval_ms = options_.chain.empty_block_interval_ms;
  ec.round_timeout_ms = options_.round_timeout_ms;
  engine_ = std::make_unique<bft::Engine>(ec, *app_, *net_, *signer_, log_);
}

Validator::~Validator() { stop(); }

void Validator::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Validator::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Validator::deliver(ByteView f) {
  if (f.empty()) return;
  auto kind = static_cast<FrameKind>(f[0]);
  ByteView body = f.subspan(1);
  if (kind == FrameKind::Transaction) {
    // Verified on the caller's (network) thread, so signature checks do not hold up consensus.
    try {
      ledger_->submit(Transaction::decode(body));
      wake_if_first();
    } catch (const std::exception &e) {
      if (log_) log_(0, std::string("gossiped transaction not admitted: ") + e.what());
    }
    return;
  }
  if (kind != FrameKind::Consensus) {
    if (log_) log_(2, "dropped a frame of unknown kind " + std::to_string(f[0]));
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (inbox_.size() >= kInboxLimit) {
      ++inbox_drops_;
      return;
    }
    inbox_.emplace_back(body.begin(), body.end());
  }
  cv_.notify_one();
}

Hash Validator::submit(const Transaction &tx) {
  Hash h = ledger_->submit(tx);
  outbox_.broadcast(frame(FrameKind::Transaction, tx.encode()));
  wake_if_first();
  return h;
}

void Validator::wake_if_first() {
  // The first transaction into an empty pool may be proposed at once: wake the thread rather than wait for a tick.
  if (ledger_->pool_size() != 1) return;
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

bft::EngineStatus Validator::status() {
  std::lock_guard lock(mu_);
  bft::EngineStatus st = status_;
  st.dropped_messages += inbox_drops_;
  return st;
}

uint64_t Validator::chain_ms() const { return chain_clock_ms(options_.chain.block_time_offset_ms); }

void Validator::run() {
  try {
    engine_->start(chain_ms());
  } catch (const std::exception &e) {
    if (log_) log_(3, std::string("consensus could not start: ") + e.what());
    return;
  }
  std::unique_lock lock(mu_);
  uint64_t next = engine_->next_tick_ms();
  uint64_t ticked_at = 0;
  while (!stopping_) {
    uint64_t now = chain_ms();
    // Due again at a time the last tick already covered (a pool whose transactions cannot go into a block yet):
    // wait a millisecond rather than spin.
    uint64_t wait_ms = next > now ? std::min(next - now, kMaxSleepMs) : next <= ticked_at ? 1 : 0;
    auto sleep = std::chrono::milliseconds(wait_ms);
    cv_.wait_for(lock, sleep, [this] { return stopping_ || wake_ || !inbox_.empty(); });
    if (stopping_) break;
    wake_ = false;
    std::deque<Bytes> batch;
    batch.swap(inbox_);
    lock.unlock();
    try {
      for (const auto &m : batch)
        engine_->on_message(m, chain_ms());
      ticked_at = chain_ms();
      engine_->on_tick(ticked_at);
    } catch (const std::exception &e) {
      // The store failed under the engine (disk full, I/O error): stop rather than diverge from the others.
      if (log_) log_(3, std::string("validator stops: ") + e.what());
      lock.lock();
      stopping_ = true;
      break;
    }
    auto st = engine_->status();
    next = engine_->next_tick_ms();
    lock.lock();
    status_ = st;
  }
}

} // namespace weft::refchain
