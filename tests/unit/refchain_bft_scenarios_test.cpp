// Named fault scenarios of the BFT engine in the simulator, each asserting what an operator would observe: heights,
// identical hashes, counters of dropped and conflicting messages, and the votes a restarted validator still holds.
#include "bft/vote_state.h"
#include "refchain_bft_sim.h"

#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::bft;
using namespace weft::refchain::bft::sim;

namespace {

Options options(size_t n, uint64_t seed) {
  Options o;
  o.n = n;
  o.seed = seed;
  o.max_delay_ms = 15;
  o.engine = fast_config();
  return o;
}

uint64_t height_of(const Sim &sim, uint32_t v) {
  return sim.nodes[v].app->chain.size();
}

uint64_t min_up_height(const Sim &sim) {
  uint64_t h = UINT64_MAX;
  for (uint32_t v = 0; v < sim.n(); ++v)
    if (sim.up(v) && !sim.nodes[v].byzantine) h = std::min(h, height_of(sim, v));
  return h;
}

// Validator v is down while the others commit; returns their height once v is more than five blocks behind.
uint64_t fall_behind(Sim &sim, uint32_t v) {
  sim.run_until(300);
  sim.crash(v);
  sim.run_until(3000);
  uint64_t others = min_up_height(sim);
  REQUIRE(others > height_of(sim, v) + 5);
  return others;
}

// A message from validator `from` (any key it holds), signed and encoded.
Bytes signed_bytes(Message m, Signer &signer, uint64_t chain_id = 77) {
  m.chain_id = chain_id;
  sign_message(m, signer);
  return m.encode();
}

Message vote(MessageType type, uint64_t h, uint32_t r, const Hash &hash) {
  Message m;
  m.type = type;
  m.height = h;
  m.round = r;
  m.hash = hash;
  return m;
}

} // namespace

TEST_CASE("a single validator commits alone, transactions included") {
  Sim sim(options(1, 1));
  sim.add_tx(42);
  sim.run_until(1000);
  CHECK(height_of(sim, 0) >= 3);
  CHECK(sim.nodes[0].app->pending.empty());
  CHECK(sim.check_safety(true) == "");
}

TEST_CASE("four validators commit every pending transaction on one chain with valid certificates") {
  Sim sim(options(4, 2));
  for (uint64_t i = 0; i < 12; ++i)
    sim.add_tx(i);
  sim.run_until(2000);
  CHECK(sim.min_height() >= 5);
  for (auto &node : sim.nodes)
    CHECK(node.app->pending.empty());
  CHECK(sim.check_safety(true) == "");
  for (auto &node : sim.nodes)
    CHECK(node.engine->status().round_changes == 0);
}

namespace {

// The next height's leader crashes: the others replace it by a round change and go on committing.
void check_leader_replaced(Sim &sim) {
  sim.run_until(500, [&] { return sim.min_height() >= 2; });
  uint64_t h = sim.max_height() + 1;
  uint32_t leader = static_cast<uint32_t>(h % 4);
  sim.crash(leader);
  uint64_t before = min_up_height(sim);
  sim.run_until(sim.now() + 4000);
  CHECK(min_up_height(sim) >= before + 4);
  uint64_t changes = 0;
  for (uint32_t v = 0; v < 4; ++v)
    if (v != leader) changes += sim.nodes[v].engine->status().round_changes;
  CHECK(changes > 0);
  CHECK(sim.check_safety(true) == "");
}

// Validator 3 falls behind while down, then catches up by block sync to the others' hashes.
void check_catch_up(Sim &sim) {
  uint64_t others = fall_behind(sim, 3);
  sim.restart(3);
  sim.run_until(sim.now() + 3000, [&] { return height_of(sim, 3) >= others + 2; });
  CHECK(height_of(sim, 3) >= others + 2);
  CHECK(sim.nodes[3].engine->status().synced_blocks > 0);
  CHECK(sim.check_safety(true) == "");
  for (uint64_t i = 0; i < others; ++i)
    CHECK(sim.nodes[3].app->chain[i].hash == sim.nodes[0].app->chain[i].hash);
}

} // namespace

