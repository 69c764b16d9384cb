// The only translation unit of the router that includes Boost.Beast.
#include "http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
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

// One connection: its socket, whether it waits between requests (so stop() may close it), its strand.
struct Connection {
  tcp::socket socket;
  bool idle = true;
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
};

// Cancels the socket's pending I/O when the limit passes; the coroutine then sees operation_aborted. The deadline
// and the session share the connection's strand.
Deadline socket_deadline(const asio::any_io_executor &ex, const std::shared_ptr<Connection> &c,
                         std::chrono::milliseconds after) {
  return Deadline(ex, after, [c] {
    error_code ignored;
    c->socket.cancel(ignored);
  });
}

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
      asio::co_spawn(conn->socket.get_executor(), session(conn), [self = shared_from_this(), conn](std::exception_ptr e) {
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

  asio::awaitable<bool> write(const std::shared_ptr<Connection> &conn, http::response<http::string_body> &res) {
    auto ex = co_await asio::this_coro::executor;
    auto d = socket_deadline(ex, conn, limits.header_timeout);
    auto [ec, n] = co_await http::async_write(conn->socket, res, kAwait);
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
  asio::awaitable<void> refuse(const std::shared_ptr<Connection> &conn, boost::beast::flat_buffer &buffer, int status,
                               const Error &err, const std::string &remote) {
    spdlog::info("rpc {} refused with {}: {}", remote, status, err.message);
    if (on_refusal) on_refusal(status);
    HttpResponse r{status, "application/json", render_error(err), true, {}};
    if (status == 503) r.headers.emplace_back("Retry-After", "1");
    auto res = make_response(r, 11, false);
    if (!co_await write(conn, res)) co_return;
    error_code ignored;
    conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
    auto ex = co_await asio::this_coro::executor;
    auto d = socket_deadline(ex, conn, kDrainTime);
    size_t drained = buffer.size();
    buffer.consume(buffer.size());
    std::array<char, 4096> sink;
    while (drained < kDrainBytes) {
      auto [ec, n] = co_await conn->socket.async_read_some(asio::buffer(sink), kAwait);
      if (ec) break;
      drained += n;
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> conn) {
    auto ex = co_await asio::this_coro::executor;
    Connection &c = *conn;
    boost::beast::flat_buffer buffer;
    std::string remote;
    {
      error_code ec;
      auto ep = c.socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    for (bool first = true;; first = false) {
      if (stopping) break;
      // Wait for the first byte of the next request: the idle limit applies here.
      if (buffer.size() == 0) {
        c.idle = true;
        auto idle = socket_deadline(ex, conn, first ? limits.header_timeout : limits.idle_timeout);
        auto [ec, n] = co_await c.socket.async_read_some(buffer.prepare(4096), kAwait);
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
        std::tie(ec, n) = co_await c.socket.async_read_some(buffer.prepare(4096), kAwait);
        if (ec) break;
        buffer.commit(n);
      }
      if (!ec && !refusal) std::tie(ec, n) = co_await http::async_read_header(c.socket, buffer, parser, kAwait);
      if (!ec && !refusal) refusal = check_header(parser.get());
      if (!ec && !refusal) std::tie(ec, n) = co_await http::async_read(c.socket, buffer, parser, kAwait);
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
                 ec == asio::error::operation_aborted)
          break;
        else
          refusal = {{400, {code::kPostData, "bad request: " + ec.message()}}};
      }
      if (refusal) {
        co_await refuse(conn, buffer, refusal->first, refusal->second, remote);
        break;
      }
      auto &req = parser.get();
      HttpRequest hreq;
      hreq.method = std::string(req.method_string());
      hreq.target = std::string(req.target());
      hreq.body = std::move(req.body());
      hreq.authorization = std::string(req[http::field::authorization]);
      hreq.remote = remote;
      if (in_flight.fetch_add(1) >= limits.max_in_flight) {
        in_flight.fetch_sub(1);
        // Built before the co_await: GCC 12 destroys a braced temporary inside a co_await expression twice.
        Error overloaded{code::kOverloaded, "router has " + std::to_string(limits.max_in_flight) +
                                                " requests in flight (rpc.max_in_flight); retry later"};
        co_await refuse(conn, buffer, 503, overloaded, remote);
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
      if (!co_await write(conn, res) || !keep) break;
    }
    error_code ignored;
    c.socket.shutdown(tcp::socket::shutdown_both, ignored);
    c.socket.close(ignored);
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
    asio::post(conn->socket.get_executor(), [conn] {
      if (!conn->idle) return; // its session closes after the response, seeing `stopping`
      error_code ignored;
      conn->socket.cancel(ignored);
    });
}

size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

size_t HttpServer::requests_in_flight() const { return impl_->in_flight.load(); }

} // namespace weft
