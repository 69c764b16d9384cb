// The transaction pool: verified transactions waiting for a block, in arrival order, unique by hash and by nonce,
// bounded by pool_limit. Not thread-safe: the ledger serializes access.
#pragma once

#include "transaction.h"

#include <cstring>
#include <list>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace weft::refchain {

struct HashKey {
  size_t operator()(const Hash &h) const noexcept {
    size_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = v << 8 | h[i];
    return v;
  }
};

// Nonces are chosen by the sender, so their table hash is keyed by a random per-process secret: nonces picked to
// collide cannot be picked without knowing it. A 128-bit multiply folds both halves into every output bit.
struct NonceKey {
  size_t operator()(const Nonce &n) const noexcept {
    uint64_t a, b;
    std::memcpy(&a, n.data(), 8);
    std::memcpy(&b, n.data() + 8, 8);
    unsigned __int128 m = static_cast<unsigned __int128>(a ^ key()[0]) * (b ^ key()[1]);
    return static_cast<size_t>(static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m));
  }
  static const std::array<uint64_t, 2> &key(); // random, drawn once per process
};

class Pool {
public:
  explicit Pool(size_t limit) : limit_(limit) {}

  // Throws Error(WEFT_E_REJECTED) when full or when the hash or nonce is already pending.
  void add(VerifiedTx tx);
  bool contains(const Hash &hash) const { return by_hash_.count(hash) != 0; }
  // The pooled transaction with this hash (its signature already checked), or null.
  const VerifiedTx *find(const Hash &hash) const {
    auto it = by_hash_.find(hash);
    return it == by_hash_.end() ? nullptr : &*it->second;
  }
  bool has_nonce(const Nonce &nonce) const { return nonces_.count(nonce) != 0; }
  size_t size() const { return order_.size(); }
  // Up to max transactions in arrival order (copies: the pool keeps them until the block commits).
  std::vector<VerifiedTx> front(size_t max) const;
  void remove(const Hash &hash);

private:
  size_t limit_;
  std::list<VerifiedTx> order_;
  std::unordered_map<Hash, std::list<VerifiedTx>::iterator, HashKey> by_hash_;
  std::unordered_set<Nonce, NonceKey> nonces_;
};

} // namespace weft::refchain
