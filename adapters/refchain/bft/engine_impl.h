// The engine's internals, shared by its translation units: engine.cpp (messages in, proposal, prepare, commit),
// round_change.cpp (timeouts, round changes, justified proposals) and sync.cpp (status and block sync).
#pragma once

#include <deque>
#include <map>

#include "engine.h"
#include "messages.h"
#include "proposer_choice.h"
#include "vote_state.h"

namespace weft::refchain::bft {

struct Vote {
  Hash hash{};
  Signature signature{};
};

// The PREPAREs and COMMITs seen for one round of the current height, one per validator.
struct RoundVotes {
  std::map<uint32_t, Vote> prepares;
  std::map<uint32_t, Vote> commits;
};

struct Engine::Impl {
  Impl(EngineConfig c, App &a, Network &nw, Signer &s, Logger l);

  // engine.cpp
  bool handle(ByteView bytes, uint64_t now);
  bool dispatch(uint32_t from, Message &m, uint64_t now);
  bool on_proposal(uint32_t from, Message &m, uint64_t now);
  bool on_vote(uint32_t from, const Message &m, uint64_t now);
  void try_prepared(uint32_t round, uint64_t now);
  void try_commit(uint32_t round, const Hash &hash, uint64_t now);
  void send_proposal(BlockCandidate block, std::vector<Bytes> justification, uint64_t now);
  void send_vote(MessageType type, const Hash &hash);
  void enter_height(uint64_t now);
  void drain_buffered(uint64_t now);
  void persist();
  void broadcast(Message &m, bool resend);
  std::optional<uint32_t> signer_of(const Hash &digest, const Signature &sig);
  // Round 0's proposer is chosen from recent blocks (proposer_choice.h); later rounds rotate on from it.
  uint32_t proposer(uint32_t round) const { return static_cast<uint32_t>((designated + uint64_t(round)) % n); }
  void choose_proposer();
  bool drop(const std::string &why);
  void note(int level, const std::string &message) const;

  // round_change.cpp
  void tick(uint64_t now);
  uint64_t next_tick() const;
  // This validator may propose round 0's block when it is due (its turn, nothing proposed or voted yet).
  bool may_propose_round0() const;
  // This validator leads a later round and waits for the round changes that justify its proposal.
  bool awaits_round_changes() const;
  uint64_t round_deadline() const;
  void enter_round(uint32_t round, uint64_t now);
  void send_round_change(uint32_t round, uint64_t now);
  bool on_round_change(uint32_t from, Message &m, uint64_t now);
  void check_round_changes(uint64_t now);
  void propose_justified(uint64_t now);
  bool valid_prepared(const PreparedCert &cert, uint32_t below_round);
  struct Justified {
    bool ok = false;
    std::optional<PreparedCert> highest;
  };
  Justified check_justification(const Message &proposal);

  // sync.cpp
  bool on_status(uint32_t from, const Message &m, uint64_t now);
  bool on_sync_request(uint32_t from, const Message &m);
  bool on_sync_response(uint32_t from, const Message &m, uint64_t now);
  void note_peer_height(uint32_t from, uint64_t committed, uint64_t now);
  void send_status(uint64_t now);

  EngineConfig cfg;
  App &app;
  Network &net;
  Signer &signer;
  Logger log;
  size_t n, q, f;
  EngineStatus st;
  bool started = false;
  uint64_t clock = 0; // the time of the host's current call
  bool mute = false;  // the saved votes were unreadable: send no vote until this height commits

  // The height being decided (app.height() + 1) and where this validator stands in it.
  uint64_t height = 0;
  uint32_t round = 0;
  uint64_t round_started = 0;
  uint64_t last_commit = 0;
  std::optional<uint64_t> pending_since; // when this validator first saw transactions wait at this height
  // Pacing (local, no agreement needed): a proposal with transactions waits until block_interval_ms after the
  // previous height's proposal was first seen here, unless nothing was left waiting when that block committed.
  std::optional<uint64_t> proposal_seen; // when this validator first sent or accepted a proposal at this height
  uint64_t pace_from = 0;
  bool backlog = true; // transactions were waiting when the last block committed (or this validator just started)
  VoteState votes;                       // persisted before every vote leaves
  std::optional<Hash> proposal;          // the proposal accepted in the current round
  std::map<Hash, Bytes> blocks;          // payloads validated at this height, by hash
  std::map<uint32_t, RoundVotes> rounds;
  std::map<uint32_t, Message> round_changes; // each validator's latest ROUND-CHANGE at this height
  std::vector<Bytes> sent;                   // this round's own messages, re-sent while the round is stuck
  uint64_t last_resend = 0;

  // Messages for the next height, kept until this one commits (the proposer of h+1 is often one step ahead).
  struct Buffered {
    uint32_t from;
    Message message;
  };
  std::deque<Buffered> buffered;
  size_t buffered_bytes = 0;
  bool height_changed = false;

  // The round-0 proposer choice: recent committed blocks' origins, oldest first, from height history_first.
  std::deque<BlockMeta> history;
  uint64_t history_first = 1;
  uint32_t designated = 0;

  // Block sync.
  std::vector<uint64_t> peer_heights; // last committed height each validator announced
  uint64_t last_status = 0;
  uint64_t last_sync_request = 0;
  bool sync_requested = false;
  uint64_t sync_rotation = 0; // which of the peers ahead the next request goes to
};

} // namespace weft::refchain::bft
