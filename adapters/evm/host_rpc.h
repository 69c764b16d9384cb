// A JSON-RPC client over plain HTTP/1.1 whose sockets wait on an event loop the host lends (plugin::IoLoop), not on
// the chain's Loop thread. A call made on a router thread is written to the node from that thread, and the node's
// answer is read, parsed and completed on the router thread that the loop wakes: a read crosses no other thread.
//
// Connections are keep-alive, at most max_connections, one exchange at a time each; calls beyond them wait in order.
// A keep-alive connection the node closed while idle fails on its next use before any answer came, and that call is
// sent once more on a fresh connection. The loop has no timers: deadlines are enforced by sweep(), which the owner
// calls every few tens of milliseconds.
//
// Only plain http:// endpoints whose host is an IP address or "localhost" are served (servable() says why not): the
// loop's threads must never wait on a TLS handshake's CPU or on a name lookup. The chain uses JsonRpcClient for the
// others.
#pragma once

#include "json_rpc.h"

#include <weft/io_loop.hpp>

#include <boost/json/array.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace weft::evm {

class HostRpc {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(RpcAnswer)>;

  // Whether this client can serve options.endpoint; why not in `why`.
  static bool servable(const RpcOptions &options, std::string &why);

  // Throws std::runtime_error when !servable(options).
  HostRpc(plugin::IoLoop &loop, RpcOptions options);
  ~HostRpc(); // shutdown()
  HostRpc(const HostRpc &) = delete;
  HostRpc &operator=(const HostRpc &) = delete;

  // From any thread. cb runs exactly once, without any lock of this client held: on a loop thread with the node's
  // answer or a transport failure (WEFT_E_UNAVAILABLE); from sweep() with WEFT_E_TIMEOUT once the deadline passed;
  // from shutdown() with WEFT_E_CANCELLED; or on the calling thread before call returns when the client is shut
  // down. cb must not block; it may call call() again, but not shutdown().
  void call(std::string_view method, boost::json::array params, Clock::time_point deadline, Callback cb);

  // Fails every call whose deadline is at or before now, closing the connection it was on. Any thread but a callback.
  void sweep(Clock::time_point now = Clock::now());

  // Fails every waiting and running call with WEFT_E_CANCELLED and closes the connections; later calls fail at once.
  // Idempotent. Not from a callback.
  void shutdown();

  // Connections open or opening, calls waiting for one, calls not yet answered (running or waiting), and requests
  // written, for tests, figures and the owner's sweeps.
  size_t connections() const;
  size_t waiting() const;
  size_t unanswered() const;
  std::uint64_t requests_sent() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace weft::evm
