// Timeouts, ROUND-CHANGE, and the proposals that start a round: round 0 when a block is due, later rounds with the
// quorum of round changes that justifies them.
#include "engine_impl.h"

#include <algorithm>
#include <limits>
#include <set>

#include "../error.h"

namespace weft::refchain::bft {

namespace {
// How soon a later round's proposer looks at its round changes again while it waits for a quorum of them.
constexpr uint64_t kRoundChangeRecheckMs = 2;
} // namespace

uint64_t Engine::Impl::round_deadline() const {
  uint64_t timeout = cfg.round_timeout_ms << std::min<uint32_t>(round, 6);
  if (round > 0) return round_started + timeout;
  // Round 0 starts when its block is due: followers cannot see the proposer's pool, but transactions are gossiped,
  // so their own pool tells them when a block with transactions is due; an empty block is due in any case.
  uint64_t due = last_commit + cfg.empty_block_interval_ms;
  if (pending_since) due = std::min(due, std::max(last_commit + cfg.block_interval_ms, *pending_since));
  return due + timeout;
}

void Engine::Impl::tick(uint64_t now) {
  if (!started) return;
  clock = now;
  if (now >= last_status + cfg.status_interval_ms) send_status(now);
  if (!pending_since && app.has_pending()) pending_since = now;

  if (may_propose_round0()) {
    // Blocks are paced from the previous block's start, not its commit, so consensus time counts towards the
    // interval; and a transaction that finds nothing waiting before it (an idle chain, or the next step of a
    // sequence that waited for the previous commit) is proposed at once.
    bool pending = app.has_pending() && (!backlog || now >= pace_from + cfg.block_interval_ms);
    bool empty_due = now >= last_commit + cfg.empty_block_interval_ms;
    if (pending || empty_due) {
      if (auto block = app.propose(now, empty_due)) send_proposal(std::move(*block), {}, now);
    }
  }
  if (awaits_round_changes()) check_round_changes(now);

  if (now >= round_deadline()) {
    note(1, "round timed out");
    send_round_change(round + 1, now);
    return;
  }
  // Messages may be lost: while a round is stuck, say again what this validator said in it.
  if (!sent.empty() && now >= last_resend + cfg.round_timeout_ms) {
    last_resend = now;
    for (const auto &m : sent)
      net.broadcast(m);
  }
}

bool Engine::Impl::may_propose_round0() const {
  return round == 0 && !mute && proposer(0) == cfg.self && !proposal && !votes.prepare;
}

bool Engine::Impl::awaits_round_changes() const {
  return round > 0 && proposer(round) == cfg.self && !proposal;
}

uint64_t Engine::Impl::next_tick() const {
  // Mirrors tick(): each of its branches that waits for the clock contributes the time it waits for.
  if (!started) return clock;
  const bool pending = app.has_pending();
  if (pending && !pending_since) return clock; // tick records when transactions started to wait
  uint64_t t = std::min(last_status + cfg.status_interval_ms, round_deadline());
  if (may_propose_round0()) {
    t = std::min(t, last_commit + cfg.empty_block_interval_ms);
    if (pending) t = std::min(t, backlog ? pace_from + cfg.block_interval_ms : clock);
  }
  // A later round's proposer looks at the round changes it holds; they come by message, but look again soon.
  if (awaits_round_changes()) t = std::min(t, clock + kRoundChangeRecheckMs);
  if (!sent.empty()) t = std::min(t, last_resend + cfg.round_timeout_ms);
  return t;
}

void Engine::Impl::enter_round(uint32_t r, uint64_t now) {
  if (r <= round) return;
  ++st.round_changes;
  round = r;
  st.round = r;
  round_started = now;
  last_resend = now;
  proposal.reset();
  sent.clear();
  votes.round = r;
  votes.prepare.reset();
  votes.commit.reset();
  for (auto it = rounds.begin(); it != rounds.end();)
    it = it->first + 8 < r ? rounds.erase(it) : std::next(it);
}

void Engine::Impl::send_round_change(uint32_t r, uint64_t now) {
  enter_round(r, now);
  if (mute) return;
  persist();
  Message m;
  m.type = MessageType::RoundChange;
  m.height = height;
  m.round = round;
  m.prepared = votes.prepared;
  if (votes.prepared) m.payload = votes.prepared_payload;
  broadcast(m, true);
  round_changes[cfg.self] = std::move(m);
  check_round_changes(now);
}

bool Engine::Impl::valid_prepared(const PreparedCert &cert, uint32_t below_round) {
  if (cert.round >= below_round) return false;
  Hash digest = prepare_digest(cfg.chain_id, height, cert.round, cert.hash);
  std::set<uint32_t> signers;
  for (const auto &sig : cert.prepares) {
    auto v = signer_of(digest, sig);
    if (!v) return false;
    signers.insert(*v);
  }
  return signers.size() >= q;
}

bool Engine::Impl::on_round_change(uint32_t from, Message &m, uint64_t now) {
  if (m.round == 0) return drop("round change to round 0");
  if (m.round < round) return true;
  if (auto it = round_changes.find(from); it != round_changes.end() && it->second.round >= m.round) return true;
  if (m.prepared && !valid_prepared(*m.prepared, m.round)) return drop("round change with a bad prepared certificate");
  round_changes[from] = std::move(m);
  check_round_changes(now);
  return true;
}

void Engine::Impl::check_round_changes(uint64_t now) {
  // f+1 validators in later rounds include an honest one: follow to the lowest of them rather than wait.
  std::vector<uint32_t> ahead;
  for (const auto &[v, rc] : round_changes)
    if (rc.round > round) ahead.push_back(rc.round);
  if (ahead.size() >= f + 1) {
    send_round_change(*std::min_element(ahead.begin(), ahead.end()), now);
    return;
  }
  if (round > 0 && proposer(round) == cfg.self && !proposal && !mute && !votes.prepare) propose_justified(now);
}

void Engine::Impl::propose_justified(uint64_t now) {
  std::vector<const Message *> rcs;
  for (const auto &[v, rc] : round_changes)
    if (rc.round == round) rcs.push_back(&rc);
  if (rcs.size() < q) return;
  const PreparedCert *highest = nullptr;
  for (const Message *rc : rcs)
    if (rc->prepared && (!highest || rc->prepared->round > highest->round)) highest = &*rc->prepared;
  std::optional<BlockCandidate> block;
  if (highest) {
    // Re-propose the block of the highest prepared round; any round change that carries it will do, as long as the
    // payload really is that block.
    for (const Message *rc : rcs) {
      if (!rc->prepared || rc->prepared->hash != highest->hash || rc->payload.empty()) continue;
      std::string why;
      auto h = app.validate(rc->payload, now, &why);
      if (h && *h == highest->hash) {
        block = BlockCandidate{*h, rc->payload};
        break;
      }
    }
    if (!block) {
      note(2, "no valid payload for the prepared block; waiting for the next round");
      return;
    }
  } else {
    block = app.propose(now, true);
    if (!block) return;
  }
  std::vector<Bytes> justification;
  for (const Message *rc : rcs)
    justification.push_back(rc->encode(false));
  send_proposal(std::move(*block), std::move(justification), now);
}

Engine::Impl::Justified Engine::Impl::check_justification(const Message &proposal) {
  Justified out;
  std::set<uint32_t> signers;
  std::vector<PreparedCert> prepared;
  for (const auto &bytes : proposal.justification) {
    Message rc;
    try {
      rc = Message::decode(bytes, cfg.max_message_bytes);
    } catch (const Error &) {
      return out;
    }
    if (rc.type != MessageType::RoundChange || rc.chain_id != cfg.chain_id || rc.height != height ||
        rc.round != proposal.round)
      return out;
    auto v = signer_of(rc.digest(), rc.signature);
    if (!v || !signers.insert(*v).second) return out;
    if (rc.prepared) {
      if (!valid_prepared(*rc.prepared, rc.round)) return out;
      prepared.push_back(std::move(*rc.prepared));
    }
  }
  if (signers.size() < q) return out;
  for (auto &p : prepared) {
    if (!out.highest || p.round > out.highest->round) {
      out.highest = std::move(p);
    } else if (p.round == out.highest->round && p.hash != out.highest->hash) {
      return out; // two quorums prepared different blocks in one round: impossible with at most f faulty
    }
  }
  out.ok = true;
  return out;
}

} // namespace weft::refchain::bft
