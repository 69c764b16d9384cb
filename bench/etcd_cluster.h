// The baseline: a 3-member etcd cluster on loopback (each member its own temp data dir, fsync on as etcd ships),
// written through its v3 HTTP JSON gateway (POST /v3/kv/put, base64 key and value) over keep-alive connections.
#pragma once

#include "load.h"
#include "procs.h"

#include <string>
#include <vector>

namespace weft::bench {

class EtcdCluster {
public:
  EtcdCluster(std::string binary, size_t members, bool keep_dir);
  ~EtcdCluster(); // stops every member still running and removes the directory (unless keep_dir)

  void start(); // throws std::runtime_error if the cluster does not become healthy
  std::vector<Endpoint> clients() const;
  std::vector<int> pids() const;
  std::string version() const { return version_; }

  // `count` HTTP/1.1 keep-alive requests putting distinct keys with `value_bytes`-byte values.
  static std::vector<std::string> put_requests(size_t count, size_t value_bytes);
  // Each key holds its value on every member (a sample of keys, read back through each member).
  std::string check(size_t count, size_t value_bytes, size_t sample);
  std::vector<std::string> stop_all();

private:
  std::string binary_;
  size_t members_;
  bool keep_dir_;
  std::string dir_, version_;
  uint16_t base_ = 0;
  std::vector<Child> procs_;
};

// Checks one gateway answer to a put: HTTP 200 with a header in its JSON body.
Answer check_put_answer(std::string_view body, int http_status);

} // namespace weft::bench
