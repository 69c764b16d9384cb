#include "refchain_bft_sim.h"

#include "error.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace weft::refchain::bft::sim {

namespace {
constexpr uint64_t kClockDrift = 1000;

struct ToyBlock {
  uint64_t height = 0;
  Hash parent{};
  uint32_t proposer = 0;
  uint64_t timestamp = 0;
  std::vector<uint64_t> txs;
};

ToyBlock decode_toy(ByteView payload) {
  Reader r(payload);
  ToyBlock b;
  b.height = r.u64("height");
  b.parent = r.fixed<32>("parent");
  b.proposer = r.u32("proposer");
  b.timestamp = r.u64("timestamp");
  uint32_t count = r.u32("tx count");
  if (count > 16) throw DecodeError("too many txs");
  for (uint32_t i = 0; i < count; ++i)
    b.txs.push_back(r.u64("tx"));
  r.expect_end("toy block");
  return b;
}
} // namespace

Bytes ToyApp::make_block(uint64_t height, const Hash &parent, uint32_t proposer, uint64_t ts,
                         const std::vector<uint64_t> &txs) {
  Writer w;
  w.u64(height);
  w.raw(parent);
  w.u32(proposer);
  w.u64(ts);
  w.u32(static_cast<uint32_t>(txs.size()));
  for (uint64_t t : txs)
    w.u64(t);
  return w.take();
}

std::optional<BlockCandidate> ToyApp::propose(uint64_t now_ms, bool allow_empty) {
  if (pending.empty() && !allow_empty) return std::nullopt;
  std::vector<uint64_t> txs;
  for (uint64_t t : pending) {
    if (txs.size() == 3) break;
    txs.push_back(t);
  }
  uint64_t parent_ts = chain.empty() ? 0 : chain.back().timestamp;
  Bytes p = make_block(height() + 1, head_hash(), self_, std::max(now_ms, parent_ts + 1), txs);
  Hash h = sha256(p);
  return BlockCandidate{h, std::move(p)};
}

std::optional<Hash> ToyApp::validate(ByteView payload, uint64_t now_ms, std::string *why) {
  auto fail = [&](const char *reason) -> std::optional<Hash> {
    if (why) *why = reason;
    return std::nullopt;
  };
  ToyBlock b;
  try {
    b = decode_toy(payload);
  } catch (const Error &) {
    return fail("undecodable block");
  }
  if (b.height != height() + 1) return fail("wrong height");
  if (b.parent != head_hash()) return fail("wrong parent");
  if (b.proposer >= n_) return fail("proposer not a member");
  uint64_t parent_ts = chain.empty() ? 0 : chain.back().timestamp;
  if (b.timestamp <= parent_ts) return fail("timestamp not after the parent's");
  if (b.timestamp > now_ms + kClockDrift) return fail("timestamp in the future");
  return sha256(payload);
}

void ToyApp::commit(ByteView payload, const Hash &hash, const CommitCert &cert) {
  ToyBlock b = decode_toy(payload);
  if (b.height != height() + 1 || b.parent != head_hash() || sha256(payload) != hash)
    throw Error(WEFT_E_INTERNAL, "commit of a block that does not extend the chain");
  for (uint64_t t : b.txs)
    pending.erase(t);
  chain.push_back(Block{Bytes(payload.begin(), payload.end()), hash, cert, b.timestamp});
}

std::optional<std::pair<Bytes, CommitCert>> ToyApp::committed_block(uint64_t number) {
  if (number == 0 || number > chain.size()) return std::nullopt;
  const Block &b = chain[number - 1];
  return std::make_pair(b.payload, b.cert);
}

std::optional<BlockOrigin> ToyApp::block_origin(uint64_t number) {
  if (number == 0 || number > chain.size()) return std::nullopt;
  const Block &b = chain[number - 1];
  uint32_t proposer = decode_toy(b.payload).proposer;
  return BlockOrigin{proposer < members.size() ? members[proposer] : Address{}, b.timestamp};
}

std::optional<Address> ToyApp::payload_proposer(ByteView payload) {
  try {
    uint32_t proposer = decode_toy(payload).proposer;
    if (proposer < members.size()) return members[proposer];
  } catch (const Error &) {
  }
  return std::nullopt;
}

KeySigner::KeySigner(uint8_t seed) {
  secret_.fill(seed);
  address_ = address_of(public_key_of(secret_));
}

EngineConfig fast_config() {
  EngineConfig c;
  c.chain_id = 77;
  c.block_interval_ms = 20;
  c.empty_block_interval_ms = 150;
  c.round_timeout_ms = 100;
  c.status_interval_ms = 400;
  c.max_sync_blocks = 8;
  c.max_message_bytes = 1 << 20;
  return c;
}

void Sim::NodeNet::broadcast(ByteView message) {
  for (uint32_t v = 0; v < sim_.n(); ++v)
    if (v != self_) send(v, message);
}

void Sim::NodeNet::send(uint32_t validator, ByteView message) {
  Node &me = sim_.nodes[self_];
  if (me.killed) return;
  if (sim_.pass && !sim_.pass(self_, validator, Bytes(message.begin(), message.end()))) return;
  ++me.sends;
  sim_.observe(self_, message);
  sim_.enqueue(self_, validator, message);
  if (me.kill_at_send && me.sends >= *me.kill_at_send) me.killed = true;
}

