// A signed transaction of the reference chain and its canonical binary encoding (format version 1).
//   version u8 | chain_id u64 | nonce 16 | block_limit u64 | resource (u32 len + bytes) | method (same)
//   | args (u32 count, each u32 len + bytes) || signature 65 (r || s || recid)
// The signed digest is SHA-256 of everything before the signature; the hash is SHA-256 of all of it.
#pragma once

#include "bytes.h"
#include "crypto.h"

#include <string>
#include <vector>

namespace weft::refchain {

using Nonce = std::array<uint8_t, 16>;

// Limits a decoder enforces before it allocates, so hostile bytes cannot make it allocate more than they hold.
inline constexpr uint8_t kTxVersion = 1;
inline constexpr size_t kMaxTxBytes = 1 << 20;
inline constexpr size_t kMaxNameBytes = 256; // resource and method names
inline constexpr size_t kMaxArgs = 256;

struct Transaction {
  uint8_t version = kTxVersion;
  uint64_t chain_id = 0;
  Nonce nonce{};
  uint64_t block_limit = 0;
  std::string resource;
  std::string method;
  std::vector<std::string> args;
  Signature signature{};

  Bytes encode_unsigned() const;
  Bytes encode() const;
  Hash signing_digest() const { return sha256(encode_unsigned()); }
  Hash hash() const { return sha256(encode()); }

  // Throws DecodeError on truncated, oversized, unknown-version or trailing-garbage input.
  static Transaction decode(ByteView bytes);
};

// A transaction that passed the signature check, with what the pool and the executor need at hand.
struct VerifiedTx {
  Transaction tx;
  Hash hash{};
  Address sender{};
};

// Checks the signature (low-S, recoverable) and the chain id; throws Error(WEFT_E_REJECTED) with the reason.
VerifiedTx verify_transaction(Transaction tx, uint64_t chain_id);

// A fresh random nonce (OpenSSL RAND_bytes).
Nonce random_nonce();

} // namespace weft::refchain
