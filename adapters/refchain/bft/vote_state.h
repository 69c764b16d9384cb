// What a validator must remember across a crash so it never votes for two blocks at one (height, round) and never
// forgets a block that may have committed: its current round, the votes it sent in that round and its prepared
// certificate. Saved through App::save_engine_state before every vote leaves, restored at start.
#pragma once

#include <optional>

#include "messages.h"

namespace weft::refchain::bft {

struct VoteState {
  uint64_t height = 0;                  // the height being decided; a state for a committed height is stale
  uint32_t round = 0;                   // never goes back: votes are only sent in the current round
  std::optional<Hash> prepare;          // PREPARE (or, for the proposer, PROPOSAL) sent in `round`
  std::optional<Hash> commit;           // COMMIT sent in `round`
  std::optional<PreparedCert> prepared; // the highest round this validator saw a quorum of PREPAREs in
  Bytes prepared_payload;               // that block, so a round change can carry it

  Bytes encode() const;
  static VoteState decode(ByteView bytes); // throws DecodeError
};

} // namespace weft::refchain::bft
