// The host side of weft_host_v1's event-loop services (io_watch, io_arm, io_unwatch): an adapter's descriptors waited
// for on the router's own I/O threads, so its answers start on the thread that writes the response. Asio stays in
// io_watches.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace weft {

class IoWatches {
public:
  using ReadyFn = void (*)(void *ctx, uint32_t ready);

  explicit IoWatches(boost::asio::io_context &io);
  ~IoWatches(); // ends every watch still registered
  IoWatches(const IoWatches &) = delete;
  IoWatches &operator=(const IoWatches &) = delete;

  // Registers fd (not owned: it stays open after unwatch). Returns 0 and the reason in err when it cannot be watched.
  uint64_t watch(int fd, ReadyFn fn, void *ctx, std::string &err);
  // Arms each of WEFT_IO_READ / WEFT_IO_WRITE in events once. Readiness that came before the call counts. Unknown
  // or ended ids are ignored.
  void arm(uint64_t id, uint32_t events);
  // Ends a watch: when it returns, fn is not running and never runs again (from fn itself: that call is the last).
  void unwatch(uint64_t id);
  // Watches registered.
  size_t size() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace weft
