// The only translation unit of the router that includes Boost.Beast.
#include "http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
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

// A TLS handshake must complete within this, as WeCross's.
constexpr std::chrono::milliseconds kHandshakeTime{10000};

// How long and how much a refused client may still send before the connection closes.
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr size_t kDrainBytes = 64 * 1024;

// One connection: its socket (inside a TLS stream when the door speaks TLS), whether it waits between requests (so
// stop() may close it), its strand, and its one deadline. A deadline is a store, not a timer: the server's sweeper
// (one timer for every connection) sees it has passed and asks the strand, which checks it again there (a limit is
// armed and disarmed on the strand only) and cancels the socket's pending I/O; the coroutine then sees
// operation_aborted. At most one limit runs at a time on a connection.
struct Connection {
  using Clock = std::chrono::steady_clock;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls; // owns the socket once set; touched on the strand only
  asio::any_io_executor strand;
  bool idle = true;
  std::atomic<int64_t> deadline{kNever}; // steady clock ticks; kNever when no limit runs; written on the strand
  bool fired = false;                    // the current limit cancelled the socket; on the strand only
  explicit Connection(tcp::socket s) : socket(std::move(s)), strand(socket.get_executor()) {}
  tcp::socket &lowest() { return tls ? tls->next_layer() : socket; }
};

// Arms the connection's deadline for a scope (see Connection). Made and destroyed on the connection's strand.
class Limit {
 public:
  Limit(Connection &c, std::chrono::milliseconds after) : c_(c) { restart(after); }
  ~Limit() { disarm(); }
  // Counts the limit again from now (after a wait that was not the client's to answer for).
  void restart(std::chrono::milliseconds after) {
    c_.fired = false;
    c_.deadline.store((Connection::Clock::now() + after).time_since_epoch().count(), std::memory_order_relaxed);
  }
  Limit(const Limit &) = delete;
  Limit &operator=(const Limit &) = delete;
  void disarm() { c_.deadline.store(Connection::kNever, std::memory_order_relaxed); }
  bool expired() const { return c_.fired; }

 private:
  Connection &c_;
};

// A pipelined request that runs alongside others of its connection: its answer once there, and a timer the
// connection waits on, cancelled when the answer comes. Touched on the connection's strand only.
struct Pending {
  explicit Pending(const asio::any_io_executor &ex) : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  std::optional<HttpResponse> out;
  unsigned version = 11;
  bool keep = true;
};
using PendingList = std::deque<std::shared_ptr<Pending>>;

