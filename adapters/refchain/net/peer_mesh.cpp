// The one translation unit of the mesh that includes Asio. Everything below runs on the mesh's thread except
// send/broadcast (which only touch a peer's queue under its mutex and post a wake-up) and the stats readers.
#include "peer_mesh.h"

#include "error.h"
#include "frame_io.h"
#include "handshake.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace weft::refchain::net {

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr size_t kJoinBytes = 64 * 1024; // queued frames below this are written together, up to this much at once
using Frame = std::shared_ptr<const Bytes>;
using Socket = std::shared_ptr<tcp::socket>;

std::string remote_of(const tcp::socket &s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}
} // namespace

struct PeerMesh::Impl {
  struct Peer {
    std::mutex mu;
    std::deque<Frame> queue;  // under mu
    bool wake_posted = false; // under mu: a wake-up is on its way to the writer
    std::atomic<bool> linked{false};
    bool redial_now = false;        // mesh thread only: the peer just linked in, so it is up: dial without backoff
    asio::steady_timer wake, retry; // mesh thread only
    Socket out, in;                 // mesh thread only: our link to the peer, and the peer's latest link to us
    explicit Peer(asio::io_context &io) : wake(io), retry(io) {}
  };

  PeerMeshOptions opt;
  OnFrame on_frame;
  Log log;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::vector<std::unique_ptr<Peer>> peers;
  std::set<Socket> accepted; // mesh thread only: every accepted socket, so stop() can close them
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::atomic<uint16_t> port{0};
  std::atomic<uint64_t> sent{0}, received{0}, dropped{0}, refused{0}, idled{0};

  Impl(PeerMeshOptions o, OnFrame f, Log l) : opt(std::move(o)), on_frame(std::move(f)), log(std::move(l)) {
    for (size_t i = 0; i < opt.validators.size(); ++i)
      peers.push_back(std::make_unique<Peer>(io));
  }

