// SHA-256 and secp256k1 as the chain uses them: recoverable 65-byte signatures (r||s||recid), low-S only, and the
// address of a key.
#pragma once

#include "bytes.h"

#include <array>
#include <string>

namespace weft::refchain {

using PublicKey = std::array<uint8_t, 64>; // uncompressed point without the 0x04 prefix
using SecretKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 65>; // r || s || recovery id (0..3)
using Address = std::array<uint8_t, 20>;

Hash sha256(ByteView data);

// Incremental SHA-256 for hashes over several parts (Merkle nodes, the state hash).
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256 &) = delete;
  Sha256 &operator=(const Sha256 &) = delete;
  Sha256 &update(ByteView data);
  Sha256 &update(uint8_t byte) { return update(ByteView(&byte, 1)); }
  Hash finish();

private:
  void *ctx_;
};

// The address of a key: the last 20 bytes of SHA-256(pub).
Address address_of(const PublicKey &pub);
std::string address_text(const Address &a); // "0x" + 40 lowercase hex digits
// Parses "0x" + 40 hex digits (either case); throws DecodeError otherwise.
Address parse_address(std::string_view text);

// Recovers the signer of a 32-byte digest. Throws Error(WEFT_E_REJECTED) for a malformed, high-S or unrecoverable
// signature: a high-S twin of a valid signature would give the same transaction a second hash.
// Recoveries are remembered for the process (the validators of an embedded chain recover the same votes and
// transactions), in two generations of this many entries each; failures are never remembered.
PublicKey recover_signer(const Hash &digest, const Signature &sig);
inline constexpr size_t kRecoveryCacheGeneration = 4096;

// Signs with a secret key (validator keys, tests); libsecp256k1 always yields low-S.
Signature sign_digest(const SecretKey &key, const Hash &digest);
PublicKey public_key_of(const SecretKey &key);
bool valid_secret_key(const SecretKey &key);

// Turns a valid signature into its high-S twin (same r, s' = n - s, flipped recovery id). For tests of the low-S rule.
Signature high_s_twin(const Signature &sig);

} // namespace weft::refchain