// Pipelined reads running at once on one connection, at most.
constexpr size_t kMaxParallel = 32;

} // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context &io;
  HttpLimits limits;
  HttpHandler handler;
  ErrorRenderer render_error;
  RefusalObserver on_refusal;
  ParallelFilter parallel_ok; // set before start
  tcp::acceptor acceptor;
  asio::steady_timer sweeper;
  std::chrono::milliseconds sweep_every;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> in_flight{0};
  mutable std::mutex mu;
  std::set<std::shared_ptr<Connection>> conns;
  std::unique_ptr<asio::ssl::context> tls; // set by enable_tls before start
  TlsMode tls_mode = TlsMode::Plain;

  Impl(asio::io_context &i, HttpLimits l, HttpHandler h, ErrorRenderer r)
      : io(i), limits(l), handler(std::move(h)), render_error(std::move(r)), acceptor(i), sweeper(i),
        sweep_every(sweep_interval(l)) {}

  // Deadlines fire at most this late: an eighth of the shortest limit, between 5 and 250 ms.
  static std::chrono::milliseconds sweep_interval(const HttpLimits &l) {
    auto shortest = std::min({l.header_timeout, l.idle_timeout, kDrainTime, kHandshakeTime});
    return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
  }

  // Cancels the pending I/O of every connection whose deadline has passed: checked here, then again on its strand
  // (the connection may have moved on to another limit meanwhile). Runs until the server stops and its last
  // connection has closed.
  void sweep() {
    int64_t now = Connection::Clock::now().time_since_epoch().count();
    {
      std::lock_guard lock(mu);
      if (stopping && conns.empty()) return;
      for (const auto &conn : conns) {
        if (conn->deadline.load(std::memory_order_relaxed) > now) continue;
        asio::post(conn->strand, [conn] {
          if (conn->deadline.load(std::memory_order_relaxed) > Connection::Clock::now().time_since_epoch().count())
            return;
          conn->deadline.store(Connection::kNever, std::memory_order_relaxed);
          conn->fired = true;
          error_code ignored;
          conn->lowest().cancel(ignored);
        });
      }
    }
    sweeper.expires_after(sweep_every);
    sweeper.async_wait([self = shared_from_this()](const error_code &ec) {
      if (!ec) self->sweep();
    });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(io), kAwait);
      if (stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("rpc: accept failed: {}", ec.message());
        continue;
      }
      // Answers are small and written whole: do not hold them back waiting for the client's ACK.
      error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
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

  // The status line and header fields of an answer, written by hand: one string, no field container.
  static std::string response_head(const HttpResponse &r, unsigned version, bool keep_alive) {
    std::string head;
    head.reserve(160);
    head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head += std::to_string(r.status);
    head += ' ';
    head += http::obsolete_reason(static_cast<http::status>(r.status));
    head += "\r\nServer: weft\r\nContent-Type: ";
    head += r.content_type;
    if (!keep_alive)
      head += "\r\nConnection: close";
    else if (version == 10)
      head += "\r\nConnection: keep-alive";
    for (const auto &[name, value] : r.headers) {
      head += "\r\n";
      head += name;
      head += ": ";
      head += value;
    }
    head += "\r\nContent-Length: ";
    head += std::to_string(r.body.size());
    head += "\r\n\r\n";
    return head;
  }

  // Writes the answers held back (see serve), then this one's head and body, in one gather write, within
  // header_timeout.
  template <class Stream>
  asio::awaitable<bool> write(Stream &stream, Connection &conn, const HttpResponse &r, unsigned version,
                              bool keep_alive, std::string &held) {
    std::string head = response_head(r, version, keep_alive);
    std::array<asio::const_buffer, 3> buffers{asio::buffer(held), asio::buffer(head), asio::buffer(r.body)};
    Limit d(conn, limits.header_timeout);
    auto [ec, n] = co_await asio::async_write(stream, buffers, kAwait);
    held.clear();
    co_return !ec;
  }

  // Writes the answers held back, under whatever limit runs (the request's being read).
  template <class Stream> asio::awaitable<bool> flush_held(Stream &stream, std::string &held) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(held), kAwait);
    held.clear();
    co_return !ec;
  }

  // The handler's answer to one request, in flight until it is there; a handler that throws is an internal error.
  asio::awaitable<HttpResponse> answer(HttpRequest req) {
    HttpResponse out;
    std::string remote = req.remote;
    try {
      out = co_await handler(std::move(req));
    } catch (const std::exception &e) {
      spdlog::error("rpc {} handler failed: {}", remote, e.what());
      out = HttpResponse{200, "application/json", render_error({code::kInternal, e.what()}), false, {}};
    }
    in_flight.fetch_sub(1);
    co_return out;
  }

  // Runs one pipelined read alongside the others of its connection.
  static asio::awaitable<void> run_pending(std::shared_ptr<Impl> self, std::shared_ptr<Pending> p, HttpRequest req) {
    p->out = co_await self->answer(std::move(req));
    p->done.cancel();
  }

  // Adds an answer to those held back, to leave with them in one write.
  static void hold(std::string &held, const HttpResponse &r, unsigned version, bool keep_alive) {
    held += response_head(r, version, keep_alive);
    held += r.body;
  }

  // Waits for the answers of the reads running alongside, in the order of their requests, and adds them to `held`.
  // False when one of them closes the connection: the answers after it are dropped (those requests only read).
  asio::awaitable<bool> collect(PendingList &pending, std::string &held) {
    bool open = true;
    while (!pending.empty()) {
      std::shared_ptr<Pending> p = pending.front();
      if (!p->out) co_await p->done.async_wait(kAwait);
      pending.pop_front();
      if (!open) continue;
      bool keep = p->keep && !p->out->close && !stopping;
      hold(held, *p->out, p->version, keep);
      open = keep;
    }
    co_return open;
  }

  // Before the socket is read again: every answer so far leaves, those of reads still running included (waited for,
  // in order). False when the connection ends (a write failed, or an answer closes it).
  template <class Stream> asio::awaitable<bool> settle(Stream &stream, PendingList &pending, std::string &held) {
    bool open = true;
    if (!pending.empty()) open = co_await collect(pending, held);
    if (!held.empty() && !co_await flush_held(stream, held)) co_return false;
    co_return open;
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
                               boost::beast::flat_buffer &buffer, std::string &held, int status, const Error &err,
                               const std::string &remote) {
    spdlog::info("rpc {} refused with {}: {}", remote, status, err.message);
    if (on_refusal) on_refusal(status);
    HttpResponse r{status, "application/json", render_error(err), true, {}};
    if (status == 503) r.headers.emplace_back("Retry-After", "1");
    if (!co_await write(stream, *conn, r, 11, false, held)) co_return;
    error_code ignored;
    conn->lowest().shutdown(tcp::socket::shutdown_send, ignored);
    Limit d(*conn, kDrainTime);
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
        Limit d(*conn, kHandshakeTime);
        auto [ec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::server, kAwait);
        shook = !ec;
        if (ec) spdlog::info("rpc {} TLS handshake failed: {}", remote, ec.message());
      }
      if (shook) {
        co_await serve(*conn->tls, conn, remote, loopback, true);
        Limit d(*conn, std::chrono::milliseconds(1000));
        co_await conn->tls->async_shutdown(kAwait);
      }
    }
    error_code ignored;
    conn->lowest().shutdown(tcp::socket::shutdown_both, ignored);
    conn->lowest().close(ignored);
  }

  // Before the socket is read in the middle of a request: settle() what is held or running, then count the
  // request's limit again if that meant waiting for the router. False when the connection ends.
  template <class Stream>
  asio::awaitable<bool> before_read(Stream &stream, PendingList &pending, std::string &held, Limit &d) {
    if (held.empty() && pending.empty()) co_return true;
    bool waited = !pending.empty();
    if (!co_await settle(stream, pending, held)) co_return false;
    if (waited) d.restart(limits.header_timeout); // the wait was for the router, not the client
    co_return true;
  }

  // Reads one request into `parser`: the request line first, by hand (Beast's header limit covers the whole section,
  // and a line that alone is too long is a 414, not a 431), then whatever the buffer holds is parsed at once and
  // the socket read only while the parser needs more — and never while answers are held back: they go first.
  // Returns a refusal, or sets ec (end_of_stream: closed between requests).
  template <class Stream>
  asio::awaitable<std::optional<std::pair<int, Error>>> read_request(Stream &stream, boost::beast::flat_buffer &buffer,
                                                                    http::request_parser<http::string_body> &parser,
                                                                    std::string &held, PendingList &pending, Limit &d,
                                                                    error_code &ec) {
    constexpr size_t kReadSize = 16 * 1024;
    size_t n = 0;
    for (;;) {
      std::string_view seen(static_cast<const char *>(buffer.data().data()), buffer.size());
      size_t eol = seen.find("\r\n");
      if (eol != std::string_view::npos && eol <= limits.max_request_line) break;
      if ((eol == std::string_view::npos ? seen.size() : eol) > limits.max_request_line)
        co_return std::pair<int, Error>{
            414, {code::kPostData, "request line is longer than " + std::to_string(limits.max_request_line) + " bytes"}};
      if (!co_await before_read(stream, pending, held, d)) {
        ec = asio::error::connection_reset;
        co_return std::nullopt;
      }
      std::tie(ec, n) = co_await stream.async_read_some(buffer.prepare(kReadSize), kAwait);
      if (ec) co_return std::nullopt;
      buffer.commit(n);
    }
    // The header alone first (eager off), checked before any of the body is parsed; then the body.
    parser.eager(false);
    bool header_checked = false;
    for (;;) {
      if (buffer.size() > 0 && !parser.is_done()) {
        size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more)
          ec = {};
        else if (ec)
          co_return std::nullopt;
      }
      if (!header_checked && parser.is_header_done()) {
        header_checked = true;
        if (auto refusal = check_header(parser.get())) co_return refusal;
        parser.eager(true);
        continue; // the body may be in the buffer already
      }
      if (parser.is_done()) co_return std::nullopt;
      if (!co_await before_read(stream, pending, held, d)) {
        ec = asio::error::connection_reset;
        co_return std::nullopt;
      }
      std::tie(ec, n) = co_await stream.async_read_some(buffer.prepare(kReadSize), kAwait);
      if (ec == asio::error::eof) {
        if (!parser.got_some()) {
          ec = http::error::end_of_stream;
          co_return std::nullopt;
        }
        parser.put_eof(ec);
        if (!ec && parser.is_done()) co_return std::nullopt;
        if (!ec) ec = http::error::partial_message;
        co_return std::nullopt;
      }
      if (ec) co_return std::nullopt;
      buffer.commit(n);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream &stream, std::shared_ptr<Connection> conn, const std::string &remote,
                              bool loopback, bool secure) {
    Connection &c = *conn;
    boost::beast::flat_buffer buffer;
    // Answers held back while the next request is already buffered (pipelined): requests are still handled one at a
    // time and in order, but their answers leave together, in one write, once no whole request is left to handle.
    std::string held;
    constexpr size_t kHoldBytes = 64 * 1024;
    // Pipelined reads running alongside each other (set_parallel_filter), oldest first.
    PendingList pending;
    for (bool first = true;; first = false) {
      if (stopping) break;
      // Wait for the first byte of the next request: the idle limit applies here. Every answer leaves first.
      if (buffer.size() == 0) {
        if ((!pending.empty() || !held.empty()) && !co_await settle(stream, pending, held)) break;
        c.idle = true;
        Limit idle(c, first ? limits.header_timeout : limits.idle_timeout);
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
      Limit d(c, limits.header_timeout);
      error_code ec;
      std::optional<std::pair<int, Error>> refusal =
          co_await read_request(stream, buffer, parser, held, pending, d, ec);
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
        if (!pending.empty()) co_await collect(pending, held); // the answers before the refusal go first
        co_await refuse(stream, conn, buffer, held, refusal->first, refusal->second, remote);
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
        if (!pending.empty()) co_await collect(pending, held);
        co_await refuse(stream, conn, buffer, held, 503, overloaded, remote);
        break;
      }
      // A read while more requests are pipelined behind it (or reads run already) runs alongside them; anything
      // else waits for what came before it, then runs alone.
      const bool keep_req = req.keep_alive();
      if (parallel_ok && keep_req && !stopping && pending.size() < kMaxParallel &&
          (buffer.size() > 0 || !pending.empty()) && parallel_ok(hreq)) {
        auto p = std::make_shared<Pending>(c.strand);
        p->version = req.version();
        p->keep = keep_req;
        pending.push_back(p);
        asio::co_spawn(c.strand, run_pending(shared_from_this(), p, std::move(hreq)), asio::detached);
        continue;
      }
      if (!pending.empty() && !co_await collect(pending, held)) {
        in_flight.fetch_sub(1); // an answer before it closed the connection: this request is not run
        break;
      }
      HttpResponse out = co_await answer(std::move(hreq));
      bool keep = req.keep_alive() && !out.close && !stopping;
      if (keep && buffer.size() > 0 && held.size() < kHoldBytes) {
        hold(held, out, req.version(), keep);
        continue;
      }
      if (!co_await write(stream, c, out, req.version(), keep, held) || !keep) break;
    }
    if (!pending.empty()) co_await collect(pending, held); // reads still running finish; their answers go if they can
    if (!held.empty()) { // stopping with answers held back
      Limit d(c, limits.header_timeout);
      co_await flush_held(stream, held);
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

void HttpServer::set_parallel_filter(ParallelFilter fn) { impl_->parallel_ok = std::move(fn); }

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
  asio::post(impl_->sweeper.get_executor(), [impl = impl_] { impl->sweep(); });
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
