// weft-node's client API: framed JSON requests on a port of their own (u32 big-endian length + JSON). Each request
// is {"id":N,"op":...,...}, each answer {"id":N,"status":0|weft_status,"message":...,"result":{...}|null}; requests
// on one connection may be pipelined and are answered as they finish, possibly out of order. Ledger work runs on
// a small pool of its own, never on the I/O thread. The ops and their JSON are listed in docs/refchain.md.
#pragma once

#include "ledger.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::refchain::net {

// What the API serves: a validator's ledger and its door for transactions (weft-node wires a Validator; tests
// may wire a bare Ledger).
struct ClientBackend {
  Ledger *ledger = nullptr;
  std::vector<Address> validators;
  uint32_t self = 0;
  // Admits a transaction (and gossips it); throws Error (WEFT_E_REJECTED, WEFT_E_INVALID_ARGUMENT).
  std::function<Hash(const Transaction &)> submit;
  // Extra fields for the health answer (consensus round, linked peers); optional.
  std::function<void(boost::json::object &)> health;
};

struct ClientServerOptions {
  std::string listen;                // "host:port"; port 0 picks a free one
  size_t max_frame_bytes = 2u << 20; // a larger request is answered with an error and its connection closed
  size_t max_in_flight = 1024;       // per connection, beyond it requests are refused (WEFT_E_UNAVAILABLE)
  uint64_t default_wait_ms = 60000;  // submit without "wait_ms"
  uint64_t max_wait_ms = 600000;     // submit's wait_ms is capped here
  size_t max_connections = 1024;     // beyond it a new connection gets one error frame and is closed
  // A request, once its first byte arrived, must arrive whole within this, and a batch of answers must be taken
  // by the client within it: a slow-drip client or one that never reads cannot hold a connection.
  std::chrono::milliseconds frame_timeout{10000};
  // A connection with no request arriving, none pending (a waiting submit is pending) and no answer written for
  // this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  unsigned workers = 2;
};

class ClientServer {
public:
  using Log = std::function<void(int level, const std::string &message)>; // 0 debug .. 3 error

  ClientServer(ClientServerOptions options, ClientBackend backend, Log log);
  ~ClientServer(); // stops
  ClientServer(const ClientServer &) = delete;
  ClientServer &operator=(const ClientServer &) = delete;

  // Binds (throws Error if it cannot) and starts the I/O thread and the workers.
  void start();
  // Stops accepting, closes every connection (waiting submits get no answer) and joins every thread. Idempotent.
  void stop();
  uint16_t port() const;

  // The validator's listeners: answer the submits waiting for these transactions. Thread-safe.
  void on_committed(const ExecutedBlock &block);
  void on_expired(const std::vector<Hash> &hashes);

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace weft::refchain::net
