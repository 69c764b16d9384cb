// The EVM adapters' link to a node: an event loop with timers, and an asynchronous JSON-RPC 2.0 client over HTTP or
// HTTPS with a small pool of keep-alive connections. Asio and Beast stay in json_rpc.cpp; everything here runs its
// callbacks on the loop's one thread, so the code above it needs no locks. (host_rpc.h is the other client: plain
// calls answered on the router's own threads.)
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weft::evm {

// One thread running callbacks and timers in order.
class Loop {
 public:
  Loop();
  ~Loop(); // stops and joins
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  void post(std::function<void()> fn);
  // Runs fn on the loop after d; returns an id cancel_timer takes. A cancelled timer's fn never runs.
  uint64_t after(std::chrono::milliseconds d, std::function<void()> fn);
  void cancel_timer(uint64_t id);
  bool in_loop() const;
  // Stops the thread after the callbacks already queued; later posts are dropped. Idempotent; not from the loop.
  void stop();
  void *io_context(); // for JsonRpcClient only

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Where the node listens, from "http://host:port/path" or "https://…".
struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target = "/";
  std::string text() const; // "http://host:port/path", for messages
};
// Parses the URL; an error message names what is wrong with it.
std::optional<Endpoint> parse_url(const std::string &url, std::string &error);

struct RpcOptions {
  Endpoint endpoint;
  unsigned max_connections = 8;
  // HTTPS: the CA that signs the node's certificate (empty: the system's), an optional client certificate, and
  // whether to verify the node at all (off only for a test node).
  std::string ca_file, cert_file, key_file;
  bool verify = true;
  std::uint64_t max_answer_bytes = 64ull << 20;
};

// The outcome of one JSON-RPC request. status is a weft_status: WEFT_OK with `result`, WEFT_E_UNAVAILABLE when the
// node cannot be reached or answers something that is not JSON-RPC, WEFT_E_TIMEOUT, or WEFT_E_INTERNAL with
// rpc_code/rpc_data set when the node answered a JSON-RPC error object (its message is `message`).
struct RpcAnswer {
  int32_t status = 0;
  std::string message;
  boost::json::value result;
  std::optional<std::int64_t> rpc_code;
  boost::json::value rpc_data;
  bool ok() const { return status == 0; }
  bool rpc_error() const { return rpc_code.has_value(); }
};

// One JSON-RPC request's answer from its HTTP exchange: the transport's failure when status is not 0, else the
// answer to request `id` in body (HTTP errors, malformed JSON, a wrong id and error objects each become a clear
// RpcAnswer). `where` names the node in messages.
RpcAnswer rpc_answer(const std::string &where, int32_t status, const std::string &message, unsigned http_status,
                     const std::string &body, uint64_t id);

// The messages of transport failures, the same from every client of a node.
namespace rpc_text {
std::string timeout(const std::string &where);
std::string unreachable(const std::string &where, const std::string &why);
std::string broken(const std::string &where, const std::string &why);
} // namespace rpc_text

class JsonRpcClient {
 public:
  using Callback = std::function<void(RpcAnswer)>;
  using BatchCallback = std::function<void(std::vector<RpcAnswer>)>;

  JsonRpcClient(Loop &loop, RpcOptions options); // throws std::runtime_error on a bad TLS setup
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient &) = delete;
  JsonRpcClient &operator=(const JsonRpcClient &) = delete;

  // Sends {"jsonrpc":"2.0","id":N,"method","params"} and calls cb once on the loop, within timeout.
  void call(std::string method, boost::json::array params, std::chrono::milliseconds timeout, Callback cb);
  // One HTTP request carrying a JSON-RPC batch; answers in the order of the requests. A node that answers the batch
  // with one error object fails every entry with it.
  void batch(std::vector<std::pair<std::string, boost::json::array>> requests, std::chrono::milliseconds timeout,
             BatchCallback cb);
  // Fails every queued and running request with WEFT_E_CANCELLED and closes the connections. On the loop or not.
  void shutdown();

  const Endpoint &endpoint() const;
  std::uint64_t requests_sent() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace weft::evm
