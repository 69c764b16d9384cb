#include "node_client.h"

#include "error.h"
#include "host_port.h"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::refchain::net {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// A connection-level failure: the node may be fine, the link is not; try the next node.
struct LinkError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Timeout {};

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

void wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms_left(deadline));
    if (r > 0) return;
    if (r == 0) throw Timeout{};
    if (errno != EINTR) throw LinkError(std::string("poll: ") + std::strerror(errno));
  }
}

void write_all(int fd, ByteView b, Clock::time_point deadline) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      wait_fd(fd, POLLOUT, deadline);
      continue;
    }
    throw LinkError(std::string("send: ") + (n < 0 ? std::strerror(errno) : "closed"));
  }
}

void read_all(int fd, uint8_t *out, size_t len, Clock::time_point deadline) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::recv(fd, out + off, len - off, MSG_DONTWAIT);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n == 0) throw LinkError("the node closed the connection");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      wait_fd(fd, POLLIN, deadline);
      continue;
    }
    throw LinkError(std::string("recv: ") + std::strerror(errno));
  }
}

// True if the node closed the connection while we held it unused (its idle timeout): reconnect to the same node
// rather than send into a dead link, which would fail a submit that never reached it.
bool closed_while_idle(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false; // nothing to read: still open
  if (p.revents & (POLLERR | POLLHUP)) return true;
  uint8_t b;
  ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool same_id(const json::value &v, uint64_t id) {
  if (v.is_uint64()) return v.as_uint64() == id;
  if (v.is_int64()) return v.as_int64() >= 0 && static_cast<uint64_t>(v.as_int64()) == id;
  return false;
}

} // namespace

NodeClient::NodeClient(NodeClientOptions options) : options_(std::move(options)) {
  if (options_.nodes.empty()) throw Error(WEFT_E_INVALID_ARGUMENT, "node client: no node addresses");
  for (const auto &n : options_.nodes)
    split_host_port(n);
}

NodeClient::~NodeClient() {
  close_locked();
}

std::string NodeClient::current_node() const {
  std::lock_guard lock(mu_);
  return options_.nodes[current_];
}

void NodeClient::close_locked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void NodeClient::connect_locked(Clock::time_point deadline) {
  auto [host, port] = split_host_port(options_.nodes[current_]);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) throw LinkError("cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::string last = "no address";
  auto connect_by = std::min(deadline, Clock::now() + options_.connect_timeout);
  for (addrinfo *a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, ms_left(connect_by)) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      last = err ? std::strerror(err) : "connect timed out";
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    fd_ = fd;
    return;
  }
  ::freeaddrinfo(res);
  throw LinkError("cannot connect to " + options_.nodes[current_] + ": " + last);
}

json::object NodeClient::call(const std::string &op, json::object fields, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  auto deadline = Clock::now() + timeout;
  std::string failures;
  // Each node once, starting with the current one.
  for (size_t attempt = 0; attempt < options_.nodes.size(); ++attempt) {
    bool sent = false;
    try {
      if (fd_ >= 0 && closed_while_idle(fd_)) close_locked();
      if (fd_ < 0) connect_locked(deadline);
      uint64_t id = next_id_++;
      fields["id"] = id;
      fields["op"] = op;
      std::string body = json::serialize(fields);
      Writer w;
      w.u32(static_cast<uint32_t>(body.size()));
      w.raw(view(body));
      write_all(fd_, w.bytes(), deadline);
      sent = true;
      for (;;) { // skip answers to earlier calls that timed out
        uint8_t head[4];
        read_all(fd_, head, 4, deadline);
        size_t len = Reader(ByteView(head, 4)).u32("length");
        if (len > options_.max_frame_bytes) throw LinkError("answer of " + std::to_string(len) + " bytes");
        std::string text(len, '\0');
        read_all(fd_, reinterpret_cast<uint8_t *>(text.data()), len, deadline);
        boost::system::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec || !v.is_object()) throw LinkError("the node answered with something that is not JSON");
        auto &o = v.as_object();
        auto idv = o.find("id");
        if (idv == o.end() || !same_id(idv->value(), id)) continue;
        auto st = o.find("status");
        int32_t status =
            st != o.end() && st->value().is_int64() ? static_cast<int32_t>(st->value().as_int64()) : WEFT_E_INTERNAL;
        if (status != WEFT_OK) {
          auto m = o.find("message");
          throw Error(status, m != o.end() && m->value().is_string() ? std::string(m->value().as_string())
                                                                     : "error " + std::to_string(status));
        }
        auto r = o.find("result");
        if (r == o.end() || !r->value().is_object()) return {};
        return std::move(r->value().as_object());
      }
    } catch (const Timeout &) {
      close_locked(); // a frame may be half read; the next call starts afresh on the same node
      throw Error(WEFT_E_TIMEOUT, "no answer to " + op + " from " + options_.nodes[current_] + " within " +
                                      std::to_string(timeout.count()) + " ms");
    } catch (const LinkError &e) {
      close_locked();
      failures += (failures.empty() ? "" : "; ") + options_.nodes[current_] + ": " + e.what();
      current_ = (current_ + 1) % options_.nodes.size();
      if (sent && op == "submit")
        throw Error(WEFT_E_UNAVAILABLE, "the connection broke after the transaction was sent (" + failures +
                                            "); it may have been admitted, look its hash up with get_receipt");
      if (Clock::now() >= deadline) break;
    }
  }
  throw Error(WEFT_E_UNAVAILABLE, "no node answered " + op + ": " + failures);
}

} // namespace weft::refchain::net
