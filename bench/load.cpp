#include "load.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::bench {

namespace {

struct Conn {
  int fd = -1;
  std::string out;
  size_t out_off = 0;
  std::string in;
  size_t in_flight = 0;
  std::deque<size_t> order; // HTTP: requests in the order their answers will come
  bool want_write = false;
};

int connect_to(const Endpoint &e) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &res) != 0 || !res)
    throw std::runtime_error("cannot resolve " + e.host);
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot connect to " + e.host + ":" + std::to_string(e.port) + ": " + strerror(errno));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// One complete HTTP/1.1 response at the front of buf: its status and body; consumed = 0 if incomplete.
struct HttpResponse {
  size_t consumed = 0;
  int status = 0;
  std::string body;
};

HttpResponse parse_http(const std::string &buf) {
  HttpResponse r;
  size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  std::string_view head(buf.data(), head_end);
  if (head.size() > 12) r.status = std::atoi(std::string(head.substr(9, 3)).c_str());
  auto header = [&](std::string_view name) -> std::string_view {
    size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
      pos += 2;
      if (head.size() - pos >= name.size() && strncasecmp(head.data() + pos, name.data(), name.size()) == 0) {
        size_t v = pos + name.size();
        while (v < head.size() && head[v] == ' ')
          ++v;
        size_t end = head.find("\r\n", v);
        return head.substr(v, (end == std::string_view::npos ? head.size() : end) - v);
      }
    }
    return {};
  };
  size_t body_at = head_end + 4;
  if (auto len = header("content-length:"); !len.empty()) {
    size_t n = std::stoul(std::string(len));
    if (buf.size() < body_at + n) return r;
    r.body = buf.substr(body_at, n);
    r.consumed = body_at + n;
    return r;
  }
  if (header("transfer-encoding:").find("chunked") != std::string_view::npos) {
    size_t pos = body_at;
    std::string body;
    for (;;) {
      size_t line = buf.find("\r\n", pos);
      if (line == std::string::npos) return r;
      size_t n = std::stoul(buf.substr(pos, line - pos), nullptr, 16);
      if (buf.size() < line + 2 + n + 2) return r;
      body.append(buf, line + 2, n);
      pos = line + 2 + n + 2;
      if (n == 0) break;
    }
    r.body = std::move(body);
    r.consumed = pos;
    return r;
  }
  r.consumed = body_at; // no body
  return r;
}

} // namespace

