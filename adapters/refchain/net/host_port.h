// "host:port" addresses as configs name them: validators of a real network sit on different hosts, so a host is a
// name or an IPv4/IPv6 literal ("[::1]:30300"), never assumed to be loopback.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace weft::refchain::net {

// Splits at the last colon and strips IPv6 brackets. Throws Error(WEFT_E_INVALID_ARGUMENT) on an empty host or a
// port outside 0..65535.
std::pair<std::string, uint16_t> split_host_port(const std::string &text);

} // namespace weft::refchain::net
