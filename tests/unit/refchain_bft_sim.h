// A seeded, deterministic simulator for the BFT engine: n validators, each a toy application whose "disk" (its
// chain and the engine's saved votes) survives crashes, over a simulated network that delays, loses, duplicates
// and reorders messages, with partitions, crashes, restarts and byzantine senders. Everything runs on one thread
// from one seed, so a failing schedule replays exactly.
#pragma once

#include "bft/engine.h"
#include "bft/messages.h"

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

namespace weft::refchain::bft::sim {

// splitmix64: tiny, fast and the same on every platform (std distributions are not).
class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

private:
  uint64_t s_;
};

// A toy replicated application. Block payload: height u64 | parent 32 | proposer u32 | timestamp u64 | u32 count |
// tx ids (u64 each); hash = SHA-256(payload). Everything it holds is "durable": it survives an engine crash.
class ToyApp : public App {
public:
  struct Block {
    Bytes payload;
    Hash hash{};
    CommitCert cert;
    uint64_t timestamp = 0;
  };
  ToyApp(uint32_t n, uint32_t self) : n_(n), self_(self) {}

  uint64_t height() override { return chain.size(); }
  Hash head_hash() override { return chain.empty() ? genesis() : chain.back().hash; }
  std::optional<BlockCandidate> propose(uint64_t now_ms, bool allow_empty) override;
  std::optional<Hash> validate(ByteView payload, uint64_t now_ms, std::string *why) override;
  void commit(ByteView payload, const Hash &hash, const CommitCert &cert) override;
  std::optional<std::pair<Bytes, CommitCert>> committed_block(uint64_t number) override;
  std::optional<BlockOrigin> block_origin(uint64_t number) override;
  std::optional<Address> payload_proposer(ByteView payload) override;
  void save_engine_state(ByteView state) override {
    engine_state = Bytes(state.begin(), state.end());
    ++saves;
    if (on_save) on_save();
  }
  std::optional<Bytes> load_engine_state() override { return engine_state; }
  bool has_pending() override { return !pending.empty(); }

  static Hash genesis() { return sha256(view("toy genesis")); }
  static Bytes make_block(uint64_t height, const Hash &parent, uint32_t proposer, uint64_t ts,
                          const std::vector<uint64_t> &txs);

  std::vector<Block> chain;
  std::vector<Address> members; // the validators' addresses, in index order (a block names its proposer's index)
  std::set<uint64_t> pending;
  std::optional<Bytes> engine_state;
  uint64_t saves = 0;
  std::function<void()> on_save;

private:
  uint32_t n_, self_;
};

class KeySigner : public Signer {
public:
  explicit KeySigner(uint8_t seed);
  const Address &address() const override { return address_; }
  Signature sign(const Hash &digest) override { return sign_digest(secret_, digest); }
  const SecretKey &secret() const { return secret_; }

private:
  SecretKey secret_{};
  Address address_{};
};

struct Options {
  size_t n = 4;
  uint64_t seed = 1;
  uint64_t tick_ms = 5;
  uint64_t min_delay_ms = 1;
  uint64_t max_delay_ms = 20;
  double loss = 0;
  double duplicate = 0;
  // Tick a validator only when a message reached it this step or its engine's next_tick_ms() has come, as a
  // validator's thread does; otherwise every validator is ticked every step.
  bool tick_on_deadline = false;
  EngineConfig engine; // timing; chain id, validators and self are filled in
};

// Sim-wide defaults: short intervals so a few simulated seconds hold many heights.
EngineConfig fast_config();

class Sim {
public:
  struct Node;
  class NodeNet : public Network {
  public:
    NodeNet(Sim &sim, uint32_t self) : sim_(sim), self_(self) {}
    void broadcast(ByteView message) override;
    void send(uint32_t validator, ByteView message) override;

  private:
    Sim &sim_;
    uint32_t self_;
  };
  struct Node {
    std::unique_ptr<ToyApp> app;
    std::unique_ptr<KeySigner> signer;
    std::unique_ptr<NodeNet> net;
    std::unique_ptr<Engine> engine; // null while crashed
    bool byzantine = false;         // excluded from the safety and double-vote checks
    uint64_t sends = 0;
    uint64_t ticks = 0; // on_tick calls
    std::optional<uint64_t> kill_at_send; // crash right after this many sends (a SIGKILL mid-broadcast)
    bool killed = false;                  // the current engine call happens after its crash: its sends vanish
  };

  explicit Sim(Options options);
  ~Sim();

  size_t n() const { return nodes.size(); }
  uint64_t now() const { return now_; }
  EngineConfig config_of(uint32_t v) const;
  // Runs until `until` (simulated ms) or until stop() returns true (checked every 50 ms).
  void run_until(uint64_t until, const std::function<bool()> &stop = {});
  void crash(uint32_t v);
  void restart(uint32_t v);
  bool up(uint32_t v) const { return nodes[v].engine != nullptr; }
  // Validators in different groups cannot reach each other; an empty partition heals.
  void partition(std::vector<int> group_of) { group_ = std::move(group_of); }
  void heal() { group_.clear(); }
  void add_tx(uint64_t id); // gossiped: every validator's pool gets it
  // Puts a message on the wire from `from` to `to` (a byzantine sender's crafted bytes go through here too).
  void inject(uint32_t from, uint32_t to, Bytes bytes);
  // Honest validators' committed heights.
  uint64_t min_height() const;
  uint64_t max_height() const;
  // Empty when every honest chain is a prefix of one canonical chain and no honest validator signed two different
  // votes of one kind at one (height, round); otherwise what went wrong.
  std::string check_safety(bool verify_certs) const;

  Options opt;
  Rng rng;
  std::vector<Node> nodes;
  std::function<void(uint32_t from, const Bytes &bytes)> on_send; // every message an engine sends
  // When set and false for a message an engine sends to `to`, the message is withheld (a byzantine filter).
  std::function<bool(uint32_t from, uint32_t to, const Bytes &bytes)> pass;
  std::vector<std::string> violations;

private:
  struct Event {
    uint64_t time;
    uint64_t seq;
    uint32_t to;
    Bytes bytes;
    bool operator>(const Event &o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  void enqueue(uint32_t from, uint32_t to, ByteView bytes);
  void observe(uint32_t from, ByteView bytes);
  void after_call(uint32_t v);

  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  std::vector<int> group_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::map<std::tuple<int, uint32_t, uint64_t, uint32_t>, Hash> votes_seen_; // (type, validator, h, r) -> hash
};

} // namespace weft::refchain::bft::sim
