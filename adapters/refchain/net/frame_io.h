// Length-prefixed frames over Asio sockets, shared by the mesh and the client server. Included only by the net/
// translation units: Asio stays out of every header the rest of the chain sees.
#pragma once

#include "bytes.h"
#include "error.h"
#include "host_port.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace weft::refchain::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// Closes the socket when the timer fires, so pending I/O ends with an error. Disarmed on destruction; the handler
// may still run after that (a fire already queued), so it owns what it touches.
class Deadline {
public:
  Deadline(std::shared_ptr<tcp::socket> socket, std::chrono::milliseconds after)
      : timer_(socket->get_executor()), armed_(std::make_shared<bool>(true)) {
    timer_.expires_after(after);
    timer_.async_wait([armed = armed_, fired = fired_, s = std::move(socket)](error_code ec) {
      if (ec || !*armed) return;
      *fired = true;
      error_code ignored;
      s->close(ignored);
    });
  }
  ~Deadline() {
    *armed_ = false;
    timer_.cancel();
  }
  Deadline(const Deadline &) = delete;
  Deadline &operator=(const Deadline &) = delete;
  bool fired() const { return *fired_; }

private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> armed_;
  std::shared_ptr<bool> fired_ = std::make_shared<bool>(false);
};

// Closes a socket that stays idle: once `after` has passed since the last touch() while busy() (if given) is
// false. Checked only when its timer fires, so touch() is a clock read, not a timer operation per frame. Disarmed on
// destruction; the handler owns only a flag, and reaches the guard only while that flag says it is alive.
class IdleGuard {
public:
  using Clock = std::chrono::steady_clock;
  IdleGuard(std::shared_ptr<tcp::socket> socket, std::chrono::milliseconds after, std::function<bool()> busy = {})
      : timer_(socket->get_executor()), socket_(std::move(socket)), after_(after), busy_(std::move(busy)),
        last_(Clock::now()) {
    arm(last_ + after_);
  }
  ~IdleGuard() {
    life_->armed = false;
    timer_.cancel();
  }
  IdleGuard(const IdleGuard &) = delete;
  IdleGuard &operator=(const IdleGuard &) = delete;
  void touch() { last_ = Clock::now(); }
  bool fired() const { return life_->fired; }

private:
  struct Life {
    bool armed = true, fired = false;
  };
  void arm(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([this, life = life_](error_code ec) {
      if (ec || !life->armed) return;
      auto now = Clock::now();
      if (busy_ && busy_()) last_ = now;
      if (now < last_ + after_) return arm(last_ + after_);
      life->fired = true;
      error_code ignored;
      socket_->close(ignored);
    });
  }
  asio::steady_timer timer_;
  std::shared_ptr<tcp::socket> socket_;
  std::chrono::milliseconds after_;
  std::function<bool()> busy_;
  Clock::time_point last_;
  std::shared_ptr<Life> life_ = std::make_shared<Life>();
};

enum class ReadStatus { Ok, Closed, TooLarge };

// Reads one frame (u32 big-endian length, then that many bytes) into out. A length above max_bytes is TooLarge
// and nothing more is read: the stream cannot be resynchronised, so the caller drops the connection. With a
// guard, every chunk that arrives touches it: a large frame arriving steadily is progress, not idleness.
inline asio::awaitable<ReadStatus> read_frame(tcp::socket &socket, size_t max_bytes, Bytes &out,
                                              size_t *announced = nullptr, IdleGuard *guard = nullptr) {
  auto progress = [guard](const error_code &ec, size_t) -> size_t {
    if (guard) guard->touch();
    return ec ? 0 : 65536; // asio's own chunk size for transfer_all
  };
  uint8_t head[4];
  auto [ec, n] = co_await asio::async_read(socket, asio::buffer(head), progress, kAwait);
  if (ec) co_return ReadStatus::Closed;
  size_t len = size_t(head[0]) << 24 | size_t(head[1]) << 16 | size_t(head[2]) << 8 | size_t(head[3]);
  if (announced) *announced = len;
  if (len > max_bytes) co_return ReadStatus::TooLarge;
  out.resize(len);
  if (len == 0) co_return ReadStatus::Ok;
  auto [ec2, n2] = co_await asio::async_read(socket, asio::buffer(out), progress, kAwait);
  co_return ec2 ? ReadStatus::Closed : ReadStatus::Ok;
}

