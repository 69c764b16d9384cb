// Contract state as execution sees it: a write overlay over a read function, one per block and one per transaction,
// so a failing transaction's writes are dropped and a block's writes reach the store in one piece.
#pragma once

#include "bytes.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace weft::refchain {

// A state key: the resource (contract instance) that owns it, and the key inside that namespace.
using StateKey = std::pair<std::string, std::string>;
// A block's or transaction's writes, sorted by (resource, key): the canonical order. nullopt deletes the key.
using StateWrites = std::map<StateKey, std::optional<std::string>>;
// The live keys of one resource under a prefix, in key order (bytewise).
using StateEntries = std::map<std::string, std::string>;

class StateOverlay {
public:
  using Base = std::function<std::optional<std::string>(const std::string &resource, const std::string &key)>;
  using Scan = std::function<StateEntries(const std::string &resource, const std::string &prefix)>;
  explicit StateOverlay(Base base, Scan scan = {}) : base_(std::move(base)), scan_(std::move(scan)) {}
  // An overlay over another overlay: reads and scans see the parent's pending writes.
  static StateOverlay over(const StateOverlay &parent);

  std::optional<std::string> get(const std::string &resource, const std::string &key) const;
  void put(const std::string &resource, const std::string &key, std::string value);
  void erase(const std::string &resource, const std::string &key);
  // Every live key of `resource` starting with `prefix`, with this overlay's writes and deletions applied.
  StateEntries scan(const std::string &resource, const std::string &prefix) const;
  const StateWrites &writes() const { return writes_; }
  // Moves this overlay's writes into `parent` (a transaction that succeeded, into its block).
  void merge_into(StateOverlay &parent);

private:
  Base base_;
  Scan scan_;
  StateWrites writes_;
};

// The canonical encoding of a block's writes: u32 count, then per write resource str | key str | value, where value
// is a str (u32 length + bytes) for a present value and the lone u32 0xFFFFFFFF for a deletion. A block without
// deletions encodes exactly as before deletions existed, so existing chains' state hashes are unchanged; a real
// value never has length 0xFFFFFFFF (a str is at most 2^32-2 bytes here: the reader's limits are far below).
inline constexpr uint32_t kDeletedValueMarker = 0xFFFFFFFFu;
Bytes encode_writes(const StateWrites &writes);
// state_hash = SHA-256(parent state_hash || encode_writes(writes)).
Hash next_state_hash(const Hash &parent, const StateWrites &writes);

} // namespace weft::refchain
