// The event-loop services the router lends adapters (io_watch, io_arm, io_unwatch) on a real io_context with two
// threads and real sockets: one call per arm, readiness from before the arm, calls that never overlap, unwatch that
// waits for a running call (and not for itself), a descriptor left open, and no wake-up lost under a flood.
#include "io_watches.h"

#include <weft/adapter.h>

#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

// An io_context run by two threads, as the router's.
struct Loop {
  boost::asio::io_context io{2};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  weft::IoWatches watches{io};
  Loop() {
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([this] { io.run(); });
  }
  ~Loop() {
    work.reset();
    io.stop();
    for (auto &t : threads)
      t.join();
  }
  bool is_loop_thread() const {
    for (const auto &t : threads)
      if (t.get_id() == std::this_thread::get_id()) return true;
    return false;
  }
};

// A connected pair of non-blocking stream sockets.
struct Pair {
  int a = -1, b = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    a = fds[0];
    b = fds[1];
  }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
  void send(const std::string &s) const { REQUIRE(::write(b, s.data(), s.size()) == ssize_t(s.size())); }
};

// Counts calls, remembers what each saw, and lets a test act inside one.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  uint32_t last = 0;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::atomic<bool> on_loop_thread{true};
  const Loop *loop = nullptr;
  std::function<void(uint32_t)> body; // runs inside each call

  static void fn(void *ctx, uint32_t ready) {
    auto *r = static_cast<Recorder *>(ctx);
    if (r->inside.fetch_add(1) != 0) r->overlapped = true;
    if (r->loop && !r->loop->is_loop_thread()) r->on_loop_thread = false;
    if (r->body) r->body(ready);
    r->inside.fetch_sub(1);
    std::lock_guard l(r->mu);
    ++r->calls;
    r->last = ready;
    r->cv.notify_all();
  }
  bool wait_calls(int n, std::chrono::milliseconds t = 5s) {
    std::unique_lock l(mu);
    return cv.wait_for(l, t, [&] { return calls >= n; });
  }
  int count() {
    std::lock_guard l(mu);
    return calls;
  }
};

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return out;
  }
}

} // namespace

TEST_CASE("io watch: one call per arm, on a loop thread, with readiness from before the arm") {
  Loop loop;
  Pair p;
  Recorder r;
  r.loop = &loop;
  std::string err;
  uint64_t id = loop.watches.watch(p.a, &Recorder::fn, &r, err);
  REQUIRE(id != 0);
  CHECK(err.empty());
  CHECK(loop.watches.size() == 1);

  // Nothing is waited for before the first arm.
  p.send("x");
  std::this_thread::sleep_for(50ms);
  CHECK(r.count() == 0);
  // The byte arrived before the arm: it counts.
  loop.watches.arm(id, WEFT_IO_READ);
  REQUIRE(r.wait_calls(1));
  CHECK((r.last & WEFT_IO_READ) != 0);
  CHECK(drain(p.a) == "x");
  // Disarmed after the call: more data brings no call until the next arm.
  p.send("y");
  std::this_thread::sleep_for(50ms);
  CHECK(r.count() == 1);
  loop.watches.arm(id, WEFT_IO_READ);
  REQUIRE(r.wait_calls(2));
  CHECK(drain(p.a) == "y");
  // Armed with nothing to read: no call until data comes.
  loop.watches.arm(id, WEFT_IO_READ);
  std::this_thread::sleep_for(50ms);
  CHECK(r.count() == 2);
  p.send("z");
  REQUIRE(r.wait_calls(3));
  CHECK(drain(p.a) == "z");
  // A writable socket is ready for WEFT_IO_WRITE at once.
  loop.watches.arm(id, WEFT_IO_WRITE);
  REQUIRE(r.wait_calls(4));
  CHECK((r.last & WEFT_IO_WRITE) != 0);
  CHECK(r.on_loop_thread);

  loop.watches.unwatch(id);
  CHECK(loop.watches.size() == 0);
  // The descriptor is still the caller's, open and usable, and out of the loop: no call comes for it.
  p.send("after");
  loop.watches.arm(id, WEFT_IO_READ); // an ended id is ignored
  std::this_thread::sleep_for(50ms);
  CHECK(r.count() == 4);
  CHECK(drain(p.a) == "after");
}

