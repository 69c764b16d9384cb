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

#include <mutex>
#include <set>

namespace weft {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr size_t kHeaderLimit = 16 * 1024;

// One connection: its socket, whether it waits between requests (so stop() may close it), its strand.
struct Connection {
  tcp::socket socket;
  bool idle = true;
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
};

// Cancels the socket's pending I/O when the timer fires; the coroutine then sees operation_aborted. The
// handler may run after the Deadline is gone (a fire already queued when it was cancelled), so it owns what it
// touches and does nothing once disarmed. Timer and session share the connection's strand.
struct Deadline {
  asio::steady_timer timer;
  std::shared_ptr<bool> armed = std::make_shared<bool>(true);
  std::shared_ptr<bool> fired = std::make_shared<bool>(false);
  Deadline(const asio::any_io_executor &ex, std::shared_ptr<Connection> c, std::chrono::milliseconds after)
      : timer(ex) {
    timer.expires_after(after);
    timer.async_wait([armed = armed, fired = fired, c = std::move(c)](error_code ec) {
      if (ec || !*armed) return;
      *fired = true;
      error_code ignored;
      c->socket.cancel(ignored);
    });
  }
  ~Deadline() {
    *armed = false;
    timer.cancel();
  }
  bool expired() const { return *fired; }
};
} // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context &io;
  HttpLimits limits;
  HttpHandler handler;
  ErrorRenderer render_error;
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
    Deadline d(ex, conn, limits.header_timeout);
    auto [ec, n] = co_await http::async_write(conn->socket, res, kAwait);
    co_return !ec;
  }

  http::response<http::string_body> make_response(const HttpResponse &r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "weft");
    res.set(http::field::content_type, r.content_type);
    res.keep_alive(keep_alive && !r.close);
    res.body() = r.body;
    res.prepare_payload();
    return res;
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
        Deadline idle(ex, conn, first ? limits.header_timeout : limits.idle_timeout);
        auto [ec, n] = co_await c.socket.async_read_some(buffer.prepare(4096), kAwait);
        c.idle = false;
        if (ec || n == 0) break; // closed, idle too long, or stopping
        buffer.commit(n);
      }
      c.idle = false;
      // From the first byte, the whole request must arrive within header_timeout.
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(limits.max_body_bytes);
      error_code ec;
      bool timed_out = false;
      {
        Deadline d(ex, conn, limits.header_timeout);
        auto [e, n] = co_await http::async_read(c.socket, buffer, parser, kAwait);
        ec = e;
        timed_out = d.expired();
      }
      if (ec) {
        Error err;
        if (ec == http::error::body_limit)
          err = {code::kBodyTooLarge, "request body exceeds rpc.max_body_bytes (" +
                                          std::to_string(limits.max_body_bytes) + " bytes)"};
        else if (timed_out)
          err = {code::kRequestTimeout, "request not received within " +
                                            std::to_string(limits.header_timeout.count()) + " ms"};
        else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                 ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
          break;
        else if (ec == http::error::header_limit)
          err = {code::kPostData, "request headers exceed " + std::to_string(kHeaderLimit) + " bytes"};
        else {
          // Not HTTP at all: answer 400 and drop the connection.
          HttpResponse bad{400, "text/plain", "bad request: " + ec.message() + "\n", true};
          auto res = make_response(bad, 11, false);
          co_await write(conn, res);
          spdlog::info("rpc {} malformed HTTP: {}", remote, ec.message());
          break;
        }
        spdlog::info("rpc {} refused: {} {}", remote, err.code, err.message);
        HttpResponse r{200, "application/json", render_error(err), true};
        auto res = make_response(r, 11, false);
        co_await write(conn, res);
        break;
      }
      auto &req = parser.get();
      HttpRequest hreq;
      hreq.method = std::string(req.method_string());
      hreq.target = std::string(req.target());
      hreq.body = std::move(req.body());
      hreq.authorization = std::string(req[http::field::authorization]);
      hreq.remote = remote;
      HttpResponse out;
      if (in_flight.fetch_add(1) >= limits.max_in_flight) {
        out.body = render_error({code::kOverloaded, "router has " + std::to_string(limits.max_in_flight) +
                                                        " requests in flight (rpc.max_in_flight); retry later"});
      } else {
        try {
          out = co_await handler(std::move(hreq));
        } catch (const std::exception &e) {
          spdlog::error("rpc {} handler failed: {}", remote, e.what());
          out = HttpResponse{200, "application/json", render_error({code::kInternal, e.what()}), false};
        }
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
