// An event loop an adapter's sockets can wait on instead of a thread of their own: the router's, lent through
// weft_host_v1's io_watch (plugin::HostIoLoop in adapter.hpp), or one a test runs. The semantics are io_watch's:
// watch registers a non-blocking descriptor the caller keeps owning; arm waits once for WEFT_IO_READ and/or
// WEFT_IO_WRITE, readiness that came before the arm counting; on_ready runs on one of the loop's threads, never twice
// at once for one watch; unwatch returns once on_ready is not running and never will again (called from on_ready
// itself it returns at once). The loop outlives every watch.
#pragma once

#include <cstdint>

namespace weft::plugin {

class IoLoop {
public:
  virtual ~IoLoop() = default;
  // Throws when the loop refuses the descriptor.
  virtual uint64_t watch(int fd, void (*on_ready)(void *ctx, uint32_t ready), void *ctx) = 0;
  virtual void arm(uint64_t watch_id, uint32_t events) = 0;
  virtual void unwatch(uint64_t watch_id) = 0;
};

} // namespace weft::plugin
