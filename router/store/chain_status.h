// The chain_status table of the router store: when each chain went up or down and why, kept as history for operators
// and /metrics. Appended by the router as it sees a chain change; read newest first.
#pragma once

#include "store.h"

#include <weft/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::store {

enum class ChainState { kUp, kDown };

// "up" or "down", as stored.
std::string_view to_string(ChainState state);

struct ChainStatusEvent {
  std::int64_t id = 0;    // set by the store; record_chain_status ignores it
  std::string chain;      // the chain's path, zone.chain
  std::int64_t at_ms = 0; // when it was seen, Unix time in milliseconds
  ChainState status = ChainState::kDown;
  std::string reason; // why it went down (the adapter's error); usually empty when up
};

// Appends one event and returns its id once it is durable. An empty chain name is refused.
Result<std::int64_t> record_chain_status(Store &store, const ChainStatusEvent &event);

// The last `limit` events recorded for `chain`, the most recently recorded first.
Result<std::vector<ChainStatusEvent>> chain_status_history(Store &store, std::string_view chain, std::size_t limit);

} // namespace weft::store
