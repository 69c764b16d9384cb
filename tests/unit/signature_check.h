// Helpers for tests that check the router's signatures with OpenSSL's command-line tool: the public key as a PEM
// SubjectPublicKeyInfo and r||s as DER, both written here rather than by OpenSSL so the check stays independent.
#pragma once

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/chain_keys.h"

namespace weft::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using accounts::KeyAlgorithm;
using accounts::PublicKey;

inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// One DER INTEGER from 32 big-endian bytes.
inline Bytes der_integer(std::span<const std::uint8_t> be) {
  std::size_t skip = 0;
  while (skip + 1 < be.size() && be[skip] == 0 && be[skip + 1] < 0x80)
    ++skip;
  Bytes out{0x02, 0};
  if (be[skip] >= 0x80) out.push_back(0);
  out.insert(out.end(), be.begin() + static_cast<std::ptrdiff_t>(skip), be.end());
  out[1] = static_cast<std::uint8_t>(out.size() - 2);
  return out;
}

// r || s -> ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }), the form openssl pkeyutl reads.
inline Bytes der_signature(std::span<const std::uint8_t> rs) {
  Bytes r = der_integer(rs.subspan(0, 32)), s = der_integer(rs.subspan(32, 32));
  Bytes out{0x30, static_cast<std::uint8_t>(r.size() + s.size())};
  out.reserve(2 + r.size() + s.size());
  out.insert(out.end(), r.begin(), r.end());
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// SubjectPublicKeyInfo { id-ecPublicKey, namedCurve } as PEM; the two DER prefixes are fixed by the curve OIDs.
inline std::string spki_pem(KeyAlgorithm a, const PublicKey &pub) {
  Bytes der = a == KeyAlgorithm::Sm2 ? from_hex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
                                     : from_hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
  der.push_back(0x04);
  der.insert(der.end(), pub.begin(), pub.end());
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(b64.data()), der.data(), static_cast<int>(der.size()));
  b64.resize(static_cast<std::size_t>(n));
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64)
    pem += b64.substr(i, 64) + "\n";
  return pem + "-----END PUBLIC KEY-----\n";
}

inline void write_file(const fs::path &path, std::span<const std::uint8_t> data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(f.good());
}

// Runs an openssl command; true when it exits 0 and says the signature verified.
inline bool openssl_verifies(const std::string &command) {
  FILE *p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return false;
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  return pclose(p) == 0 && out.find("Signature Verified Successfully") != std::string::npos;
}

} // namespace weft::test
