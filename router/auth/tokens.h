// Login tokens: the credential handed out at login is "Bearer " + 32 random bytes in base64url, which WeCross's
// clients send back verbatim in Authorization. Only its SHA-256 is stored (tokens table, user_store.h).
#pragma once

#include <weft/error.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace weft::auth {

using TokenHash = std::array<std::uint8_t, 32>;

inline constexpr std::string_view kBearerPrefix = "Bearer ";

// "Bearer " followed by 43 base64url characters. Fails (code::kInternal) only if the random generator does.
Result<std::string> new_token();

// SHA-256 of the whole credential, prefix included, exactly as the client sent it.
TokenHash token_hash(std::string_view credential);

} // namespace weft::auth