TEST_CASE("a crashed leader is replaced by a round change and blocks keep committing") {
  Sim sim(options(4, 3));
  check_leader_replaced(sim);
}

TEST_CASE("a validator down for a while catches up by block sync to identical hashes") {
  Sim sim(options(4, 4));
  check_catch_up(sim);
}

TEST_CASE("two of four down: nothing commits; progress resumes when one returns") {
  Sim sim(options(4, 5));
  sim.run_until(500);
  sim.crash(2);
  sim.crash(3);
  sim.run_until(sim.now() + 300); // let blocks already sealed by a quorum land
  uint64_t stuck = sim.max_height();
  sim.run_until(sim.now() + 3000);
  CHECK(sim.max_height() == stuck);
  CHECK(sim.nodes[0].engine->status().round > 0);
  sim.restart(2);
  sim.run_until(sim.now() + 10000, [&] { return min_up_height(sim) >= stuck + 3; });
  CHECK(min_up_height(sim) >= stuck + 3);
  CHECK(sim.check_safety(true) == "");
}

TEST_CASE("a byzantine validator's conflicting votes, bad proposals and garbage are dropped; safety holds") {
  Sim sim(options(4, 6));
  // Validator 1 proposes height 1 round 0; it is byzantine and speaks only through what the test crafts.
  sim.crash(1);
  sim.nodes[1].byzantine = true;
  Signer &byz = *sim.nodes[1].signer;
  Engine &honest = *sim.nodes[0].engine;
  uint64_t now = sim.now();

  Bytes block = ToyApp::make_block(1, ToyApp::genesis(), 1, 1, {});
  Message bad = vote(MessageType::Proposal, 1, 0, sha256(block));
  bad.payload = {1, 2, 3};
  CHECK_FALSE(honest.on_message(signed_bytes(bad, byz), now)); // undecodable block
  bad.payload = block;
  bad.hash[0] ^= 1;
  CHECK_FALSE(honest.on_message(signed_bytes(bad, byz), now)); // hash is not the block's
  Message wrong_round = vote(MessageType::Proposal, 1, 1, sha256(block));
  wrong_round.payload = block;
  CHECK_FALSE(honest.on_message(signed_bytes(wrong_round, byz), now)); // round 1's proposer is 2
  Message unjustified = vote(MessageType::Proposal, 1, 4, sha256(block));
  unjustified.payload = block;
  CHECK_FALSE(honest.on_message(signed_bytes(unjustified, byz), now)); // round 4 is 1's, but no round changes

  Hash a{}, b{};
  a[0] = 1;
  b[0] = 2;
  CHECK(honest.on_message(signed_bytes(vote(MessageType::Prepare, 1, 0, a), byz), now));
  CHECK_FALSE(honest.on_message(signed_bytes(vote(MessageType::Prepare, 1, 0, b), byz), now));
  CHECK(honest.on_message(signed_bytes(vote(MessageType::Commit, 1, 0, a), byz), now));
  CHECK_FALSE(honest.on_message(signed_bytes(vote(MessageType::Commit, 1, 0, b), byz), now));
  CHECK(honest.status().conflicting_votes == 2);

  Bytes good = signed_bytes(vote(MessageType::Prepare, 1, 2, a), byz);
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK_FALSE(honest.on_message(trailing, now));
  CHECK_FALSE(honest.on_message(Bytes{0xde, 0xad, 0xbe, 0xef}, now));
  CHECK_FALSE(honest.on_message(signed_bytes(vote(MessageType::Prepare, 1, 3, a), byz, 78), now)); // other chain
  KeySigner outsider(99);
  CHECK_FALSE(honest.on_message(signed_bytes(vote(MessageType::Prepare, 1, 3, a), outsider), now));
  CHECK(honest.status().dropped_messages == 10);

  // Meanwhile the byzantine validator keeps spraying garbage and conflicting votes at everyone.
  for (uint64_t t = 100; t <= 3000; t += 50) {
    for (uint32_t to : {0u, 2u, 3u}) {
      Hash x{};
      x[1] = static_cast<uint8_t>(t);
      uint64_t h = sim.max_height() + 1;
      sim.inject(1, to, signed_bytes(vote(MessageType::Prepare, h, 0, x), byz));
      sim.inject(1, to, signed_bytes(vote(MessageType::Commit, h, 0, x), byz));
      sim.inject(1, to, Bytes(static_cast<size_t>(t % 97), static_cast<uint8_t>(t)));
    }
    sim.run_until(t);
  }
  CHECK(min_up_height(sim) >= 5);
  CHECK(sim.check_safety(true) == "");
}

