// An HTTP/1.1 server with one coroutine per connection (pipelined reads may run alongside each other), timeouts on
// every read, a body limit before parsing and an in-flight cap. Refusals get HTTP statuses as nginx gives them (400, 408, 413, 414, 431, 503), then the
// connection half-closes and drains what the client still sends, so the client reads the status instead of a
// reset. It knows nothing of routes: a handler answers requests. Serves the RPC and the metrics listener.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <weft/error.hpp>

namespace weft {

struct HttpRequest {
  std::string method; // as sent, e.g. "GET"
  std::string target; // path and query
  std::string body;
  std::string authorization;
  std::string remote;     // peer address, for logs
  bool loopback = false;  // the peer is on this machine
  bool secure = false;    // arrived over TLS
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool close = false; // close the connection after this response
  std::vector<std::pair<std::string, std::string>> headers; // extra fields, e.g. Allow, Retry-After
};

struct HttpLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_request_line = 8 * 1024;  // method, target and version: longer is 414
  size_t max_header_bytes = 16 * 1024; // the whole header section: larger is 431
  size_t max_header_fields = 100;      // more fields is 431
  std::chrono::milliseconds header_timeout{10000}; // whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  size_t max_in_flight = 1024;
};

// WeCross's three modes (its sslSwitch 2, 1, 0): plain HTTP, TLS, TLS with a client certificate the CA signed.
enum class TlsMode { Plain, Tls, Mutual };
struct TlsOptions {
  TlsMode mode = TlsMode::Plain;
  std::string certificate;    // PEM chain of the server
  std::string private_key;    // PEM
  std::string ca_certificate; // PEM of the CA client certificates must chain to (Mutual)
  std::string ciphers;        // OpenSSL TLS 1.2 cipher list; empty: OpenSSL's default
};

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;
// Renders a transport-level failure (body too large, too slow, overloaded) as a body in the door's own format.
using ErrorRenderer = std::function<std::string(const Error &)>;
// Sees every refusal at the HTTP level (400, 408, 413, 414, 431, 503).
using RefusalObserver = std::function<void(int status)>;
// Whether a request may run alongside the others pipelined on its connection: it only reads (and is worth it).
using ParallelFilter = std::function<bool(const HttpRequest &)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context &io, HttpLimits limits, HttpHandler handler, ErrorRenderer render_error);
  ~HttpServer();

  // Binds and listens; port 0 picks a free port. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string &host, uint16_t port);
  void start();
  void set_refusal_observer(RefusalObserver fn);
  // Pipelined requests the filter passes run alongside each other (up to 32 per connection), their answers still
  // written in the order of the requests; any other request waits for those before it and runs alone, so a client
  // sees what it would see one request at a time. Without a filter, requests run one at a time. Call before start.
  void set_parallel_filter(ParallelFilter fn);
  // Makes the door speak TLS (call before start). Errors name the file or option at fault.
  Status enable_tls(const TlsOptions &options);
  // Stops accepting and closes connections that are idle; busy ones close after their response.
  void stop();
  size_t connections() const;
  size_t requests_in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace weft
