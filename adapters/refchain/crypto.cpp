#include "crypto.h"

#include "error.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>
#include <map>
#include <mutex>
#include <optional>

namespace weft::refchain {

namespace {

// One context for the process: a context is safe to share between threads once created, and randomizing it blinds
// the signing of validator keys against side channels.
const secp256k1_context *context() {
  static secp256k1_context *ctx = [] {
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char seed[32];
    // Randomization only adds blinding; a context without it is still correct, so a failure is not fatal.
    if (RAND_bytes(seed, sizeof seed) == 1 && secp256k1_context_randomize(c, seed) != 1) seed[0] = 0;
    return c;
  }();
  return ctx;
}

// The group order n, big-endian, for making a high-S twin.
constexpr uint8_t kOrder[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

} // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX *>(ctx_), EVP_sha256(), nullptr) != 1)
    throw Error(WEFT_E_INTERNAL, "OpenSSL could not start a SHA-256 digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX *>(ctx_)); }

Sha256 &Sha256::update(ByteView data) {
  if (!data.empty()) EVP_DigestUpdate(static_cast<EVP_MD_CTX *>(ctx_), data.data(), data.size());
  return *this;
}

Hash Sha256::finish() {
  Hash h{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX *>(ctx_), h.data(), &n);
  return h;
}

Hash sha256(ByteView data) {
  Hash h{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), h.data(), &n, EVP_sha256(), nullptr) != 1)
    throw Error(WEFT_E_INTERNAL, "OpenSSL SHA-256 failed");
  return h;
}

Address address_of(const PublicKey &pub) {
  Hash h = sha256(pub);
  Address a{};
  std::memcpy(a.data(), h.data() + 12, 20);
  return a;
}

std::string address_text(const Address &a) { return to_hex(a); }

Address parse_address(std::string_view text) {
  if (!text.starts_with("0x") || text.size() != 42)
    throw DecodeError("an address is \"0x\" followed by 40 hex digits, got \"" + std::string(text.substr(0, 64)) +
                      "\"");
  Bytes b = from_hex(text);
  Address a{};
  std::memcpy(a.data(), b.data(), 20);
  return a;
}

namespace {

PublicKey recover_uncached(const Hash &digest, const Signature &sig) {
  const secp256k1_context *ctx = context();
  int recid = sig[64];
  if (recid < 0 || recid > 3) throw Error(WEFT_E_REJECTED, "signature recovery id must be 0..3");
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig.data(), recid))
    throw Error(WEFT_E_REJECTED, "signature is not a valid secp256k1 signature");
  secp256k1_ecdsa_signature plain, normalized;
  secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rsig);
  if (secp256k1_ecdsa_signature_normalize(ctx, &normalized, &plain))
    throw Error(WEFT_E_REJECTED, "signature has a high S value; only low-S signatures are accepted");
  secp256k1_pubkey pk;
  if (!secp256k1_ecdsa_recover(ctx, &pk, &rsig, digest.data()))
    throw Error(WEFT_E_REJECTED, "no public key recovers from this signature");
  uint8_t out[65];
  size_t len = sizeof out;
  secp256k1_ec_pubkey_serialize(ctx, out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  PublicKey pub{};
  std::memcpy(pub.data(), out + 1, 64);
  return pub;
}

// Recovery is a pure function of (digest, signature) and the largest part of a validator's CPU: every validator of
// an embedded chain recovers the same votes, seals and transactions, and one validator recovers a transaction at
// admission and again when it executes. So recoveries are remembered for the process, keyed by the whole input
// (no collision can make a signature recover to another key), in two generations of at most kGeneration entries:
// when the newer fills, it becomes the older and the oldest is dropped. Failures are not remembered.
class RecoveryCache {
public:
  static constexpr size_t kGeneration = kRecoveryCacheGeneration;
  using Key = std::array<uint8_t, 32 + 65>;

  std::optional<PublicKey> find(const Key &k) {
    std::lock_guard lock(mu_);
    if (auto it = young_.find(k); it != young_.end()) return it->second;
    if (auto it = old_.find(k); it != old_.end()) return it->second;
    return std::nullopt;
  }

  void add(const Key &k, const PublicKey &pub) {
    std::lock_guard lock(mu_);
    if (young_.size() >= kGeneration) {
      old_ = std::move(young_);
      young_.clear();
    }
    young_.emplace(k, pub);
  }

private:
  // Ordered maps: a peer that picks its digests and signatures can fill a hash table's bucket; it cannot make a
  // lookup here cost more than a dozen comparisons.
  std::mutex mu_;
  std::map<Key, PublicKey> young_, old_;
};

RecoveryCache &recovery_cache() {
  static RecoveryCache cache;
  return cache;
}

} // namespace

PublicKey recover_signer(const Hash &digest, const Signature &sig) {
  RecoveryCache::Key key;
  std::copy(digest.begin(), digest.end(), key.begin());
  std::copy(sig.begin(), sig.end(), key.begin() + digest.size());
  if (auto pub = recovery_cache().find(key)) return *pub;
  PublicKey pub = recover_uncached(digest, sig); // throws on a bad signature, which is not remembered
  recovery_cache().add(key, pub);
  return pub;
}

bool valid_secret_key(const SecretKey &key) { return secp256k1_ec_seckey_verify(context(), key.data()) == 1; }

Signature sign_digest(const SecretKey &key, const Hash &digest) {
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_sign_recoverable(context(), &rsig, digest.data(), key.data(), nullptr, nullptr))
    throw Error(WEFT_E_INTERNAL, "secp256k1 signing failed (invalid secret key)");
  Signature sig{};
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), sig.data(), &recid, &rsig);
  sig[64] = static_cast<uint8_t>(recid);
  return sig;
}

PublicKey public_key_of(const SecretKey &key) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(context(), &pk, key.data()))
    throw Error(WEFT_E_INTERNAL, "invalid secp256k1 secret key");
  uint8_t out[65];
  size_t len = sizeof out;
  secp256k1_ec_pubkey_serialize(context(), out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  PublicKey pub{};
  std::memcpy(pub.data(), out + 1, 64);
  return pub;
}

Signature high_s_twin(const Signature &sig) {
  Signature out = sig;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kOrder[i] - sig[32 + i] - borrow;
    borrow = d < 0;
    out[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  out[64] = sig[64] ^ 1;
  return out;
}

} // namespace weft::refchain
