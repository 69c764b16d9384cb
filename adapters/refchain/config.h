// The chain config an adapter receives at open (router.yaml's chain `options`), with its defaults and checks.
#pragma once

#include "ledger.h"

#include <cstdint>
#include <string_view>

namespace weft::refchain {

struct ChainConfig {
  LedgerConfig ledger;
  uint32_t validators = 4; // embedded validators: n = 3f+1 tolerates f faulty
  uint64_t block_interval_ms = 100;
  uint64_t empty_block_interval_ms = 3000;
  uint64_t round_timeout_ms = 1000; // consensus round timeout (doubles per failed round)
  // Remote mode: the client addresses ("host:port") of a weft-node network. When set, the plugin hosts no validator
  // and sends every verb to one of these nodes, failing over to the next.
  std::vector<std::string> nodes;
  // Pipelined connections to the network, each starting at another node; each carries up to 1024 calls in flight.
  uint32_t remote_connections = 4;
  // Remote mode: read the network's answers on the plugin's own thread per connection ("remote_io: thread") instead
  // of on the router's I/O threads, which the host lends (the default, "host"; a host without the service gets the
  // thread anyway).
  bool remote_io_thread = false;
  // Every validator of this chain acts as if its clock read now + offset: proposal timestamps and the check that a
  // proposal is at most 5 s ahead both use that clock, so the chain's block times lead (or, negative, lag) real time
  // by about this much while consensus works as usual. For testing timelocks across chains.
  int64_t block_time_offset_ms = 0;
};

// The largest |block_time_offset_ms|: 30 days.
inline constexpr int64_t kMaxBlockTimeOffsetMs = 30LL * 24 * 3600 * 1000;

// Parses the config JSON ("" or "null" mean all defaults). Unknown keys and bad values throw
// Error(WEFT_E_INVALID_ARGUMENT) naming the key.
ChainConfig parse_chain_config(std::string_view json);

} // namespace weft::refchain
