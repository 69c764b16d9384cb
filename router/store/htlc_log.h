// The HTLC engine's swaps in the router store (migration 5). The engine writes a swap's new state, and waits for it
// to be durable, before it sends the chain action that state announces; after a restart it reads the unfinished
// ones back and resumes each before it takes new work. The secret is stored sealed only (the engine seals it).
#pragma once

#include "store.h"

#include <weft/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::store {

struct HtlcSwapRecord {
  std::string id; // 0x + 64 hex: the lock id on both chains
  std::string user;
  std::int64_t user_id = 0;
  std::string state = "proposed";
  std::string proposal;          // JSON
  std::string progress = "{}";   // JSON: transaction hashes and what each side's chain said
  std::int64_t secret_version = 0; // master key version; 0 with no secret
  std::vector<std::uint8_t> secret_nonce;
  std::vector<std::uint8_t> secret_sealed;
  std::int64_t created_ms = 0, updated_ms = 0;
  std::string note;
};

Store::WriteFn htlc_insert(HtlcSwapRecord record);
// Sets state, progress and note (and updated_ms); fails if the swap is not there.
Store::WriteFn htlc_update(std::string id, std::string state, std::string progress, std::string note,
                           std::int64_t updated_ms);
Result<std::optional<HtlcSwapRecord>> htlc_get(Store &store, const std::string &id);
// Unfinished swaps, oldest first.
Result<std::vector<HtlcSwapRecord>> htlc_unfinished(Store &store);
// Newest first; user_id < 0: everyone's.
Result<std::vector<HtlcSwapRecord>> htlc_list(Store &store, std::int64_t user_id, std::int64_t offset,
                                              std::int64_t limit);

} // namespace weft::store
