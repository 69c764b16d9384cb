// The RPC's one response envelope, {version, errorCode, message, data}, as WeCross's router writes it.
#pragma once

#include <boost/json/value.hpp>

#include <string>

#include <weft/error.hpp>

namespace weft {

inline constexpr const char *kRpcVersion = "1";

std::string envelope_ok(const boost::json::value &data);
std::string envelope_error(const Error &e);

// Request versions WeCross's clients send and the router accepts.
bool supported_request_version(const std::string &v);

} // namespace weft