TEST_CASE("oversized and truncated messages are dropped and counted") {
  Options o = options(4, 7);
  o.engine.max_message_bytes = 4096;
  Sim sim(o);
  Engine &e = *sim.nodes[0].engine;
  Hash a{};
  Bytes good = signed_bytes(vote(MessageType::Prepare, 1, 0, a), *sim.nodes[1].signer);
  for (size_t len = 0; len < good.size(); ++len)
    CHECK_FALSE(e.on_message(ByteView(good.data(), len), sim.now()));
  CHECK(e.status().dropped_messages == good.size());
  Message big = vote(MessageType::Proposal, 1, 0, a);
  big.payload.assign(5000, 7);
  CHECK_FALSE(e.on_message(signed_bytes(big, *sim.nodes[1].signer), sim.now()));
  CHECK_FALSE(e.on_message(Bytes(1 << 16, 0), sim.now()));
  CHECK(e.status().dropped_messages == good.size() + 2);
  CHECK(e.on_message(good, sim.now()));
}

TEST_CASE("a crash at every point of a round, then a restart, never makes a validator vote twice") {
  // Point k is validator 1's k-th durable save or k-th send: a SIGKILL there loses everything after it.
  for (uint64_t k = 1; k <= 50; ++k) {
    CAPTURE(k);
    Sim sim(options(4, 1000 + k));
    sim.add_tx(k);
    bool at_save = k % 2 == 0;
    uint64_t point = (k + 1) / 2;
    uint64_t saves = 0;
    if (at_save) {
      sim.nodes[1].app->on_save = [&sim, &saves, point] {
        if (++saves == point) sim.nodes[1].killed = true;
      };
    } else {
      sim.nodes[1].kill_at_send = point;
    }
    std::optional<uint64_t> restart_at;
    for (uint64_t t = 10; t <= 2500; t += 10) {
      sim.run_until(t);
      if (!sim.up(1) && !restart_at) {
        restart_at = t + 10 + (k * 37) % 300;
        sim.nodes[1].app->on_save = nullptr;
      }
      if (restart_at && t >= *restart_at && !sim.up(1)) sim.restart(1);
    }
    CHECK(restart_at.has_value());
    CHECK(sim.check_safety(true) == "");
    CHECK(sim.min_height() >= 4);
  }
}

TEST_CASE("a restarted validator keeps its vote and its prepared certificate") {
  Sim sim(options(4, 8));
  // Stop validator 2 the moment it has prepared a block (its COMMIT is about to leave).
  sim.nodes[2].app->on_save = [&sim] {
    VoteState s = VoteState::decode(*sim.nodes[2].app->engine_state);
    if (s.prepared && s.commit) sim.nodes[2].killed = true;
  };
  sim.run_until(2000, [&] { return !sim.up(2); });
  REQUIRE_FALSE(sim.up(2));
  sim.nodes[2].app->on_save = nullptr;
  VoteState saved = VoteState::decode(*sim.nodes[2].app->engine_state);
  REQUIRE(saved.prepared);
  CHECK(saved.prepared->prepares.size() >= 3);
  CHECK(saved.prepare == saved.prepared->hash);
  CHECK_FALSE(saved.prepared_payload.empty());

  // Restart it before it learns the outcome; the proposer of that round now equivocates with another block.
  uint64_t h = saved.height;
  sim.nodes[2].app->chain.resize(std::min<size_t>(sim.nodes[2].app->chain.size(), h - 1));
  sim.restart(2);
  uint32_t proposer = static_cast<uint32_t>((h + saved.round) % 4);
  if (proposer != 2) {
    const auto &chain = sim.nodes[2].app->chain;
    Bytes other = ToyApp::make_block(h, chain.empty() ? ToyApp::genesis() : chain.back().hash, proposer,
                                     (chain.empty() ? 0 : chain.back().timestamp) + 7, {999});
    Message m = vote(MessageType::Proposal, h, saved.round, sha256(other));
    m.payload = other;
    CHECK_FALSE(sim.nodes[2].engine->on_message(signed_bytes(m, *sim.nodes[proposer].signer), sim.now()));
  }
  VoteState after = VoteState::decode(*sim.nodes[2].app->engine_state);
  CHECK(after.prepared);
  CHECK(after.prepared->hash == saved.prepared->hash);
  sim.run_until(sim.now() + 2000);
  CHECK(sim.check_safety(true) == "");
  CHECK(sim.min_height() >= h + 2);
}

