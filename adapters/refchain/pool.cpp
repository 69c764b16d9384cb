#include "pool.h"

#include "error.h"

namespace weft::refchain {

const std::array<uint64_t, 2> &NonceKey::key() {
  static const std::array<uint64_t, 2> k = [] {
    Nonce r = random_nonce();
    std::array<uint64_t, 2> out{};
    std::memcpy(out.data(), r.data(), 16);
    return out;
  }();
  return k;
}

void Pool::add(VerifiedTx tx) {
  if (contains(tx.hash)) throw Error(WEFT_E_REJECTED, "transaction " + to_hex(tx.hash) + " is already in the pool");
  if (has_nonce(tx.tx.nonce))
    throw Error(WEFT_E_REJECTED, "nonce " + to_hex(tx.tx.nonce) + " is already used by a pending transaction");
  if (order_.size() >= limit_)
    throw Error(WEFT_E_REJECTED, "transaction pool is full (" + std::to_string(limit_) +
                                     " pending); retry after the next blocks or raise pool_limit");
  nonces_.insert(tx.tx.nonce);
  Hash h = tx.hash;
  order_.push_back(std::move(tx));
  by_hash_.emplace(h, std::prev(order_.end()));
}

std::vector<VerifiedTx> Pool::front(size_t max) const {
  std::vector<VerifiedTx> out;
  for (auto it = order_.begin(); it != order_.end() && out.size() < max; ++it)
    out.push_back(*it);
  return out;
}

void Pool::remove(const Hash &hash) {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return;
  nonces_.erase(it->second->tx.nonce);
  order_.erase(it->second);
  by_hash_.erase(it);
}

} // namespace weft::refchain
