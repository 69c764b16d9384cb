// The engine driving four real ledgers (SQLite files in a temp directory) through a minimal App of the test's own:
// transactions submitted to every pool end up in the same blocks, with the same state, on all four.
#include "bft/engine.h"
#include "error.h"
#include "refchain_bft_sim.h"
#include "refchain_test_support.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>

using namespace weft::refchain;
using namespace weft::refchain::bft;
using namespace weft::refchain::test;

namespace {

constexpr uint64_t kDriftMs = 2000;

// Payload: the header's encoding, then u32 count and each transaction's signed encoding as a blob.
class LedgerApp : public App {
public:
  LedgerApp(Ledger &ledger, Address self, std::vector<Address> members)
      : ledger_(ledger), self_(self), members_(std::move(members)) {}

  uint64_t height() override { return ledger_.height(); }
  Hash head_hash() override { return ledger_.head().hash(); }

  std::optional<BlockCandidate> propose(uint64_t now_ms, bool allow_empty) override {
    Proposal p = ledger_.propose(self_, now_ms, allow_empty);
    if (!p.block) return std::nullopt;
    Bytes payload = encode(*p.block);
    Hash h = p.block->header.hash();
    executed_[h] = std::move(*p.block);
    return BlockCandidate{h, std::move(payload)};
  }

  std::optional<Hash> validate(ByteView payload, uint64_t now_ms, std::string *why) override {
    try {
      Reader r(payload);
      BlockHeader header = BlockHeader::decode(r.raw(kHeaderBytes, "header"));
      uint32_t count = r.u32("tx count");
      std::vector<VerifiedTx> txs;
      for (uint32_t i = 0; i < count; ++i)
        txs.push_back(verify_transaction(Transaction::decode(r.blob(kMaxTxBytes, "tx")), ledger_.chain_id()));
      r.expect_end("block payload");
      BlockHeader head = ledger_.head();
      if (header.number != head.number + 1 || header.parent_hash != head.hash())
        throw Error(WEFT_E_REJECTED, "not the next block");
      if (header.timestamp_ms <= head.timestamp_ms || header.timestamp_ms > now_ms + kDriftMs)
        throw Error(WEFT_E_REJECTED, "timestamp out of bounds");
      if (std::find(members_.begin(), members_.end(), header.proposer) == members_.end())
        throw Error(WEFT_E_REJECTED, "proposer is not a validator");
      ExecutedBlock block = ledger_.execute(txs, header.proposer, header.timestamp_ms);
      if (block.header.hash() != header.hash()) throw Error(WEFT_E_REJECTED, "roots or state differ");
      Hash h = header.hash();
      executed_[h] = std::move(block);
      return h;
    } catch (const Error &e) {
      if (why) *why = e.what();
      return std::nullopt;
    }
  }

  void commit(ByteView payload, const Hash &hash, const CommitCert &cert) override {
    if (!executed_.count(hash) && !validate(payload, UINT64_MAX / 2, nullptr))
      throw Error(WEFT_E_INTERNAL, "commit of an invalid block");
    ledger_.commit(executed_.at(hash));
    executed_.clear();
    committed_[ledger_.height()] = {Bytes(payload.begin(), payload.end()), cert};
  }

