// SM3 (GB/T 32905), the hash of FISCO BCOS's guomi (GM) chains: transaction hashes, addresses and ABI selectors.
// OpenSSL 3 provides it (EVP_sm3); this is the one place that calls it.
#pragma once

#include "keccak.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace weft::bcos {

evm::Hash256 sm3(std::span<const std::uint8_t> data);
inline evm::Hash256 sm3(std::string_view text) {
  return sm3(std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
}

} // namespace weft::bcos
