// A blocking HTTP/1.1 client for one request at a time, all the console needs. Beast stays inside
// http_client.cpp because it is slow to compile; this header names only standard types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace weft::console {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port" or "[v6]:port"; nullopt when the port is missing, zero or not a number.
std::optional<Endpoint> parse_endpoint(std::string_view text);

struct HttpRequest {
  std::string method; // "GET" or "POST"
  std::string target; // origin-form: path plus query
  std::string body;   // sent with Content-Type application/json, also on GET (WeCross reads bodies on GET)
  std::string authorization; // the login's credential ("Bearer …"), sent as Authorization when not empty
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// No HTTP answer came back: the router is down, unreachable, or too slow.
struct TransportFailure {
  enum class Kind { kConnect, kTimeout, kIo } kind = Kind::kIo;
  std::string message;
};

using HttpResult = std::variant<HttpResponse, TransportFailure>;

struct HttpTimeouts {
  // Bounds connecting alone, so a dead address fails fast even when the request timeout is long.
  std::chrono::milliseconds connect{5000};
  // Bounds the whole exchange: connect, write and read.
  std::chrono::milliseconds total{35000};
};

// Sends one request on a fresh connection and waits for the answer; never throws.
HttpResult send_http(const Endpoint &endpoint, const HttpRequest &request, const HttpTimeouts &timeouts);

} // namespace weft::console
