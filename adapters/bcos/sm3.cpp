#include "sm3.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace weft::bcos {

evm::Hash256 sm3(std::span<const std::uint8_t> data) {
  evm::Hash256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sm3(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL cannot compute SM3");
  return out;
}

} // namespace weft::bcos
