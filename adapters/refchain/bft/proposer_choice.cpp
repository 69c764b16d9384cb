// The round-0 proposer from recent committed blocks: a replay of the window that benches a validator whose turn
// went to a round change and lifts the bench when it proposes a committed block again or its bench time ends.
#include "proposer_choice.h"

#include <algorithm>
#include <vector>

namespace weft::refchain::bft {

uint32_t round0_proposer(uint32_t n, uint64_t first, const std::deque<BlockMeta> &window, uint64_t bench_ms) {
  std::vector<uint32_t> failures(n, 0);
  std::vector<uint64_t> benched_until(n, 0); // chain time; benched while the parent block is older than this
  // The first validator in the plain rotation from height h that is not benched at the parent's time; if all are,
  // the plain rotation's (some validator must propose).
  auto pick = [&](uint64_t h, uint64_t parent_ms) {
    for (uint32_t k = 0; k < n; ++k) {
      auto v = static_cast<uint32_t>((h + k) % n);
      if (benched_until[v] <= parent_ms) return v;
    }
    return static_cast<uint32_t>(h % n);
  };
  uint64_t parent_ms = 0;
  uint64_t h = first;
  for (const BlockMeta &b : window) {
    uint32_t chosen = pick(h, parent_ms);
    if (b.proposer != chosen) {
      // Round 0 failed: the block came from a later round's proposer (or, re-proposed, from an earlier round's).
      uint32_t k = std::min(++failures[chosen], kMaxBenchDoublings + 1);
      benched_until[chosen] = b.timestamp_ms + (bench_ms << (k - 1));
      if (b.proposer < n) benched_until[b.proposer] = 0; // it is alive: it proposed a committed block
    }
    parent_ms = b.timestamp_ms;
    ++h;
  }
  return pick(h, parent_ms);
}

} // namespace weft::refchain::bft
