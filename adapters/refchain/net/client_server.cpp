// The one translation unit of the client API that includes Asio. Connections live on the I/O thread; requests run
// on the worker pool; answers are posted back to their connection's queue and written in the order they finish.
#include "client_server.h"

#include "client_api.h"
#include "error.h"
#include "frame_io.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <deque>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace weft::refchain::net {

namespace {
constexpr std::chrono::milliseconds kExpiryTick{20};
constexpr std::chrono::milliseconds kAcceptPause{100}; // after a failed accept (out of descriptors, typically)
constexpr std::chrono::seconds kLogEvery{1};

// One client connection. Every member but in_flight is touched on the I/O thread only.
struct Conn {
  std::shared_ptr<tcp::socket> socket;
  std::deque<std::string> out;
  asio::steady_timer wake;
  std::atomic<size_t> in_flight{0};
  bool closing = false;      // write what is queued, then close
  bool receiving = false;    // a request has begun arriving
  bool writing = false;      // an answer is being written
  IdleGuard *idle = nullptr; // the reader's, while it runs: the writer touches it
  explicit Conn(tcp::socket s) : socket(std::make_shared<tcp::socket>(std::move(s))), wake(socket->get_executor()) {}
  bool busy() const { return receiving || writing || !out.empty() || in_flight.load() > 0; }
};
using ConnPtr = std::shared_ptr<Conn>;

// Counts an event and says when to report it: at most once per kLogEvery, with how many happened since.
struct Throttle {
  std::optional<std::chrono::steady_clock::time_point> last;
  uint64_t count = 0;
  std::optional<uint64_t> hit() {
    ++count;
    auto now = std::chrono::steady_clock::now();
    if (last && now - *last < kLogEvery) return std::nullopt;
    last = now;
    return std::exchange(count, 0);
  }
};

// The rest of a request whose first `have` bytes of head arrived: the head's remainder, then the body.
asio::awaitable<ReadStatus> finish_request(tcp::socket &s, uint8_t (&head)[4], size_t have, size_t max_bytes,
                                           size_t &len, Bytes &body) {
  if (have < 4) {
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(head + have, 4 - have), kAwait);
    if (ec) co_return ReadStatus::Closed;
  }
  len = size_t(head[0]) << 24 | size_t(head[1]) << 16 | size_t(head[2]) << 8 | size_t(head[3]);
  if (len > max_bytes) co_return ReadStatus::TooLarge;
  body.resize(len);
  if (len == 0) co_return ReadStatus::Ok;
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(body), kAwait);
  co_return ec ? ReadStatus::Closed : ReadStatus::Ok;
}
} // namespace

struct ClientServer::Impl {
  ClientServerOptions opt;
  Log log;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer expiry{io};
  asio::steady_timer accept_pause{io};
  Throttle refusals, accept_failures; // I/O thread only
  const std::string too_many = ClientApi::answer(nullptr, WEFT_E_UNAVAILABLE, "too many client connections", nullptr);
  ClientApi api; // after io: its waiters' replies hold connections, which must go before the io_context
  std::unique_ptr<asio::thread_pool> workers;
  std::set<ConnPtr> conns; // I/O thread only
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::atomic<uint16_t> port{0};

  Impl(ClientServerOptions o, ClientBackend b, Log l)
      : opt(std::move(o)), log(std::move(l)), api(std::move(b), opt.default_wait_ms, opt.max_wait_ms) {}

  void say(int level, const std::string &m) {
    if (log) log(level, "client api: " + m);
  }

