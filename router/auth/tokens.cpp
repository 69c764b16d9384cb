#include "tokens.h"

#include "encoding.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace weft::auth {

Result<std::string> new_token() {
  std::array<std::uint8_t, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    return Error{code::kInternal, "token: the random generator failed; try again"};
  std::string token = std::string(kBearerPrefix) + base64url_encode(random);
  OPENSSL_cleanse(random.data(), random.size());
  return token;
}

TokenHash token_hash(std::string_view credential) {
  TokenHash out{};
  SHA256(reinterpret_cast<const unsigned char *>(credential.data()), credential.size(), out.data());
  return out;
}

} // namespace weft::auth
