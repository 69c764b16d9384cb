// The servers of the router benchmark, each a child process in its own temp directory, stopped by pid: weft-router
// with its chain in remote mode on a weft-node network, and nginx answering one static JSON body (the
// plain-HTTP-server baseline) or passing connections on to the nodes (the plain-proxy baseline).
#pragma once

#include "load.h"
#include "procs.h"

#include <string>
#include <vector>

namespace weft::bench {

struct RouterParams {
  std::string router_binary;
  std::string plugin_dir;
  std::vector<Endpoint> nodes; // the weft-node network's client API
  uint64_t chain_id = 7;
  unsigned threads = 2;
  unsigned remote_connections = 4;
  std::string remote_io = "host"; // the chain's remote_io: "host" (the router's I/O threads) or "thread
  uint64_t request_timeout_ms = 120000;
  bool keep_dir = false;
};

class RouterProcess {
public:
  explicit RouterProcess(RouterParams params);
  ~RouterProcess(); // stops the router if it still runs and removes its directory (unless keep_dir)

  void start(); // waits for its ready file; throws std::runtime_error
  Endpoint endpoint() const { return endpoint_; }
  int pid() const { return child_.pid; }
  const std::string &dir() const { return dir_; }
  // SIGTERM by pid; returns the exit code (0 = clean).
  int stop();
  std::string log_tail() const { return tail(child_.log_path); }

private:
  RouterParams p_;
  std::string dir_;
  Child child_;
  Endpoint endpoint_;
};

// nginx with a config of our own: 2 worker processes, access log off, `return 200` of the body on every location.
// Given upstreams, it is a plain TCP proxy instead (the stream module): each client connection is passed to one of
// them, taken in turn, as bytes.
class NginxServer {
public:
  NginxServer(std::string binary, std::string body, unsigned workers, bool keep_dir,
              std::vector<Endpoint> upstreams = {});
  ~NginxServer();

  void start(); // waits until it answers; throws std::runtime_error
  Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  // The master and its workers (the workers are the master's children, found through /proc).
  std::vector<int> pids() const;
  int stop();
  std::string version() const;

private:
  std::string binary_, body_, dir_;
  unsigned workers_;
  std::vector<Endpoint> upstreams_;
  bool keep_dir_;
  uint16_t port_ = 0;
  Child child_;
};

// The program on PATH (or in the sbin directories, which a plain user's PATH may lack); empty if none.
std::string find_program(const std::string &name);

} // namespace weft::bench
