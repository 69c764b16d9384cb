// The only translation unit of the router that includes Boost.Beast.
#include "http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "core/deadline.h"

#include <array>
#include <mutex>
#include <optional>
#include <set>

namespace weft {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// One connection: its socket (inside a TLS stream when the door speaks TLS), whether it waits between requests (so
// stop() may close it), its strand.
struct Connection {
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls; // owns the socket once set; touched on the strand only
  asio::any_io_executor strand;
  bool idle = true;
  explicit Connection(tcp::socket s) : socket(std::move(s)), strand(socket.get_executor()) {}
  tcp::socket &lowest() { return tls ? tls->next_layer() : socket; }
};

// Cancels the socket's pending I/O when the limit passes; the coroutine then sees operation_aborted. The deadline
// and the session share the connection's strand.
Deadline socket_deadline(const asio::any_io_executor &ex, const std::shared_ptr<Connection> &c,
                         std::chrono::milliseconds after) {
  return Deadline(ex, after, [c] {
    error_code ignored;
    c->lowest().cancel(ignored);
  });
}

// A TLS handshake must complete within this, as WeCross's.
constexpr std::chrono::milliseconds kHandshakeTime{10000};

// How long and how much a refused client may still send before the connection closes.
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr size_t kDrainBytes = 64 * 1024;

} // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context &io;
  HttpLimits limits;
  HttpHandler handler;
  ErrorRenderer render_error;
  RefusalObserver on_refusal;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> in_flight{0};
  mutable std::mutex mu;
  std::set<std::shared_ptr<Connection>> conns;
  std::unique_ptr<asio::ssl::context> tls; // set by enable_tls before start
  TlsMode tls_mode = TlsMode::Plain;

  Impl(asio::io_context &i, HttpLimits l, HttpHandler h, ErrorRenderer r)
      : io(i), limits(l), handler(std::move(h)), render_error(std::move(r)), acceptor(i) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(io), kAwait);
      if (stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("rpc: accept failed: {}", ec.message());
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(sock));
      {
        std::lock_guard lock(mu);
        conns.insert(conn);
      }
      asio::co_spawn(conn->strand, session(conn), [self = shared_from_this(), conn](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception &ex) {
            spdlog::error("rpc: connection ended by an exception: {}", ex.what());
          }
        }
        std::lock_guard lock(self->mu);
        self->conns.erase(conn);
      });
    }
  }

  template <class Stream>
  asio::awaitable<bool> write(Stream &stream, const std::shared_ptr<Connection> &conn,
                              http::response<http::string_body> &res) {
    auto ex = co_await asio::this_coro::executor;
    auto d = socket_deadline(ex, conn, limits.header_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, kAwait);
    co_return !ec;
  }

  http::response<http::string_body> make_response(const HttpResponse &r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "weft");
    res.set(http::field::content_type, r.content_type);
    res.keep_alive(keep_alive && !r.close);
    for (const auto &[name, value] : r.headers) res.set(name, value);
    res.body() = r.body;
    res.prepare_payload();
    return res;
  }

  // A header that parsed but breaks a limit Beast does not check: the field count (and the request line's length,
  // checked again here for a target that arrived whole in the first read).
  std::optional<std::pair<int, Error>> check_header(const http::request<http::string_body> &req) const {
    size_t line = req.method_string().size() + req.target().size() + 10;
    if (line > limits.max_request_line)
      return {{414, {code::kPostData, "request line is longer than " + std::to_string(limits.max_request_line) +
                                           " bytes"}}};
    size_t fields = static_cast<size_t>(std::distance(req.begin(), req.end()));
    if (fields > limits.max_header_fields)
      return {{431, {code::kPostData, "request has " + std::to_string(fields) + " header fields; at most " +
                                          std::to_string(limits.max_header_fields) + " are accepted"}}};
    return std::nullopt;
  }

  // Answers a refusal with its status and the error in the door's format, then half-closes and reads what the
  // client still sends (up to kDrainBytes or kDrainTime), so it sees the answer rather than a reset.
  template <class Stream>
  asio::awaitable<void> refuse(Stream &stream, const std::shared_ptr<Connection> &conn,
                               boost::beast::flat_buffer &buffer, int status, const Error &err,
                               const std::string &remote) {
    spdlog::info("rpc {} refused with {}: {}", remote, status, err.message);
    if (on_refusal) on_refusal(status);
    HttpResponse r{status, "application/json", render_error(err), true, {}};
    if (status == 503) r.headers.emplace_back("Retry-After", "1");
    auto res = make_response(r, 11, false);
    if (!co_await write(stream, conn, res)) co_return;
    error_code ignored;
    conn->lowest().shutdown(tcp::socket::shutdown_send, ignored);
    auto ex = co_await asio::this_coro::executor;
    auto d = socket_deadline(ex, conn, kDrainTime);
    size_t drained = buffer.size();
    buffer.consume(buffer.size());
    std::array<char, 4096> sink;
    while (drained < kDrainBytes) {
      auto [ec, n] = co_await conn->lowest().async_read_some(asio::buffer(sink), kAwait);
      if (ec) break;
      drained += n;
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> conn) {
    auto ex = co_await asio::this_coro::executor;
    std::string remote;
    bool loopback = false;
    {
      error_code ec;
      auto ep = conn->socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
      loopback = !ec && ep.address().is_loopback();
    }
    if (!tls) {
      co_await serve(conn->socket, conn, remote, loopback, false);
    } else {
      conn->tls = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(conn->socket), *tls);
      bool shook = false;
      {
        auto d = socket_deadline(ex, conn, kHandshakeTime);
        auto [ec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::server, kAwait);
        shook = !ec;
        if (ec) spdlog::info("rpc {} TLS handshake failed: {}", remote, ec.message());
      }
      if (shook) {
        co_await serve(*conn->tls, conn, remote, loopback, true);
        auto d = socket_deadline(ex, conn, std::chrono::milliseconds(1000));
        co_await conn->tls->async_shutdown(kAwait);
      }
    }
    error_code ignored;
    conn->lowest().shutdown(tcp::socket::shutdown_both, ignored);
    conn->lowest().close(ignored);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream &stream, std::shared_ptr<Connection> conn, const std::string &remote,
                              bool loopback, bool secure) {
    auto ex = co_await asio::this_coro::executor;
    Connection &c = *conn;
    boost::beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
      if (stopping) break;
      // Wait for the first byte of the next request: the idle limit applies here.
      if (buffer.size() == 0) {
        c.idle = true;
        auto idle = socket_deadline(ex, conn, first ? limits.header_timeout : limits.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kAwait);
        c.idle = false;
        if (ec || n == 0) break; // closed, idle too long, or stopping
        buffer.commit(n);
      }
      c.idle = false;
      // From the first byte, the whole request must arrive within header_timeout.
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      parser.body_limit(limits.max_body_bytes);
      auto d = socket_deadline(ex, conn, limits.header_timeout);
      // The request line first, read by hand: Beast's header limit covers the whole section, and a line that
      // alone is too long is a 414, not a 431.
      std::optional<std::pair<int, Error>> refusal;
      error_code ec;
      size_t n = 0;
      for (;;) {
        std::string_view seen(static_cast<const char *>(buffer.data().data()), buffer.size());
        size_t eol = seen.find("\r\n");
        if (eol != std::string_view::npos && eol <= limits.max_request_line) break;
        if ((eol == std::string_view::npos ? seen.size() : eol) > limits.max_request_line) {
          refusal = {{414, {code::kPostData, "request line is longer than " +
                                                 std::to_string(limits.max_request_line) + " bytes"}}};
          break;
        }
        std::tie(ec, n) = co_await stream.async_read_some(buffer.prepare(4096), kAwait);
        if (ec) break;
        buffer.commit(n);
      }
      if (!ec && !refusal) std::tie(ec, n) = co_await http::async_read_header(stream, buffer, parser, kAwait);
      if (!ec && !refusal) refusal = check_header(parser.get());
      if (!ec && !refusal) std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kAwait);
      bool timed_out = d.expired();
      d.disarm();
      if (ec && !refusal) {
        if (timed_out)
          refusal = {{408, {code::kRequestTimeout, "request not received within " +
                                                       std::to_string(limits.header_timeout.count()) + " ms"}}};
        else if (ec == http::error::body_limit)
          refusal = {{413, {code::kBodyTooLarge, "request body exceeds rpc.max_body_bytes (" +
                                                     std::to_string(limits.max_body_bytes) + " bytes)"}}};
        else if (ec == http::error::header_limit)
          refusal = {{431, {code::kPostData, "request header section is larger than " +
                                                 std::to_string(limits.max_header_bytes) + " bytes"}}};
        else if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
                 ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated)
          break;
        else
          refusal = {{400, {code::kPostData, "bad request: " + ec.message()}}};
      }
      if (refusal) {
        co_await refuse(stream, conn, buffer, refusal->first, refusal->second, remote);
        break;
      }
      auto &req = parser.get();
      HttpRequest hreq;
      hreq.method = std::string(req.method_string());
      hreq.target = std::string(req.target());
      hreq.body = std::move(req.body());
      hreq.authorization = std::string(req[http::field::authorization]);
      hreq.remote = remote;
      hreq.loopback = loopback;
      hreq.secure = secure;
      if (in_flight.fetch_add(1) >= limits.max_in_flight) {
        in_flight.fetch_sub(1);
        // Built before the co_await: GCC 12 destroys a braced temporary inside a co_await expression twice.
        Error overloaded{code::kOverloaded, "router has " + std::to_string(limits.max_in_flight) +
                                                " requests in flight (rpc.max_in_flight); retry later"};
        co_await refuse(stream, conn, buffer, 503, overloaded, remote);
        break;
      }
      HttpResponse out;
      try {
        out = co_await handler(std::move(hreq));
      } catch (const std::exception &e) {
        spdlog::error("rpc {} handler failed: {}", remote, e.what());
        out = HttpResponse{200, "application/json", render_error({code::kInternal, e.what()}), false, {}};
      }
      in_flight.fetch_sub(1);
      bool keep = req.keep_alive() && !out.close && !stopping;
      auto res = make_response(out, req.version(), keep);
      if (!co_await write(stream, conn, res) || !keep) break;
    }
  }
};

