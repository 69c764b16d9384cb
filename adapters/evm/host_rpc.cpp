#include "host_rpc.h"

#include <weft/adapter.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/serialize.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace weft::evm {

namespace http = boost::beast::http;
namespace json = boost::json;
using Clock = HostRpc::Clock;

namespace {

struct Exchange {
  uint64_t id = 0;
  std::string request; // the whole HTTP request
  Clock::time_point deadline;
  HostRpc::Callback cb;
  bool retried = false; // sent again once already, after a keep-alive the node had closed
};

enum class State { Connecting, Busy, Idle, Dead };

struct Conn {
  void *owner = nullptr; // the HostRpc::Impl; the watch's context is the Conn, which outlives its watch
  int fd = -1;
  uint64_t watch = 0;
  State state = State::Connecting;
  std::shared_ptr<Exchange> ex;
  size_t written = 0; // bytes of ex->request sent
  std::optional<http::response_parser<http::string_body>> parser;
  std::string in;         // received bytes the parser has not taken yet
  bool used = false;      // has carried a whole exchange
  bool answering = false; // the node began the current answer
};

std::string errno_text(int e) { return std::strerror(e); }

// Errors that, on a connection that had carried an exchange and before any byte of the answer, mean the node closed
// the keep-alive while it was idle.
bool stale_errno(int e) { return e == EPIPE || e == ECONNRESET; }

} // namespace

struct HostRpc::Impl {
  plugin::IoLoop &loop;
  RpcOptions opt;
  std::string where;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string head; // the request line and headers up to the Content-Length value

  mutable std::mutex mu; // everything below, and every Conn's fields
  std::vector<std::shared_ptr<Conn>> conns; // open or opening
  std::vector<Conn *> idle;
  std::deque<std::shared_ptr<Exchange>> queue;
  bool closed = false;
  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> sent{0};

  // What a locked section leaves to do once the lock is dropped: end watches and close sockets (unwatch waits for a
  // running on_ready, which may itself wait for the lock), open connections for waiting calls, run callbacks.
  struct Later {
    std::vector<std::shared_ptr<Conn>> close;
    struct Done {
      std::shared_ptr<Exchange> ex;
      int32_t status;
      std::string message;
      unsigned http_status;
      std::string body;
    };
    std::vector<Done> done;
    bool pump = false;
  };

  Impl(plugin::IoLoop &l, RpcOptions o) : loop(l), opt(std::move(o)), where(opt.endpoint.text()) {}

  void run(Later &later) {
    for (auto &c : later.close) {
      if (c->watch != 0) loop.unwatch(c->watch);
      if (c->fd >= 0) ::close(c->fd);
      c->fd = -1;
    }
    later.close.clear();
    if (later.pump) pump();
    for (auto &d : later.done) {
      auto cb = std::move(d.ex->cb);
      cb(rpc_answer(where, d.status, d.message, d.http_status, d.body, d.ex->id));
    }
  }

  static void fail(Later &later, std::shared_ptr<Exchange> ex, int32_t status, std::string message) {
    later.done.push_back({std::move(ex), status, std::move(message), 0, {}});
  }

  void submit(std::shared_ptr<Exchange> ex) {
    Later later;
    {
      std::lock_guard lock(mu);
      if (closed) {
        fail(later, std::move(ex), WEFT_E_CANCELLED, "the chain is closing");
      } else if (!idle.empty()) {
        Conn *c = idle.back();
        idle.pop_back();
        begin(*c, std::move(ex), later);
      } else if (conns.size() < opt.max_connections) {
        open(std::move(ex), later);
      } else {
        queue.push_back(std::move(ex));
      }
    }
    run(later);
  }

  // Waiting calls onto free connection slots, until none is free or none waits. Failures free their slot at once,
  // so a node that is down fails the whole queue here without recursion.
  void pump() {
    Later later;
    {
      std::lock_guard lock(mu);
      while (!closed && !queue.empty()) {
        if (!idle.empty()) {
          Conn *c = idle.back();
          idle.pop_back();
          auto ex = std::move(queue.front());
          queue.pop_front();
          begin(*c, std::move(ex), later);
        } else if (conns.size() < opt.max_connections) {
          auto ex = std::move(queue.front());
          queue.pop_front();
          open(std::move(ex), later);
        } else {
          break;
        }
      }
      later.pump = false; // this loop did it
    }
    run(later);
  }

