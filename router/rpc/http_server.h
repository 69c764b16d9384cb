// The RPC door's transport: an HTTP/1.1 server with one coroutine per connection, timeouts on every read,
// a body limit before parsing and an in-flight cap. It knows nothing of routes; a handler answers requests.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"

namespace weft {

struct HttpRequest {
  std::string method; // as sent, e.g. "GET"
  std::string target; // path and query
  std::string body;
  std::string authorization;
  std::string remote; // peer address, for logs
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool close = false; // close the connection after this response
};

struct HttpLimits {
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10000}; // whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  size_t max_in_flight = 1024;
};

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;
// Renders a transport-level failure (body too large, too slow, overloaded) in the RPC's envelope.
using ErrorRenderer = std::function<std::string(const Error &)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context &io, HttpLimits limits, HttpHandler handler, ErrorRenderer render_error);
  ~HttpServer();

  // Binds and listens; port 0 picks a free port. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string &host, uint16_t port);
  void start();
  // Stops accepting and closes connections that are idle; busy ones close after their response.
  void stop();
  size_t connections() const;
  size_t requests_in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace weft