HttpServer::HttpServer(asio::io_context &io, HttpLimits limits, HttpHandler handler, ErrorRenderer render_error)
    : impl_(std::make_shared<Impl>(io, limits, std::move(handler), std::move(render_error))) {}

HttpServer::~HttpServer() = default;

Result<tcp::endpoint> HttpServer::listen(const std::string &host, uint16_t port) {
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Error{code::kInternal, "rpc.listen: '" + host + "' is not an IP address"};
  tcp::endpoint ep(addr, port);
  auto &a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{code::kInternal, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  return a.local_endpoint();
}

void HttpServer::set_refusal_observer(RefusalObserver fn) { impl_->on_refusal = std::move(fn); }

Status HttpServer::enable_tls(const TlsOptions &o) {
  if (o.mode == TlsMode::Plain) return Ok{};
  try {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    // TLS 1.2 and 1.3 only; TLS 1.2 ciphers from `ciphers` (the JDK 17 WeCross SDK needs AES128-GCM-SHA256).
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx->native_handle(), o.ciphers.c_str()) != 1)
      return Error{code::kInternal, "rpc.tls.ciphers '" + o.ciphers + "' names no cipher OpenSSL knows"};
    ctx->use_certificate_chain_file(o.certificate);
    ctx->use_private_key_file(o.private_key, asio::ssl::context::pem);
    if (o.mode == TlsMode::Mutual) {
      ctx->load_verify_file(o.ca_certificate);
      ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    } else {
      ctx->set_verify_mode(asio::ssl::verify_none);
    }
    impl_->tls = std::move(ctx);
    impl_->tls_mode = o.mode;
    return Ok{};
  } catch (const boost::system::system_error &e) {
    return Error{code::kInternal, "rpc.tls: " + std::string(e.what()) +
                                      " (check rpc.tls.certificate, private_key and ca_certificate)"};
  }
}

void HttpServer::start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception &ex) {
      spdlog::error("rpc: accept loop ended by an exception: {}", ex.what());
    }
  });
}

void HttpServer::stop() {
  auto impl = impl_;
  impl->stopping = true;
  asio::post(impl->acceptor.get_executor(), [impl] {
    error_code ignored;
    impl->acceptor.close(ignored);
  });
  std::lock_guard lock(impl->mu);
  for (const auto &conn : impl->conns)
    asio::post(conn->strand, [conn] {
      if (!conn->idle) return; // its session closes after the response, seeing `stopping`
      error_code ignored;
      conn->lowest().cancel(ignored);
    });
}

size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

size_t HttpServer::requests_in_flight() const { return impl_->in_flight.load(); }

} // namespace weft