  std::optional<std::pair<Bytes, CommitCert>> committed_block(uint64_t number) override {
    auto it = committed_.find(number);
    if (it == committed_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<BlockOrigin> block_origin(uint64_t number) override {
    auto header = number == 0 ? std::nullopt : ledger_.header(number);
    if (!header) return std::nullopt;
    return BlockOrigin{header->proposer, header->timestamp_ms};
  }
  std::optional<Address> payload_proposer(ByteView payload) override {
    try {
      Reader r(payload);
      return BlockHeader::decode(r.raw(kHeaderBytes, "header")).proposer;
    } catch (const std::exception &) {
      return std::nullopt;
    }
  }
  void save_engine_state(ByteView state) override { state_ = Bytes(state.begin(), state.end()); }
  std::optional<Bytes> load_engine_state() override { return state_; }
  bool has_pending() override { return ledger_.pool_size() > 0; }

private:
  static Bytes encode(const ExecutedBlock &b) {
    Writer w;
    w.raw(b.header.encode());
    w.u32(static_cast<uint32_t>(b.txs.size()));
    for (const auto &t : b.txs)
      w.blob(t.tx.encode());
    return w.take();
  }

  Ledger &ledger_;
  Address self_;
  std::vector<Address> members_;
  std::map<Hash, ExecutedBlock> executed_;
  std::map<uint64_t, std::pair<Bytes, CommitCert>> committed_;
  std::optional<Bytes> state_;
};

// Delivers every message after a fixed delay of one tick.
struct Wire : Network {
  std::deque<std::pair<uint32_t, Bytes>> *queue;
  uint32_t self, n;
  void broadcast(ByteView m) override {
    for (uint32_t v = 0; v < n; ++v)
      if (v != self) send(v, m);
  }
  void send(uint32_t v, ByteView m) override { queue->emplace_back(v, Bytes(m.begin(), m.end())); }
};

} // namespace

TEST_CASE("four real ledgers driven by the engine commit the same blocks and state") {
  TempDir dir;
  constexpr uint32_t n = 4;
  std::vector<std::unique_ptr<Ledger>> ledgers;
  std::vector<std::unique_ptr<sim::KeySigner>> keys;
  std::vector<Address> members;
  for (uint32_t v = 0; v < n; ++v) {
    ledgers.push_back(std::make_unique<Ledger>(test_ledger_config(), dir.file("v" + std::to_string(v) + ".sqlite")));
    keys.push_back(std::make_unique<sim::KeySigner>(static_cast<uint8_t>(v + 11)));
    members.push_back(keys.back()->address());
  }
  std::deque<std::pair<uint32_t, Bytes>> queue;
  std::vector<std::unique_ptr<LedgerApp>> apps;
  std::vector<std::unique_ptr<Wire>> wires;
  std::vector<std::unique_ptr<Engine>> engines;
  EngineConfig cfg = sim::fast_config();
  cfg.chain_id = 7;
  cfg.validators = members;
  uint64_t now = 1'000'000;
  for (uint32_t v = 0; v < n; ++v) {
    apps.push_back(std::make_unique<LedgerApp>(*ledgers[v], members[v], members));
    wires.push_back(std::make_unique<Wire>());
    wires.back()->queue = &queue;
    wires.back()->self = v;
    wires.back()->n = n;
    cfg.self = v;
    engines.push_back(std::make_unique<Engine>(cfg, *apps[v], *wires[v], *keys[v], Logger{}));
    engines.back()->start(now);
  }

  TestAccount alice(3);
  for (int i = 0; i < 6; ++i) {
    Transaction tx = make_tx(alice, 7, 100, "store", "set", {"k" + std::to_string(i), "v" + std::to_string(i)});
    for (auto &l : ledgers)
      l->submit(tx); // gossip, as the validators' hosts do
  }
  for (int step = 0; step < 400 && ledgers[0]->pool_size() + ledgers[3]->pool_size() > 0; ++step) {
    now += 5;
    for (size_t i = queue.size(); i > 0; --i) {
      auto [to, bytes] = std::move(queue.front());
      queue.pop_front();
      engines[to]->on_message(bytes, now);
    }
    for (auto &e : engines)
      e->on_tick(now);
  }
  for (int step = 0; step < 40; ++step) { // let the last commit reach everyone
    now += 5;
    for (size_t i = queue.size(); i > 0; --i) {
      auto [to, bytes] = std::move(queue.front());
      queue.pop_front();
      engines[to]->on_message(bytes, now);
    }
  }
  uint64_t h = ledgers[0]->height();
  CHECK(h >= 1);
  for (uint32_t v = 0; v < n; ++v) {
    CHECK(ledgers[v]->pool_size() == 0);
    CHECK(ledgers[v]->height() == h);
    CHECK(ledgers[v]->head().hash() == ledgers[0]->head().hash());
    CHECK(ledgers[v]->call("store", "get", {"k5"}) == std::vector<std::string>{"v5"});
    auto block = apps[v]->committed_block(h);
    REQUIRE(block);
    std::string why;
    CHECK(verify_commit_cert(7, members, h, ledgers[v]->head().hash(), block->second, &why));
    CHECK(engines[v]->status().dropped_messages == 0);
  }
}