double LoadResult::percentile(double p) const {
  if (latency_ms.empty()) return 0;
  std::vector<double> v = latency_ms;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

LoadResult run_load(const LoadSpec &spec, const std::function<void()> &on_start) {
  const size_t n = spec.requests.size();
  std::vector<Conn> conns(std::max<size_t>(1, spec.connections));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  auto cleanup = [&] {
    for (auto &c : conns)
      if (c.fd >= 0) ::close(c.fd);
    ::close(ep);
  };
  try {
    for (size_t i = 0; i < conns.size(); ++i) {
      conns[i].fd = connect_to(spec.endpoints[i % spec.endpoints.size()]);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
  } catch (...) {
    cleanup();
    throw;
  }

  LoadResult res;
  res.latency_ms.reserve(n);
  std::vector<Clock::time_point> sent_at(n);
  std::vector<uint8_t> answered(n, 0);
  size_t next = 0, in_flight = 0, done = 0, rr = 0;
  auto fail = [&](const std::string &why) {
    ++res.failed;
    if (res.errors.size() < 5) res.errors.push_back(why);
  };
  auto finish = [&](size_t index, bool ok, const std::string &why, Clock::time_point now) {
    if (index >= n || answered[index] || sent_at[index] == Clock::time_point{}) {
      fail("an answer for no request in flight: " + why);
      return;
    }
    answered[index] = 1;
    ++done;
    --in_flight;
    if (ok) {
      ++res.ok;
      res.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at[index]).count());
    } else {
      fail(why);
    }
  };
  auto flush = [&](size_t i) {
    Conn &c = conns[i];
    while (c.out_off < c.out.size()) {
      ssize_t w = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (w <= 0) throw std::runtime_error(std::string("write failed: ") + strerror(errno));
      c.out_off += static_cast<size_t>(w);
    }
    if (c.out_off == c.out.size()) {
      c.out.clear();
      c.out_off = 0;
    }
    bool want = !c.out.empty();
    if (want != c.want_write) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? uint32_t(EPOLLOUT) : 0u);
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_write = want;
    }
  };
  auto read_answers = [&](size_t i) {
    Conn &c = conns[i];
    char buf[65536];
    for (;;) {
      ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (r <= 0)
        throw std::runtime_error("a server closed a connection with " + std::to_string(c.in_flight) +
                                 " requests in flight");
      c.in.append(buf, static_cast<size_t>(r));
    }
    auto now = Clock::now();
    size_t off = 0;
    for (;;) {
      if (spec.wire == Wire::Framed) {
        if (c.in.size() - off < 4) break;
        auto *p = reinterpret_cast<const uint8_t *>(c.in.data() + off);
        size_t len = size_t(p[0]) << 24 | size_t(p[1]) << 16 | size_t(p[2]) << 8 | size_t(p[3]);
        if (c.in.size() - off < 4 + len) break;
        Answer a = spec.check(std::string_view(c.in.data() + off + 4, len), 0);
        off += 4 + len;
        --c.in_flight;
        finish(a.index, a.ok, a.error, now);
      } else {
        if (off > 0) {
          c.in.erase(0, off);
          off = 0;
        }
        HttpResponse h = parse_http(c.in);
        if (h.consumed == 0) break;
        c.in.erase(0, h.consumed);
        if (c.order.empty()) throw std::runtime_error("an HTTP answer for no request");
        Answer a = spec.check(h.body, h.status);
        size_t index = c.order.front();
        c.order.pop_front();
        --c.in_flight;
        finish(index, a.ok, a.error, now);
      }
    }
    if (off > 0) c.in.erase(0, off);
  };

  try {
    if (on_start) on_start();
    int64_t cpu0 = self_cpu_us();
    const auto t0 = Clock::now();
    Clock::time_point last_write = t0, last_answer = t0;
    const double per_ns = spec.rate > 0 ? 1e9 / spec.rate : 0;
    std::vector<epoll_event> events(conns.size());
    Clock::time_point answer_deadline = Clock::time_point::max();
    while (done < n) {
      auto now = Clock::now();
      // Everything due by now, within the in-flight bounds.
      std::vector<uint8_t> touched(conns.size(), 0);
      while (next < n && in_flight < spec.max_in_flight) {
        if (per_ns > 0 && now < t0 + std::chrono::nanoseconds(static_cast<int64_t>(per_ns * double(next)))) break;
        size_t tries = 0;
        while (conns[rr].in_flight >= spec.max_in_flight_per_conn && tries++ < conns.size())
          rr = (rr + 1) % conns.size();
        if (tries > conns.size()) break;
        Conn &c = conns[rr];
        c.out += spec.requests[next];
        if (spec.wire == Wire::Http) c.order.push_back(next);
        ++c.in_flight;
        ++in_flight;
        sent_at[next] = now;
        touched[rr] = 1;
        ++next;
        rr = (rr + 1) % conns.size();
      }
      for (size_t i = 0; i < conns.size(); ++i)
        if (touched[i]) flush(i);
      if (next > res.sent) {
        res.sent = next;
        last_write = now;
        if (next == n) answer_deadline = now + spec.answer_timeout;
      }
      if (now > answer_deadline) {
        res.timed_out = true;
        break;
      }
      int timeout_ms = 50;
      if (next < n && in_flight < spec.max_in_flight && per_ns > 0) {
        auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(per_ns * double(next)));
        // Whole milliseconds, at least one: requests due within the same millisecond go out together rather than
        // the loop spinning a core away from the servers it measures.
        auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(due - now).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>((wait_us + 999) / 1000, 1, 50));
      }
      int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int e = 0; e < k; ++e) {
        size_t i = events[e].data.u64;
        if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          size_t before = done;
          read_answers(i);
          if (done > before) last_answer = Clock::now();
        }
        if (events[e].events & EPOLLOUT) flush(i);
      }
    }
    res.send_span_s = std::chrono::duration<double>(last_write - t0).count();
    res.elapsed_s = std::chrono::duration<double>(last_answer - t0).count();
    res.client_cpu_us = self_cpu_us() - cpu0;
  } catch (const std::exception &e) {
    fail(e.what());
    res.failed += n - done - 1;
  }
  cleanup();
  return res;
}

} // namespace weft::bench
