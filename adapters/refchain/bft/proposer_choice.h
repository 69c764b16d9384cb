// Which validator proposes round 0 of a height, derived from chain data alone so every validator agrees: the
// proposer and timestamp of each recent committed block (both inside the hashed header). A validator whose round-0
// turn ended with another validator's block committed is benched — skipped in round 0 — for a time that doubles
// with each such failure within the window, until it proposes a committed block again (in a later round) or the
// bench ends and it gets its turn back. Later rounds rotate on from the round-0 proposer over every validator.
#pragma once

#include <cstdint>
#include <deque>

namespace weft::refchain::bft {

// A committed block as the choice sees it.
struct BlockMeta {
  uint32_t proposer = 0; // its proposer's index; the validator count when the header names no validator
  uint64_t timestamp_ms = 0;
};

// Blocks since the oldest one kept count: failures older than this are forgotten.
inline constexpr uint64_t kChoiceWindow = 2048;
// A bench lasts bench_ms · 2^(k−1) of chain time after a validator's k-th failed turn in the window, k ≤ 7.
inline constexpr uint32_t kMaxBenchDoublings = 6;

// The round-0 proposer of height `first + window.size()`, where window holds the committed blocks first,
// first+1, … up to the head (at most kChoiceWindow of them; the choice replays them from an empty state, so it
// depends on exactly these blocks). n ≥ 1.
uint32_t round0_proposer(uint32_t n, uint64_t first, const std::deque<BlockMeta> &window, uint64_t bench_ms);

} // namespace weft::refchain::bft
