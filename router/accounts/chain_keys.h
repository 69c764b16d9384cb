// Chain accounts' secret keys and the three signature schemes adapters ask the host for (weft_host_v1::sign in
// weft/adapter.h): generating and parsing keys, deriving public keys, signing digests and verifying signatures.
#pragma once

#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace weft::accounts {

enum class KeyAlgorithm { Secp256k1, Sm2, P256 };

// "secp256k1", "sm2", "p256": the names adapters pass to sign, and the ones stored with a key.
std::string_view name(KeyAlgorithm algorithm);
std::optional<KeyAlgorithm> parse_algorithm(std::string_view name);

// A private scalar, 32 bytes big-endian, wiped from memory when destroyed. Move-only, so a key is not copied
// around by accident; moving wipes the source. Holding one says nothing about its validity for a curve: the
// functions below check the range themselves.
class SecretKey {
 public:
  explicit SecretKey(std::span<const std::uint8_t, 32> bytes);
  SecretKey(SecretKey &&other) noexcept;
  SecretKey &operator=(SecretKey &&other) noexcept;
  SecretKey(const SecretKey &) = delete;
  SecretKey &operator=(const SecretKey &) = delete;
  ~SecretKey();

  std::span<const std::uint8_t, 32> bytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

using PublicKey = std::array<std::uint8_t, 64>; // uncompressed x || y, without the 0x04 prefix

// The user ID that SM2 signatures hash into Z_A: GM/T 0009's default, which FISCO BCOS and most SM2 chains use.
inline constexpr std::string_view kSm2DefaultId = "1234567812345678";

// A fresh key from the OS random generator (RAND_priv_bytes), valid for the curve.
Result<SecretKey> generate_key(KeyAlgorithm algorithm);

// 64 hex characters, with or without 0x. Refuses a scalar outside [1, n-1] (n the curve's order), and for SM2
// also n-1, since SM2 signing inverts 1 + d. The hex text never appears in an error message.
Result<SecretKey> parse_secret_hex(KeyAlgorithm algorithm, std::string_view hex);

Result<PublicKey> public_key(KeyAlgorithm algorithm, const SecretKey &key);

// Signs as weft_host_v1::sign promises:
//  - secp256k1: `digest` is the 32-byte hash; 65 bytes r || s || recovery id, low-S, deterministic (RFC 6979);
//  - sm2: `digest` is the message M as the chain hashes it (its 32-byte SM3 hash of the transaction; any length
//    is accepted); signs e = SM3(Z_A || M) with Z_A over kSm2DefaultId (GB/T 32918.2); 64 bytes r || s;
//  - p256: `digest` is the 32-byte hash; ECDSA on NIST P-256; 64 bytes r || s with s <= n/2.
// `pub`, when the caller holds it, is the key's public key, which SM2 and P-256 would otherwise derive again (a
// point multiplication: about half of an SM2 signature's time). It must be the key's own: a wrong one gives an SM2
// signature that verifies under neither key, so a check of the signature against it fails.
Result<std::vector<std::uint8_t>> sign(KeyAlgorithm algorithm, const SecretKey &key,
                                       std::span<const std::uint8_t> digest, const PublicKey *pub = nullptr);

// True when `signature` is what sign would have produced for this public key and digest: a secp256k1 signature
// must be low-S and its recovery id must recover `pub`; a p256 one must be low-S. False for a well-formed
// signature that does not verify; an error for wrong lengths or a public key that is not on the curve.
Result<bool> verify(KeyAlgorithm algorithm, std::span<const std::uint8_t, 64> pub, std::span<const std::uint8_t> digest,
                    std::span<const std::uint8_t> signature);

} // namespace weft::accounts
