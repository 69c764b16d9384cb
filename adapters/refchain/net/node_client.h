// A blocking client of weft-node's client API: one connection to one of several nodes, failing over to the next
// node when the connection breaks. The refchain plugin's remote mode and `weft-node send` use it. Calls are
// serialised on the one connection; for parallel waits, hold several clients.
#pragma once

#include "bytes.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace weft::refchain::net {

struct NodeClientOptions {
  std::vector<std::string> nodes; // "host:port" of nodes' client ports, tried in order
  std::chrono::milliseconds connect_timeout{2000};
  size_t max_frame_bytes = 64u << 20;
};

class NodeClient {
public:
  explicit NodeClient(NodeClientOptions options); // throws Error on an empty or malformed node list
  ~NodeClient();
  NodeClient(const NodeClient &) = delete;
  NodeClient &operator=(const NodeClient &) = delete;

  // Sends {"id":..,"op":op,...fields} and returns the answer's result. An error answer throws Error with its
  // status and message; no answer within timeout throws Error(WEFT_E_TIMEOUT); no reachable node throws
  // Error(WEFT_E_UNAVAILABLE). A broken connection moves on to the next node; the request is sent again there
  // unless it is a submit that was already sent (it may have been admitted: look its hash up instead).
  boost::json::object call(const std::string &op, boost::json::object fields, std::chrono::milliseconds timeout);

  // The node the connection is (or will be) made to.
  std::string current_node() const;

private:
  void connect_locked(std::chrono::steady_clock::time_point deadline);
  void close_locked();

  NodeClientOptions options_;
  mutable std::mutex mu_;
  size_t current_ = 0;
  int fd_ = -1;
  uint64_t next_id_ = 1;
};

} // namespace weft::refchain::net