  // Locked. A new connection for ex: connect without blocking, then write once the socket is writable.
  void open(std::shared_ptr<Exchange> ex, Later &later) {
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(later, std::move(ex), WEFT_E_UNAVAILABLE, rpc_text::unreachable(where, errno_text(errno)));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Conn>();
    c->fd = fd;
    c->owner = this;
    try {
      c->watch = loop.watch(fd, &Impl::on_ready_entry, c.get());
    } catch (const std::exception &e) {
      ::close(fd);
      return fail(later, std::move(ex), WEFT_E_UNAVAILABLE, rpc_text::unreachable(where, e.what()));
    }
    conns.push_back(c);
    c->ex = std::move(ex);
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), addr_len) == 0) {
      start_exchange(*c, later);
    } else if (errno == EINPROGRESS || errno == EINTR) {
      c->state = State::Connecting;
      loop.arm(c->watch, WEFT_IO_WRITE);
    } else {
      drop(*c, WEFT_E_UNAVAILABLE, rpc_text::unreachable(where, errno_text(errno)), false, later);
    }
  }

  // What was ready does not matter: the connection's state says what to do, and errors show in send and recv.
  static void on_ready_entry(void *ctx, uint32_t) {
    auto *c = static_cast<Conn *>(ctx);
    static_cast<Impl *>(c->owner)->on_ready(*c);
  }

  // Locked. ex onto an idle connection.
  void begin(Conn &c, std::shared_ptr<Exchange> ex, Later &later) {
    c.ex = std::move(ex);
    start_exchange(c, later);
  }

  // Locked. The connection is up and c.ex is set: write the request.
  void start_exchange(Conn &c, Later &later) {
    c.state = State::Busy;
    c.written = 0;
    c.answering = false;
    c.in.clear();
    c.parser.emplace();
    c.parser->eager(true);
    c.parser->header_limit(64 * 1024);
    c.parser->body_limit(opt.max_answer_bytes);
    sent.fetch_add(1, std::memory_order_relaxed);
    write(c, later);
  }

  // Locked. Sends what is left of the request; once all is sent, waits for the answer.
  void write(Conn &c, Later &later) {
    const std::string &r = c.ex->request;
    while (c.written < r.size()) {
      const ssize_t n = ::send(c.fd, r.data() + c.written, r.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        loop.arm(c.watch, WEFT_IO_WRITE);
        return;
      } else {
        const int e = errno;
        return drop(c, WEFT_E_UNAVAILABLE, rpc_text::broken(where, errno_text(e)), stale_errno(e), later);
      }
    }
    loop.arm(c.watch, WEFT_IO_READ);
  }

  // Locked. The connection ends: its call fails with status/message, or, when the failure is a stale keep-alive
  // (may_be_stale, on a used connection, before any answer), is sent once more on a fresh connection.
  void drop(Conn &c, int32_t status, std::string message, bool may_be_stale, Later &later) {
    if (c.state == State::Dead) return;
    const bool stale = may_be_stale && c.used && !c.answering;
    c.state = State::Dead;
    std::erase(idle, &c);
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if (it->get() == &c) {
        later.close.push_back(std::move(*it));
        conns.erase(it);
        break;
      }
    later.pump = true; // a slot is free
    if (auto ex = std::move(c.ex)) {
      if (stale && !ex->retried && !closed && Clock::now() < ex->deadline) {
        ex->retried = true;
        queue.push_front(std::move(ex));
      } else {
        fail(later, std::move(ex), status, std::move(message));
      }
    }
  }

  // Locked. The whole answer is in: complete the call, then keep the connection for the next one or close it.
  void answered(Conn &c, Later &later) {
    auto res = c.parser->release();
    c.parser.reset();
    c.used = true;
    later.done.push_back({std::move(c.ex), 0, {}, res.result_int(), std::move(res.body())});
    if (!res.keep_alive() || !c.in.empty()) { // bytes past the answer: nothing asked for them
      c.answering = false;
      drop(c, 0, {}, false, later);
      return;
    }
    if (!queue.empty() && !closed) {
      auto ex = std::move(queue.front());
      queue.pop_front();
      begin(c, std::move(ex), later);
      return;
    }
    c.state = State::Idle;
    idle.push_back(&c);
  }

  // Locked. Reads what the node sent and feeds the parser.
  void read(Conn &c, Later &later) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        loop.arm(c.watch, WEFT_IO_READ);
        return;
      }
      if (n < 0) {
        const int e = errno;
        return drop(c, WEFT_E_UNAVAILABLE, rpc_text::broken(where, errno_text(e)), stale_errno(e), later);
      }
      if (n == 0) { // the node closed: an answer without a length ends here; anything else was cut off
        boost::system::error_code ec;
        if (c.answering && c.parser->is_header_done() && !c.parser->is_done()) c.parser->put_eof(ec);
        if (!ec && c.parser->is_done()) return answered(c, later);
        return drop(c, WEFT_E_UNAVAILABLE, rpc_text::broken(where, "the node closed the connection"), true, later);
      }
      c.answering = true;
      c.in.append(buf, static_cast<size_t>(n));
      while (!c.in.empty() && !c.parser->is_done()) {
        boost::system::error_code ec;
        const size_t used = c.parser->put(boost::asio::const_buffer(c.in.data(), c.in.size()), ec);
        c.in.erase(0, used);
        if (ec == http::error::need_more) break;
        if (ec) return drop(c, WEFT_E_UNAVAILABLE, rpc_text::broken(where, "malformed HTTP: " + ec.message()), false,
                            later);
        if (used == 0) break;
      }
      if (c.parser->is_done()) return answered(c, later);
    }
  }

  // On a loop thread.
  void on_ready(Conn &c) {
    Later later;
    {
      std::lock_guard lock(mu);
      if (c.state == State::Dead || c.state == State::Idle) return;
      if (c.state == State::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
          drop(c, WEFT_E_UNAVAILABLE, rpc_text::unreachable(where, errno_text(err)), false, later);
        } else {
          sockaddr_storage peer{};
          socklen_t plen = sizeof peer;
          if (::getpeername(c.fd, reinterpret_cast<sockaddr *>(&peer), &plen) != 0)
            loop.arm(c.watch, WEFT_IO_WRITE); // woken early: still connecting
          else
            start_exchange(c, later);
        }
      } else if (c.written < c.ex->request.size()) {
        write(c, later);
      } else {
        read(c, later);
      }
    }
    run(later);
  }
};

