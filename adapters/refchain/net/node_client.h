// A client of weft-node's client API: one connection to one of several nodes, failing over to the next node when
// the connection breaks. Calls are pipelined on that connection — sent at once, answered in any order, matched by
// id — and completed by its I/O thread or by a lent event loop's threads, so one client carries thousands of waiting
// submits. The refchain plugin's remote mode, `weft-node send` and the benchmark use it.
#pragma once

#include "node_link.h"

#include <weft/io_loop.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace weft::refchain::net {

// The event loop NodeClient may wait on for its connection's answers instead of its own thread's poll: the router's,
// lent through the adapter ABI, so an answer is read and completed on the thread that writes the router's response.
// A loop's refusal to watch makes the client read on its own thread.
using IoLoop = plugin::IoLoop;

struct NodeClientOptions {
  std::vector<std::string> nodes; // "host:port" of nodes' client ports, tried in order
  std::chrono::milliseconds connect_timeout{2000};
  size_t max_frame_bytes = 64u << 20;
  // Calls sent or waiting to be; beyond it a call fails with WEFT_E_REJECTED. A node refuses more than 1024
  // requests in flight on one connection with an answer that names no id, so stay at or below that.
  size_t max_in_flight = 1024;
  // Where answers are read: null, on the client's I/O thread; otherwise on this loop's threads while the connection
  // is up. The I/O thread stays for connecting, deadlines, reconnecting and writes the socket cannot take at once.
  IoLoop *loop = nullptr;
};

// How a call ended: status WEFT_OK and the answer's result, or an error status and its message.
struct NodeAnswer {
  int32_t status = 0;
  std::string message;
  boost::json::object result;
};
using NodeCallback = std::function<void(NodeAnswer)>;

class NodeClient {
public:
  explicit NodeClient(NodeClientOptions options); // throws Error on an empty or malformed node list
  ~NodeClient();                                  // close()
  NodeClient(const NodeClient &) = delete;
  NodeClient &operator=(const NodeClient &) = delete;

  // Sends {"id":..,"op":op,...fields} and returns; `done` runs exactly once: with the answer's result, an error
  // answer's status and message, WEFT_E_TIMEOUT if no answer came within timeout, WEFT_E_UNAVAILABLE if no node
  // could be reached, WEFT_E_REJECTED beyond max_in_flight, WEFT_E_CANCELLED at close. When the connection breaks,
  // calls move on to the next node and are sent again there — except a submit already sent, which fails with
  // WEFT_E_UNAVAILABLE naming its hash (it may have been admitted: look it up). `done` runs on the client's I/O
  // thread, or on the calling thread before call_async returns if the call fails at once; it must not block long
  // nor call call() or close() on this client. With options.loop, answers complete on the loop's threads instead.
  void call_async(const std::string &op, boost::json::object fields, std::chrono::milliseconds timeout,
                  NodeCallback done);

  // call_async, waiting for the end: returns the result or throws Error with the status and message above.
  boost::json::object call(const std::string &op, boost::json::object fields, std::chrono::milliseconds timeout);

  // Completes every pending call with WEFT_E_CANCELLED, then joins the I/O thread; later calls fail at once.
  void close();

  // The node the connection is (or will be) made to.
  std::string current_node() const;
  // Calls sent or waiting to be sent.
  size_t in_flight() const;

private:
  using Clock = std::chrono::steady_clock;
  struct Call {
    std::string op;
    std::string body; // the request as sent, id included: sent again unchanged after a failover
    NodeCallback done;
    Clock::time_point deadline;
    std::chrono::milliseconds timeout;
    size_t attempts = 0; // nodes tried and lost
    std::string failures;
    bool sent = false; // queued on the current connection
  };
  using Ready = std::vector<std::pair<NodeCallback, NodeAnswer>>;

  void run();
  void wake();
  // The loop's side: the connection is readable.
  static void on_ready(void *self, uint32_t ready);
  void on_readable();
  // Before the I/O thread closes the connection: ends the loop's watch of it, without mu_ held (unwatch waits for a
  // running on_readable, which takes mu_).
  void drop_watch(std::unique_lock<std::mutex> &lock);
  // Why the connection broke: the link's error, after what the node said before it closed, if anything.
  std::string why_broken(const LinkError &e) const;
  void send_locked(uint64_t id, Call &call);
  void connect_locked(Ready &ready);
  void on_connected_locked(Ready &ready);
  void on_connect_failed_locked(const std::string &why, Ready &ready);
  void on_broken_locked(const std::string &why, Ready &ready);
  void on_frame_locked(std::string_view frame, Ready &ready);
  void expire_locked(Ready &ready);
  // Removes a call from the book and queues its completion.
  void finish_locked(std::map<uint64_t, Call>::iterator it, NodeAnswer answer, Ready &ready);
  static void run_callbacks(Ready &ready);

  NodeClientOptions options_;
  mutable std::mutex mu_;
  std::map<uint64_t, Call> calls_;                             // every call not yet completed
  std::set<uint64_t> unsent_;                                  // calls waiting for a connection
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines_; // of every call
  NodeLink link_;
  Clock::time_point connect_by_{};
  std::string broken_; // set by a caller that found the connection dead; the I/O thread closes it
  std::string said_;   // what the node said before it closed the connection, for the calls' messages
  size_t current_ = 0;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  bool woken_ = false;
  // When the I/O thread's poll returns at the latest (it polls at most kIdlePoll at a time): a new call whose
  // deadline is later needs no wake-up, since the answer or that poll's end wakes the thread anyway.
  Clock::time_point poll_until_{};
  static constexpr std::chrono::milliseconds kIdlePoll{1000};
  // When the node last wrote to this connection (or it was made). A node closes a client connection only after at
  // least a second of silence (client_idle_timeout_ms >= 1000), so one heard from within kFreshFor is not checked
  // for an idle close before a lone call is sent on it: that check is a system call per call in a closed loop.
  Clock::time_point last_heard_{};
  static constexpr std::chrono::milliseconds kFreshFor{100};
  int wake_[2] = {-1, -1}; // a pipe: wakes the I/O thread out of poll
  std::mutex close_mu_;
  std::thread thread_;
  std::thread::id io_thread_; // thread_'s id, read without racing its join
  uint64_t watch_ = 0;        // the loop's watch of the connection while it is up (options_.loop only)
};

} // namespace weft::refchain::net
