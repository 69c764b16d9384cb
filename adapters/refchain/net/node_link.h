// One non-blocking TCP connection carrying the client API's frames (u32 big-endian length + JSON) for NodeClient's
// I/O thread: a connect that completes under poll, an outbox the socket takes as it can, and an inbox cut into
// frames. Nothing here blocks or locks; the owner serialises access (NodeClient holds its mutex around every call).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::refchain::net {

// A connection-level failure: the node may be fine, the link is not.
struct LinkError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class NodeLink {
public:
  explicit NodeLink(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}
  ~NodeLink() { close(); }
  NodeLink(const NodeLink &) = delete;
  NodeLink &operator=(const NodeLink &) = delete;

  // Starts connecting to "host:port" (the first address that accepts a non-blocking connect). Throws LinkError.
  void start_connect(const std::string &node);
  // While connecting: true once the connection is up; false if still in progress. Throws LinkError if it failed.
  bool finish_connect();
  void close();

  bool connecting() const { return fd_ >= 0 && connecting_; }
  bool up() const { return fd_ >= 0 && !connecting_; }
  int fd() const { return fd_; }
  bool wants_write() const { return out_off_ < out_.size(); }

  // Appends one frame to the outbox; flush() writes it.
  void queue(std::string_view body);
  // Writes what the socket takes now without waiting. Throws LinkError.
  void flush();
  // Reads what has arrived and hands each complete frame to on_frame. Throws LinkError on end of stream, an error
  // or a frame over the size limit.
  void receive(const std::function<void(std::string_view)> &on_frame);
  // True if the node has closed the connection (its idle timeout) though nothing was asked of it: the caller
  // reconnects to the same node rather than send a submit into a dead link.
  bool closed_by_node() const;

private:
  size_t max_frame_bytes_;
  int fd_ = -1;
  bool connecting_ = false;
  std::string node_;
  std::string out_;
  size_t out_off_ = 0;
  std::string in_;
};

} // namespace weft::refchain::net