TEST_CASE("io watch: refusals name what is wrong") {
  Loop loop;
  Recorder r;
  std::string err;
  CHECK(loop.watches.watch(-1, &Recorder::fn, &r, err) == 0);
  CHECK(err.find("descriptor") != std::string::npos);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  err.clear();
  CHECK(loop.watches.watch(fds[0], nullptr, &r, err) == 0);
  CHECK(!err.empty());
  ::close(fds[0]);
  loop.watches.arm(12345, WEFT_IO_READ); // unknown ids are ignored
  loop.watches.unwatch(12345);
  CHECK(loop.watches.size() == 0);
}

TEST_CASE("io watch: calls never overlap, even with read and write ready at once on two threads") {
  Loop loop;
  Pair p;
  Recorder r;
  r.body = [](uint32_t) { std::this_thread::sleep_for(20ms); };
  std::string err;
  uint64_t id = loop.watches.watch(p.a, &Recorder::fn, &r, err);
  REQUIRE(id != 0);
  p.send("x");
  for (int i = 0; i < 10; ++i) {
    loop.watches.arm(id, WEFT_IO_READ | WEFT_IO_WRITE);
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(200ms);
  CHECK(r.count() >= 1);
  CHECK_FALSE(r.overlapped);
  loop.watches.unwatch(id);
}

TEST_CASE("io watch: unwatch waits for a running call, except from inside it") {
  Loop loop;
  Pair p;
  std::string err;

  SUBCASE("from another thread") {
    Recorder r;
    std::atomic<bool> entered{false}, finished{false};
    r.body = [&](uint32_t) {
      entered = true;
      std::this_thread::sleep_for(200ms);
      finished = true;
    };
    uint64_t id = loop.watches.watch(p.a, &Recorder::fn, &r, err);
    loop.watches.arm(id, WEFT_IO_READ);
    p.send("x");
    while (!entered)
      std::this_thread::yield();
    loop.watches.unwatch(id);
    CHECK(finished); // it returned only once the call had
    loop.watches.arm(id, WEFT_IO_READ);
    std::this_thread::sleep_for(50ms);
    CHECK(r.count() == 1);
  }
  SUBCASE("from inside the call: returns at once, and that call is the last") {
    Recorder r;
    uint64_t id = 0;
    Loop *l = &loop;
    r.body = [&](uint32_t) {
      l->watches.arm(id, WEFT_IO_READ); // armed again, then ended: the wait it queued never calls
      l->watches.unwatch(id);
    };
    id = loop.watches.watch(p.a, &Recorder::fn, &r, err);
    loop.watches.arm(id, WEFT_IO_READ);
    p.send("x");
    REQUIRE(r.wait_calls(1));
    std::this_thread::sleep_for(50ms);
    CHECK(r.count() == 1);
    CHECK(loop.watches.size() == 0);
  }
}

TEST_CASE("io watch: a flood read by re-arming after each drain loses no wake-up") {
  // Each call drains what is there and arms again; the writer sends in bursts with pauses, so data often lands
  // between a drain and the next arm. A lost wake-up would leave bytes unread until the deadline.
  Loop loop;
  constexpr int kPairs = 4;
  constexpr size_t kBytes = 200000;
  struct Reader {
    Pair p;
    uint64_t id = 0;
    std::atomic<size_t> got{0};
    weft::IoWatches *watches = nullptr;
    static void fn(void *ctx, uint32_t) {
      auto *r = static_cast<Reader *>(ctx);
      r->got += drain(r->p.a).size();
      r->watches->arm(r->id, WEFT_IO_READ);
    }
  };
  std::vector<std::unique_ptr<Reader>> readers;
  std::string err;
  for (int i = 0; i < kPairs; ++i) {
    auto r = std::make_unique<Reader>();
    r->watches = &loop.watches;
    r->id = loop.watches.watch(r->p.a, &Reader::fn, r.get(), err);
    REQUIRE(r->id != 0);
    loop.watches.arm(r->id, WEFT_IO_READ);
    readers.push_back(std::move(r));
  }
  std::vector<std::thread> writers;
  for (auto &r : readers)
    writers.emplace_back([&r] {
      std::string chunk(100, 'a');
      size_t sent = 0;
      for (int i = 0; sent < kBytes; ++i) {
        ssize_t n = ::write(r->p.b, chunk.data(), std::min(chunk.size(), kBytes - sent));
        if (n > 0) sent += size_t(n);
        if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
  for (auto &t : writers)
    t.join();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (auto &r : readers)
    while (r->got < kBytes && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
  for (auto &r : readers) {
    CHECK(r->got == kBytes);
    loop.watches.unwatch(r->id);
  }
}