Sim::Sim(Options options) : opt(std::move(options)), rng(opt.seed) {
  nodes.resize(opt.n);
  for (uint32_t v = 0; v < opt.n; ++v) {
    nodes[v].app = std::make_unique<ToyApp>(static_cast<uint32_t>(opt.n), v);
    nodes[v].signer = std::make_unique<KeySigner>(static_cast<uint8_t>(v + 1));
    nodes[v].net = std::make_unique<NodeNet>(*this, v);
  }
  for (auto &node : nodes)
    for (const auto &other : nodes)
      node.app->members.push_back(other.signer->address());
  for (uint32_t v = 0; v < opt.n; ++v)
    restart(v);
}

Sim::~Sim() = default;

EngineConfig Sim::config_of(uint32_t v) const {
  EngineConfig c = opt.engine;
  c.validators.clear();
  for (const auto &node : nodes)
    c.validators.push_back(node.signer->address());
  c.self = v;
  return c;
}

void Sim::crash(uint32_t v) {
  nodes[v].engine.reset();
  nodes[v].killed = false;
  nodes[v].kill_at_send.reset();
}

void Sim::restart(uint32_t v) {
  Node &node = nodes[v];
  Logger log;
  if (std::getenv("WEFT_BFT_LOG"))
    log = [this](int level, const std::string &m) {
      if (level >= 1) std::cerr << "[" << now_ << "] " << m << "\n";
    };
  node.engine = std::make_unique<Engine>(config_of(v), *node.app, *node.net, *node.signer, log);
  node.engine->start(now_);
  after_call(v);
}

void Sim::after_call(uint32_t v) {
  if (nodes[v].killed) crash(v);
}

void Sim::add_tx(uint64_t id) {
  for (auto &node : nodes)
    node.app->pending.insert(id);
}

void Sim::inject(uint32_t from, uint32_t to, Bytes bytes) {
  enqueue(from, to, bytes);
}

void Sim::enqueue(uint32_t from, uint32_t to, ByteView bytes) {
  if (!group_.empty() && group_[from] != group_[to]) return;
  if (rng.chance(opt.loss)) return;
  int copies = rng.chance(opt.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i)
    queue_.push(
        Event{now_ + rng.range(opt.min_delay_ms, opt.max_delay_ms), seq_++, to, Bytes(bytes.begin(), bytes.end())});
}

void Sim::observe(uint32_t from, ByteView bytes) {
  if (on_send) on_send(from, Bytes(bytes.begin(), bytes.end()));
  if (nodes[from].byzantine) return;
  Message m;
  try {
    m = Message::decode(bytes, opt.engine.max_message_bytes);
  } catch (const Error &e) {
    violations.push_back("validator " + std::to_string(from) + " sent an undecodable message: " + e.what());
    return;
  }
  if (m.type != MessageType::Proposal && m.type != MessageType::Prepare && m.type != MessageType::Commit) return;
  auto key = std::make_tuple(static_cast<int>(m.type), from, m.height, m.round);
  auto [it, fresh] = votes_seen_.emplace(key, m.hash);
  if (!fresh && it->second != m.hash)
    violations.push_back("validator " + std::to_string(from) + " signed two different votes of type " +
                         std::to_string(static_cast<int>(m.type)) + " at height " + std::to_string(m.height) +
                         " round " + std::to_string(m.round));
}

void Sim::run_until(uint64_t until, const std::function<bool()> &stop) {
  while (now_ < until) {
    now_ += opt.tick_ms;
    std::vector<bool> got(n(), false);
    while (!queue_.empty() && queue_.top().time <= now_) {
      Event e = queue_.top();
      queue_.pop();
      if (!up(e.to)) continue;
      nodes[e.to].engine->on_message(e.bytes, now_);
      got[e.to] = true;
      after_call(e.to);
    }
    for (uint32_t v = 0; v < n(); ++v) {
      if (!up(v)) continue;
      if (opt.tick_on_deadline && !got[v] && nodes[v].engine->next_tick_ms() > now_) continue;
      nodes[v].engine->on_tick(now_);
      ++nodes[v].ticks;
      after_call(v);
    }
    if (stop && now_ % 50 == 0 && stop()) return;
  }
}

uint64_t Sim::min_height() const {
  uint64_t h = UINT64_MAX;
  for (const auto &node : nodes)
    if (!node.byzantine) h = std::min<uint64_t>(h, node.app->chain.size());
  return h == UINT64_MAX ? 0 : h;
}

uint64_t Sim::max_height() const {
  uint64_t h = 0;
  for (const auto &node : nodes)
    if (!node.byzantine) h = std::max<uint64_t>(h, node.app->chain.size());
  return h;
}

std::string Sim::check_safety(bool verify_certs) const {
  if (!violations.empty()) return violations.front();
  std::vector<Hash> canon;
  EngineConfig c = config_of(0);
  for (uint32_t v = 0; v < n(); ++v) {
    const auto &node = nodes[v];
    if (node.byzantine) continue;
    for (size_t i = 0; i < node.app->chain.size(); ++i) {
      const auto &b = node.app->chain[i];
      if (i < canon.size()) {
        if (canon[i] != b.hash)
          return "validator " + std::to_string(v) + " committed a different block at height " + std::to_string(i + 1);
      } else {
        canon.push_back(b.hash);
      }
      std::string why;
      if (verify_certs && !verify_commit_cert(c.chain_id, c.validators, i + 1, b.hash, b.cert, &why))
        return "validator " + std::to_string(v) + " holds a bad certificate at height " + std::to_string(i + 1) + ": " +
               why;
    }
  }
  return {};
}

} // namespace weft::refchain::bft::sim