// Reads frames as read_frame does, but through a buffer: frames that arrive together (gossiped transactions, a few
// hundred bytes each) cost one read between them instead of two each. Use one reader per connection, for every
// read after the point where it takes over.
class FrameReader {
public:
  explicit FrameReader(size_t capacity = 64 * 1024) : buf_(capacity) {}

  asio::awaitable<ReadStatus> next(tcp::socket &socket, size_t max_bytes, Bytes &out, size_t *announced = nullptr,
                                   IdleGuard *guard = nullptr) {
    if (!co_await fill(socket, 4, guard)) co_return ReadStatus::Closed;
    const uint8_t *h = buf_.data() + start_;
    size_t len = size_t(h[0]) << 24 | size_t(h[1]) << 16 | size_t(h[2]) << 8 | size_t(h[3]);
    if (announced) *announced = len;
    if (len > max_bytes) co_return ReadStatus::TooLarge;
    start_ += 4;
    if (len <= buf_.size()) {
      if (!co_await fill(socket, len, guard)) co_return ReadStatus::Closed;
      out.assign(buf_.begin() + static_cast<ptrdiff_t>(start_), buf_.begin() + static_cast<ptrdiff_t>(start_ + len));
      start_ += len;
      co_return ReadStatus::Ok;
    }
    // Larger than the buffer: what is buffered, then the rest straight into the frame.
    size_t have = end_ - start_;
    out.resize(len);
    std::copy(buf_.begin() + static_cast<ptrdiff_t>(start_), buf_.begin() + static_cast<ptrdiff_t>(end_), out.begin());
    start_ = end_ = 0;
    while (have < len) {
      auto [ec, got] = co_await socket.async_read_some(asio::buffer(out.data() + have, len - have), kAwait);
      if (guard) guard->touch();
      if (ec) co_return ReadStatus::Closed;
      have += got;
    }
    co_return ReadStatus::Ok;
  }

private:
  // At least n (≤ capacity) bytes buffered from start_, or false when the connection ends first.
  asio::awaitable<bool> fill(tcp::socket &socket, size_t n, IdleGuard *guard) {
    if (end_ - start_ >= n) co_return true;
    if (start_ > 0) {
      std::copy(buf_.begin() + static_cast<ptrdiff_t>(start_), buf_.begin() + static_cast<ptrdiff_t>(end_),
                buf_.begin());
      end_ -= start_;
      start_ = 0;
    }
    while (end_ < n) {
      auto [ec, got] = co_await socket.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_), kAwait);
      if (guard) guard->touch();
      if (ec) co_return false;
      end_ += got;
    }
    co_return true;
  }

  Bytes buf_;
  size_t start_ = 0, end_ = 0; // buffered bytes not yet handed out
};

// Opens, binds and listens on "host:port" (port 0 picks a free one); returns the bound port. `what` names the
// door in the error: Error(WEFT_E_UNAVAILABLE) when the address is taken or invalid.
inline uint16_t listen_on(asio::io_context &io, tcp::acceptor &acceptor, const std::string &listen, const char *what) {
  auto [host, port] = split_host_port(listen);
  try {
    tcp::resolver resolver(io);
    tcp::endpoint ep = resolver.resolve(host, std::to_string(port)).begin()->endpoint();
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    return acceptor.local_endpoint().port();
  } catch (const boost::system::system_error &e) {
    throw Error(WEFT_E_UNAVAILABLE, std::string(what) + ": cannot listen on " + listen + ": " + e.code().message());
  }
}

inline std::array<uint8_t, 4> frame_head(size_t len) {
  return {uint8_t(len >> 24), uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len)};
}

// Writes one frame; false if the connection failed.
inline asio::awaitable<bool> write_frame(tcp::socket &socket, ByteView body) {
  auto head = frame_head(body.size());
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body.data(), body.size())};
  auto [ec, n] = co_await asio::async_write(socket, bufs, kAwait);
  co_return !ec;
}

} // namespace weft::refchain::net
