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
using StateWrites = std::map<StateKey, std::string>; // sorted by (resource, key): the canonical order

class StateOverlay {
public:
  using Base = std::function<std::optional<std::string>(const std::string &resource, const std::string &key)>;
  explicit StateOverlay(Base base) : base_(std::move(base)) {}

  std::optional<std::string> get(const std::string &resource, const std::string &key) const;
  void put(const std::string &resource, const std::string &key, std::string value);
  const StateWrites &writes() const { return writes_; }
  // Moves this overlay's writes into `parent` (a transaction that succeeded, into its block).
  void merge_into(StateOverlay &parent);

private:
  Base base_;
  StateWrites writes_;
};

// The canonical encoding of a block's writes: u32 count, then per write resource str | key str | value str.
Bytes encode_writes(const StateWrites &writes);
// state_hash = SHA-256(parent state_hash || encode_writes(writes)).
Hash next_state_hash(const Hash &parent, const StateWrites &writes);

} // namespace weft::refchain
