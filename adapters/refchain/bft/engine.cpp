// Messages in; PROPOSAL, PREPARE and COMMIT within a round; moving to the next height.
#include "engine_impl.h"

#include <algorithm>

#include "../error.h"

namespace weft::refchain::bft {
namespace {
constexpr uint32_t kRoundsBehind = 8; // older rounds' votes are forgotten (round changes carry what matters)
constexpr uint32_t kRoundsAhead = 64; // votes for rounds further ahead are not kept
constexpr size_t kMaxBuffered = 256;  // next-height messages kept until this height commits
constexpr size_t kMaxBufferedBytes = 64u << 20;
constexpr uint64_t kBenchRounds = 16; // a first bench lasts this many round timeouts of chain time

std::string short_hash(const Hash &h) {
  return to_hex(ByteView(h.data(), 4));
}
} // namespace

Engine::Impl::Impl(EngineConfig c, App &a, Network &nw, Signer &s, Logger l)
    : cfg(std::move(c)), app(a), net(nw), signer(s), log(std::move(l)) {
  n = cfg.validators.size();
  if (n == 0) throw Error(WEFT_E_INVALID_ARGUMENT, "the validator set is empty");
  if (cfg.self >= n) throw Error(WEFT_E_INVALID_ARGUMENT, "self is not an index of the validator set");
  if (cfg.validators[cfg.self] != signer.address())
    throw Error(WEFT_E_INVALID_ARGUMENT, "the signer's address is not validator " + std::to_string(cfg.self));
  q = quorum(n);
  f = (n - 1) / 3;
  peer_heights.assign(n, 0);
}

void Engine::Impl::note(int level, const std::string &message) const {
  if (log)
    log(level, "bft[" + std::to_string(cfg.self) + "] h=" + std::to_string(height) + " r=" + std::to_string(round) +
                   ": " + message);
}

bool Engine::Impl::drop(const std::string &why) {
  ++st.dropped_messages;
  note(1, "dropped message: " + why);
  return false;
}

void Engine::Impl::persist() {
  app.save_engine_state(votes.encode());
}

// Recovery remembers its answers for the process (crypto.h): a vote seen again, in a round change or from another
// validator of the same process, costs a lookup.
std::optional<uint32_t> Engine::Impl::signer_of(const Hash &digest, const Signature &sig) {
  Address a;
  try {
    a = address_of(recover_signer(digest, sig));
  } catch (const Error &) {
    return std::nullopt;
  }
  auto it = std::find(cfg.validators.begin(), cfg.validators.end(), a);
  if (it == cfg.validators.end()) return std::nullopt;
  return static_cast<uint32_t>(it - cfg.validators.begin());
}

void Engine::Impl::broadcast(Message &m, bool resend) {
  m.chain_id = cfg.chain_id;
  sign_message(m, signer);
  Bytes bytes = m.encode();
  net.broadcast(bytes);
  if (resend) {
    sent.push_back(std::move(bytes));
    last_resend = clock;
  }
}

bool Engine::Impl::handle(ByteView bytes, uint64_t now) {
  if (!started) return false;
  clock = now;
  if (bytes.size() > cfg.max_message_bytes)
    return drop("oversized message of " + std::to_string(bytes.size()) + " bytes");
  Message m;
  try {
    m = Message::decode(bytes, cfg.max_message_bytes);
  } catch (const Error &e) {
    return drop(std::string("malformed: ") + e.what());
  }
  if (m.chain_id != cfg.chain_id) return drop("for chain " + std::to_string(m.chain_id));
  auto from = signer_of(m.digest(), m.signature);
  if (!from) return drop("not signed by a validator");
  if (*from == cfg.self) return true; // our own message echoed back
  bool ok = dispatch(*from, m, now);
  drain_buffered(now);
  return ok;
}

bool Engine::Impl::dispatch(uint32_t from, Message &m, uint64_t now) {
  switch (m.type) {
  case MessageType::Status:
    return on_status(from, m, now);
  case MessageType::SyncRequest:
    return on_sync_request(from, m);
  case MessageType::SyncResponse:
    return on_sync_response(from, m, now);
  default:
    break;
  }
  if (m.height < height) return true; // an old height: harmless, the sender catches up by sync
  if (m.height > height) {
    // A message for height h+1 means its sender committed h; further ahead means we are behind and need sync.
    note_peer_height(from, m.height - 1, now);
    if (m.height == height + 1 && buffered.size() < kMaxBuffered &&
        buffered_bytes + m.payload.size() <= kMaxBufferedBytes) {
      buffered_bytes += m.payload.size();
      buffered.push_back({from, std::move(m)});
    }
    return true;
  }
  switch (m.type) {
  case MessageType::Proposal:
    return on_proposal(from, m, now);
  case MessageType::Prepare:
  case MessageType::Commit:
    return on_vote(from, m, now);
  case MessageType::RoundChange:
    return on_round_change(from, m, now);
  default:
    return true;
  }
}

void Engine::Impl::drain_buffered(uint64_t now) {
  while (height_changed) {
    height_changed = false;
    std::deque<Buffered> pending;
    pending.swap(buffered);
    buffered_bytes = 0;
    for (auto &b : pending) {
      if (b.message.height < height) continue;
      if (b.message.height > height || height_changed) {
        buffered_bytes += b.message.payload.size();
        buffered.push_back(std::move(b));
        continue;
      }
      dispatch(b.from, b.message, now);
    }
  }
}

bool Engine::Impl::on_proposal(uint32_t from, Message &m, uint64_t now) {
  if (from != proposer(m.round))
    return drop("proposal for round " + std::to_string(m.round) + " from validator " + std::to_string(from) +
                ", not its proposer");
  if (m.round < round) return true; // a round this validator left
  if (m.round == 0 && !m.justification.empty()) return drop("round-0 proposal with a justification");
  if (m.round == round && proposal) {
    if (*proposal == m.hash) return true; // a duplicate
    return drop("proposer " + std::to_string(from) + " proposed two blocks in one round");
  }
  std::optional<PreparedCert> highest;
  if (m.round > 0) {
    Justified j = check_justification(m);
    if (!j.ok) return drop("proposal for round " + std::to_string(m.round) + " without a valid justification");
    highest = std::move(j.highest);
    if (highest && highest->hash != m.hash)
      return drop("proposal drops the block prepared in round " + std::to_string(highest->round));
  }
  // A fresh block names its sender as proposer (a re-proposed one keeps its first proposer's name): the round-0
  // proposer choice counts turns from these names, so a validator must not be able to take another's.
  if (!highest && app.payload_proposer(m.payload) != cfg.validators[from])
    return drop("proposal from validator " + std::to_string(from) + " names another proposer");
  if (votes.round == m.round && votes.prepare && *votes.prepare != m.hash)
    return drop("already voted for another block in round " + std::to_string(m.round));
  std::string why;
  std::optional<Hash> hash = app.validate(m.payload, now, &why);
  if (!hash) return drop("invalid block: " + why);
  if (*hash != m.hash) return drop("proposal's hash is not its block's");
  if (m.round > round) enter_round(m.round, now);
  if (!proposal_seen) proposal_seen = now;
  blocks[m.hash] = std::move(m.payload);
  if (mute) return true;
  proposal = m.hash;
  votes.prepare = m.hash;
  persist();
  send_vote(MessageType::Prepare, m.hash);
  try_prepared(round, now);
  return true;
}

void Engine::Impl::send_proposal(BlockCandidate block, std::vector<Bytes> justification, uint64_t now) {
  if (!proposal_seen) proposal_seen = now;
  proposal = block.hash;
  votes.prepare = block.hash;
  persist(); // a restarted proposer must not propose a second block in this round
  Message m;
  m.type = MessageType::Proposal;
  m.height = height;
  m.round = round;
  m.hash = block.hash;
  m.payload = block.payload;
  m.justification = std::move(justification);
  broadcast(m, true);
  blocks[block.hash] = std::move(block.payload);
  note(0, "proposed " + short_hash(block.hash));
  send_vote(MessageType::Prepare, block.hash);
  try_prepared(round, now);
}

// Sends a vote the caller has already persisted, and counts it like anyone else's.
void Engine::Impl::send_vote(MessageType type, const Hash &hash) {
  Message m;
  m.type = type;
  m.height = height;
  m.round = round;
  m.hash = hash;
  broadcast(m, true);
  auto &rv = rounds[round];
  (type == MessageType::Prepare ? rv.prepares : rv.commits)[cfg.self] = Vote{hash, m.signature};
}

bool Engine::Impl::on_vote(uint32_t from, const Message &m, uint64_t now) {
  if (m.round + kRoundsBehind < round || m.round > round + kRoundsAhead) return true;
  auto &rv = rounds[m.round];
  auto &votes_of = m.type == MessageType::Prepare ? rv.prepares : rv.commits;
  if (auto it = votes_of.find(from); it != votes_of.end()) {
    if (it->second.hash == m.hash) return true; // a duplicate
    ++st.conflicting_votes;
    note(2, "validator " + std::to_string(from) + " sent two different " +
                (m.type == MessageType::Prepare ? "PREPAREs" : "COMMITs") + " in round " + std::to_string(m.round));
    return drop("conflicting vote");
  }
  votes_of[from] = Vote{m.hash, m.signature};
  if (m.type == MessageType::Prepare)
    try_prepared(m.round, now);
  else
    try_commit(m.round, m.hash, now);
  return true;
}

void Engine::Impl::try_prepared(uint32_t r, uint64_t now) {
  if (r != round || !proposal || votes.commit) return;
  const Hash hash = *proposal;
  PreparedCert cert{r, hash, {}};
  for (const auto &[v, vote] : rounds[r].prepares)
    if (vote.hash == hash) cert.prepares.push_back(vote.signature);
  if (cert.prepares.size() < q) return;
  votes.prepared = std::move(cert);
  votes.prepared_payload = blocks[hash];
  votes.commit = hash;
  persist();
  send_vote(MessageType::Commit, hash);
  try_commit(r, hash, now);
}

void Engine::Impl::try_commit(uint32_t r, const Hash &hash, uint64_t now) {
  auto b = blocks.find(hash);
  if (b == blocks.end()) return; // decided elsewhere; block sync brings it
  CommitCert cert{r, {}};
  for (const auto &[v, vote] : rounds[r].commits)
    if (vote.hash == hash) cert.seals.push_back(Seal{v, vote.signature});
  if (cert.seals.size() < q) return;
  app.commit(b->second, hash, cert);
  note(1, "committed " + short_hash(hash) + " in round " + std::to_string(r));
  enter_height(now);
}

void Engine::Impl::choose_proposer() {
  uint64_t top = app.height();
  uint64_t oldest = top >= kChoiceWindow ? top - kChoiceWindow + 1 : 1;
  if (history.empty() || history_first + history.size() <= oldest || history_first + history.size() > top + 1) {
    history.clear();
    history_first = oldest;
  }
  for (uint64_t h = history_first + history.size(); h <= top; ++h) {
    BlockMeta m{static_cast<uint32_t>(n), history.empty() ? 0 : history.back().timestamp_ms};
    if (auto origin = app.block_origin(h)) {
      auto it = std::find(cfg.validators.begin(), cfg.validators.end(), origin->proposer);
      m.proposer = static_cast<uint32_t>(it - cfg.validators.begin());
      m.timestamp_ms = origin->timestamp_ms;
    }
    history.push_back(m);
  }
  while (history.size() > kChoiceWindow) {
    history.pop_front();
    ++history_first;
  }
  designated = round0_proposer(static_cast<uint32_t>(n), history_first, history, kBenchRounds * cfg.round_timeout_ms);
}

void Engine::Impl::enter_height(uint64_t now) {
  st.height = app.height();
  height = st.height + 1;
  choose_proposer();
  round = 0;
  round_started = now;
  last_commit = now;
  pending_since.reset();
  pace_from = proposal_seen.value_or(now);
  proposal_seen.reset();
  backlog = app.has_pending();
  votes = VoteState{height, 0, {}, {}, {}, {}};
  proposal.reset();
  blocks.clear();
  rounds.clear();
  round_changes.clear();
  sent.clear();
  last_resend = now;
  mute = false;
  height_changed = true;
}

Engine::Engine(EngineConfig config, App &app, Network &net, Signer &signer, Logger log)
    : impl_(std::make_unique<Impl>(std::move(config), app, net, signer, std::move(log))) {}

Engine::~Engine() = default;

void Engine::start(uint64_t now_ms) {
  Impl &e = *impl_;
  e.clock = now_ms;
  e.enter_height(now_ms);
  e.height_changed = false;
  e.pace_from = now_ms; // a validator that just started paces its first block: its peers may still be linking
  e.backlog = true;
  e.started = true;
  std::optional<Bytes> saved = e.app.load_engine_state();
  if (saved) {
    try {
      VoteState s = VoteState::decode(*saved);
      if (s.height == e.height) {
        e.votes = std::move(s);
        e.round = e.votes.round;
        if (e.votes.prepared) e.blocks[e.votes.prepared->hash] = e.votes.prepared_payload;
      }
    } catch (const Error &err) {
      // Our votes at this height are unknown, so any vote could contradict one already sent: stay silent until
      // the others commit this height (a commit quorum or block sync needs no vote of ours).
      e.mute = true;
      e.note(3, std::string("unreadable engine state, not voting at this height: ") + err.what());
    }
  }
  e.st.round = e.round;
  e.note(1, "started");
  if (e.round > 0 && !e.votes.prepare) e.send_round_change(e.round, now_ms);
  e.send_status(now_ms);
}

bool Engine::on_message(ByteView message, uint64_t now_ms) {
  try {
    return impl_->handle(message, now_ms);
  } catch (const std::exception &e) {
    // The application may refuse a block in ways validate did not foresee; never let that escape to the host.
    impl_->note(3, std::string("message handling failed: ") + e.what());
    ++impl_->st.dropped_messages;
    return false;
  }
}

void Engine::on_tick(uint64_t now_ms) {
  try {
    impl_->tick(now_ms);
    impl_->drain_buffered(now_ms);
  } catch (const std::exception &e) {
    impl_->note(3, std::string("tick failed: ") + e.what());
  }
}

uint64_t Engine::next_tick_ms() const {
  try {
    return impl_->next_tick();
  } catch (const std::exception &) {
    return impl_->clock; // the application failed to answer: tick now, where the failure is reported
  }
}

EngineStatus Engine::status() const {
  EngineStatus s = impl_->st;
  s.round = impl_->round;
  s.proposer = impl_->proposer(impl_->round);
  return s;
}

} // namespace weft::refchain::bft