// ---- HostRpc ----

bool HostRpc::servable(const RpcOptions &options, std::string &why) {
  const auto &e = options.endpoint;
  if (e.tls) {
    why = "the node is reached over TLS";
    return false;
  }
  in_addr v4{};
  in6_addr v6{};
  if (e.host != "localhost" && ::inet_pton(AF_INET, e.host.c_str(), &v4) != 1 &&
      ::inet_pton(AF_INET6, e.host.c_str(), &v6) != 1) {
    why = "the node's host '" + e.host + "' is a name, not an address";
    return false;
  }
  return true;
}

HostRpc::HostRpc(plugin::IoLoop &loop, RpcOptions options) {
  std::string why;
  if (!servable(options, why)) throw std::runtime_error("cannot wait on the host's loop: " + why);
  impl_ = std::make_unique<Impl>(loop, std::move(options));
  auto &i = *impl_;
  const auto &e = i.opt.endpoint;
  const auto port = static_cast<uint16_t>(std::stoul(e.port));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, e.host.c_str(), &v6) == 1) {
    auto *sa = reinterpret_cast<sockaddr_in6 *>(&i.addr);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    sa->sin6_addr = v6;
    i.addr_len = sizeof(sockaddr_in6);
  } else {
    auto *sa = reinterpret_cast<sockaddr_in *>(&i.addr);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (e.host == "localhost")
      sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
      ::inet_pton(AF_INET, e.host.c_str(), &sa->sin_addr);
    i.addr_len = sizeof(sockaddr_in);
  }
  const bool v6host = e.host.find(':') != std::string::npos;
  i.head = "POST " + e.target + " HTTP/1.1\r\nHost: " + (v6host ? "[" + e.host + "]" : e.host) + ":" + e.port +
           "\r\nContent-Type: application/json\r\nUser-Agent: weft-evm\r\nContent-Length: ";
}

HostRpc::~HostRpc() { shutdown(); }

void HostRpc::call(std::string_view method, json::array params, Clock::time_point deadline, Callback cb) {
  auto ex = std::make_shared<Exchange>();
  ex->id = impl_->next_id.fetch_add(1, std::memory_order_relaxed);
  json::object req;
  req["jsonrpc"] = "2.0";
  req["id"] = ex->id;
  req["method"] = method;
  req["params"] = std::move(params);
  const std::string body = json::serialize(req);
  ex->request.reserve(impl_->head.size() + body.size() + 16);
  ex->request += impl_->head;
  ex->request += std::to_string(body.size());
  ex->request += "\r\n\r\n";
  ex->request += body;
  ex->deadline = deadline;
  ex->cb = std::move(cb);
  impl_->submit(std::move(ex));
}

void HostRpc::sweep(Clock::time_point now) {
  auto &i = *impl_;
  Impl::Later later;
  {
    std::lock_guard lock(i.mu);
    for (auto it = i.queue.begin(); it != i.queue.end();) {
      if ((*it)->deadline <= now) {
        Impl::fail(later, std::move(*it), WEFT_E_TIMEOUT, rpc_text::timeout(i.where));
        it = i.queue.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<Conn *> late;
    for (const auto &c : i.conns)
      if (c->ex && c->ex->deadline <= now) late.push_back(c.get());
    for (Conn *c : late) i.drop(*c, WEFT_E_TIMEOUT, rpc_text::timeout(i.where), false, later);
  }
  i.run(later);
}

void HostRpc::shutdown() {
  auto &i = *impl_;
  Impl::Later later;
  {
    std::lock_guard lock(i.mu);
    if (i.closed) return;
    i.closed = true;
    for (auto &ex : i.queue) Impl::fail(later, std::move(ex), WEFT_E_CANCELLED, "the chain is closing");
    i.queue.clear();
    i.idle.clear();
    for (auto &c : i.conns) {
      c->state = State::Dead;
      if (c->ex) Impl::fail(later, std::move(c->ex), WEFT_E_CANCELLED, "the chain is closing");
      later.close.push_back(std::move(c));
    }
    i.conns.clear();
  }
  i.run(later);
}

size_t HostRpc::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

size_t HostRpc::waiting() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

size_t HostRpc::unanswered() const {
  std::lock_guard lock(impl_->mu);
  size_t n = impl_->queue.size();
  for (const auto &c : impl_->conns)
    if (c->ex) ++n;
  return n;
}

std::uint64_t HostRpc::requests_sent() const { return impl_->sent.load(std::memory_order_relaxed); }

} // namespace weft::evm
