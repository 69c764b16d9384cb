// Keccak-256 as Ethereum and FISCO BCOS (non-GM) use it: the original Keccak padding (0x01), not SHA3-256's (0x06).
// Debian's OpenSSL 3.0 has no Keccak-256, so it is written here, small and pinned by published vectors.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::evm {

using Hash256 = std::array<std::uint8_t, 32>;

Hash256 keccak256(std::span<const std::uint8_t> data);
inline Hash256 keccak256(std::string_view text) {
  return keccak256(std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
}

} // namespace weft::evm
