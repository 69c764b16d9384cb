#include "node_link.h"

#include "host_port.h"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::refchain::net {

void NodeLink::start_connect(const std::string &node) {
  close();
  node_ = node;
  auto [host, port] = split_host_port(node);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) throw LinkError("cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo *a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    fd_ = fd;
    connecting_ = true;
    return;
  }
  ::freeaddrinfo(res);
  throw LinkError("cannot connect: " + last);
}

bool NodeLink::finish_connect() {
  pollfd p{fd_, POLLOUT, 0};
  int r = ::poll(&p, 1, 0);
  if (r == 0) return false;
  int err = 0;
  socklen_t len = sizeof err;
  if (r < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    std::string why = r < 0 ? std::strerror(errno) : err != 0 ? std::strerror(err) : "connect failed";
    close();
    throw LinkError("cannot connect: " + why);
  }
  connecting_ = false;
  return true;
}

void NodeLink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connecting_ = false;
  out_.clear();
  out_off_ = 0;
  in_.clear();
}

void NodeLink::queue(std::string_view body) {
  uint32_t n = static_cast<uint32_t>(body.size());
  char head[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  out_.append(head, 4);
  out_.append(body);
}

void NodeLink::flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_off_ += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; // the owner polls for POLLOUT
    throw LinkError(std::string("send: ") + (n < 0 ? std::strerror(errno) : "closed"));
  }
  // Drop what was written once in a while rather than on every frame: the outbox is usually written at once.
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > (1u << 20)) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
}

void NodeLink::receive(const std::function<void(std::string_view)> &on_frame) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, size_t(n));
      if (size_t(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) throw LinkError("the node closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    throw LinkError(std::string("recv: ") + std::strerror(errno));
  }
  size_t off = 0;
  while (in_.size() - off >= 4) {
    auto b = reinterpret_cast<const uint8_t *>(in_.data() + off);
    size_t len = size_t(b[0]) << 24 | size_t(b[1]) << 16 | size_t(b[2]) << 8 | size_t(b[3]);
    if (len > max_frame_bytes_) throw LinkError("answer of " + std::to_string(len) + " bytes");
    if (in_.size() - off - 4 < len) break;
    on_frame(std::string_view(in_.data() + off + 4, len));
    off += 4 + len;
  }
  in_.erase(0, off);
}

bool NodeLink::closed_by_node() const {
  if (!up()) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false; // nothing to read: still open
  if (p.revents & (POLLERR | POLLHUP)) return true;
  char b;
  ssize_t n = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

} // namespace weft::refchain::net
