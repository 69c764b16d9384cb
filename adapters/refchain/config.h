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
};

// Parses the config JSON ("" or "null" mean all defaults). Unknown keys and bad values throw
// Error(WEFT_E_INVALID_ARGUMENT) naming the key.
ChainConfig parse_chain_config(std::string_view json);

} // namespace weft::refchain