  void say(int level, const std::string &m) {
    if (log) log(level, "mesh: " + m);
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

  void enqueue(uint32_t i, const Frame &f) {
    Peer &p = *peers[i];
    bool post = false;
    {
      std::lock_guard lock(p.mu);
      if (p.queue.size() >= opt.send_queue_frames) {
        p.queue.pop_front();
        ++dropped;
      }
      p.queue.push_back(f);
      post = !p.wake_posted;
      p.wake_posted = true;
    }
    if (post) asio::post(io, [&p] { p.wake.cancel(); });
  }

  // --- accepting -------------------------------------------------------------------------------------------
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(kAwait);
      if (stopping || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        say(2, "accept failed: " + ec.message());
        continue;
      }
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      accepted.insert(sock);
      spawn(inbound(sock), "inbound link");
    }
  }

  void refuse(const Socket &sock, const std::string &remote, const std::string &why) {
    ++refused;
    say(2, "dropped connection from " + remote + ": " + why);
    error_code ignored;
    sock->close(ignored);
  }

  asio::awaitable<void> inbound(Socket sock) {
    std::string remote = remote_of(*sock);
    error_code ignored;
    sock->set_option(tcp::no_delay(true), ignored);
    sock->set_option(asio::socket_base::keep_alive(true), ignored);
    uint32_t index = 0;
    {
      Deadline d(sock, opt.handshake_timeout);
      Challenge challenge = random_challenge();
      Bytes hello;
      size_t announced = 0;
      ReadStatus st = ReadStatus::Closed;
      if (co_await write_frame(*sock, challenge)) st = co_await read_frame(*sock, kHelloBytes, hello, &announced);
      std::string why;
      std::optional<uint32_t> who;
      if (st == ReadStatus::TooLarge)
        why = "handshake answer announces " + std::to_string(announced) + " bytes";
      else if (st == ReadStatus::Closed)
        why = d.fired() ? "no handshake within " + std::to_string(opt.handshake_timeout.count()) + " ms"
                        : "closed during the handshake";
      else
        who = check_hello(opt.chain_id, challenge, opt.self, opt.validators, hello, &why);
      const uint8_t ok[1] = {kAccepted};
      if (who && !(co_await write_frame(*sock, ok))) {
        who.reset();
        why = "closed during the handshake";
      }
      if (!who || d.fired()) {
        accepted.erase(sock);
        refuse(sock, remote, why.empty() ? "handshake timed out" : why);
        co_return;
      }
      index = *who;
    }
    Peer &p = *peers[index];
    if (p.in && p.in != sock) p.in->close(ignored); // the peer restarted: its newest link wins
    p.in = sock;
    say(1, "validator " + std::to_string(index) + " linked in from " + remote);
    if (!p.linked) {
      // It is listening again (it dialled us): redial it now rather than after the rest of the backoff.
      p.redial_now = true;
      p.retry.cancel();
    }
    Bytes frame;
    IdleGuard idle(sock, opt.idle_timeout);
    FrameReader reader;
    for (;;) {
      size_t announced = 0;
      ReadStatus st = co_await reader.next(*sock, opt.max_frame_bytes, frame, &announced, &idle);
      if (st == ReadStatus::TooLarge) {
        refuse(sock, remote,
               "validator " + std::to_string(index) + " announced a frame of " + std::to_string(announced) +
                   " bytes (limit " + std::to_string(opt.max_frame_bytes) + ")");
        break;
      }
      if (st == ReadStatus::Closed && idle.fired() && !stopping) {
        ++idled;
        say(2, "validator " + std::to_string(index) + "'s link in from " + remote + " was silent for " +
                   std::to_string(opt.idle_timeout.count()) + " ms; dropped it (the peer redials)");
      }
      if (st == ReadStatus::Closed || stopping) break;
      ++received;
      try {
        if (on_frame) on_frame(index, frame);
      } catch (const std::exception &e) {
        say(3, "frame handler failed: " + std::string(e.what()));
      }
    }
    if (p.in == sock) p.in.reset();
    accepted.erase(sock);
    sock->close(ignored);
    if (!stopping) say(1, "validator " + std::to_string(index) + "'s link in from " + remote + " closed");
  }

  // --- dialling --------------------------------------------------------------------------------------------
  asio::awaitable<void> outbound(uint32_t i) {
    Peer &p = *peers[i];
    auto backoff = kFirstBackoff;
    std::string last_failure;
    while (!stopping) {
      auto sock = std::make_shared<tcp::socket>(io);
      std::string why = co_await dial(i, sock);
      if (stopping) break;
      if (why.empty()) {
        backoff = kFirstBackoff;
        p.redial_now = false;
        last_failure.clear();
        say(1, "linked out to validator " + std::to_string(i) + " at " + opt.peers[i]);
        p.out = sock;
        p.linked = true;
        spawn(watch(i, sock), "link watch");
        co_await write_loop(p, sock);
        p.linked = false;
        p.out.reset();
        error_code ignored;
        sock->close(ignored);
        if (stopping) break;
        say(1, "link out to validator " + std::to_string(i) + " closed; redialling");
      } else if (why != last_failure) { // once per kind of failure, not once per retry
        say(2, "cannot link to validator " + std::to_string(i) + " at " + opt.peers[i] + ": " + why);
        last_failure = why;
      }
      if (!p.redial_now) {
        p.retry.expires_after(backoff);
        co_await p.retry.async_wait(kAwait);
      }
      if (p.redial_now) {
        p.redial_now = false;
        backoff = kFirstBackoff;
      } else {
        backoff = std::min(backoff * 2, opt.max_backoff);
      }
    }
  }

  // Connects and answers the challenge; empty on success, else why not.
  asio::awaitable<std::string> dial(uint32_t i, Socket sock) {
    std::string host;
    uint16_t port_no = 0;
    try {
      std::tie(host, port_no) = split_host_port(opt.peers[i]);
    } catch (const std::exception &e) {
      co_return e.what();
    }
    tcp::resolver resolver(io);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port_no), kAwait);
    if (rec) co_return "cannot resolve " + host + ": " + rec.message();
    Deadline d(sock, opt.handshake_timeout);
    auto [cec, ep] = co_await asio::async_connect(*sock, endpoints, kAwait);
    if (cec) co_return d.fired() ? std::string("connect timed out") : cec.message();
    error_code ignored;
    sock->set_option(tcp::no_delay(true), ignored);
    sock->set_option(asio::socket_base::keep_alive(true), ignored);
    Bytes challenge, ack;
    if (co_await read_frame(*sock, kChallengeBytes, challenge) != ReadStatus::Ok)
      co_return d.fired() ? "no challenge in time" : "no challenge (is it a validator's peer port?)";
    Bytes hello;
    try {
      hello = answer_challenge(opt.chain_id, challenge, opt.validators[i], opt.self, opt.key);
    } catch (const std::exception &e) {
      co_return e.what();
    }
    if (!co_await write_frame(*sock, hello)) co_return "closed during the handshake";
    if (co_await read_frame(*sock, 1, ack) != ReadStatus::Ok || ack.size() != 1 || ack[0] != kAccepted)
      co_return "the peer refused our handshake (is our key the one it knows for index " + std::to_string(opt.self) +
          "?)";
    co_return std::string();
  }

  // Peers never write on a link they accepted, so any read completing means it closed; wake the writer then.
  asio::awaitable<void> watch(uint32_t i, Socket sock) {
    uint8_t byte;
    co_await sock->async_read_some(asio::buffer(&byte, 1), kAwait);
    error_code ignored;
    sock->close(ignored);
    peers[i]->wake.cancel();
  }

  asio::awaitable<void> write_loop(Peer &p, Socket sock) {
    while (!stopping && sock->is_open()) {
      std::deque<Frame> batch;
      {
        std::lock_guard lock(p.mu);
        batch.swap(p.queue);
        p.wake_posted = false;
      }
      if (batch.empty()) {
        p.wake.expires_at(asio::steady_timer::time_point::max());
        co_await p.wake.async_wait(kAwait);
        continue;
      }
      // Frames queued together leave in one write (a gossiped transaction is a few hundred bytes: a system call
      // each would cost more than the frame); a large frame goes on its own.
      for (size_t i = 0; i < batch.size();) {
        if (batch[i]->size() >= kJoinBytes) {
          if (!co_await write_frame(*sock, *batch[i])) co_return; // the rest of the batch is lost: best effort
          ++sent;
          ++i;
          continue;
        }
        Bytes joined;
        size_t frames = 0;
        for (; i < batch.size() && batch[i]->size() < kJoinBytes && joined.size() < kJoinBytes; ++i, ++frames) {
          auto head = frame_head(batch[i]->size());
          joined.insert(joined.end(), head.begin(), head.end());
          joined.insert(joined.end(), batch[i]->begin(), batch[i]->end());
        }
        auto [ec, written] = co_await asio::async_write(*sock, asio::buffer(joined), kAwait);
        if (ec) co_return;
        sent += frames;
      }
    }
  }

  void close_all() {
    error_code ignored;
    acceptor.close(ignored);
    for (auto &p : peers) {
      p->wake.cancel();
      p->retry.cancel();
      if (p->out) p->out->close(ignored);
    }
    for (const auto &s : accepted)
      s->close(ignored);
  }
};

