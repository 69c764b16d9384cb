#include "keccak.h"

#include <cstring>

namespace weft::evm {

namespace {

constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// Rotation offsets and the lane permutation of rho and pi, walked in pi's order.
constexpr int kRho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

std::uint64_t rotl(std::uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

void keccak_f1600(std::uint64_t s[25]) {
  for (int round = 0; round < 24; ++round) {
    std::uint64_t c[5];
    for (int x = 0; x < 5; ++x) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (int x = 0; x < 5; ++x) {
      std::uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) s[y + x] ^= d;
    }
    std::uint64_t t = s[1];
    for (int i = 0; i < 24; ++i) {
      std::uint64_t next = s[kPi[i]];
      s[kPi[i]] = rotl(t, kRho[i]);
      t = next;
    }
    for (int y = 0; y < 25; y += 5) {
      std::uint64_t row[5];
      for (int x = 0; x < 5; ++x) row[x] = s[y + x];
      for (int x = 0; x < 5; ++x) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    s[0] ^= kRoundConstants[round];
  }
}

std::uint64_t load64(const std::uint8_t *p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

} // namespace

Hash256 keccak256(std::span<const std::uint8_t> data) {
  constexpr std::size_t kRate = 136; // 1600 - 2 * 256 bits
  std::uint64_t s[25] = {};
  std::size_t off = 0;
  for (; data.size() - off >= kRate; off += kRate) {
    for (std::size_t i = 0; i < kRate / 8; ++i) s[i] ^= load64(data.data() + off + 8 * i);
    keccak_f1600(s);
  }
  std::uint8_t block[kRate] = {};
  std::memcpy(block, data.data() + off, data.size() - off);
  block[data.size() - off] ^= 0x01; // Keccak's padding, before SHA-3 changed it to 0x06
  block[kRate - 1] ^= 0x80;
  for (std::size_t i = 0; i < kRate / 8; ++i) s[i] ^= load64(block + 8 * i);
  keccak_f1600(s);
  Hash256 out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(s[i / 8] >> (8 * (i % 8)));
  return out;
}

} // namespace weft::evm
