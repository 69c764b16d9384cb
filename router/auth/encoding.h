// The byte encodings the login speaks: base64 (keys and ciphertexts, as Java's Base64 writes them), base64url
// without padding (tokens) and lower-case hex (auth codes, WeCross's password hash). Private to router/auth.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::auth {

// Standard alphabet, padded, no line breaks.
std::string base64_encode(std::span<const std::uint8_t> bytes);
// Strict: standard alphabet, padded to a multiple of 4, no whitespace, zero trailing bits; anything else is nullopt.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);
// URL-safe alphabet, no padding.
std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string hex_encode(std::span<const std::uint8_t> bytes);

} // namespace weft::auth
