// Thousands of seeded schedules of the BFT engine under message loss, duplication, reordering, partitions, crashes
// with restarts and a byzantine validator. After each: safety (one canonical chain, no honest double vote), and once
// the faults heal with every validator back, liveness (every honest validator commits new blocks in bounded
// simulated time). A failing schedule prints its seed; WEFT_BFT_SEED=<seed> replays just that one.
#include "refchain_bft_sim.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

using namespace weft::refchain;
using namespace weft::refchain::bft;
using namespace weft::refchain::bft::sim;

namespace {

struct Outcome {
  std::string failure; // empty on success
  uint64_t heights = 0;
};

// One schedule: a fault phase with everything random, then a heal phase that must make progress.
Outcome run_schedule(uint64_t seed, bool byzantine_allowed) {
  Rng pick(seed);
  static constexpr size_t kSizes[] = {1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 7};
  Options o;
  o.seed = seed;
  o.n = kSizes[pick.below(std::size(kSizes))];
  o.loss = pick.chance(0.6) ? static_cast<double>(pick.below(30)) / 100 : 0;
  o.duplicate = static_cast<double>(pick.below(20)) / 100;
  o.max_delay_ms = pick.range(2, 60);
  o.engine = fast_config();
  Sim sim(o);
  size_t f = (o.n - 1) / 3;

  // At most f validators are faulty at once: crashed ones and the byzantine one share the budget.
  std::vector<uint32_t> faulty;
  for (uint32_t v = 0; v < o.n && faulty.size() < f; ++v)
    if (pick.chance(0.5)) faulty.push_back(static_cast<uint32_t>(pick.below(o.n)));
  std::sort(faulty.begin(), faulty.end());
  faulty.erase(std::unique(faulty.begin(), faulty.end()), faulty.end());
  std::optional<uint32_t> byz;
  if (byzantine_allowed && !faulty.empty() && pick.chance(0.4)) {
    byz = faulty.back();
    faulty.pop_back();
    sim.nodes[*byz].byzantine = true;
    // It equivocates: every vote it sends is followed by a conflicting one to a random peer, and garbage.
    sim.on_send = [&sim, b = *byz](uint32_t from, const Bytes &bytes) {
      if (from != b) return;
      Message m;
      try {
        m = Message::decode(bytes, 1 << 20);
      } catch (...) {
        return;
      }
      uint32_t to = static_cast<uint32_t>(sim.rng.below(sim.n()));
      if (m.type == MessageType::Prepare || m.type == MessageType::Commit || m.type == MessageType::Proposal) {
        Message evil = m;
        evil.hash[0] ^= 0x5a;
        if (evil.type == MessageType::Proposal) evil.round += 1;
        sign_message(evil, *sim.nodes[b].signer);
        sim.inject(b, to, evil.encode());
      }
      if (sim.rng.chance(0.1)) {
        Bytes junk = bytes;
        junk.resize(sim.rng.below(junk.size() + 1));
        sim.inject(b, to, junk);
      }
    };
  }
  uint64_t fault_end = 700;
  for (int i = 0; i < 20; ++i)
    sim.add_tx(seed * 100 + i);
  for (uint64_t t = 100; t <= fault_end; t += 100) {
    for (uint32_t v : faulty) {
      if (sim.up(v) && pick.chance(0.3))
        sim.crash(v);
      else if (!sim.up(v) && pick.chance(0.4))
        sim.restart(v);
    }
    if (pick.chance(0.1)) {
      std::vector<int> groups(o.n);
      for (auto &g : groups)
        g = static_cast<int>(pick.below(2));
      sim.partition(groups);
    } else if (pick.chance(0.3)) {
      sim.heal();
    }
    if (pick.chance(0.3)) sim.add_tx(seed * 100 + 50 + t);
    sim.run_until(t);
    if (auto v = sim.check_safety(false); !v.empty()) return {v, sim.max_height()};
  }

  // Heal: everyone back, the network reliable enough; every honest validator must commit new blocks.
  sim.heal();
  sim.opt.loss = std::min(sim.opt.loss, 0.05);
  for (uint32_t v : faulty)
    if (!sim.up(v)) sim.restart(v);
  uint64_t target = sim.max_height() + 1;
  uint64_t deadline = sim.now() + 12000;
  sim.run_until(deadline, [&] { return sim.min_height() >= target; });
  if (auto v = sim.check_safety(seed % 16 == 0); !v.empty()) return {v, sim.max_height()};
  if (sim.min_height() < target)
    return {"no progress after healing: heights " + std::to_string(sim.min_height()) + " < " + std::to_string(target),
            sim.max_height()};
  return {"", sim.max_height()};
}

// WEFT_BFT_SCHEDULES scales the number of schedules (a soak run); the default keeps the file fast under ASan.
void run_many(uint64_t first, uint64_t count, bool byzantine) {
  if (const char *s = std::getenv("WEFT_BFT_SCHEDULES")) count = count * std::strtoull(s, nullptr, 10) / 1000;
  if (const char *s = std::getenv("WEFT_BFT_SEED")) {
    first = std::strtoull(s, nullptr, 10);
    count = 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  uint64_t heights = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    Outcome out = run_schedule(seed, byzantine);
    heights += out.heights;
    if (!out.failure.empty()) {
      std::cerr << "failing schedule: WEFT_BFT_SEED=" << seed << " — " << out.failure << "\n";
      FAIL("schedule with seed " << seed << " failed: " << out.failure);
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE(count << " schedules, " << heights << " blocks committed, " << ms << " ms");
}

} // namespace

TEST_CASE("seeded schedules with loss, duplication, reordering, partitions and crashes keep one chain and recover") {
  run_many(1, 700, false);
}

TEST_CASE("seeded schedules with a byzantine validator equivocating and sending garbage keep one chain") {
  run_many(100001, 300, true);
}
