#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <exception>

namespace weft::console {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Blocks are the largest answers; no router answer should come near this.
constexpr std::uint64_t kMaxResponseBytes = 64ull << 20;

std::string describe(const Endpoint &endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

// Runs the queued asynchronous operation to completion. Asio's blocking socket calls cannot time out, so the client
// is blocking only to its caller: each step is an async operation on a private io_context, bounded by the stream's
// expiry, which cancels it with beast::error::timeout.
void run_step(asio::io_context &io) {
  io.restart();
  io.run();
}

TransportFailure failure(const beast::error_code &ec, TransportFailure::Kind kind, const std::string &what,
                         const Endpoint &endpoint) {
  if (ec == beast::error::timeout)
    return {TransportFailure::Kind::kTimeout, "timed out " + what + " the router at " + describe(endpoint)};
  if (kind == TransportFailure::Kind::kConnect)
    return {kind, "cannot reach the router at " + describe(endpoint) + ": " + ec.message()};
  return {kind, "no answer from the router at " + describe(endpoint) + ": " + ec.message()};
}

HttpResult exchange(const Endpoint &endpoint, const HttpRequest &request, const HttpTimeouts &timeouts) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeouts.total;
  asio::io_context io;
  beast::error_code ec;

  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec)
    return TransportFailure{TransportFailure::Kind::kConnect, "cannot resolve " + endpoint.host + ": " + ec.message()};

  beast::tcp_stream stream(io);
  stream.expires_after(std::min(timeouts.connect, timeouts.total));
  stream.async_connect(addresses, [&](const beast::error_code &e, const tcp::endpoint &) { ec = e; });
  run_step(io);
  if (ec) return failure(ec, TransportFailure::Kind::kConnect, "connecting to", endpoint);

  http::request<http::string_body> message{request.method == "POST" ? http::verb::post : http::verb::get,
                                           request.target, 11};
  message.set(http::field::host, describe(endpoint));
  message.set(http::field::user_agent, "weft-console");
  message.set(http::field::content_type, "application/json");
  message.set(http::field::accept, "application/json");
  if (!request.authorization.empty()) message.set(http::field::authorization, request.authorization);
  message.body() = request.body;
  message.prepare_payload();

  stream.expires_at(deadline);
  http::async_write(stream, message, [&](const beast::error_code &e, std::size_t) { ec = e; });
  run_step(io);
  if (ec) return failure(ec, TransportFailure::Kind::kIo, "sending to", endpoint);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  http::async_read(stream, buffer, parser, [&](const beast::error_code &e, std::size_t) { ec = e; });
  run_step(io);
  if (ec) return failure(ec, TransportFailure::Kind::kIo, "waiting for", endpoint);

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto response = parser.release();
  return HttpResponse{static_cast<int>(response.result_int()), std::move(response.body())};
}

} // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || err != std::errc{} || end != port.data() + port.size() || value == 0 ||
      value > 65535)
    return std::nullopt;
  return Endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

HttpResult send_http(const Endpoint &endpoint, const HttpRequest &request, const HttpTimeouts &timeouts) {
  try {
    return exchange(endpoint, request, timeouts);
  } catch (const std::exception &e) {
    // Asio reports resource exhaustion (no file descriptors, no memory) by throwing; the caller wants a result.
    return TransportFailure{TransportFailure::Kind::kIo, std::string("HTTP client failure: ") + e.what()};
  }
}

} // namespace weft::console
