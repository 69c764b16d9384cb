// An event loop lent as the router lends its own: IoWatches over an io_context run by two threads, as a
// plugin::IoLoop. Tests of adapter clients that wait on the host's loop run their sockets on it.
#pragma once

#include "io_watches.h"

#include <weft/io_loop.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace weft::test {

struct LentLoop : plugin::IoLoop {
  boost::asio::io_context io{2};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  weft::IoWatches watches{io};
  std::vector<std::thread> threads;
  LentLoop() {
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([this] { io.run(); });
  }
  ~LentLoop() override {
    work.reset();
    io.stop();
    for (auto &t : threads)
      t.join();
  }
  uint64_t watch(int fd, void (*on_ready)(void *, uint32_t), void *ctx) override {
    std::string err;
    uint64_t id = watches.watch(fd, on_ready, ctx, err);
    if (id == 0) throw std::runtime_error(err);
    return id;
  }
  void arm(uint64_t id, uint32_t events) override { watches.arm(id, events); }
  void unwatch(uint64_t id) override { watches.unwatch(id); }
  bool is_loop_thread() const {
    for (const auto &t : threads)
      if (t.get_id() == std::this_thread::get_id()) return true;
    return false;
  }
};

} // namespace weft::test