  template <class Coro> void spawn(Coro coro, const char *what) {
    asio::co_spawn(io, std::move(coro), [this, what](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception &ex) {
        say(3, std::string(what) + " ended by an exception: " + ex.what());
      }
    });
  }

  // From any thread: queue an answer on its connection.
  void reply(const ConnPtr &c, std::string answer) {
    asio::post(io, [c, a = std::move(answer)]() mutable {
      c->in_flight.fetch_sub(1);
      c->out.push_back(std::move(a));
      c->wake.cancel();
    });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(kAwait);
      if (stopping || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        if (auto n = accept_failures.hit()) say(2, "accept failed (" + std::to_string(*n) + "x): " + ec.message());
        accept_pause.expires_after(kAcceptPause); // rather than spin on an accept that fails at once
        co_await accept_pause.async_wait(kAwait);
        continue;
      }
      if (conns.size() >= opt.max_connections) {
        refuse(std::move(s));
        continue;
      }
      error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      auto c = std::make_shared<Conn>(std::move(s));
      conns.insert(c);
      spawn(write_loop(c), "client writer");
      spawn(read_loop(c), "client reader");
    }
  }

  // Over the limit: one error frame, written without waiting (it fits the empty send buffer of a fresh socket),
  // then closed. Never more than one log line a second, however hard a client hammers the port.
  void refuse(tcp::socket s) {
    auto head = frame_head(too_many.size());
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(too_many)};
    error_code ignored;
    s.non_blocking(true, ignored);
    s.write_some(bufs, ignored);
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
    if (auto n = refusals.hit())
      say(2, "refused " + std::to_string(*n) + " connection(s) since the last report: " +
                 std::to_string(opt.max_connections) + " client connections are open (client_max_connections)");
  }

  asio::awaitable<void> read_loop(ConnPtr c) {
    tcp::socket &s = *c->socket;
    IdleGuard idle(c->socket, opt.idle_timeout, [raw = c.get()] { return raw->busy(); });
    c->idle = &idle;
    struct Unhook {
      Conn &c;
      ~Unhook() { c.idle = nullptr; }
    } unhook{*c};
    for (;;) {
      uint8_t head[4];
      // The first byte may take as long as the idle guard allows; from then on the request has frame_timeout.
      auto [ec, n] = co_await asio::async_read(s, asio::buffer(head), asio::transfer_at_least(1), kAwait);
      if (ec || stopping) {
        if (idle.fired()) say(0, "closed a connection idle for " + std::to_string(opt.idle_timeout.count()) + " ms");
        break;
      }
      c->receiving = true;
      size_t len = 0;
      auto frame = std::make_shared<Bytes>();
      ReadStatus st = ReadStatus::Closed;
      bool late = false;
      {
        Deadline d(c->socket, opt.frame_timeout);
        st = co_await finish_request(s, head, n, opt.max_frame_bytes, len, *frame);
        late = d.fired();
      }
      c->receiving = false;
      idle.touch();
      if (st == ReadStatus::Closed) {
        if (late)
          say(0, "closed a connection whose request did not arrive within " +
                     std::to_string(opt.frame_timeout.count()) + " ms");
        break;
      }
      if (st == ReadStatus::TooLarge) {
        say(2, "request of " + std::to_string(len) + " bytes exceeds " + std::to_string(opt.max_frame_bytes) +
                   "; closing the connection");
        c->in_flight.fetch_add(1);
        c->closing = true;
        reply(c, ClientApi::answer(nullptr, WEFT_E_INVALID_ARGUMENT,
                                   "request of " + std::to_string(len) + " bytes exceeds the limit of " +
                                       std::to_string(opt.max_frame_bytes) + "; connection closed",
                                   nullptr));
        co_return; // the writer closes the socket after the answer
      }
      if (c->in_flight.fetch_add(1) >= opt.max_in_flight) {
        reply(c, ClientApi::refuse(*frame, WEFT_E_UNAVAILABLE,
                                   std::to_string(opt.max_in_flight) +
                                       " requests are already in flight on this connection; wait for answers"));
        continue;
      }
      asio::post(*workers,
                 [this, c, frame] { api.handle(*frame, [this, c](std::string a) { reply(c, std::move(a)); }); });
    }
    error_code ignored;
    c->socket->close(ignored);
    c->wake.cancel();
  }

  asio::awaitable<void> write_loop(ConnPtr c) {
    for (;;) {
      while (!c->out.empty()) {
        std::string a = std::move(c->out.front());
        c->out.pop_front();
        c->writing = true;
        bool ok = false, late = false;
        {
          Deadline d(c->socket, opt.frame_timeout); // a client that does not read its answers is dropped
          ok = co_await write_frame(*c->socket, view(a));
          late = d.fired();
        }
        c->writing = false;
        if (c->idle) c->idle->touch();
        if (!ok) {
          if (late)
            say(0,
                "closed a connection that took no answer within " + std::to_string(opt.frame_timeout.count()) + " ms");
          goto done;
        }
      }
      if (c->closing || !c->socket->is_open() || stopping) break;
      c->wake.expires_at(asio::steady_timer::time_point::max());
      co_await c->wake.async_wait(kAwait);
    }
  done:
    error_code ignored;
    c->socket->close(ignored);
    conns.erase(c);
  }

  void tick() {
    expiry.expires_after(kExpiryTick);
    expiry.async_wait([this](error_code ec) {
      if (ec || stopping) return;
      api.expire(ClientApi::Clock::now()); // quick: only builds answers and posts them
      tick();
    });
  }
};

ClientServer::ClientServer(ClientServerOptions options, ClientBackend backend, Log log) {
  if (!backend.ledger) throw Error(WEFT_E_INVALID_ARGUMENT, "client api: no ledger");
  split_host_port(options.listen);
  if (options.workers == 0) options.workers = 1;
  if (options.max_connections == 0) throw Error(WEFT_E_INVALID_ARGUMENT, "client api: max_connections is 0");
  if (options.frame_timeout.count() <= 0 || options.idle_timeout.count() <= 0)
    throw Error(WEFT_E_INVALID_ARGUMENT, "client api: timeouts must be positive");
  impl_ = std::make_shared<Impl>(std::move(options), std::move(backend), std::move(log));
}

ClientServer::~ClientServer() {
  stop();
}

void ClientServer::start() {
  Impl &m = *impl_;
  if (m.started) return;
  m.port = listen_on(m.io, m.acceptor, m.opt.listen, "client api");
  m.started = true;
  m.workers = std::make_unique<asio::thread_pool>(m.opt.workers);
  m.spawn(m.accept_loop(), "client accept loop");
  m.tick();
  m.say(1, "listening on " + m.opt.listen + " (port " + std::to_string(m.port) + ")");
  m.thread = std::thread([&m] { m.io.run(); });
}

void ClientServer::stop() {
  Impl &m = *impl_;
  if (m.stopping.exchange(true) || !m.started) return;
  asio::post(m.io, [&m] {
    error_code ignored;
    m.acceptor.close(ignored);
    m.expiry.cancel();
    m.accept_pause.cancel();
    for (const auto &c : m.conns)
      c->socket->close(ignored);
    m.io.stop();
  });
  m.thread.join();
  m.workers->join(); // requests still running finish; their answers go nowhere
}

uint16_t ClientServer::port() const {
  return impl_->port;
}

void ClientServer::on_committed(const ExecutedBlock &block) {
  impl_->api.on_committed(block);
}
void ClientServer::on_expired(const std::vector<Hash> &hashes) {
  impl_->api.on_expired(hashes);
}

} // namespace weft::refchain::net
