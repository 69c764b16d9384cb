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
#include <set>
#include <thread>

namespace weft::refchain::net {

namespace {
constexpr std::chrono::milliseconds kExpiryTick{20};

// One client connection. Every member but in_flight is touched on the I/O thread only.
struct Conn {
  std::shared_ptr<tcp::socket> socket;
  std::deque<std::string> out;
  asio::steady_timer wake;
  std::atomic<size_t> in_flight{0};
  bool closing = false; // write what is queued, then close
  explicit Conn(tcp::socket s) : socket(std::make_shared<tcp::socket>(std::move(s))), wake(socket->get_executor()) {}
};
using ConnPtr = std::shared_ptr<Conn>;
} // namespace

struct ClientServer::Impl {
  ClientServerOptions opt;
  Log log;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer expiry{io};
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
        say(2, "accept failed: " + ec.message());
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

  asio::awaitable<void> read_loop(ConnPtr c) {
    tcp::socket &s = *c->socket;
    for (;;) {
      uint8_t head[4];
      auto [ec, n] = co_await asio::async_read(s, asio::buffer(head), kAwait); // idle clients may wait forever
      if (ec || stopping) break;
      size_t len = size_t(head[0]) << 24 | size_t(head[1]) << 16 | size_t(head[2]) << 8 | size_t(head[3]);
      if (len > opt.max_frame_bytes) {
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
      auto frame = std::make_shared<Bytes>(len);
      if (len > 0) {
        Deadline d(c->socket, opt.frame_timeout);
        auto [ec2, n2] = co_await asio::async_read(s, asio::buffer(*frame), kAwait);
        if (ec2) break;
      }
      if (c->in_flight.fetch_add(1) >= opt.max_in_flight) {
        reply(c, ClientApi::answer(nullptr, WEFT_E_UNAVAILABLE,
                                   std::to_string(opt.max_in_flight) +
                                       " requests are already in flight on this connection; wait for answers",
                                   nullptr));
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
        if (!co_await write_frame(*c->socket, view(a))) goto done;
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
