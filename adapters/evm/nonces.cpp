#include "nonces.h"

#include <algorithm>

namespace weft::evm {

void NonceBook::start_at(std::uint64_t count) {
  next_ = count;
  floor_ = count;
  returned_.clear();
}

std::uint64_t NonceBook::take() {
  if (!returned_.empty()) {
    const std::uint64_t n = *returned_.begin();
    returned_.erase(returned_.begin());
    return n;
  }
  return (*next_)++;
}

void NonceBook::give_back(std::uint64_t nonce) {
  if (!next_ || nonce >= *next_ || nonce < floor_) return; // never handed out by this book
  if (nonce + 1 == *next_) {
    // The highest nonce handed out: the counter steps back, and so over any returned ones now at the top.
    --*next_;
    while (!returned_.empty() && *returned_.rbegin() + 1 == *next_) {
      --*next_;
      returned_.erase(std::prev(returned_.end()));
    }
    return;
  }
  returned_.insert(nonce);
}

void NonceBook::resync(std::uint64_t count) {
  if (!next_ || *next_ < count) next_ = count;
  floor_ = std::max(floor_, count);
  returned_.erase(returned_.begin(), returned_.lower_bound(count));
}

std::optional<std::uint64_t> NonceBook::gap() const {
  if (returned_.empty()) return std::nullopt;
  return *returned_.begin();
}

} // namespace weft::evm
