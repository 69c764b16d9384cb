// Fixtures of the network tests: free loopback ports, a raw TCP peer that speaks (or mangles) the frame protocol,
// and polling with scaled timeouts.
#pragma once

#include "refchain_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <stdexcept>

namespace weft::refchain::test {

// A port that was free a moment ago (bind to 0, read it, close).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

inline bool wait_until(const std::function<bool()> &pred, int ms) {
  auto deadline = std::chrono::steady_clock::now() + scaled(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// A blocking TCP connection to 127.0.0.1:port with a receive timeout.
class RawConn {
public:
  explicit RawConn(uint16_t port, int timeout_ms = 3000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
    auto t = scaled(timeout_ms);
    timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn &) = delete;
  RawConn &operator=(const RawConn &) = delete;

  void write(ByteView b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return; // the peer closed; the test checks that through read
      off += size_t(n);
    }
  }
  void write_frame(ByteView body) {
    Writer w;
    w.u32(static_cast<uint32_t>(body.size()));
    w.raw(body);
    write(w.bytes());
  }
  // Exactly n bytes, or nullopt on close/timeout.
  std::optional<Bytes> read(size_t n) {
    Bytes out(n);
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r <= 0) return std::nullopt;
      off += size_t(r);
    }
    return out;
  }
  std::optional<Bytes> read_frame() {
    auto head = read(4);
    if (!head) return std::nullopt;
    uint32_t len = Reader(*head).u32("length");
    return read(len);
  }
  // True once the peer closed the connection (EOF or reset) within the timeout.
  bool closed_by_peer() {
    uint8_t buf[256];
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

  // True if the peer has closed the connection, without waiting (unread data is left in place).
  bool closed_now() {
    uint8_t b;
    ssize_t r = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

private:
  int fd_ = -1;
};

} // namespace weft::refchain::test
