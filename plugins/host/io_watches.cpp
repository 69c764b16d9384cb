#include "io_watches.h"

#include <weft/adapter.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <condition_variable>
#include <mutex>
#include <poll.h>
#include <thread>
#include <unordered_map>
#include <utility>

namespace weft {

namespace asio = boost::asio;

namespace {

// One watched descriptor. Every use of `sd` happens under `m`; `fn` runs without it, never twice at once.
struct Watch {
  Watch(asio::io_context &io, int fd, IoWatches::ReadyFn f, void *c) : sd(io, fd), fn(f), ctx(c) {}
  std::mutex m;
  std::condition_variable idle;
  asio::posix::stream_descriptor sd;
  IoWatches::ReadyFn fn;
  void *ctx;
  uint32_t armed = 0;   // events with a wait outstanding
  uint32_t pending = 0; // readiness not yet handed to fn
  bool dead = false;
  std::thread::id runner; // the thread delivering to fn; none while fn is idle
  bool running() const { return runner != std::thread::id(); }
};

// A wait ended: its event is ready (or, cancelled by arm's check below, was ready already). The thread that finds
// fn idle delivers everything pending, one call at a time; a wait that ends meanwhile adds to what it delivers.
void on_wait(const std::shared_ptr<Watch> &w, uint32_t event) {
  std::unique_lock l(w->m);
  w->armed &= ~event;
  if (w->dead) return;
  w->pending |= event;
  if (w->running()) return;
  w->runner = std::this_thread::get_id();
  while (w->pending != 0 && !w->dead) {
    uint32_t ready = std::exchange(w->pending, 0);
    l.unlock();
    w->fn(w->ctx, ready);
    l.lock();
  }
  w->runner = {};
  w->idle.notify_all();
}

} // namespace

struct IoWatches::Impl {
  explicit Impl(asio::io_context &c) : io(c) {}
  asio::io_context &io;
  mutable std::mutex mu; // guards the table only
  std::unordered_map<uint64_t, std::shared_ptr<Watch>> watches;
  uint64_t next = 1;

  std::shared_ptr<Watch> find(uint64_t id) const {
    std::lock_guard l(mu);
    auto it = watches.find(id);
    return it == watches.end() ? nullptr : it->second;
  }
};

IoWatches::IoWatches(asio::io_context &io) : impl_(std::make_unique<Impl>(io)) {}

IoWatches::~IoWatches() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard l(impl_->mu);
    for (const auto &[id, w] : impl_->watches)
      ids.push_back(id);
  }
  for (auto id : ids)
    unwatch(id);
}

uint64_t IoWatches::watch(int fd, ReadyFn fn, void *ctx, std::string &err) {
  if (fd < 0 || fn == nullptr) {
    err = "io_watch needs a descriptor and a function";
    return 0;
  }
  std::shared_ptr<Watch> w;
  try {
    w = std::make_shared<Watch>(impl_->io, fd, fn, ctx);
  } catch (const std::exception &e) {
    err = std::string("cannot watch descriptor ") + std::to_string(fd) + ": " + e.what();
    return 0;
  }
  std::lock_guard l(impl_->mu);
  uint64_t id = impl_->next++;
  impl_->watches.emplace(id, std::move(w));
  return id;
}

void IoWatches::arm(uint64_t id, uint32_t events) {
  auto w = impl_->find(id);
  if (!w) return;
  std::lock_guard l(w->m);
  uint32_t add = events & (WEFT_IO_READ | WEFT_IO_WRITE) & ~w->armed;
  if (w->dead || add == 0) return;
  w->armed |= add;
  for (uint32_t event : {WEFT_IO_READ, WEFT_IO_WRITE}) {
    if ((add & event) == 0) continue;
    w->sd.async_wait(event == WEFT_IO_READ ? asio::posix::descriptor_base::wait_read
                                           : asio::posix::descriptor_base::wait_write,
                     [w, event](const boost::system::error_code &) { on_wait(w, event); });
  }
  // The loop reports readiness as it changes. What came before this wait was queued (data that arrived after the
  // adapter's last read returned) would go unreported: look once, and if it is there, end the waits now.
  pollfd p{w->sd.native_handle(), short(((add & WEFT_IO_READ) ? POLLIN : 0) | ((add & WEFT_IO_WRITE) ? POLLOUT : 0)),
           0};
  if (::poll(&p, 1, 0) > 0) {
    boost::system::error_code ec;
    w->sd.cancel(ec);
  }
}

void IoWatches::unwatch(uint64_t id) {
  std::shared_ptr<Watch> w;
  {
    std::lock_guard l(impl_->mu);
    auto it = impl_->watches.find(id);
    if (it == impl_->watches.end()) return;
    w = std::move(it->second);
    impl_->watches.erase(it);
  }
  std::unique_lock l(w->m);
  w->dead = true;
  boost::system::error_code ec;
  w->sd.cancel(ec);
  (void)w->sd.release(); // out of the loop; the descriptor stays the adapter's
  if (w->runner != std::this_thread::get_id()) w->idle.wait(l, [&] { return !w->running(); });
}

size_t IoWatches::size() const {
  std::lock_guard l(impl_->mu);
  return impl_->watches.size();
}

} // namespace weft