PeerMesh::PeerMesh(PeerMeshOptions options, OnFrame on_frame, Log log) {
  auto bad = [](const std::string &m) { return Error(WEFT_E_INVALID_ARGUMENT, "peer mesh: " + m); };
  if (options.validators.empty()) throw bad("no validators");
  if (options.peers.size() != options.validators.size())
    throw bad(std::to_string(options.peers.size()) + " peer addresses for " +
              std::to_string(options.validators.size()) + " validators");
  if (options.self >= options.validators.size()) throw bad("own index out of range");
  if (address_of(public_key_of(options.key)) != options.validators[options.self])
    throw bad("the key is not validator " + std::to_string(options.self) + "'s (" +
              address_text(options.validators[options.self]) + ")");
  if (options.send_queue_frames == 0) options.send_queue_frames = 1;
  if (options.idle_timeout.count() <= 0) throw bad("the idle timeout must be positive");
  for (size_t i = 0; i < options.peers.size(); ++i)
    if (i != options.self) split_host_port(options.peers[i]);
  split_host_port(options.listen);
  impl_ = std::make_shared<Impl>(std::move(options), std::move(on_frame), std::move(log));
}

PeerMesh::~PeerMesh() {
  stop();
}

void PeerMesh::start() {
  Impl &m = *impl_;
  if (m.started) return;
  m.port = listen_on(m.io, m.acceptor, m.opt.listen, "peer mesh");
  m.started = true;
  m.spawn(m.accept_loop(), "accept loop");
  for (uint32_t i = 0; i < m.peers.size(); ++i)
    if (i != m.opt.self) m.spawn(m.outbound(i), "outbound link");
  m.say(1, "validator " + std::to_string(m.opt.self) + " listening on " + m.opt.listen + " (port " +
               std::to_string(m.port) + ")");
  m.thread = std::thread([&m] { m.io.run(); });
}

void PeerMesh::stop() {
  Impl &m = *impl_;
  if (m.stopping.exchange(true) || !m.started) return;
  asio::post(m.io, [&m] {
    m.close_all();
    m.io.stop(); // coroutines still suspended are destroyed with the io_context
  });
  m.thread.join();
}

void PeerMesh::send(uint32_t validator, ByteView frame) {
  if (impl_->stopping || validator >= impl_->peers.size() || validator == impl_->opt.self) return;
  impl_->enqueue(validator, std::make_shared<const Bytes>(frame.begin(), frame.end()));
}

void PeerMesh::broadcast(ByteView frame) {
  if (impl_->stopping) return;
  auto f = std::make_shared<const Bytes>(frame.begin(), frame.end()); // one copy shared by every queue
  for (uint32_t i = 0; i < impl_->peers.size(); ++i)
    if (i != impl_->opt.self) impl_->enqueue(i, f);
}

uint16_t PeerMesh::listen_port() const {
  return impl_->port;
}

bool PeerMesh::linked_to(uint32_t validator) const {
  return validator < impl_->peers.size() && impl_->peers[validator]->linked;
}

PeerMeshStats PeerMesh::stats() const {
  return {impl_->sent, impl_->received, impl_->dropped, impl_->refused, impl_->idled};
}

} // namespace weft::refchain::net