TEST_CASE("a peer announcing a height it does not have does not stop a lagging validator catching up") {
  Sim sim(options(4, 8));
  uint64_t others = fall_behind(sim, 3);
  // Validator 1 turns byzantine: it stops taking part and tells everyone it is far ahead. Progress now needs
  // validator 3, so it must catch up from the honest 0 and 2 although 1 announces the highest height.
  sim.crash(1);
  sim.nodes[1].byzantine = true;
  sim.restart(3);
  Message lie;
  lie.type = MessageType::Status;
  lie.height = 1'000'000;
  for (uint64_t t = sim.now() + 50; t <= sim.now() + 6000; t += 50) {
    for (uint32_t to : {0u, 2u, 3u})
      sim.inject(1, to, signed_bytes(lie, *sim.nodes[1].signer));
    sim.run_until(t);
    if (height_of(sim, 3) >= others + 2) break;
  }
  CHECK(height_of(sim, 3) >= others + 2);
  CHECK(sim.check_safety(true) == "");
}

TEST_CASE("driven only by its deadlines and its messages, as a validator's thread is, the engine does what a tick every "
          "step does") {
  // A validator's thread sleeps until next_tick_ms(), a message or a transaction into an empty pool. Any deadline the
  // engine failed to announce would show here as a stall: no block, no round change, no catch-up.
  auto deadline_options = [](size_t n, uint64_t seed) {
    Options o = options(n, seed);
    o.tick_on_deadline = true;
    return o;
  };
  SUBCASE("every pending transaction commits, without round changes, on a fraction of the ticks") {
    uint64_t ticks[2] = {0, 0};
    for (bool deadline : {false, true}) {
      CAPTURE(deadline);
      Sim sim(deadline ? deadline_options(4, 2) : options(4, 2));
      for (uint64_t i = 0; i < 12; ++i)
        sim.add_tx(i);
      sim.run_until(2000);
      CHECK(sim.min_height() >= 5);
      for (auto &node : sim.nodes) {
        CHECK(node.app->pending.empty());
        CHECK(node.engine->status().round_changes == 0);
        ticks[deadline] += node.ticks;
      }
      CHECK(sim.check_safety(true) == "");
    }
    MESSAGE("on_tick calls: " << ticks[0] << " ticked every step, " << ticks[1] << " driven by deadlines");
    CHECK(ticks[1] * 3 < ticks[0]);
  }
  SUBCASE("a crashed leader is replaced by a round change") {
    Sim sim(deadline_options(4, 3));
    check_leader_replaced(sim);
  }
  SUBCASE("a validator that was down catches up by block sync") {
    Sim sim(deadline_options(4, 4));
    check_catch_up(sim);
  }
  SUBCASE("lossy links: resends and round changes still come") {
    Options o = deadline_options(4, 5);
    o.loss = 0.2;
    Sim sim(o);
    for (uint64_t i = 0; i < 8; ++i)
      sim.add_tx(i);
    sim.run_until(8000);
    CHECK(sim.min_height() >= 4);
    CHECK(sim.check_safety(true) == "");
  }
}
