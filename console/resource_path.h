// Client-side checks of the dotted paths a user types (zone.chain.resource, zone.chain) and the URI pieces built
// from them, so a typo is a usage error on the console instead of a round trip to the router.
#pragma once

#include <string>
#include <string_view>

namespace weft::console {

// zone.chain.resource, each part [A-Za-z0-9_-]+ (stricter than WeCross's SDK check, which lets '.' match anything).
bool is_resource_path(std::string_view path);
// zone.chain, each part [A-Za-z0-9_-]+.
bool is_chain_path(std::string_view path);

// "z.c.r" -> "/resource/z/c/r"; the path must already be valid.
std::string resource_uri(std::string_view path);

// Percent-encodes everything but RFC 3986 unreserved characters, for query values.
std::string url_encode(std::string_view value);

} // namespace weft::console
