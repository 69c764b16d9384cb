// The nonces of one sending account. Concurrent sends each take a nonce at once, without waiting for the one before
// to be mined, and no nonce is ever used twice or skipped for good:
// - a send the node refuses before accepting it gives its nonce back; the next send takes the lowest nonce given
//   back before a new one, and a nonce that nobody takes while later ones wait is filled by the runtime (a zero
//   transfer to itself), since a gap stops every later transaction of the account;
// - when the node says a nonce is too low (the account sent from elsewhere), the book starts again from the node's
//   count.
// Pure bookkeeping, no I/O: the runtime asks the node for the starting count and calls this on its loop.
#pragma once

#include <cstdint>
#include <optional>
#include <set>

namespace weft::evm {

class NonceBook {
 public:
  bool known() const { return next_.has_value(); }
  // The node's count of the account's transactions, pending ones included (eth_getTransactionCount "pending").
  void start_at(std::uint64_t count);
  // The nonce for the next send. Requires known().
  std::uint64_t take();
  // A send with this nonce was refused before the node accepted it.
  void give_back(std::uint64_t nonce);
  // The node said the account's nonce is at least `count`: forget everything below it.
  void resync(std::uint64_t count);
  // The lowest nonce given back while later ones are in use: a gap the runtime must fill if nobody takes it.
  std::optional<std::uint64_t> gap() const;
  std::uint64_t next() const { return next_.value_or(0); }
  std::size_t returned() const { return returned_.size(); }

 private:
  std::optional<std::uint64_t> next_;
  std::uint64_t floor_ = 0; // nonces below it were never this book's to hand out
  std::set<std::uint64_t> returned_;
};

} // namespace weft::evm
